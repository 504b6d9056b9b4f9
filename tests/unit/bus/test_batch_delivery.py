"""Delivery of a whole batch to targets that take batches: first one call, then each failure alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from eventpipes.bus.delivery import DeliveryWorker, target_spec
from eventpipes.bus.metrics import Metrics
from eventpipes.kafka.headers import ATTEMPTS_HEADER, GROUP_HEADER, INGESTION_HEADER, PATH_HEADER, RETRY_AT_HEADER
from eventpipes.records import OutRecord, Record
from eventpipes.retry import Backoff
from eventpipes.testing import metric_value
from eventpipes.targets.adapters import EventSender
from eventpipes.targets.base import TargetContext
from eventpipes.targets.build import make_target
from eventpipes.topology.model import Rule


class FlakySink:
    """Fails its first ``failures`` calls (a broker away), then keeps what it is given."""

    def __init__(self, failures: int = 0, only: str | None = None) -> None:
        self.failures = failures
        self.only = only
        """Fail only calls writing to this topic (the target's), not the worker's own writes."""
        self.calls: list[list[OutRecord]] = []

    async def send_all(self, records: list[OutRecord]) -> None:
        self.calls.append(records)
        if self.failures and (self.only is None or records[0].topic == self.only):
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


def as_read(records: list[OutRecord]) -> list[Record]:
    """Records written to a topic, as a consumer of it reads them."""
    return [Record(r.topic, 0, n, 0, r.key, r.value, tuple(r.headers)) for n, r in enumerate(records)]


def test_a_failed_batch_waits_on_the_retry_topic_and_is_delivered_from_there() -> None:
    sink, metrics = FlakySink(failures=1, only="out"), Metrics()
    records = [routed(n) for n in range(3)]
    target = worker({"Id": "t", "Topic": "out"}, sink, metrics)
    asyncio.run(target.handle_all(records))
    # The batch call failed; each event went to the retry topic with its attempt count and due time.
    waiting = [r for call in sink.calls[1:] for r in call]
    assert [r.topic for r in waiting] == ["eventpipes.retry.orders.r.t"] * 3
    assert all(dict(r.headers)[ATTEMPTS_HEADER] == b"1" for r in waiting)
    assert all(int(dict(r.headers)[RETRY_AT_HEADER]) >= 1764028801000 for r in waiting)
    asyncio.run(target.handle_retries(as_read(waiting)))
    delivered = sorted(json.loads(r.value)["id"] for call in sink.calls[1:] for r in call if r.topic == "out")
    assert delivered == ["id-0", "id-1", "id-2"]
    text = metrics.exposition().decode()
    assert metric_value(text, "eventpipes_target_delivered_total", bus="orders", rule="r", target="t") == 3
    assert metric_value(text, "eventpipes_target_retried_total", bus="orders", rule="r", target="t") == 3


def test_a_failing_event_never_holds_back_the_batch_it_came_in() -> None:
    sink, metrics = FlakySink(failures=1), Metrics()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    target = worker({"Id": "t", "Topic": "out"}, sink, metrics)
    target._sleep = sleep  # type: ignore[method-assign]
    asyncio.run(target.handle_all([routed(0)]))
    assert slept == []  # the batch returned at once: the event waits on the retry topic instead


def test_an_event_whose_retries_run_out_on_the_retry_topic_is_dead_lettered() -> None:
    sink, metrics = FlakySink(failures=3, only="out"), Metrics()
    target = worker({"Id": "t", "Topic": "out", "RetryPolicy": {"MaximumRetryAttempts": 1}, "DeadLetterConfig": {"Arn": "dlq"}},
                    sink, metrics)
    asyncio.run(target.handle_all([routed(0)]))  # attempt 1 fails: waits for retry
    waiting = [r for call in sink.calls for r in call if r.topic.startswith("eventpipes.retry.")]
    sink.failures = 1
    asyncio.run(target.handle_retries(as_read(waiting)))  # attempt 2 fails: no retry left
    dead = [r for call in sink.calls for r in call if r.topic == "dlq"]
    assert [r.key for r in dead] == [b"id-0"]
    assert dict(dead[0].headers)["RETRY_ATTEMPTS"] == b"1"
    assert dict(dead[0].headers)["EXHAUSTED_RETRY_CONDITION"] == b"MaximumRetryAttempts"


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
