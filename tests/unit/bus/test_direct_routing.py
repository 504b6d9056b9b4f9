"""The router delivers targets that write to Kafka itself; other targets get their delivery topic."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from eventpipes.bus.metrics import Metrics
from eventpipes.kafka.headers import ATTEMPTS_HEADER, CONTENT_TYPE, GROUP_HEADER, INGESTION_HEADER, PATH_HEADER, RULE_HEADER
from eventpipes.kafka.topics import bus_topic, delivery_topic, retry_topic
from eventpipes.parts import WorkerParts
from eventpipes.records import OutRecord, Record
from eventpipes.settings import Settings
from eventpipes.testing import metric_value
from eventpipes.topology import load_text

TOPOLOGY = """
EventBuses: [{Name: orders}, {Name: audit}]
Rules:
  - Name: r
    EventBusName: orders
    EventPattern: {source: [shop]}
    Targets:
      - {Id: copy, Topic: out.copy}
      - {Id: call, Function: "nowhere:call"}
      - {Id: forward, EventBus: audit}
      - {Id: shaped, Topic: out.shaped, InputPath: $.detail}
"""


class Sink:
    """Keeps what it is given; fails writes to the topics in ``failing`` (a broker refusing them)."""

    def __init__(self, *, unknown: frozenset[str] = frozenset(), failing: frozenset[str] = frozenset()) -> None:
        self.unknown, self.failing = unknown, failing
        self.written: list[OutRecord] = []

    def partition_count(self, topic: str) -> int:
        return 0 if topic in self.unknown else 3

    async def send_all(self, records: list[OutRecord]) -> None:
        if any(record.topic in self.failing for record in records):
            raise ConnectionError("refused")
        self.written += records

    def to(self, topic: str) -> list[OutRecord]:
        return [record for record in self.written if record.topic == topic]


def route(sink: Sink, count: int = 3) -> Metrics:
    metrics = Metrics()
    parts = WorkerParts(Settings(), "g1", frozenset({"routing"}), sink, metrics)  # type: ignore[arg-type]
    parts.apply(load_text(TOPOLOGY))
    records = [bus_record(n) for n in range(count)]
    asyncio.run(parts.routers[bus_topic("orders")].route(records))
    return metrics


NOW_MS = int(time.time() * 1000)  # events older than a day are not retried (MaximumEventAgeInSeconds)


def bus_record(n: int) -> Record:
    event = {"version": "0", "id": f"id-{n}", "detail-type": "t", "source": "shop", "account": "1",
             "time": "2026-11-25T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {"n": n}}
    return Record(bus_topic("orders"), 1, n, NOW_MS + n, f"id-{n}".encode(), json.dumps(event).encode())


def test_kafka_targets_are_written_by_the_router_and_an_invocation_target_gets_its_delivery_topic() -> None:
    sink = Sink()
    metrics = route(sink)
    copies = sink.to("out.copy")
    assert [(r.key, json.loads(r.value)["detail"]) for r in copies] == [(f"id-{n}".encode(), {"n": n}) for n in range(3)]
    assert dict(copies[0].headers) == {CONTENT_TYPE: b"application/json", RULE_HEADER: b"r"}
    assert [json.loads(r.value) for r in sink.to("out.shaped")] == [{"n": n} for n in range(3)]  # the input transformation
    forwarded = sink.to(bus_topic("audit"))
    assert [dict(r.headers)[PATH_HEADER] for r in forwarded] == [b"orders"] * 3
    # The invocation target's records wait on its delivery topic, as the router always wrote them.
    calls = sink.to(delivery_topic("orders", "r", "call"))
    assert [(r.key, r.partition) for r in calls] == [(f"id-{n}".encode(), 1) for n in range(3)]
    assert dict(calls[0].headers) == {INGESTION_HEADER: str(NOW_MS).encode(), GROUP_HEADER: b"g1", RULE_HEADER: b"r"}
    assert not [r for r in sink.written if r.topic.startswith("eventpipes.target.") and not r.topic.endswith(".call")]
    exposition = metrics.exposition().decode()
    assert metric_value(exposition, "eventpipes_rule_matched_total", bus="orders", rule="r") == 3
    assert metric_value(exposition, "eventpipes_target_delivered_total", bus="orders", rule="r", target="copy") == 3
    assert metric_value(exposition, "eventpipes_target_delivery_latency_seconds_count", bus="orders", rule="r", target="copy") == 3
    assert metric_value(exposition, "eventpipes_target_delivered_total", bus="orders", rule="r", target="call") == 0


def test_a_target_topic_the_producer_does_not_know_takes_the_delivery_topic() -> None:
    sink = Sink(unknown=frozenset({"out.copy"}))
    route(sink)
    assert sink.to("out.copy") == []
    assert len(sink.to(delivery_topic("orders", "r", "copy"))) == 3
    assert len(sink.to("out.shaped")) == 3  # other targets are not held back


def test_a_refused_write_waits_on_the_targets_retry_topic_with_what_its_delivery_record_held() -> None:
    sink = Sink(failing=frozenset({"out.copy"}))
    metrics = route(sink, count=2)
    waiting = sink.to(retry_topic("orders", "r", "copy"))
    assert [r.key for r in waiting] == [b"id-0", b"id-1"]
    headers = dict(waiting[0].headers)
    assert headers[ATTEMPTS_HEADER] == b"1" and headers[GROUP_HEADER] == b"g1" and headers[RULE_HEADER] == b"r"
    assert headers[INGESTION_HEADER] == str(NOW_MS).encode()
    assert json.loads(waiting[0].value)["id"] == "id-0"  # the whole event, for the retry to transform again
    assert len(sink.to("out.shaped")) == 2
    exposition = metrics.exposition().decode()
    assert metric_value(exposition, "eventpipes_target_retried_total", bus="orders", rule="r", target="copy") == 2


def test_a_batch_whose_events_cannot_even_wait_for_a_retry_fails() -> None:
    """Nothing written and nothing kept for later: the router's batch fails, so its offsets are not committed."""
    sink = Sink(failing=frozenset({"out.copy", retry_topic("orders", "r", "copy")}))
    with pytest.raises(ConnectionError):
        route(sink)
