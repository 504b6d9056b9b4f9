"""Governed bus records without Kafka: PutEvents' encoder, the bus decoder and the router."""

from __future__ import annotations

import json

import pytest

from eventpipes.schemas.codec import BusDecoder, is_avro
from eventpipes.kafka.headers import CONTENT_TYPE_AVRO, ENVELOPE_HEADER
from eventpipes.bus.governed import DetailEncoder
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.kafka.headers import ERROR_HEADER
from eventpipes.events.envelope import Event
from eventpipes.events.errors import InternalFailure, InvalidEvent
from eventpipes.kafka.topics import delivery_topic, invalid_events_topic
from eventpipes.records import OutRecord, Record
from eventpipes.schemas import wire
from eventpipes.schemas.client import RegisteredSchema
from eventpipes.schemas.errors import RegistryUnavailable
from eventpipes.schemas.governance import DetailDoesNotFitSchema, NoSchemaForEventType, SchemaGovernance
from eventpipes.schemas.registry.errors import SchemaNotFound, SubjectNotFound
from eventpipes.topology.model import Rule

SCHEMA = json.dumps({"type": "record", "name": "Paid", "fields": [
    {"name": "order_id", "type": "string", "jsonName": "order-id"}, {"name": "amount", "type": "long"}]})


class FakeRegistry:
    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.calls = 0

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        self.calls += 1
        if not self.up:
            raise RegistryUnavailable("http://registry", "refused")
        if subject != "shop@Paid":
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return RegisteredSchema(subject, 1, 7, SCHEMA)

    def schema_by_id(self, schema_id: int) -> str:
        if schema_id != 7:
            raise SchemaNotFound("Schema not found")
        return SCHEMA

    def register(self, subject: str, schema: str, *, normalize: bool = False) -> int:
        raise NotImplementedError

    def lookup(self, subject: str, schema: str, *, normalize: bool = False) -> RegisteredSchema:
        raise NotImplementedError

    def close(self) -> None:
        pass


def event(detail: dict[str, object], detail_type: str = "Paid") -> Event:
    return Event(source="shop", detail_type=detail_type, detail=detail, account="123456789012", region="us-east-1", time="2026-01-01T00:00:00Z")


def record(value: bytes, headers: list[tuple[str, bytes]], offset: int = 4) -> Record:
    return Record("eventpipes.bus.orders", 0, offset, 1_000, b"k", value, tuple(headers))


def test_encoded_records_decode_to_the_same_event() -> None:
    registry = FakeRegistry()
    encoder = DetailEncoder(registry=registry)
    original = event({"order-id": "o-1", "amount": 12})
    encoded = encoder.encode("orders", SchemaGovernance(), original)
    assert encoded is not None
    value, headers = encoded
    assert wire.read_header(value) == 7
    stored = record(value, headers)
    assert is_avro(stored)
    assert BusDecoder(registry).decode(stored) == original
    encoder.encode("orders", SchemaGovernance(), original)
    assert registry.calls == 1  # the latest version is cached


def test_encoder_errors_are_entry_errors() -> None:
    encoder = DetailEncoder(registry=FakeRegistry())
    with pytest.raises(DetailDoesNotFitSchema) as bad:
        encoder.encode("orders", SchemaGovernance(), event({"order-id": 1, "amount": 2}))
    assert bad.value.problems == ["detail.order-id: expected string, got integer 1"]
    with pytest.raises(NoSchemaForEventType):
        encoder.encode("orders", SchemaGovernance(), event({}, "Refunded"))
    assert encoder.encode("orders", SchemaGovernance(OnMissingSubject="ALLOW_JSON"), event({}, "Refunded")) is None
    with pytest.raises(InternalFailure):
        DetailEncoder(registry=FakeRegistry(up=False)).encode("orders", SchemaGovernance(), event({"order-id": "o", "amount": 1}))


def test_undecodable_records_are_invalid_events_naming_where() -> None:
    decoder = BusDecoder(FakeRegistry())
    envelope = (ENVELOPE_HEADER, b'{"id": "x"}')
    avro = ("content-type", CONTENT_TYPE_AVRO)
    for value, headers, expected in [
        (b"\x01\x00\x00\x00\x07\x02", [avro, envelope], "magic byte"),
        (b"\x00\x00", [avro, envelope], "header"),
        (wire.frame(99, b"\x02"), [avro, envelope], "schema id 99 is not registered"),
        (wire.frame(7, b"\x02a"), [avro], "without the eventpipes-envelope header"),
    ]:
        with pytest.raises(InvalidEvent) as info:
            decoder.decode(record(value, headers))
        assert expected in info.value.message and "eventpipes.bus.orders[0]@4" in info.value.message


class Sink:
    def __init__(self) -> None:
        self.sent: list[OutRecord] = []

    async def send_all(self, records: list[OutRecord]) -> None:
        self.sent.extend(records)


def test_the_router_delivers_avro_events_as_json_and_sets_bad_ones_aside() -> None:
    registry = FakeRegistry()
    rule = Rule.model_validate({"Name": "paid", "EventBusName": "orders", "EventPattern": {"detail": {"amount": [{"numeric": [">", 10]}]}},
                                "Targets": [{"Id": "t", "Topic": "out"}]})
    router = Router("orders", [rule], Sink(), Metrics(), decoder=BusDecoder(registry))
    original = event({"order-id": "o-1", "amount": 12})
    encoded = DetailEncoder(registry=registry).encode("orders", SchemaGovernance(), original)
    assert encoded is not None
    [out] = router.plan(record(*encoded))
    assert out.topic == delivery_topic("orders", "paid", "t") and json.loads(out.value) == original.to_dict()
    [aside] = router.plan(record(b"\x05junk", encoded[1]))
    assert aside.topic == invalid_events_topic("orders") and aside.value == b"\x05junk"
    assert b"magic byte" in dict(aside.headers)[ERROR_HEADER]
    [plain] = router.plan(record(original.to_json(), [("content-type", b"application/json")]))
    assert plain.value == original.to_json()


def test_pipes_see_governed_records_as_json_records() -> None:
    from eventpipes.schemas.codec import as_json_record

    registry = FakeRegistry()
    original = event({"order-id": "o-1", "amount": 12})
    encoded = DetailEncoder(registry=registry).encode("orders", SchemaGovernance(), original)
    assert encoded is not None
    stored = record(encoded[0], [*encoded[1], ("trace-header", b"t")])
    seen = as_json_record(stored, BusDecoder(registry))
    assert json.loads(seen.value or b"") == original.to_dict()
    assert seen.headers == (("content-type", b"application/json"), ("trace-header", b"t"))
    assert (seen.topic, seen.offset, seen.key) == (stored.topic, stored.offset, stored.key)
    plain = record(b"{}", [])
    assert as_json_record(plain, BusDecoder(registry)) is plain
