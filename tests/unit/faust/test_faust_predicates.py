"""EventPattern and RuleSet answer as eventpipes' matcher: every recorded conformance case, dicts and raw JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventpipes.faust import EventPattern, RouteConfigurationError, RuleSet
from eventpipes.patterns import InvalidEventPattern
from eventpipes.topology import load_text

CASES_FILE = Path(__file__).parents[2] / "conformance" / "data" / "event-patterns-aws-validated.jsonl"
CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
VALID = [case for case in CASES if case["expected"] != "invalid"]


def test_the_conformance_set_is_all_here() -> None:
    assert (len(CASES), len(VALID)) == (174, 136)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_event_pattern_answers_each_recorded_case(case: dict[str, Any]) -> None:
    if case["expected"] == "invalid":
        with pytest.raises(InvalidEventPattern) as info:
            EventPattern(case["pattern"])
        assert info.value.code == "InvalidEventPatternException"
        return
    predicate = EventPattern(case["pattern"])
    raw = json.dumps(case["event"])
    assert predicate(case["event"]) is case["expected"]
    assert predicate(raw.encode()) is case["expected"]  # a topic read with value_serializer="raw"
    assert predicate(raw) is case["expected"]
    assert EventPattern(json.dumps(case["pattern"]))(case["event"]) is case["expected"]


def test_a_rule_set_of_every_valid_case_answers_each_event_as_the_patterns_alone() -> None:
    rules = RuleSet({case["name"]: case["pattern"] for case in VALID})
    alone = {case["name"]: EventPattern(case["pattern"]) for case in VALID}
    for case in VALID:
        expected = {name for name, predicate in alone.items() if predicate(case["event"])}
        assert rules.matches(case["event"]) == expected, case["name"]
        assert rules.matches(json.dumps(case["event"]).encode()) == expected, case["name"]
        assert rules(case["event"]) is bool(expected)
        assert (case["name"] in expected) is case["expected"]


@pytest.mark.parametrize("value", [b"not json", b"[1, 2]", "\"text\"", b"", b"\xff\xfe"])
def test_a_value_that_is_not_a_json_object_matches_nothing(value: str | bytes) -> None:
    assert EventPattern({"source": [{"exists": False}]})(value) is False
    assert RuleSet({"any": {"source": [{"exists": False}]}}).matches(value) == set()


def test_a_rule_set_from_a_topology_takes_the_enabled_rules_of_one_bus() -> None:
    topology = load_text("""
EventBuses: [{Name: orders}, {Name: other}]
Rules:
  - {Name: placed, EventBusName: orders, EventPattern: {detail-type: [OrderPlaced]}}
  - {Name: off, EventBusName: orders, State: DISABLED, EventPattern: {detail-type: [OrderPlaced]}}
  - {Name: elsewhere, EventBusName: other, EventPattern: {detail-type: [OrderPlaced]}}
""")
    rules = RuleSet.from_topology(topology, "orders")
    assert rules.matches({"detail-type": "OrderPlaced"}) == {"placed"}
    assert len(rules) == 1
    with pytest.raises(RouteConfigurationError, match="no rules on bus 'nowhere'"):
        RuleSet.from_topology(topology, "nowhere")


def test_an_invalid_pattern_in_a_rule_set_names_its_rule() -> None:
    with pytest.raises(InvalidEventPattern) as info:
        RuleSet({"good": {"source": ["a"]}, "bad": {"source": "not-a-list"}})
    assert (info.value.path, info.value.reason) == ("bad/source", '"source" must be an object or an array')
    assert str(info.value).endswith("(at bad/source)")
