"""The per-entry hook for schema-governed buses."""

from __future__ import annotations

import json

import pytest

from eventpipes.schemas import wire
from eventpipes.schemas.client import RegisteredSchema
from eventpipes.schemas.detail import DetailCodec
from eventpipes.schemas.errors import SerializationFailed

SCHEMA = json.dumps({"type": "record", "name": "D", "fields": [{"name": "orderId", "type": "string"}, {"name": "total", "type": "long"}]})


class Latest:
    def __init__(self) -> None:
        self.calls = 0

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        self.calls += 1
        return RegisteredSchema(subject, 3, 42, SCHEMA)


def test_validate_and_encode() -> None:
    registry = Latest()
    codec = DetailCodec(registry, "orders@OrderPlaced")
    assert codec.validate_detail({"orderId": "o-1", "total": 2}) == []
    assert any("total" in p for p in codec.validate_detail({"orderId": "o-1", "total": "x"}))
    assert wire.read_header(codec.encode({"orderId": "o-1", "total": 2})) == 42
    with pytest.raises(SerializationFailed):
        codec.encode({"orderId": 5})
    assert registry.calls == 1 and codec.latest.version == 3
    codec.refresh()
    codec.validate_detail({"orderId": "o", "total": 1})
    assert registry.calls == 2
