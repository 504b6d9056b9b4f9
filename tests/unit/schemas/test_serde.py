"""The Avro serde against an in-memory registry: framing, caching, typed decode errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.records import Record
from eventpipes.schemas import wire
from eventpipes.schemas.errors import SerializationFailed, UndecodableRecord, UnknownSchemaId
from eventpipes.schemas.registry.errors import SchemaNotFound
from eventpipes.schemas.serde import AvroDeserializer, AvroSerializer, problems, parse_schema

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "string"}, {"name": "total", "type": "long"}],
}


class FakeRegistry:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.calls: list[str] = []

    def register(self, subject: str, schema: str, *, normalize: bool = False) -> int:
        self.calls.append(f"register {subject}")
        for schema_id, text in self.schemas.items():
            if text == schema:
                return schema_id
        self.schemas[len(self.schemas) + 7] = schema
        return len(self.schemas) + 6

    def lookup(self, subject: str, schema: str, *, normalize: bool = False) -> Any:
        raise SchemaNotFound("Schema not found")

    def schema_by_id(self, schema_id: int) -> str:
        self.calls.append(f"get {schema_id}")
        if schema_id not in self.schemas:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        return self.schemas[schema_id]


def test_round_trip_registers_once_and_caches_by_id() -> None:
    registry = FakeRegistry()
    serializer = AvroSerializer(registry, ORDER)
    deserializer = AvroDeserializer(registry)
    values = [{"id": f"o-{i}", "total": i} for i in range(3)]
    framed = [serializer.serialize(v, "orders") for v in values]
    assert wire.read_header(framed[0]) == 7
    assert [deserializer.deserialize(f) for f in framed] == values
    assert registry.calls == ["register orders-value", "get 7"]


def test_reader_schema_resolution() -> None:
    registry = FakeRegistry()
    data = AvroSerializer(registry, ORDER).serialize({"id": "o-1", "total": 5}, "orders")
    reader = {**ORDER, "fields": [{"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": "-"}]}
    assert AvroDeserializer(registry, reader).deserialize(data) == {"id": "o-1", "note": "-"}


def test_value_that_does_not_fit_names_the_field() -> None:
    serializer = AvroSerializer(FakeRegistry(), ORDER)
    with pytest.raises(SerializationFailed) as info:
        serializer.serialize({"id": "o-1", "total": "lots"}, "orders")
    assert info.value.subject == "orders-value"
    assert any("total" in p for p in info.value.problems)


def record(value: bytes) -> Record:
    return Record(topic="orders", partition=2, offset=41, timestamp_ms=0, key=None, value=value)


@pytest.mark.parametrize(
    ("value", "code"),
    [(b'{"id": 1}', "BadMagicByte"), (b"\x00\x00\x00", "TruncatedFrame")],
)
def test_bad_frames_name_topic_partition_offset(value: bytes, code: str) -> None:
    with pytest.raises(UndecodableRecord) as info:
        AvroDeserializer(FakeRegistry()).deserialize_record(record(value))
    error = info.value
    assert (error.topic, error.partition, error.offset, error.code) == ("orders", 2, 41, code)
    assert "orders[2]@41" in str(error)


def test_truncated_body() -> None:
    registry = FakeRegistry()
    data = AvroSerializer(registry, ORDER).serialize({"id": "o-12345", "total": 5}, "orders")
    with pytest.raises(UndecodableRecord) as info:
        AvroDeserializer(registry).deserialize_record(record(data[:8]))
    assert info.value.schema_id == 7 and info.value.offset == 41


def test_unknown_schema_id() -> None:
    with pytest.raises(UnknownSchemaId) as info:
        AvroDeserializer(FakeRegistry()).deserialize_record(record(wire.frame(99, b"\x02")))
    assert info.value.schema_id == 99 and info.value.partition == 2


def test_problems_lists_misfits() -> None:
    parsed = parse_schema(json.dumps(ORDER))
    assert problems(parsed, {"id": "x", "total": 1}) == []
    assert problems(parsed, {"id": 3, "total": 1})
