"""Property tests: the compiled machine agrees with a plain one-pattern-at-a-time evaluator."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pattern_reference import reference_matches
from pattern_strategies import EVENTS, PATTERNS

from eventpipes.patterns import InvalidEventPattern, Ruler, compile_pattern

# max_examples comes from the Hypothesis profile (tests/conftest.py): 300 in CI, 30 everyday.
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid(pattern: dict[str, Any]) -> bool:
    try:
        compile_pattern(pattern)
    except InvalidEventPattern:
        return False
    return True


@SETTINGS
@given(pattern=PATTERNS, events=st.lists(EVENTS, min_size=1, max_size=5))
def test_one_pattern_agrees_with_the_reference(pattern: dict[str, Any], events: list[dict[str, Any]]) -> None:
    if not _valid(pattern):
        return
    compiled = compile_pattern(pattern)
    for event in events:
        assert compiled.matches(event) is reference_matches(pattern, event), (pattern, event)


@SETTINGS
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, min_size=1, max_size=5))
def test_ruler_agrees_with_each_pattern_alone(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    named = {f"rule-{i}": p for i, p in enumerate(patterns) if _valid(p)}
    ruler = Ruler(named)
    for event in events:
        expected = {name for name, p in named.items() if reference_matches(p, event)}
        assert ruler.matches(event) == expected, event


@SETTINGS
@given(
    patterns=st.lists(PATTERNS, min_size=2, max_size=8),
    removed=st.sets(st.integers(0, 7)),
    events=st.lists(EVENTS, min_size=1, max_size=4),
)
def test_removing_rules_leaves_the_same_machine_as_never_adding_them(
    patterns: list[dict[str, Any]], removed: set[int], events: list[dict[str, Any]]
) -> None:
    named = {f"rule-{i}": p for i, p in enumerate(patterns) if _valid(p)}
    gone = {f"rule-{i}" for i in removed} & set(named)
    ruler = Ruler()
    for name, pattern in named.items():  # one by one: many small copy-on-write batches
        ruler.add(name, pattern)
    for name in gone:
        assert ruler.remove(name)
    fresh = Ruler({n: p for n, p in named.items() if n not in gone})
    for event in events:
        assert ruler.matches(event) == fresh.matches(event)
