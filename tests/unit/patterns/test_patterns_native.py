"""The C loops (eventpipes.patterns.native) agree with the Python code they stand in for.

Reference paths: ``flatten(json.loads(text), paths)`` for ``flatten_text``, ``machine._find``
for ``find``, and ``machine._find_consistent`` for events whose arrays ``_find`` may ignore.
"""

from __future__ import annotations

import json
from collections import OrderedDict, UserList
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pattern_strategies import EVENTS, KEYS, PATTERNS

from eventpipes.errors import ValidationException
from eventpipes.patterns import InvalidEventPattern, Ruler, compile_pattern
from eventpipes.patterns import machine, native
from eventpipes.patterns.flatten import FieldPaths, FlatEvent, flatten

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
needs_native = pytest.mark.skipif(not native.AVAILABLE, reason="the C extension is not built here")

#: Paths over the strategies' keys, one to three levels deep.
PATHS = st.lists(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join), min_size=1, max_size=6)
#: How the same event may be written: compact, spaced, indented.
LAYOUTS = st.sampled_from([{}, {"separators": (",", ":")}, {"indent": 2}, {"separators": (" , ", " : ")}])
#: Strings that make a scanner work: escapes, quotes, non-ASCII, astral characters, dots.
ODD = st.sampled_from(['q"uote', "back\\slash", "tab\there", "é", "日本", "\U0001f600", "a.b", "\u2028", "/", ""])


def _schema(paths: list[str]) -> Any:
    return native.schema(FieldPaths.of(paths))


def _valid(pattern: dict[str, Any]) -> bool:
    try:
        compile_pattern(pattern)
    except InvalidEventPattern:
        return False
    return True


def _odd_event() -> st.SearchStrategy[Any]:
    scalar = ODD | st.integers(-10**20, 10**20) | st.floats(allow_nan=False, allow_infinity=False) | st.booleans()
    leaf = scalar | st.lists(scalar, max_size=3)
    inner = st.dictionaries(st.sampled_from(KEYS) | ODD, leaf, max_size=3)
    return st.dictionaries(st.sampled_from(KEYS) | ODD, leaf | inner | st.lists(inner, max_size=3), max_size=4)


@needs_native
@SETTINGS
@given(event=EVENTS, paths=PATHS, layout=LAYOUTS)
def test_flatten_text_is_flatten_of_the_parsed_text(event: dict[str, Any], paths: list[str], layout: dict[str, Any]) -> None:
    text = json.dumps(event, **layout)
    only = FieldPaths.of(paths)
    found = native.flatten_text(_schema(paths), text)
    assert found is not None, text  # plain events are read in C, not handed back
    assert found == flatten(json.loads(text), only)
    assert native.flatten_text(_schema(paths), text.encode()) == found


@needs_native
@SETTINGS
@given(event=_odd_event(), paths=PATHS, ascii_only=st.booleans())
def test_flatten_text_agrees_or_defers_on_odd_text(event: dict[str, Any], paths: list[str], ascii_only: bool) -> None:
    text = json.dumps(event, ensure_ascii=ascii_only)
    found = native.flatten_text(_schema(paths + ["a.b", "é"]), text)
    if found is not None:
        assert found == flatten(json.loads(text), FieldPaths.of(paths + ["a.b", "é"]))


@needs_native
@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}',  # json.loads keeps the last: the C scan defers
    '{"a.b": 1}', '{"": {"a": 1}}', '{"\\u0061": 1}',  # keys whose path the scan cannot join
    '{"a": NaN}', '{"b": Infinity, "a": 1}', '{"a": -Infinity}',
    '{"a": 1', '{"a": 1,}', '{"a": [1,]}', '{"a": 01}', '{"a": 1.}', '{"a": .5}', '{"a": "x\x01"}',
    '{"a": "\\x"}', '{"a": "\\u12"}', '["a"]', '"a"', "", "\ufeff{}", '{"a": 1} x',
    '{"a": ' + "1" * 5000 + "}",  # past int's digit limit: json.loads refuses it too
    '{"c": ' + "[" * 600 + "]" * 600 + "}",  # deeper than the C scan goes
])
def test_flatten_text_defers_what_it_does_not_read_like_json_loads(text: str) -> None:
    assert native.flatten_text(_schema(["a", "a.b", "b"]), text) is None


@needs_native
@pytest.mark.parametrize("text", [
    '{"b": {"x": 1, "x": 2}, "a": 1}',  # duplicates at a path no rule reads cost nothing
    '{"a": "\\u00e9\\n\\"\\ud83d\\ude00"}', '{"a": "\\ud800"}', '{"a": "日本 é"}',
    '{"a": 1e400, "b": -0.0}', '{"a": 123456789012345678901234567890}', '{"a": 5e-7}',
    ' \t\n{"a" : [ {"b": [1, {"b": 2}]}, null, true, false ] }\r\n',
    '{"z": {"deep": ' + "[" * 400 + "]" * 400 + '}, "a": 1}',
])
def test_flatten_text_reads_valid_json_like_json_loads(text: str) -> None:
    paths = ["a", "a.b", "b"]
    found = native.flatten_text(_schema(paths), text)
    assert found is not None
    assert found == flatten(json.loads(text), FieldPaths.of(paths))


@needs_native
def test_flatten_text_decodes_bytes_as_json_loads_does() -> None:
    event = {"a": "é", "b": [1, {"x": 2}]}
    for encoding in ("utf-8", "utf-16", "utf-32", "utf-8-sig"):
        found = native.flatten_text(_schema(["a", "b.x"]), json.dumps(event).encode(encoding))
        assert found == flatten(event, FieldPaths.of(["a", "b.x"]))
    assert native.flatten_text(_schema(["a"]), b'{"a": "\xff"}') is None


def test_text_the_scan_defers_still_gets_the_python_paths_errors() -> None:
    ruler = Ruler({"r": {"a": [1]}})
    with pytest.raises(ValidationException, match="not JSON"):
        ruler.matches('{"a": 1,}')
    with pytest.raises(ValidationException, match="must be a JSON object"):
        ruler.matches('["a"]')
    assert ruler.matches('{"a": 2, "a": 1}') == {"r"}  # the last of two keys, as json.loads reads it
    assert ruler.matches(b'{"a": 1}') == {"r"}


def _both_walks(patterns: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    named = {f"rule-{i}": p for i, p in enumerate(patterns) if _valid(p)}
    ruler = Ruler(named)
    root, paths = ruler._machine.view
    for event in events:
        flat = flatten(event, paths)
        if not flat.has_arrays:
            assert native.find(root.lowered, flat) == machine._find(root, flat), event
        full = FlatEvent(flat.values, flat.members, True)  # the positions walk on every event, too
        assert native.find(root.lowered, full) == machine._find_consistent(root, full), event
        text_flat = native.flatten_text(paths.native, json.dumps(event))
        assert text_flat == flat
        assert ruler.matches(json.dumps(event)) == machine._find_consistent(root, flat), event


@needs_native
@SETTINGS
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, min_size=1, max_size=5))
def test_the_c_walk_is_the_python_walk(patterns: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    _both_walks(patterns, events)


def test_the_c_positions_walk_keeps_array_elements_apart() -> None:
    pattern = {"items": {"sku": ["a"], "qty": [2]}}
    ruler = Ruler({"r": pattern, "gone": {"items": {"sku": ["a"], "x": [{"exists": False}]}}})
    same = {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}
    apart = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    with_x = {"items": [{"sku": "a", "x": 1}, {"sku": "b"}]}
    other_x = {"items": [{"sku": "b", "x": 1}, {"sku": "a"}]}
    for event, expected in ((same, {"r", "gone"}), (apart, {"gone"}), (with_x, set()), (other_x, {"gone"})):
        root, paths = ruler._machine.view
        flat = flatten(event, paths)
        assert flat.has_arrays
        assert ruler.matches(json.dumps(event)) == machine._find_consistent(root, flat) == expected, event


@needs_native
@SETTINGS
@given(
    patterns=st.lists(PATTERNS, min_size=2, max_size=8),
    removed=st.sets(st.integers(0, 7)),
    events=st.lists(EVENTS, min_size=1, max_size=4),
)
def test_lowered_states_follow_adds_and_removes(
    patterns: list[dict[str, Any]], removed: set[int], events: list[dict[str, Any]]
) -> None:
    named = {f"rule-{i}": p for i, p in enumerate(patterns) if _valid(p)}
    ruler = Ruler()
    for name, pattern in named.items():  # many small batches: each lowers only what it copied
        ruler.add(name, pattern)
    for index in removed:
        ruler.remove(f"rule-{index}")
    root, paths = ruler._machine.view
    for event in events:
        flat = flatten(event, paths)
        assert ruler.matches(json.dumps(event)) == machine._find_consistent(root, flat)


@SETTINGS
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=8), events=st.lists(EVENTS, min_size=1, max_size=5))
def test_arrays_need_no_bookkeeping_unless_two_paths_share_one(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    ruler = Ruler({f"rule-{i}": p for i, p in enumerate(patterns) if _valid(p)})
    root, paths = ruler._machine.view
    for event in events:
        for only in (paths, None):
            flat = flatten(event, only)
            if not flat.has_arrays:
                full = FlatEvent(flat.values, flat.members, True)
                assert machine._find(root, flat) == machine._find_consistent(root, full), event


@needs_native
@pytest.mark.parametrize("number", [
    "0", "-0", "7", "1023", "1024", "-17", "5000000000", "5000000001", "-5000000000", "123456789012",
    "99999999999999999999999", "0.0", "-0.0", "1.5", "-12.25", "0.1", "0.123456", "0.1234567", "1.10",
    "4999999999.999999", "5000000000.5", "12345678901.5", "1e2", "1E2", "1.5e-3", "1e-7", "1e16", "1e400",
    "-1e400", "2.5e+3", "0.000001", "1e-6", "3.0e2",
])
def test_numbers_read_in_c_are_to_num_of_json_loads(number: str) -> None:
    text = '{"a": ' + number + "}"
    found = native.flatten_text(_schema(["a"]), text)
    assert found is not None
    (got,), (expected,) = found.values["a"], flatten(json.loads(text)).values["a"]
    assert (got, got.key) == (expected, expected.key)  # type: ignore[union-attr]


@needs_native
@SETTINGS
@given(number=st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | st.floats(-1e10, 1e10))
def test_any_number_read_in_c_is_to_num_of_json_loads(number: float) -> None:
    text = json.dumps({"a": number})
    found = native.flatten_text(_schema(["a"]), text)
    assert found is not None
    (got,), (expected,) = found.values["a"], flatten(json.loads(text)).values["a"]
    assert (got, got.key) == (expected, expected.key)  # type: ignore[union-attr]


@needs_native
@SETTINGS
@given(event=EVENTS | _odd_event(), paths=PATHS)
def test_flatten_object_is_flatten(event: dict[str, Any], paths: list[str]) -> None:
    paths = paths + ["a.b", "é"]
    found = native.flatten_object(_schema(paths), event)
    if found is not None or ("." not in "".join(_keys(event)) and "" not in _keys(event)):
        assert found == flatten(event, FieldPaths.of(paths)), event


def _keys(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [k for key, child in node.items() for k in [key, *_keys(child)]]
    if isinstance(node, list):
        return [k for child in node for k in _keys(child)]
    return []


class _Text(str):
    pass


@needs_native
@pytest.mark.parametrize("event", [
    {"a": Decimal("1.5")}, {"a": (1, 2)}, {"a": OrderedDict(b=1)}, {"a": [OrderedDict(b=1)]}, {1: 2, "a": 1},
    {"b": {2: 1}}, {"a.b": 1}, {"b": {"": 1}}, {_Text("a"): 1}, {"a": UserList([1])},
])
def test_flatten_object_defers_what_is_not_plain_json(event: dict[Any, Any]) -> None:
    assert native.flatten_object(_schema(["a", "a.b", "b.x"]), event) is None
    # ...and the Ruler still reads it, through the Python walk
    Ruler({"r": {"a": [{"exists": True}]}}).matches(event)


@needs_native
def test_objects_with_many_keys_some_rule_reads() -> None:
    # Past 16 keys under one object the scan finds keys through a dict, past 64 it keeps its
    # own record of the keys it met; neither hands the event back.
    paths = [f"detail.k{i}" for i in range(100)] + ["source"]
    event = {"source": "s", "detail": {f"k{i}": i for i in range(0, 100, 3)} | {"other": 1}}
    text = json.dumps(event)
    expected = flatten(event, FieldPaths.of(paths))
    assert native.flatten_text(_schema(paths), text) == expected
    assert native.flatten_object(_schema(paths), event) == expected
    assert native.flatten_text(_schema(paths), '{"detail": {"k1": 1, "k99": 2, "k1": 3}}') is None
    ruler = Ruler({f"r{i}": {"detail": {f"k{i}": [i]}} for i in range(100)})
    assert ruler.matches(text) == {f"r{i}" for i in range(0, 100, 3)}
