"""Deeply nested events and patterns: matched or refused with a typed error, never RecursionError.

EventBridge's PutEvents reference says it processes JSON nested up to 1,100 levels deep;
Python's own ``json`` and any recursive walk stop near 1,000 (the recursion limit).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.errors import ValidationException
from eventpipes.patterns import InvalidEventPattern, Ruler, compile_pattern
from eventpipes.patterns.flatten import FieldPaths, flatten
from eventpipes.patterns.jsondepth import MAX_EVENT_DEPTH, TooDeep, depth, dumps_compact, loads
from eventpipes.patterns.tester import evaluate_test_event

ENVELOPE = {"id": "1", "account": "1", "source": "s", "time": "t", "region": "r", "detail-type": "d"}


def nested(levels: int, leaf: Any, key: str = "a") -> Any:
    """``leaf`` inside ``levels`` objects ``{key: ...}``."""
    for _ in range(levels):
        leaf = {key: leaf}
    return leaf


def deep_event(detail_depth: int = 1100) -> dict[str, Any]:
    """An event whose ``detail`` nests ``detail_depth`` levels, with ``x: 5`` at the bottom."""
    return {**ENVELOPE, "detail": nested(detail_depth - 1, {"x": 5})}


DEEP_PATH = "detail." + "a." * 1099 + "x"  # the bottom of deep_event()


def test_a_shallow_pattern_matches_an_event_1100_deep() -> None:
    event = deep_event()
    assert depth(event) == 1101
    assert compile_pattern({"source": ["s"]}).matches(event) is True
    assert compile_pattern({"source": ["t"]}).matches(event) is False


def test_a_pattern_reaching_1100_levels_down_matches() -> None:
    event = deep_event()
    assert compile_pattern({DEEP_PATH: [5]}).matches(event) is True
    assert compile_pattern({DEEP_PATH: [6]}).matches(event) is False
    assert compile_pattern({DEEP_PATH: [{"numeric": [">", 4]}], "source": ["s"]}).matches(event) is True
    ruler = Ruler({"deep": {DEEP_PATH: [5]}, "shallow": {"source": ["s"]}, "other": {"source": ["x"]}})
    assert ruler.matches(event) == {"deep", "shallow"}
    assert ruler.matches(dumps_compact(event)) == {"deep", "shallow"}  # given as JSON text too


def test_deep_arrays_keep_their_element_consistency() -> None:
    event = {**ENVELOPE, "detail": {"l": [nested(1000, {"x": [{"y": 1, "z": 2}, {"y": 3, "z": 4}]})]}}
    base = "detail.l." + "a." * 1000 + "x."
    assert compile_pattern({base + "y": [1], base + "z": [2]}).matches(event) is True
    assert compile_pattern({base + "y": [1], base + "z": [4]}).matches(event) is False  # two elements


def test_the_iterative_flatten_gives_what_the_recursive_one_gives() -> None:
    # Same event, shallow enough for the recursive walk: the explicit-stack walk must agree,
    # including array numbers and document order.
    event = {"a": [1, {"b": [2, [3, {"c": 4}]], "d": None}], "e": {"f": [{"g": "x"}, {"g": "y"}]}, "h": 1.5}
    recursive = flatten(event)
    for only in (None, FieldPaths.of(["a.b", "a.b.c", "e.f.g"])):
        expected = flatten(event, only)
        state = __import__("eventpipes.patterns.flatten", fromlist=["_Walk"])._Walk(
            None if only is None else only.leaves, None if only is None else only.inner
        )
        state.walk_iteratively(event)
        assert (state.values, state.members, state.nested) == (expected.values, expected.members, expected.has_arrays)
    assert recursive.fields()  # sanity: the event has fields


def test_a_full_flatten_of_a_deep_event() -> None:
    flat = flatten(deep_event())
    assert flat.values[DEEP_PATH] == [flat.values[DEEP_PATH][0]] and len(flat.values) == 7


def test_event_text_1101_deep_is_read_and_deeper_is_refused() -> None:
    assert evaluate_test_event('{"source": ["s"]}', dumps_compact(deep_event(1100))) is True
    with pytest.raises(ValidationException) as info:
        evaluate_test_event('{"source": ["s"]}', dumps_compact(deep_event(1101)))
    assert "nested deeper than 1101 levels" in str(info.value)
    assert "\n" not in str(info.value)


def test_json_text_deeper_than_the_recursion_limit_parses() -> None:
    text = "[" * 1500 + "]" * 1500
    with pytest.raises(RecursionError):
        json.loads(text)  # what the helper exists for
    assert depth(loads(text, limit=1500)) == 1500
    with pytest.raises(TooDeep) as info:
        loads(text, limit=1499)
    assert info.value.limit == 1499


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9"], "b": {}, "c": []}', '{"a": 1, "a": 2}', "[[[]]]", '"s"',
])
def test_the_explicit_stack_parser_reads_what_json_loads_reads(text: str) -> None:
    from eventpipes.patterns.jsondepth import _Parser

    assert _Parser(text, 10, None).document() == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1,}', "[1 2]", '{"a"}', "[01]", '{"a": 1}x', "", "[1,,2]"])
def test_the_explicit_stack_parser_refuses_what_json_loads_refuses(text: str) -> None:
    from eventpipes.patterns.jsondepth import _Parser

    with pytest.raises(ValueError):
        _Parser(text, 10, None).document()


def test_a_pattern_nested_1100_deep_is_refused_with_a_typed_error() -> None:
    # Objects 1,100 deep cannot fit in 4096 characters: the length rule answers, before parsing.
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern(dumps_compact(nested(1100, [1])))
    assert "at most 4096 characters" in info.value.reason
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern(nested(1100, [1]))  # the same as a mapping
    assert "at most 4096 characters" in info.value.reason
    # Arrays take 2 characters a level: past the depth bound, the bound answers.
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern('{"a":' + "[" * MAX_EVENT_DEPTH + "]" * MAX_EVENT_DEPTH + "}")
    assert f"nested deeper than {MAX_EVENT_DEPTH} levels" in info.value.reason
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern('{"a":' + "[" * 1100 + "]" * 1100 + "}")  # within the bound: the grammar answers
    assert "Match value must be" in info.value.reason
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern({"a": loads("[" * 1500 + "]" * 1500, limit=1500)})
    assert f"nested deeper than {MAX_EVENT_DEPTH} levels" in info.value.reason


def test_a_pattern_of_the_deepest_objects_that_fit_compiles() -> None:
    pattern = nested(679, {"b": [1]})  # 6 characters a level: 4,083 in all, 680 objects deep
    assert len(dumps_compact(pattern)) == 4083
    assert compile_pattern(pattern).matches(nested(679, {"b": 1})) is True
    assert compile_pattern(dumps_compact(pattern)).matches(nested(679, {"b": 2})) is False


def _widest_pattern() -> dict[str, Any]:
    """As many conditions as fit in 4096 characters (460 one- and two-letter keys): one machine level each."""
    import itertools
    import string

    pattern: dict[str, Any] = {}
    for letters in (t for n in (1, 2) for t in itertools.product(string.ascii_letters, repeat=n)):
        pattern["".join(letters)] = [1]
        if len(dumps_compact(pattern)) > 4096:
            del pattern["".join(letters)]
            return pattern
    raise AssertionError("unreachable")


def _from_deep_stack(frames: int, work: Any) -> Any:
    return work() if frames == 0 else _from_deep_stack(frames - 1, work)


def test_compiling_adding_and_removing_the_widest_pattern_needs_no_deep_stack() -> None:
    import sys

    pattern = _widest_pattern()
    assert len(pattern) == 460
    event = dict.fromkeys(pattern, 1)

    def work() -> tuple[bool, set[str], set[str]]:
        ruler = Ruler({"wide": pattern, "other": {"a": [1]}})
        found = ruler.matches(event)
        ruler.remove("wide")
        return compile_pattern(pattern).matches(event), found, ruler.matches(event)

    # Called with all but 150 of Python's frames already used (a recursive machine needed 460 more).
    assert _from_deep_stack(sys.getrecursionlimit() - 150 - len(__import__("inspect").stack()), work) == (
        True, {"wide", "other"}, {"other"},
    )
