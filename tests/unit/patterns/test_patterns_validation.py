"""Patterns EventBridge rejects: the error type, its code, EventBridge's reason, and the path."""

from __future__ import annotations

from typing import Any

import pytest

from eventpipes.errors import EventPipesError
from eventpipes.patterns import InvalidEventPattern, compile_pattern

ROWS: list[tuple[Any, str, str]] = [
    ([], "Filter is not an object", ""),
    ("[1]", "Filter is not an object", ""),
    ("not json", "Filter is not valid JSON", ""),
    ('{"a": [NaN]}', "Filter is not valid JSON", ""),
    ({}, "Empty objects are not allowed", ""),
    ({"a": {}}, "Empty objects are not allowed", "a"),
    ({"a": "x"}, '"a" must be an object or an array', "a"),
    ({"a": None}, '"a" must be an object or an array', "a"),
    ({"a": []}, "Empty arrays are not allowed", "a"),
    ({"a": [["x"]]}, "Match value must be String, number, true, false, or null", "a[0]"),
    ({"a": [{}]}, "Match expression name not found", "a[0]"),
    ({"a": [{"EXISTS": True}]}, "Unrecognized match type EXISTS", "a[0]"),
    ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression", "a[0]"),
    ({"a": [{"prefix": 1}]}, "prefix match pattern must be a string", "a[0]"),
    ({"a": [{"prefix": {"x": "y"}}]}, "Unsupported prefix pattern: x", "a[0]"),
    ({"a": [{"suffix": {}}]}, "Suffix expression name not found", "a[0]"),
    ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false.", "a[0]"),
    ({"a": [{"numeric": 5}]}, "Value of numeric must be an array.", "a[0]"),
    ({"a": [{"numeric": []}]}, "Invalid member in numeric match: ]", "a[0]"),
    ({"a": [{"numeric": ["!", 5]}]}, "Unrecognized numeric range operator: !", "a[0]"),
    ({"a": [{"numeric": ["=", "5"]}]}, "Value of equals must be numeric", "a[0]"),
    ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "Too many elements in numeric expression", "a[0]"),
    ({"a": [{"numeric": [">", 5, 6]}]}, "Bad value in numeric range: 6", "a[0]"),
    ({"a": [{"numeric": [">", 5, "<", 6, 7]}]}, "Too many terms in numeric range expression", "a[0]"),
    ({"a": [{"numeric": [">", 5, "<", 5]}]}, "Bottom must be less than top", "a[0]"),
    ({"a": [{"numeric": [">", 5e9 + 1]}]}, "Value must be between -5000000000 and 5000000000, inclusive", "a[0]"),
    ({"a": [{"numeric": [">", 0.0000001]}]}, "Only values upto 6 decimals are supported", "a[0]"),
    ({"a": [{"numeric": [">", 1], "x": 1}]}, "Too many elements in numeric expression", "a[0]"),
    ({"a": [{"anything-but": True}]}, "Value of anything-but must be an array or single string/number value.", "a[0]"),
    ({"a": [{"anything-but": []}]}, "mixed type is not supported", "a[0]"),
    ({"a": [{"anything-but": ["x", 1]}]}, "mixed type is not supported", "a[0]"),
    ({"a": [{"anything-but": {"contains": "x"}}]}, "Unsupported anything-but pattern: contains", "a[0]"),
    ({"a": [{"anything-but": {}}]}, "Anything-But expression name not found", "a[0]"),
    ({"a": [{"anything-but": {"suffix": ""}}]}, "Null prefix/suffix not allowed", "a[0]"),
    ({"a": [{"anything-but": {"wildcard": "a**"}}]}, "Consecutive wildcard characters at pos 2", "a[0]"),
    ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2", "a[0]"),
    ({"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}, "Rule is too complex", "a[0]"),
    ({"a": [{"cidr": "10.0.0.0/32"}]}, "IPv4 mask bits must be < 32", "a[0]"),
    ({"a": [{"cidr": "::/128"}]}, "IPv6 mask bits must be < 128", "a[0]"),
    # event-ruler refuses single-address blocks too, host bits or not
    ({"a": [{"cidr": "10.1.2.77/32"}]}, "IPv4 mask bits must be < 32", "a[0]"),
    ({"a": [{"cidr": "2001:db8::1/128"}]}, "IPv6 mask bits must be < 128", "a[0]"),
    ({"a": [{"cidr": "10.0.0.0/-1"}]}, "Malformed CIDR, mask bits must not be negative", "a[0]"),
    # EventBridge has no "equals" operator (exact values are written as they are); event-ruler
    # 2.1.0 refuses it with this reason (found by benchmarks/differential_ruler.py)
    ({"a": [{"equals": "x"}]}, "Unrecognized match type equals", "a[0]"),
    ({"$or": {"a": [1]}}, "It must be an Array followed with $or.", "$or"),
    ({"x": {"$or": [{"a": [1]}]}}, "There must have at least 2 Objects in $or relationship.", "x.$or"),
    ({"$or": [{"a": [1]}, 5]}, "Only JSON object is allowed in array of $or relationship.", "$or[1]"),
    ({"$or": [{"a": [1]}, {"prefix": [1]}]}, "prefix is Ruler reserved fieldName which cannot be used inside $or.", "prefix"),
    ({"a": ["x" * 5000]}, "at most 4096 characters", ""),
    ({f"k{i}": {"$or": [{"a": [1]}, {"b": [1]}]} for i in range(11)}, "more than 1000 combinations", "k9.$or"),
]


@pytest.mark.parametrize("pattern,reason,path", ROWS, ids=[r[1][:40] for r in ROWS])
def test_rejected_with_eventbridge_reason_and_path(pattern: Any, reason: str, path: str) -> None:
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern(pattern)
    error = info.value
    assert reason in error.reason
    assert error.path == path
    assert isinstance(error, EventPipesError)
    assert error.code == "InvalidEventPatternException"
    assert error.input_error is True
    text = str(error)
    assert text.startswith("InvalidEventPatternException: Event pattern is not valid. Reason: ")
    assert "\n" not in text
    if path:
        assert path in text


def test_accepted_edge_cases() -> None:
    for pattern in (
        {"a": [{"anything-but": {"prefix": []}}]},
        {"a": [{"numeric": [">=", -5e9, "<=", 5e9]}]},
        {"a": [{"wildcard": "/Users/*/dir/dir/dir/dir/dir/doc.txt"}]},
        {"a": [{"cidr": "10.0.0.0/0"}]},
        {"a": [123456789012345]},
        '{"a": [1], "a": [2]}',  # a repeated key keeps the last, as in EventBridge
    ):
        compile_pattern(pattern)


def _or_product(*sizes: int) -> dict[str, Any]:
    """Sibling ``$or`` lists of these sizes: their branches multiply out to the product of the sizes."""
    return {f"k{i}": {"$or": [{f"f{j}": [j]} for j in range(size)]} for i, size in enumerate(sizes)}


def test_or_combinations_up_to_eventbridges_1000_are_accepted() -> None:
    """EventBridge documents 1,000 combinations as the limit of a pattern's ``$or`` branches."""
    assert len(compile_pattern(_or_product(10, 10, 10)).sub_rules) == 1000


def test_or_combinations_past_1000_are_refused() -> None:
    with pytest.raises(InvalidEventPattern) as info:
        compile_pattern(_or_product(7, 11, 13))  # 1,001
    assert "more than 1000 combinations" in info.value.reason
    assert info.value.path == "k2.$or"


def test_equals_is_a_field_name_not_an_operator() -> None:
    """As in event-ruler 2.1.0: ``equals`` may name a field, inside ``$or`` too."""
    pattern = compile_pattern({"$or": [{"equals": [1]}, {"b": [1]}]})
    assert pattern.matches({"equals": 1}) is True
    assert pattern.matches({"equals": 2}) is False
