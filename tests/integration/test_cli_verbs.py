"""The AWS CLI-shaped verbs on the real broker: a bus, its rules and targets, connections, pipes, tags, and AWS's errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest

from cli_verbs_support import Verbs, verbs_on_own_store
from eventpipes.kafka.topics import bus_topic
from eventpipes.testing import KafkaCluster, unique_name


@pytest.fixture
def verbs(kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Verbs]:
    with verbs_on_own_store(kafka, monkeypatch) as found:
        yield found


def test_a_bus_a_rule_and_its_targets(verbs: Verbs) -> None:
    bus, out = unique_name("bus"), unique_name("out")
    try:
        created = verbs.ok("create-event-bus", "--name", bus)
        assert created == {"EventBusArn": f"arn:aws:events:us-east-1:000000000000:event-bus/{bus}"}
        assert bus_topic(bus) in verbs.kafka.admin.topics()
        described_bus = verbs.ok("describe-event-bus", "--name", bus)
        assert described_bus["Name"] == bus
        assert datetime.fromisoformat(described_bus["CreationTime"]).tzinfo is not None  # AWS CLI v2's ISO 8601
        assert bus in [b["Name"] for b in verbs.ok("list-event-buses", "--name-prefix", bus)["EventBuses"]]

        pattern = '{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}'
        rule = verbs.ok("put-rule", "--name", "big", "--event-bus-name", bus, "--event-pattern", pattern,
                        "--description", "big orders")
        assert rule == {"RuleArn": f"arn:aws:events:us-east-1:000000000000:rule/{bus}/big"}
        put = verbs.ok("put-targets", "--rule", "big", "--event-bus-name", bus,
                       "--targets", json.dumps([{"Id": "audit", "Arn": f"kafka:topic/{out}"}]))
        assert put == {"FailedEntryCount": 0, "FailedEntries": []}

        described = verbs.ok("describe-rule", "--name", "big", "--event-bus-name", bus)
        assert (described["EventPattern"], described["State"], described["Description"]) == (pattern, "ENABLED", "big orders")
        assert described["CreatedBy"] == "000000000000"
        assert [r["Name"] for r in verbs.ok("list-rules", "--event-bus-name", bus)["Rules"]] == ["big"]
        targets = verbs.ok("list-targets-by-rule", "--rule", "big", "--event-bus-name", bus)["Targets"]
        assert targets == [{"Id": "audit", "Arn": f"kafka:topic/{out}"}]
        names = verbs.ok("list-rule-names-by-target", "--target-arn", f"kafka:topic/{out}", "--event-bus-name", bus)
        assert names["RuleNames"] == ["big"]

        assert verbs.ok("disable-rule", "--name", "big", "--event-bus-name", bus) is None  # nothing printed, as the AWS CLI
        assert verbs.ok("describe-rule", "--name", "big", "--event-bus-name", bus)["State"] == "DISABLED"
        verbs.ok("enable-rule", "--name", "big", "--event-bus-name", bus)
        assert verbs.ok("describe-rule", "--name", "big", "--event-bus-name", bus)["State"] == "ENABLED"

        table = verbs.call("list-targets-by-rule", "--rule", "big", "--event-bus-name", bus, "--output", "table")
        assert table.exit_code == 0 and "ListTargetsByRule: Targets" in table.stdout
        assert "audit" in table.stdout and "Arn" in table.stdout and "Id" in table.stdout

        removed = verbs.ok("remove-targets", "--rule", "big", "--event-bus-name", bus, "--ids", "audit", "never-put")
        assert removed == {"FailedEntryCount": 0, "FailedEntries": []}
        assert verbs.ok("list-targets-by-rule", "--rule", "big", "--event-bus-name", bus)["Targets"] == []
        verbs.ok("delete-rule", "--name", "big", "--event-bus-name", bus)
        gone = verbs.fails(2, "describe-rule", "--name", "big", "--event-bus-name", bus)
        assert gone == ("An error occurred (ResourceNotFoundException) when calling the DescribeRule operation: "
                        f"Rule big does not exist on EventBus {bus}.")
        verbs.ok("delete-event-bus", "--name", bus)
        assert bus not in [b["Name"] for b in verbs.ok("list-event-buses", "--name-prefix", bus)["EventBuses"]]
    finally:
        verbs.delete_topics_named(bus, out)


def test_aws_errors_are_the_aws_cli_line_and_exit_2(verbs: Verbs) -> None:
    bus, rule = unique_name("bus"), unique_name("rule")
    try:
        missing = verbs.fails(2, "describe-rule", "--name", rule)
        assert missing == ("An error occurred (ResourceNotFoundException) when calling the DescribeRule operation: "
                           f"Rule {rule} does not exist on EventBus default.")
        verbs.ok("create-event-bus", "--name", bus)
        again = verbs.fails(2, "create-event-bus", "--name", bus)
        assert again.startswith("An error occurred (ResourceAlreadyExistsException) when calling the CreateEventBus operation:")
        pattern = verbs.fails(2, "put-rule", "--name", rule, "--event-bus-name", bus, "--event-pattern", '{"source": "shop"}')
        assert pattern.startswith("An error occurred (InvalidEventPatternException) when calling the PutRule operation:")
        verbs.ok("put-rule", "--name", rule, "--event-bus-name", bus, "--event-pattern", '{"source": ["shop"]}')

        six = [{"Id": f"t{n}", "Arn": f"kafka:topic/{bus}-t{n}"} for n in range(6)]
        limit = verbs.fails(2, "put-targets", "--rule", rule, "--event-bus-name", bus, "--targets", json.dumps(six))
        assert limit.startswith("An error occurred (LimitExceededException) when calling the PutTargets operation:")
        assert verbs.ok("list-targets-by-rule", "--rule", rule, "--event-bus-name", bus)["Targets"] == []  # nothing put

        verbs.ok("put-targets", "--rule", rule, "--event-bus-name", bus, "--targets", json.dumps(six[:1]))
        has_targets = verbs.fails(2, "delete-rule", "--name", rule, "--event-bus-name", bus)
        assert has_targets == ("An error occurred (ValidationException) when calling the DeleteRule operation: "
                               "Rule can't be deleted since it has targets.")
        bad_json = verbs.fails(2, "put-targets", "--rule", rule, "--event-bus-name", bus, "--targets", "[{'Id': 't'}]")
        assert bad_json.startswith("ValidationException: Error parsing parameter '--targets': Invalid JSON:")
        verbs.ok("remove-targets", "--rule", rule, "--event-bus-name", bus, "--ids", '["t0"]')
        verbs.ok("delete-rule", "--name", rule, "--event-bus-name", bus)
        verbs.ok("delete-event-bus", "--name", bus)
    finally:
        verbs.delete_topics_named(bus)


def test_cli_input_json_and_file_values(verbs: Verbs, tmp_path: pytest.TempPathFactory) -> None:
    bus = unique_name("bus")
    request = tmp_path / "rule.json"  # type: ignore[operator]
    request.write_text(json.dumps({"Name": "r", "EventBusName": bus, "EventPattern": '{"source": ["a"]}', "State": "DISABLED"}))
    pattern = tmp_path / "pattern.json"  # type: ignore[operator]
    pattern.write_text('{"source": ["b"]}')
    try:
        verbs.ok("create-event-bus", "--cli-input-json", json.dumps({"Name": bus, "Description": "from JSON"}))
        assert verbs.ok("describe-event-bus", "--name", bus)["Description"] == "from JSON"
        verbs.ok("put-rule", "--cli-input-json", f"file://{request}", "--event-pattern", f"file://{pattern}")
        described = verbs.ok("describe-rule", "--name", "r", "--event-bus-name", bus)
        assert (described["EventPattern"], described["State"]) == ('{"source": ["b"]}', "DISABLED")
        verbs.ok("delete-rule", "--name", "r", "--event-bus-name", bus)
        verbs.ok("delete-event-bus", "--name", bus)
    finally:
        verbs.delete_topics_named(bus)


def test_connections_destinations_pipes_and_tags(verbs: Verbs) -> None:
    connection, destination, pipe = unique_name("conn"), unique_name("dest"), unique_name("pipe")
    source, target, bus = unique_name("src"), unique_name("dst"), unique_name("bus")
    try:
        auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret-value"}}
        made = verbs.ok("create-connection", "--name", connection, "--authorization-type", "API_KEY",
                        "--auth-parameters", json.dumps(auth))
        assert made["ConnectionState"] == "AUTHORIZED"
        shown = verbs.call("describe-connection", "--name", connection)
        assert shown.exit_code == 0 and "s3cret-value" not in shown.stdout
        assert json.loads(shown.stdout)["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
        verbs.ok("create-api-destination", "--name", destination, "--connection-arn", made["ConnectionArn"],
                 "--invocation-endpoint", "http://127.0.0.1:9/hook", "--http-method", "POST",
                 "--invocation-rate-limit-per-second", "5")
        listed = verbs.ok("list-api-destinations", "--name-prefix", destination)["ApiDestinations"]
        assert [(d["Name"], d["InvocationRateLimitPerSecond"]) for d in listed] == [(destination, 5)]
        in_use = verbs.fails(2, "delete-connection", "--name", connection)
        assert in_use.startswith("An error occurred (ValidationException) when calling the DeleteConnection operation:")
        verbs.ok("delete-api-destination", "--name", destination)
        verbs.ok("delete-connection", "--name", connection)

        created = verbs.ok("create-pipe", "--name", pipe, "--source", "smk://127.0.0.1:9092", "--target", f"kafka:topic/{target}",
                           "--desired-state", "STOPPED", "--source-parameters",
                           json.dumps({"SelfManagedKafkaParameters": {"TopicName": source, "StartingPosition": "LATEST"}}))
        assert created["Name"] == pipe and created["DesiredState"] == "STOPPED"
        assert verbs.ok("start-pipe", "--name", pipe)["DesiredState"] == "RUNNING"
        assert verbs.ok("stop-pipe", "--name", pipe)["DesiredState"] == "STOPPED"
        assert [p["Name"] for p in verbs.ok("list-pipes", "--name-prefix", pipe)["Pipes"]] == [pipe]
        verbs.ok("tag-resource", "--resource-arn", created["Arn"], "--tags", '{"team": "orders"}')  # Pipes' shape
        assert verbs.ok("list-tags-for-resource", "--resource-arn", created["Arn"]) == {"tags": {"team": "orders"}}
        verbs.ok("untag-resource", "--resource-arn", created["Arn"], "--tag-keys", "team")
        assert verbs.ok("list-tags-for-resource", "--resource-arn", created["Arn"]) == {"tags": {}}
        verbs.ok("delete-pipe", "--name", pipe)
        unknown = verbs.fails(2, "describe-pipe", "--name", pipe)
        assert unknown == f"An error occurred (NotFoundException) when calling the DescribePipe operation: Pipe {pipe} does not exist."

        bus_arn = verbs.ok("create-event-bus", "--name", bus)["EventBusArn"]
        verbs.ok("tag-resource", "--resource-arn", bus_arn, "--tags", '[{"Key": "team", "Value": "orders"}]')  # EventBridge's
        assert verbs.ok("list-tags-for-resource", "--resource-arn", bus_arn) == {"Tags": [{"Key": "team", "Value": "orders"}]}
        verbs.ok("delete-event-bus", "--name", bus)
    finally:
        verbs.delete_topics_named(bus, source, target)
