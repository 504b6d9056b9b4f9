"""route_bus without Kafka: what it accepts, and that Faust's records are the router's records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.faust import RouteConfigurationError, route_bus, routing
from eventpipes.faust.sink import FaustSink, record_of
from eventpipes.kafka.headers import TRACE_HEADER
from eventpipes.records import OutRecord, Record
from eventpipes.topology import load_text

TOPOLOGY = """
EventBuses: [{Name: orders, Partitions: 4}, {Name: other}]
Rules:
  - Name: placed
    EventBusName: orders
    EventPattern: {detail-type: [OrderPlaced]}
    Targets: [{Id: audit, Topic: orders.audit}, {Id: copy, Topic: orders.copy}]
  - {Name: all, EventBusName: orders, EventPattern: {source: [{prefix: ""}]}, Targets: [{Id: t, Topic: orders.all}]}
  - {Name: elsewhere, EventBusName: other, EventPattern: {source: [x]}, Targets: [{Id: t, Topic: other.t}]}
"""

EVENT = {"version": "0", "id": "e1", "detail-type": "OrderPlaced", "source": "shop", "account": "123456789012",
         "time": "2026-12-04T10:00:00Z", "region": "us-east-1", "resources": [], "detail": {"total": 5}}


def app(tmp_path: Path, name: str = "unit-faust") -> faust.App:
    return faust.App(name, broker="kafka://127.0.0.1:1;other:9093", datadir=str(tmp_path / "data"))


def test_a_topology_file_gives_the_group_eventpipes_run_uses(tmp_path: Path) -> None:
    file = tmp_path / "shop.yaml"
    file.write_text(TOPOLOGY)
    route = route_bus(app(tmp_path), "orders", file)
    assert route.plan.group == "eventpipes.shop"
    assert route.plan.faust_group == "unit-faust"
    assert [r.name for r in route.plan.topology.rules] == ["placed", "all"]
    assert route.plan.topology.bus("orders").partitions == 4
    assert route.plan.sources == ["eventpipes.bus.orders", "eventpipes.replay.orders"]
    assert route.plan.deliveries == ["eventpipes.target.orders.placed.audit", "eventpipes.target.orders.placed.copy",
                                     "eventpipes.target.orders.all.t"]
    assert route._kafka.bootstrap == "127.0.0.1:1,other:9093"


def test_rules_given_as_a_list_need_a_group(tmp_path: Path) -> None:
    rules = list(load_text(TOPOLOGY).rules)
    with pytest.raises(RouteConfigurationError, match="needs group="):
        route_bus(app(tmp_path), "orders", rules)
    route = route_bus(app(tmp_path), "orders", rules, group="g", partitions=2)
    assert route.plan.topology.bus("orders").partitions == 2
    assert [r.name for r in route.plan.topology.rules] == ["placed", "all"]


def test_the_group_cannot_be_the_faust_apps_own(tmp_path: Path) -> None:
    with pytest.raises(RouteConfigurationError, match="is the Faust app's id"):
        route_bus(app(tmp_path, "same"), "orders", load_text(TOPOLOGY), group="same")


def test_a_bus_without_rules_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RouteConfigurationError, match="no rules on bus 'nobody'"):
        route_bus(app(tmp_path), "nobody", load_text(TOPOLOGY), group="g")


def test_a_faust_message_is_read_as_the_record_it_was() -> None:
    message = Message("eventpipes.bus.orders", 2, 41, 1764842400.123, 0, [("trace-header", b"Root=1")], b"e1",
                      b"{}", None, tp=TP("eventpipes.bus.orders", 2))
    event = type("E", (), {"message": message})()
    assert record_of(event) == Record("eventpipes.bus.orders", 2, 41, 1764842400123, b"e1", b"{}",
                                      (("trace-header", b"Root=1"),))


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[OutRecord] = []

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None, timestamp: float | None,
                   headers: list[tuple[str, bytes]]) -> "asyncio.Future[None]":
        self.sent.append(OutRecord(topic, key, value, list(headers), None if timestamp is None else round(timestamp * 1000), partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_the_route_sends_through_faust_exactly_the_records_the_router_plans(tmp_path: Path) -> None:
    """Same topics, keys, values, headers and partitions as eventpipes' routing worker would write."""
    route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="deliverers")
    route._counts.update({topic: 4 for topic in route.plan.deliveries})
    producer = RecordingProducer()
    route.sink = FaustSink(type("A", (), {"producer": producer})())
    records = [Record("eventpipes.bus.orders", p, 7 + p, 1764842400123 + p, b"e1", json.dumps({**EVENT, "id": f"e{p}"}).encode(),
                      ((TRACE_HEADER, b"Root=1"), ("other", b"x"))) for p in range(4)]
    records.append(Record("eventpipes.bus.orders", 1, 20, 1, None, b"not an event", ()))
    asyncio.run(route.route(records))
    router = Router("orders", list(load_text(TOPOLOGY).rules_on("orders")), FaustSink(None), Metrics(),
                    partition_count=lambda topic: 4, group="deliverers")
    assert producer.sent == [out for record in records for out in router.plan(record)]
    assert len(producer.sent) == 4 * 3 + 1  # 3 targets per event, and the non-event set aside
    assert producer.sent[-1].topic == "eventpipes.invalid.orders"


class FakeEvent:
    def __init__(self, message: Message) -> None:
        self.message = message

    def ack(self) -> bool:  # faust.Event.ack: one reference dropped, the last one acknowledges
        return self.message.ack(None)  # type: ignore[arg-type]


class TakingStream:
    """Stands in for a Faust stream: ``noack_take`` yields one batch and acknowledges nothing, even
    when the agent fails; ``ack`` acknowledges one event (as ``Stream.ack`` does)."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages

    async def noack_take(self, max_: int, within: float) -> Any:
        yield [FakeEvent(m) for m in self.messages]

    async def ack(self, event: FakeEvent) -> bool:
        return event.ack()


def bus_messages(count: int) -> list[Message]:
    messages = []
    for n in range(count):
        message = Message("eventpipes.bus.orders", 0, n, 1.0, 0, [], None, json.dumps({**EVENT, "id": str(n)}).encode(), None,
                          tp=TP("eventpipes.bus.orders", 0))
        message.incref()  # the conductor's reference for the one channel that reads it
        messages.append(message)
    return messages


class FailingSink:
    """Fails the first ``failures`` calls (for ever with None), then takes the records."""

    def __init__(self, failures: int | None) -> None:
        self.failures, self.calls, self.sent = failures, 0, []  # type: ignore[var-annotated]

    async def send_all(self, records: list[OutRecord]) -> None:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise OSError("the cluster went away")
        self.sent.extend(records)


def failing_route(tmp_path: Path, sink: FailingSink, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(routing, "RETRY_FIRST_SECONDS", 0.01)
    route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="g", producer="faust")
    route._prepared = True
    route.sink = sink
    return route


def test_a_batch_whose_produce_fails_is_held_unacknowledged_and_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    sink = FailingSink(failures=2)
    messages = bus_messages(3)
    asyncio.run(failing_route(tmp_path, sink, monkeypatch)._route(TakingStream(messages)))
    assert sink.calls == 3 and len(sink.sent) == 3 * 3
    assert [m.acked for m in messages] == [True, True, True]
    assert caplog.text.count("the batch is held and retried") == 2
    assert "eventpipes.bus.orders[0]@0 (OSError: the cluster went away)" in caplog.text


def test_a_batch_that_never_goes_through_is_never_acknowledged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = bus_messages(3)
    route = failing_route(tmp_path, FailingSink(failures=None), monkeypatch)

    async def run_a_while() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(route._route(TakingStream(messages)), timeout=0.2)  # the agent stops meanwhile

    asyncio.run(run_a_while())
    assert [m.acked for m in messages] == [False, False, False]  # so Faust never commits past them


def test_a_delivered_batch_is_acknowledged(tmp_path: Path) -> None:
    route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="g", producer="faust")
    route._prepared = True
    producer = RecordingProducer()
    route.sink = FaustSink(type("A", (), {"producer": producer})())
    messages = bus_messages(3)
    asyncio.run(route._route(TakingStream(messages)))
    assert [m.acked for m in messages] == [True, True, True]
    asyncio.run(route.route([]))  # nothing to route: nothing sent
    assert len(producer.sent) == 3 * 3


PAID = json.dumps({"type": "record", "name": "Paid", "fields": [{"name": "amount", "type": "long"}]})


class OneSchemaRegistry:
    """Subject ``orders@Paid``, version 1, id 7: what the governed-bus encoder and decoder ask."""

    def version(self, subject: str, version: int | str = "latest") -> Any:
        from eventpipes.schemas.client import RegisteredSchema

        return RegisteredSchema(subject, 1, 7, PAID)

    def schema_by_id(self, schema_id: int) -> str:
        return PAID


def test_a_governed_bus_record_is_routed_as_its_json_envelope(tmp_path: Path) -> None:
    from eventpipes.schemas.codec import BusDecoder
    from eventpipes.bus.governed import DetailEncoder
    from eventpipes.events.envelope import Event
    from eventpipes.schemas.governance import SchemaGovernance

    registry = OneSchemaRegistry()
    route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="g", decoder=BusDecoder(registry))  # type: ignore[arg-type]
    producer = RecordingProducer()
    route.sink = FaustSink(type("A", (), {"producer": producer})())
    paid = Event(source="orders", detail_type="Paid", detail={"amount": 12}, account="123456789012", region="us-east-1",
                 time="2026-01-01T00:00:00Z")
    encoded = DetailEncoder(registry=registry).encode("orders", SchemaGovernance(), paid)  # type: ignore[arg-type]
    assert encoded is not None
    value, headers = encoded
    asyncio.run(route.route([Record("eventpipes.bus.orders", 0, 1, 5, b"k", value, tuple(headers))]))
    assert [(r.topic, json.loads(r.value)) for r in producer.sent] == [("eventpipes.target.orders.all.t", paid.to_dict())]


def test_the_default_producer_packs_exactly_the_records_the_router_plans(tmp_path: Path) -> None:
    """route_bus's own producer (the default): each delivery partition's records in one batch, in plan order."""
    from eventpipes.faust.producer import PackingProducer

    class Builder:
        def __init__(self) -> None:
            self.records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []

        def append(self, *, key: bytes | None, value: bytes, timestamp: int | None, headers: Any) -> object:
            self.records.append((key, value, list(headers)))
            return object()

    class Producer:
        def __init__(self) -> None:
            self.batches: dict[tuple[str, int], list[Any]] = {}

        def create_batch(self) -> Builder:
            return Builder()

        async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> "asyncio.Future[None]":
            self.batches.setdefault((topic, partition), []).extend(batch.records)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="deliverers")
    route._counts.update({topic: 4 for topic in route.plan.deliveries})
    assert isinstance(route.sink, PackingProducer)
    fake = Producer()
    route.sink._producer = fake  # type: ignore[assignment]
    records = [Record("eventpipes.bus.orders", p % 4, p, 1764842400123 + p, f"e{p}".encode(),
                      json.dumps({**EVENT, "id": f"e{p}"}).encode(), ((TRACE_HEADER, b"Root=1"),)) for p in range(8)]
    asyncio.run(route.route(records))
    router = Router("orders", list(load_text(TOPOLOGY).rules_on("orders")), FaustSink(None), Metrics(),
                    partition_count=lambda topic: 4, group="deliverers")
    expected: dict[tuple[str, int], list[Any]] = {}
    for planned in (out for record in records for out in router.plan(record)):
        assert planned.partition is not None
        expected.setdefault((planned.topic, planned.partition), []).append((planned.key, planned.value, planned.headers))
    assert fake.batches == expected
    assert sum(len(v) for v in expected.values()) == 8 * 3


def test_the_agent_stops_taking_once_max_in_flight_events_wait_for_their_produce(tmp_path: Path) -> None:
    """The bound is in events, not batches: small batches keep coming until that many events wait."""

    class GatedSink:
        def __init__(self) -> None:
            self.gate: asyncio.Future[None] | None = None

        async def send_all(self, records: Any) -> None:
            list(records)
            if self.gate is None:
                self.gate = asyncio.get_running_loop().create_future()
            await self.gate

    class CountingStream(TakingStream):
        def __init__(self, batches: list[list[Message]]) -> None:
            super().__init__([m for batch in batches for m in batch])
            self.batches, self.taken = batches, 0

        async def noack_take(self, max_: int, within: float) -> Any:
            for batch in self.batches:
                self.taken += 1
                yield [FakeEvent(m) for m in batch]

    async def run() -> None:
        route = route_bus(app(tmp_path), "orders", load_text(TOPOLOGY), group="g", producer="faust")
        route._prepared = True
        route._max_in_flight = 5
        sink = GatedSink()
        route.sink = sink
        messages = bus_messages(12)
        stream = CountingStream([messages[i:i + 2] for i in range(0, 12, 2)])  # six batches of two events
        agent = asyncio.ensure_future(route._route(stream))
        for _ in range(20):
            await asyncio.sleep(0)
        assert stream.taken == 3  # 2 + 2 + 2 events >= 5: the third batch is the last taken
        assert not any(m.acked for m in messages)
        assert sink.gate is not None
        sink.gate.set_result(None)
        await asyncio.wait_for(agent, timeout=5)
        assert stream.taken == 6 and all(m.acked for m in messages)

    asyncio.run(run())
