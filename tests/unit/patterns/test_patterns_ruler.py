"""Ruler: many named rules in one machine, changed while in use."""

from __future__ import annotations

import threading

import pytest

from eventpipes.errors import ValidationException
from eventpipes.patterns import InvalidEventPattern, Pattern, Ruler, compile_pattern
from eventpipes.patterns.flatten import flatten

EC2 = {"source": ["aws.ec2"]}
RUNNING = {"source": ["aws.ec2"], "detail": {"state": ["running"]}}
BIG = {"detail": {"size": [{"numeric": [">", 100]}]}}


def test_matches_returns_every_matching_rule_at_once() -> None:
    ruler = Ruler({"ec2": EC2, "running": RUNNING, "big": BIG})
    assert ruler.matches({"source": "aws.ec2", "detail": {"state": "running", "size": 5}}) == {"ec2", "running"}
    assert ruler.matches({"source": "aws.s3", "detail": {"size": 500}}) == {"big"}
    assert ruler.matches('{"source": "x"}') == set()
    assert sorted(ruler.names()) == ["big", "ec2", "running"] and len(ruler) == 3 and "ec2" in ruler


def test_add_replaces_and_remove_forgets() -> None:
    ruler = Ruler()
    assert isinstance(ruler.add("r", EC2), Pattern)
    ruler.add("r", BIG)  # same name: replaced, not or-ed
    assert ruler.matches({"source": "aws.ec2"}) == set()
    assert ruler.matches({"detail": {"size": 101}}) == {"r"}
    assert ruler.remove("r") is True
    assert ruler.remove("r") is False
    assert ruler.matches({"detail": {"size": 101}}) == set()


def test_rules_sharing_states_stay_apart() -> None:
    ruler = Ruler({"one": {"a": [1, 3], "b": [5]}, "two": {"a": [1], "b": [6]}, "three": {"a": [1], "b": [5]}})
    assert ruler.matches({"a": 3, "b": 5}) == {"one"}
    assert ruler.matches({"a": 1, "b": 5}) == {"one", "three"}
    assert ruler.matches({"a": 1, "b": 6}) == {"two"}
    ruler.remove("three")
    assert ruler.matches({"a": 1, "b": 5}) == {"one"}


def test_an_invalid_pattern_changes_nothing() -> None:
    ruler = Ruler({"ec2": EC2})
    with pytest.raises(InvalidEventPattern):
        ruler.update(add={"ok": BIG, "bad": {"a": []}}, remove=["ec2"])
    assert ruler.names() == ["ec2"]
    assert ruler.matches({"source": "aws.ec2"}) == {"ec2"}


def test_update_applies_removals_and_additions_together() -> None:
    ruler = Ruler({"ec2": EC2})
    ruler.update(add={"big": BIG, "pattern": compile_pattern(RUNNING)}, remove=["ec2"])
    assert ruler.matches({"source": "aws.ec2", "detail": {"state": "running", "size": 1000}}) == {"big", "pattern"}


def test_events_must_be_objects() -> None:
    with pytest.raises(ValidationException):
        Ruler({"ec2": EC2}).matches("[1, 2]")
    with pytest.raises(ValidationException):
        compile_pattern(EC2).matches("{not json")


def test_a_flattened_event_can_be_reused_across_patterns() -> None:
    flat = flatten({"source": "aws.ec2"})
    assert compile_pattern(EC2).matches(flat) and not compile_pattern(BIG).matches(flat)


def test_matching_while_other_threads_add_and_remove() -> None:
    """Readers never see half a batch: a rule pair added together is matched together or not at all."""
    ruler = Ruler({"stable": EC2})
    stop = threading.Event()
    problems: list[str] = []

    def writer() -> None:
        for round_ in range(300):
            ruler.update(add={f"pair-a-{round_}": EC2, f"pair-b-{round_}": EC2})
            ruler.update(remove=[f"pair-a-{round_}", f"pair-b-{round_}"])
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            found = ruler.matches({"source": "aws.ec2"})
            if "stable" not in found:
                problems.append("lost the stable rule")
            rounds_a = {name[7:] for name in found if name.startswith("pair-a-")}
            rounds_b = {name[7:] for name in found if name.startswith("pair-b-")}
            if rounds_a != rounds_b:
                problems.append(f"half a batch: {rounds_a} vs {rounds_b}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not problems, problems[:3]
    assert ruler.names() == ["stable"]
