"""The JSONPath subset: dot notation, indices, wildcards; definite vs indefinite results."""

from __future__ import annotations

from typing import Any

import pytest

from eventpipes.transform import MISSING, InvalidJsonPath, parse_path

DOC: dict[str, Any] = {"a": {"b-c": 1, "d_e": [10, 20, 30], "f/g": {"h": None}}, "list": [{"x": 1}, {"x": 2}, {"y": 3}]}


@pytest.mark.parametrize(("path", "expected"), [
    ("$", DOC), ("$.a.b-c", 1), ("$.a.d_e[0]", 10), ("$.a.d_e[-1]", 30), ("$.a.f/g.h", None),
    ("$['a']['b-c']", 1), ("$.list[1].x", 2),
])
def test_definite_paths_select_one_value(path: str, expected: object) -> None:
    assert parse_path(path).find(DOC) == expected


@pytest.mark.parametrize("path", ["$.nope", "$.a.d_e[3]", "$.a.b-c.deeper", "$.list.x", "$.a[0]"])
def test_definite_path_matching_nothing_is_missing(path: str) -> None:
    assert parse_path(path).find(DOC) is MISSING


@pytest.mark.parametrize(("path", "expected"), [
    ("$.a.d_e[*]", [10, 20, 30]), ("$.list[*].x", [1, 2]), ("$.a.*", list(DOC["a"].values())),
    ("$.list[*].z", []), ("$.a.b-c.*", []),
])
def test_indefinite_paths_select_a_list(path: str, expected: object) -> None:
    assert parse_path(path).find(DOC) == expected


@pytest.mark.parametrize("path", ["detail", "$..a", "$.a[?(@.x)]", "$.a[1:2]", "$.a b", "$.", "$.a.", "$[a]"])
def test_syntax_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(InvalidJsonPath) as caught:
        parse_path(path, field="InputPath")
    assert caught.value.path == "InputPath"
    assert caught.value.code == "ValidationException"


def test_bracket_names_can_be_refused() -> None:
    with pytest.raises(InvalidJsonPath, match="dot notation"):
        parse_path("$['a']", allow_brackets=False)
