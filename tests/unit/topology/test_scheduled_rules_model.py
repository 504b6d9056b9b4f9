"""Scheduled rules in topologies: ScheduleExpression instead of or beside EventPattern, on the default bus only."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eventpipes.cli.topology import validate
from eventpipes.schedules import CronSchedule, RateSchedule
from eventpipes.topology import TopologyError, load_file, load_text

EXAMPLE = Path(__file__).parents[3] / "topologies" / "scheduled.yaml"


def problems_of(text: str) -> list[str]:
    with pytest.raises(TopologyError) as caught:
        load_text(text, file="t.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_example_topology_loads_with_a_rate_and_a_cron_rule() -> None:
    topology = load_file(EXAMPLE, import_functions=True)
    by_name = {rule.name: rule for rule in topology.scheduled_rules()}
    assert set(by_name) == {"heartbeat", "nightly"}
    assert isinstance(by_name["heartbeat"].schedule, RateSchedule)
    assert isinstance(by_name["nightly"].schedule, CronSchedule)
    assert all(rule.event_pattern is None and rule.event_bus_name == "default" for rule in by_name.values())
    assert by_name["heartbeat"].targets[0].input_transformer is not None


def test_a_rule_may_have_a_pattern_and_a_schedule() -> None:
    topology = load_text("Rules:\n  - {Name: both, ScheduleExpression: rate(5 minutes), EventPattern: {source: [a]}}\n")
    rule = topology.rules[0]
    assert rule.event_pattern == {"source": ["a"]} and rule.schedule_expression == "rate(5 minutes)"


def test_disabled_scheduled_rules_are_not_scheduled() -> None:
    topology = load_text("Rules:\n  - {Name: off, State: DISABLED, ScheduleExpression: rate(1 minute)}\n"
                         "  - {Name: on, ScheduleExpression: rate(1 minute)}\n")
    assert [rule.name for rule in topology.scheduled_rules()] == ["on"]


def test_a_rule_with_neither_pattern_nor_schedule_gets_eventbridges_message() -> None:
    assert problems_of("Rules:\n  - Name: nothing\n    Targets: [{Id: t, Topic: x}]\n") == [
        "t.yaml:2:5: Rules[0]: Parameter(s) EventPattern or ScheduleExpression must be specified."]


def test_a_schedule_on_a_custom_bus_is_refused_at_the_expression() -> None:
    text = "EventBuses: [{Name: orders}]\nRules:\n  - Name: tick\n    EventBusName: orders\n    ScheduleExpression: rate(1 minute)\n"
    assert problems_of(text) == [
        "t.yaml:5:5: Rules[0].ScheduleExpression: ScheduleExpression is supported only on the default event bus."]


@pytest.mark.parametrize("expression, reason", [
    ("cron(7 20 * * 1-7 *)", "day"),
    ("rate(1 minutes)", "minute"),
    ("rate(5 minute)", "minute"),
    ("every 5 minutes", ""),
])
def test_invalid_expressions_are_located_with_eventbridges_message(expression: str, reason: str) -> None:
    problems = problems_of(f"Rules:\n  - Name: tick\n    ScheduleExpression: '{expression}'\n")
    assert len(problems) == 1
    assert problems[0].startswith("t.yaml:3:5: Rules[0].ScheduleExpression: Parameter ScheduleExpression is not valid. (")
    assert reason in problems[0]


def test_validate_reports_every_schedule_problem_and_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("EventBuses: [{Name: orders}]\nRules:\n"
                    "  - {Name: a, ScheduleExpression: 'cron(0 24 * * ? *)'}\n"
                    "  - {Name: b, EventBusName: orders, ScheduleExpression: 'rate(1 hour)'}\n"
                    "  - {Name: c}\n")
    result = CliRunner().invoke(validate, [str(file)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines() if hasattr(result, "stderr") else result.output.splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["Rules[0].ScheduleExpression", "Rules[1].ScheduleExpression", "Rules[2]"]
    assert "hours" in lines[0] and "default event bus" in lines[1] and "must be specified" in lines[2]
