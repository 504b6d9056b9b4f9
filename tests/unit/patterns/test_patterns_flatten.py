"""Flattening: leaf fields by dot-joined path, numbers as decimals, array membership."""

from __future__ import annotations

from eventpipes.patterns.flatten import FieldPaths, flatten
from eventpipes.patterns.values import Num, to_num


def test_leaves_by_path_in_document_order() -> None:
    flat = flatten({"b": {"c": "x", "d": [1, 2]}, "a": None, "e": [], "f": {}})
    assert flat.values == {"b.c": ["x"], "b.d": [to_num(1), to_num(2)], "a": [None]}
    assert [path for path, _, _ in flat.fields()] == ["a", "b.c", "b.d", "b.d"]
    assert not flat.has_arrays  # scalar arrays need no membership


def test_objects_in_arrays_carry_their_element() -> None:
    flat = flatten({"a": [{"x": 1}, {"x": 2, "y": [{"z": True}]}]})
    assert flat.has_arrays
    (first, second), (deep,) = flat.members["a.x"], flat.members["a.y.z"]
    assert first[0][1] == 0 and second[0][1] == 1
    assert deep[0] == second[0] and len(deep) == 2


def test_numbers_compare_as_six_decimal_values() -> None:
    assert to_num(300) == Num(300_000_000, "300")
    assert to_num(300.0).key == to_num(3.0e2).key == to_num(300).key
    assert to_num(5_000_000_001).micros is None and to_num(0.0000001).micros is None
    assert to_num(float("inf")).micros is None


def test_only_the_paths_rules_read_are_flattened() -> None:
    event = {
        "source": "shop", "time": "2026-11-25T00:00:00Z", "resources": ["arn:1"],
        "detail": {"state": "paid", "customer": {"tier": "gold", "name": "x"}, "items": [{"sku": "a"}, {"sku": "b"}], "tags": ["t"]},
    }
    only = FieldPaths.of(["source", "detail.customer.tier", "detail.tags"])
    flat = flatten(event, only)
    assert flat.values == {"source": ["shop"], "detail.customer.tier": ["gold"], "detail.tags": ["t"]}
    # The array of objects at detail.items is never walked, so the event needs no array bookkeeping.
    assert not flat.has_arrays
    assert not flatten(event).has_arrays  # every leaf in detail.items' elements is at one path
    assert flatten(event, FieldPaths.of(["detail.items.sku"])).values == {"detail.items.sku": ["a", "b"]}


def test_array_bookkeeping_only_when_two_paths_share_an_array() -> None:
    # Fields from two elements of one array can only meet in a match when two different
    # paths have leaves in that array's elements (a sub-rule has one condition per path).
    one_path = {"items": [{"sku": "a"}, {"sku": "b"}], "tags": [{"t": 1}]}
    assert not flatten(one_path).has_arrays  # items.sku and tags.t: one path per array
    assert flatten(one_path).members["items.sku"] == [((1, 0),), ((1, 1),)]
    two_paths = {"items": [{"sku": "a", "qty": 1}]}
    assert flatten(two_paths).has_arrays
    assert not flatten(two_paths, FieldPaths.of(["items.sku"])).has_arrays
    nested = {"a": [{"b": [{"c": 1}], "d": 2}]}
    assert flatten(nested).has_arrays and not flatten(nested, FieldPaths.of(["a.b.c"])).has_arrays


def test_a_path_that_is_both_a_leaf_and_an_object_elsewhere() -> None:
    only = FieldPaths.of(["detail", "detail.state"])
    assert flatten({"detail": {"state": "paid"}}, only).values == {"detail.state": ["paid"]}
    assert flatten({"detail": "text"}, only).values == {"detail": ["text"]}
