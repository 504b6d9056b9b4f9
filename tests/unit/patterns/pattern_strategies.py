"""Hypothesis strategies for small random patterns and events over a shared vocabulary.

Values come from small pools so that patterns and events often meet: the
interesting cases are the near-misses (case, prefixes, 300 vs 300.0, null vs
missing, arrays of objects).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

KEYS = ["a", "b", "c"]
STRINGS = ["x", "xy", "X", "yx", "", "init-a", "Init-b", "a*b", "10.0.0.7", "10.0.1.7", "2001:db8::1"]
NUMBERS = [0, 1, 1.5, -3, 300, 300.0, 3.0e2, 5_000_000_001, 0.0000001, 2.25]
SCALARS = st.sampled_from(STRINGS) | st.sampled_from(NUMBERS) | st.sampled_from([True, False, None])

_PATTERN_NUMBERS = [0, 1, 1.5, -3, 300, 2.25, 5_000_000_001]
_WILDCARDS = ["x*", "*y", "*", "", "a\\*b", "I*-*", "*0.*"]
_STRING_OPERAND = st.sampled_from(["x", "y", "in", "In", "X", "a", "10"])

OPERATORS = st.one_of(
    st.sampled_from(STRINGS + [True, False, None]),
    st.sampled_from(_PATTERN_NUMBERS),
    st.builds(lambda s: {"prefix": s}, _STRING_OPERAND | st.just("")),
    st.builds(lambda s: {"suffix": s}, _STRING_OPERAND | st.just("")),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, _STRING_OPERAND),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, _STRING_OPERAND),
    st.builds(lambda s: {"equals-ignore-case": s}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(_WILDCARDS)),
    st.builds(lambda v: {"anything-but": v}, st.sampled_from(STRINGS) | st.sampled_from(_PATTERN_NUMBERS)),
    st.builds(lambda v: {"anything-but": v}, st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3)),
    st.builds(lambda v: {"anything-but": v}, st.lists(st.sampled_from(_PATTERN_NUMBERS[:6]), min_size=1, max_size=3)),
    st.builds(
        lambda kind, v: {"anything-but": {kind: v}},
        st.sampled_from(["prefix", "suffix", "equals-ignore-case"]),
        _STRING_OPERAND | st.lists(_STRING_OPERAND, min_size=1, max_size=2),
    ),
    st.builds(lambda v: {"anything-but": {"wildcard": v}}, st.sampled_from(_WILDCARDS)),
    st.sampled_from([
        {"numeric": [">", 0]}, {"numeric": [">=", 1.5]}, {"numeric": ["<", 300]}, {"numeric": ["<=", 0]},
        {"numeric": ["=", 300]}, {"numeric": [">", -3, "<=", 1.5]}, {"numeric": [">=", 0, "<", 300]},
    ]),
    st.sampled_from([{"exists": True}, {"exists": False}, {"exists": False}]),
    st.sampled_from([{"cidr": "10.0.0.0/24"}, {"cidr": "10.0.0.9/16"}, {"cidr": "2001:db8::/64"}]),
)

VALUE_LISTS = st.lists(OPERATORS, min_size=1, max_size=3)


def _pattern_objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    leaf = VALUE_LISTS
    inner: st.SearchStrategy[Any] = leaf if depth == 0 else leaf | _pattern_objects(depth - 1)
    plain = st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=3)
    if depth == 0:
        return plain
    with_or = st.builds(
        lambda base, branches: {**base, "$or": branches},
        st.dictionaries(st.sampled_from(KEYS), leaf, max_size=2),
        st.lists(st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=2), min_size=2, max_size=3),
    )
    return plain | with_or


PATTERNS = _pattern_objects(2)


def _event_values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS | st.lists(SCALARS, max_size=3)
    nested = st.dictionaries(st.sampled_from(KEYS), _event_values(depth - 1), max_size=3)
    return SCALARS | st.lists(SCALARS, max_size=3) | nested | st.lists(nested, max_size=3)


EVENTS = st.dictionaries(st.sampled_from(KEYS), _event_values(2), max_size=3)
