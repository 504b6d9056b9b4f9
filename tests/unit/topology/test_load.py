from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eventpipes.cli.topology import contents
from eventpipes.topology import TopologyError, load_file, load_text

VALID = """\
EventBuses:
  - Name: orders
    Partitions: 6
Connections:
  - Name: webhook-auth
    AuthorizationType: API_KEY
    AuthParameters:
      ApiKeyAuthParameters: {ApiKeyName: x-api-key, ApiKeyValue: secret}
ApiDestinations:
  - Name: webhook
    ConnectionName: webhook-auth
    InvocationEndpoint: http://127.0.0.1:8090/orders/*
    HttpMethod: POST
    InvocationRateLimitPerSecond: 20
Rules:
  - Name: high-value
    EventBusName: orders
    EventPattern: '{"source": ["com.example.orders"], "detail": {"total": [{"numeric": [">", 1000]}]}}'
    Targets:
      - Id: hook
        ApiDestination: webhook
        HttpParameters: {PathParameterValues: [high-value]}
      - Id: audit
        Topic: orders.audit
        InputTransformer:
          InputPathsMap: {id: $.detail.orderId}
          InputTemplate: '{"order": <id>}'
        RetryPolicy: {MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 120}
        DeadLetterConfig: {Arn: orders.audit.dlq}
  - Name: everything
    EventBusName: orders
    State: DISABLED
    EventPattern: {source: [{prefix: com.example}]}
    Targets:
      - {Id: copy, EventBus: default}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(TopologyError) as caught:
        load_text(text, file="t.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_valid_topology_loads_with_eventbridge_defaults() -> None:
    topology = load_text(VALID)
    high_value, everything = topology.rules
    assert topology.bus("orders").partitions == 6
    assert high_value.event_pattern["detail"]["total"] == [{"numeric": [">", 1000]}]
    assert [t.kind for t in high_value.targets] == ["ApiDestination", "Topic"]
    assert high_value.targets[0].retry_policy.maximum_retry_attempts == 185
    assert high_value.targets[0].retry_policy.maximum_event_age_in_seconds == 86400
    assert high_value.targets[1].retry_policy.maximum_retry_attempts == 3
    assert high_value.targets[1].dead_letter_config is not None
    assert everything.state == "DISABLED"
    assert topology.bus_names() == ["default", "orders"]


def test_unknown_keys_are_errors_with_line_and_column() -> None:
    text = VALID.replace("    Partitions: 6\n", "    Partitions: 6\n    Partitons: 2\n")
    assert problems_of(text) == ["t.yaml:4:5: EventBuses[0].Partitons: unknown key (keys are EventBridge's; check the spelling)"]


def test_ranges_are_eventbridges() -> None:
    text = VALID.replace("MaximumRetryAttempts: 3", "MaximumRetryAttempts: 186").replace("MaximumEventAgeInSeconds: 120", "MaximumEventAgeInSeconds: 59")
    found = problems_of(text)
    assert len(found) == 1 and "Rules[0].Targets[1].RetryPolicy: " in found[0]
    assert "less than or equal to 185 (RetryPolicy.MaximumRetryAttempts)" in found[0]
    text = VALID.replace("MaximumEventAgeInSeconds: 120", "MaximumEventAgeInSeconds: 59")
    assert "greater than or equal to 60 (RetryPolicy.MaximumEventAgeInSeconds)" in problems_of(text)[0]
    text = VALID.replace("DeadLetterConfig: {Arn: orders.audit.dlq}", "DeadLetterConfig: {Arn: 'no/slashes'}")
    assert "Rules[0].Targets[1].DeadLetterConfig: " in problems_of(text)[0]


def test_every_problem_is_reported_at_once() -> None:
    text = VALID.replace("Partitions: 6", "Partitions: 0").replace("State: DISABLED", "State: OFF").replace(
        "{source: [{prefix: com.example}]}", "{source: com.example}"
    )
    found = problems_of(text)
    assert len(found) == 3
    assert found[0].startswith("t.yaml:3:5: EventBuses[0].Partitions:")
    assert "Rules[1].State" in found[1]
    assert "Rules[1].EventPattern" in found[2]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("EventBusName: orders\n    EventPattern: '", "EventBusName: nowhere\n    EventPattern: '"), "Rules[0].EventBusName: no bus named 'nowhere'"),
        (("ApiDestination: webhook", "ApiDestination: missing"), "Rules[0].Targets[0].ApiDestination: no API destination named 'missing'"),
        (("ConnectionName: webhook-auth", "ConnectionName: nope"), "ApiDestinations[0].ConnectionName: no connection named 'nope'"),
        (("Id: audit", "Id: hook"), "Rules[0].Targets[1].Id: target Id 'hook' is used more than once"),
        (("{Id: copy, EventBus: default}", "{Id: copy, EventBus: orders}"), "Rules[1].Targets[0].EventBus: a rule cannot target its own bus"),
        (("Topic: orders.audit\n", "Topic: orders.audit\n        EventBus: default\n"), "a target needs exactly one of Topic, EventBus, ApiDestination, Function, File; got Topic, EventBus"),
        (("InputTransformer:", "Input: '{}'\n        InputTransformer:"), "Input, InputPath and InputTransformer are mutually exclusive"),
        (("ApiKeyAuthParameters", "BasicAuthParameters"), "Connections[0]"),
        (("HttpMethod: POST", "HttpMethod: FETCH"), "ApiDestinations[0].HttpMethod"),
        (("Name: everything", "Name: high-value"), "Rules[1].Name: rule 'high-value' is declared more than once on bus 'orders'"),
    ],
)
def test_references_and_exclusive_fields_are_checked(change: tuple[str, str], expected: str) -> None:
    found = problems_of(VALID.replace(*change))
    assert any(expected in p for p in found), found


def test_invalid_patterns_name_the_rule_and_the_pattern_path() -> None:
    found = problems_of(VALID.replace('"total": [{"numeric": [">", 1000]}]', '"total": [{"numeric": [">", "x"]}]'))
    assert len(found) == 1
    assert "Rules[0].EventPattern" in found[0] and "InvalidEventPattern" not in found[0]


def test_more_than_five_targets_is_refused() -> None:
    targets = "".join(f"      - {{Id: t{i}, Topic: t{i}}}\n" for i in range(6))
    text = f"Rules:\n  - Name: r\n    EventPattern: {{source: [x]}}\n    Targets:\n{targets}"
    assert any("Rules[0].Targets: " in p and "at most 5" in p for p in problems_of(text))


def test_yaml_syntax_errors_and_non_mappings_are_located() -> None:
    assert problems_of("Rules: [\n") [0].startswith("t.yaml:2:1: not valid YAML")
    assert problems_of("- 1\n- 2\n") == ["t.yaml:1:1: a topology must be a mapping, not CommentedSeq"]
    assert "duplicate" in problems_of("Rules: []\nRules: []\n")[0].lower() or "found duplicate" in problems_of("Rules: []\nRules: []\n")[0]


def test_archives_load_and_are_checked() -> None:
    assert load_text("Archives:\n  - {ArchiveName: a}\n").archives[0].name == "a"
    found = problems_of("Archives:\n  - {ArchiveName: a, EventBusName: nowhere}\n  - {ArchiveName: a}\n")
    assert any("Archives[0].EventBusName" in p and "no bus named 'nowhere'" in p for p in found)
    assert any("Archives[1].Name" in p or "Archives[0].Name" in p for p in found)


def test_validate_command_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text(VALID.replace("Partitions: 6", "Partitions: 0").replace("State: DISABLED", "State: OFF"))
    result = subprocess.run([sys.executable, "-m", "eventpipes", "validate", str(good), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout.strip() == f"{good}: valid (2 buses, 2 rules, 3 targets, 1 API destination, 1 connection)"
    assert result.stderr.splitlines()[0].startswith(f"{bad}:3:5: EventBuses[0].Partitions:")
    assert len(result.stderr.splitlines()) == 2
    assert load_file(good).rules[0].name == "high-value"


PIPE = "{Name: p%d, Source: orders.events, Target: 'topic:out'}"


@pytest.mark.parametrize(("text", "summary"), [
    (f"Pipes: [{PIPE % 1}]", "1 pipe"),
    (f"Pipes: [{PIPE % 1}, {PIPE % 2}]", "2 pipes"),
    ("EventBuses: [{Name: b}]\nRules: [{Name: r, EventBusName: b, EventPattern: {source: [x]}, "
     "Targets: [{Id: t, Topic: out}]}]\nArchives: [{ArchiveName: a, EventBusName: b}]\n"
     f"Pipes: [{PIPE % 1}]", "1 bus, 1 rule, 1 target, 1 archive, 1 pipe"),
    ("EventBuses: [{Name: b}]", "1 bus"),
    ("{}", "nothing to run"),
])
def test_the_summary_names_what_the_file_holds(text: str, summary: str) -> None:
    assert contents(load_text(text)) == summary


def test_validate_a_pipe_only_file_names_its_pipes(tmp_path: Path) -> None:
    pipes = tmp_path / "pipes.yaml"
    pipes.write_text(f"Pipes: [{PIPE % 1}, {PIPE % 2}]\n")
    result = subprocess.run([sys.executable, "-m", "eventpipes", "validate", str(pipes)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{pipes}: valid (2 pipes)"
