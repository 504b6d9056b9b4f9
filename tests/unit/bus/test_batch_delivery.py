"""Delivery of a whole batch to targets that take batches: first one call, then each failure alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from eventpipes.bus.delivery import DeliveryWorker, target_spec
from eventpipes.bus.metrics import Metrics
from eventpipes.kafka.headers import GROUP_HEADER, INGESTION_HEADER, PATH_HEADER
from eventpipes.records import OutRecord, Record
from eventpipes.retry import Backoff
from eventpipes.testing import metric_value
from eventpipes.targets.adapters import EventSender
from eventpipes.targets.base import TargetContext
from eventpipes.targets.build import make_target
from eventpipes.topology.model import Rule


class FlakySink:
    """Fails its first ``failures`` calls (a broker away), then keeps what it is given."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[list[OutRecord]] = []

    async def send_all(self, records: list[OutRecord]) -> None:
        self.calls.append(records)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")


def routed(n: int, headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    event = {"version": "0", "id": f"id-{n}", "detail-type": "t", "source": "s", "account": "1", "time": "2026-11-25T00:00:00Z",
             "region": "us-east-1", "resources": [], "detail": {"n": n}}
    return Record("eventpipes.target.orders.r.t", 0, n, 0, f"id-{n}".encode(), json.dumps(event).encode(),
                  ((INGESTION_HEADER, b"1764028800000"), *headers))


def worker(target: dict[str, Any], sink: FlakySink, metrics: Metrics, group: str | None = None) -> DeliveryWorker:
    rule = Rule.model_validate({"Name": "r", "EventBusName": "orders", "EventPattern": {"source": ["s"]}, "Targets": [target]})
    context = TargetContext(sink, "us-east-1", "1", source_bus="orders")
    sender = EventSender(make_target(target_spec(rule, rule.targets[0]), context))
    async def no_sleep(_: float) -> None:
        return None
    return DeliveryWorker("orders", rule, rule.targets[0], sender, sink, metrics, region="us-east-1", account="1",
                          backoff=Backoff(base_seconds=0.001), clock=lambda: 1764028801.0, sleep=no_sleep, group=group)


def test_a_topic_target_takes_the_batch_in_one_produce_and_passes_the_event_on_untouched() -> None:
    sink, metrics = FlakySink(), Metrics()
    records = [routed(n) for n in range(5)]
    asyncio.run(worker({"Id": "t", "Topic": "out"}, sink, metrics).handle_all(records))
    assert len(sink.calls) == 1
    assert [(r.key, r.value) for r in sink.calls[0]] == [(r.key, r.value) for r in records]
    assert metric_value(metrics.exposition().decode(), "eventpipes_target_delivered_total", bus="orders", rule="r", target="t") == 5


def test_a_failed_batch_is_retried_event_by_event() -> None:
    sink, metrics = FlakySink(failures=2), Metrics()
    records = [routed(n) for n in range(3)]
    asyncio.run(worker({"Id": "t", "Topic": "out"}, sink, metrics).handle_all(records))
    # The batch call failed, then the first retry of one event; every event got through in the end.
    assert len(sink.calls) == 1 + 1 + 3
    delivered = sorted(json.loads(r.value)["id"] for call in sink.calls[2:] for r in call)
    assert delivered == ["id-0", "id-1", "id-2"]
    text = metrics.exposition().decode()
    assert metric_value(text, "eventpipes_target_delivered_total", bus="orders", rule="r", target="t") == 3
    assert metric_value(text, "eventpipes_target_retried_total", bus="orders", rule="r", target="t") == 4


def test_a_looping_event_in_a_batch_is_dead_lettered_and_the_others_are_delivered() -> None:
    sink, metrics = FlakySink(), Metrics()
    looping = routed(1, ((PATH_HEADER, b"billing"),))
    records = [routed(0), looping, routed(2)]
    target = {"Id": "t", "EventBus": "billing", "DeadLetterConfig": {"Arn": "dlq"}}
    asyncio.run(worker(target, sink, metrics).handle_all(records))
    to_bus = [r for call in sink.calls for r in call if r.topic == "eventpipes.bus.billing"]
    assert [r.key for r in to_bus] == [b"id-0", b"id-2"]
    dead = [r for call in sink.calls for r in call if r.topic == "dlq"]
    assert [r.key for r in dead] == [b"id-1"]
    assert metric_value(metrics.exposition().decode(), "eventpipes_target_dead_lettered_total", bus="orders", rule="r", target="t") == 1


def test_a_group_delivers_what_its_own_routers_routed_and_what_no_group_claims() -> None:
    sink, metrics = FlakySink(), Metrics()
    records = [routed(0, ((GROUP_HEADER, b"prod"),)), routed(1, ((GROUP_HEADER, b"staging"),)), routed(2)]
    asyncio.run(worker({"Id": "t", "Topic": "out"}, sink, metrics, group="prod").handle_all(records))
    assert [r.key for call in sink.calls for r in call] == [b"id-0", b"id-2"]  # staging's own workers deliver id-1
    assert metric_value(metrics.exposition().decode(), "eventpipes_target_delivered_total", bus="orders", rule="r", target="t") == 2
