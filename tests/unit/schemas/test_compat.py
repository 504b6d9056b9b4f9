"""Canonical schema text and compatibility checks with reasons."""

from __future__ import annotations

import json

import pytest

from eventpipes.schemas import canonical
from eventpipes.schemas.compat import CompatibilityLevel as L
from eventpipes.schemas.compat import PriorVersion, check, parse_level
from eventpipes.schemas.errors import InvalidSchema


def record(*fields: dict[str, object]) -> canonical.AvroSchema:
    return canonical.parse(json.dumps({"type": "record", "name": "Order", "namespace": "shop", "fields": list(fields)}))


V1 = record({"name": "id", "type": "string"})
WITH_DEFAULT = record({"name": "id", "type": "string"}, {"name": "total", "type": "long", "default": 0})
WITHOUT_DEFAULT = record({"name": "id", "type": "string"}, {"name": "total", "type": "long"})


def test_whitespace_and_key_order_give_one_canonical_text() -> None:
    a = canonical.parse('{"type": "record", "name": "A", "fields": [{"name": "x", "type": "int"}]}')
    b = canonical.parse('{ "fields":[ {"type":"int","name":"x"} ],"name":"A","type":"record"}')
    assert a.text == b.text and a == b
    assert a.name == "A"


def test_normalize_sorts_custom_properties() -> None:
    a = canonical.parse('{"type": "string", "b": 1, "a": 2}', normalize=True)
    b = canonical.parse('{"type": "string", "a": 2, "b": 1}', normalize=True)
    assert a.text == b.text


@pytest.mark.parametrize("text", ["not json", '{"type": "nope"}', '{"type": "record", "name": "A"}'])
def test_invalid_schema(text: str) -> None:
    with pytest.raises(InvalidSchema) as info:
        canonical.parse(text)
    assert info.value.reason


def test_backward_allows_added_field_with_default_only() -> None:
    assert check(L.BACKWARD, WITH_DEFAULT, [PriorVersion(1, V1)]).is_compatible
    result = check(L.BACKWARD, WITHOUT_DEFAULT, [PriorVersion(1, V1)])
    assert not result.is_compatible
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in result.messages[0]
    assert "total" in result.messages[0]
    assert "{oldSchemaVersion: 1}" in result.messages
    assert "{compatibility: 'BACKWARD'}" in result.messages


def test_forward_is_the_other_direction() -> None:
    # Removing a field without default breaks FORWARD (old readers need it), not BACKWARD.
    assert check(L.BACKWARD, V1, [PriorVersion(1, WITHOUT_DEFAULT)]).is_compatible
    assert not check(L.FORWARD, V1, [PriorVersion(1, WITHOUT_DEFAULT)]).is_compatible
    assert check(L.FORWARD, WITHOUT_DEFAULT, [PriorVersion(1, V1)]).is_compatible
    assert not check(L.FULL, WITHOUT_DEFAULT, [PriorVersion(1, V1)]).is_compatible
    assert check(L.NONE, record({"name": "id", "type": "int"}), [PriorVersion(1, V1)]).is_compatible


def test_transitive_checks_every_earlier_version() -> None:
    v2 = record({"name": "id", "type": "string"}, {"name": "total", "type": "long", "default": 0})
    v3 = record({"name": "total", "type": "long", "default": 0})  # drops id (no default in v1/v2)
    history = [PriorVersion(1, V1), PriorVersion(2, v2)]
    assert check(L.BACKWARD, v3, history).is_compatible
    assert not check(L.FORWARD, v3, history).is_compatible
    assert not check(L.FORWARD_TRANSITIVE, v3, history).is_compatible
    # Type change int -> string breaks against v1 only; non-transitive looks at v2 only.
    w1 = record({"name": "n", "type": "int"})
    w2 = record({"name": "n", "type": "long"})
    w3 = record({"name": "n", "type": "float"})
    chain = [PriorVersion(1, w1), PriorVersion(2, w2)]
    assert check(L.BACKWARD_TRANSITIVE, w3, chain).is_compatible  # int and long both promote to float
    result = check(L.FORWARD_TRANSITIVE, w3, chain)
    assert not result.is_compatible and "{oldSchemaVersion: 2}" in result.messages


def test_type_mismatch_reason() -> None:
    result = check(L.BACKWARD, record({"name": "id", "type": "int"}), [PriorVersion(3, V1)])
    assert not result.is_compatible
    assert "TYPE_MISMATCH" in result.messages[0] and "/fields/0/type" in result.messages[0]


def test_parse_level() -> None:
    assert parse_level("full_transitive") is L.FULL_TRANSITIVE
    assert L.FULL.checks_backward and L.FULL.checks_forward and not L.FULL.transitive
    with pytest.raises(ValueError):
        parse_level("SIDEWAYS")
