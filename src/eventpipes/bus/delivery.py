"""Delivery: one worker per target, draining that target's delivery topic.

For each event: transform it as the target asks, offer it to the target, and on
failure retry under the target's retry policy with exponential backoff and
jitter. When the policy gives up (or the error cannot succeed on retry) the event
goes to the target's dead-letter topic with EventBridge's attributes as headers;
without a dead-letter topic it is counted and logged. ``handle`` returns only when
one of those has happened, so the offset after it may be committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from eventpipes.arns import rule_arn
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import ingestion_time_ms
from eventpipes.targets.adapters import EventSender
from eventpipes.targets.base import Item, TargetFailed, TargetSpec
from eventpipes.kafka.headers import GROUP_HEADER, TRACE_HEADER
from eventpipes.records import OutRecord, Record, RecordSink
from eventpipes.retry import Backoff, DeadLetterInfo, DlqErrorCode, RetryPolicy, dead_letter_headers
from eventpipes.topology.model import Rule, Target
from eventpipes.transform import TargetInput, render, target_input_from_dict

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Delivery:
    """One routed event on its way to this worker's target."""

    item: Item
    """What the target is given: the event after the target's input transformation."""
    ingestion_time_ms: int
    """When the event was put on the bus (its age decides retries)."""


class DeliveryWorker:
    """Delivers the events routed to one target of one rule."""

    def __init__(
        self,
        bus: str,
        rule: Rule,
        target: Target,
        sender: EventSender,
        sink: RecordSink,
        metrics: Metrics,
        *,
        region: str,
        account: str,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        group: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bus, self.rule, self.target = bus, rule, target
        self._sender, self._sink, self._metrics = sender, sink, metrics
        self._rule_arn = rule_arn(region, account, bus, rule.name)
        self._target_arn = target.kind_row.arn(region, account, target.destination)
        self._input: TargetInput = target_input_from_dict(target.model_dump(by_alias=True, exclude_none=True), target_id=target.id)
        self._policy = RetryPolicy.for_target(
            maximum_retry_attempts=target.retry_policy.maximum_retry_attempts,
            maximum_event_age_in_seconds=target.retry_policy.maximum_event_age_in_seconds,
            backoff=backoff,
        )
        self._clock, self._sleep = clock, sleep
        self._group = group.encode() if group is not None else None

    async def handle_all(self, records: list[Record]) -> None:
        """Deliver a batch of routed records; returns once each is delivered or given up on.

        A target that takes batches (``EventSender.batched``) gets every prepared event in one
        call first; the events whose first attempt failed then go on alone, under the retry
        policy. Other targets get each event concurrently (EventBridge, too, delivers
        without order). Records another group's routers wrote (``GROUP_HEADER``) are
        skipped: that group delivers them.
        """
        if self._group is not None:
            records = [record for record in records if self._ours(record)]
        if not self._sender.batched:
            await asyncio.gather(*(self.handle(record) for record in records))
            return
        prepared: list[tuple[Record, Delivery]] = []
        later = []
        for record in records:
            try:
                prepared.append((record, self._delivery(record)))
            except TargetFailed as unprepared:
                later.append(self._give_up(record, unprepared, attempts=0, condition=None))
        outcomes = await self._sender.deliver_all([delivery.item for _, delivery in prepared]) if prepared else []
        for (record, delivery), failure in zip(prepared, outcomes):
            if failure is None:
                self._delivered(delivery)
            else:
                later.append(self._retry(record, delivery, failure))
        if later:
            await asyncio.gather(*later)

    def _ours(self, record: Record) -> bool:
        for key, value in record.headers:
            if key == GROUP_HEADER:
                return value == self._group
        return True  # routed before routers named their group: delivered, as then

    async def handle(self, record: Record) -> None:
        """Deliver one routed record, retrying as the policy allows, else dead-letter it."""
        try:
            delivery = self._delivery(record)
        except TargetFailed as unprepared:
            await self._give_up(record, unprepared, attempts=0, condition=None)
            return
        failure = await self._attempt(delivery)
        if failure is None:
            self._delivered(delivery)
        else:
            await self._retry(record, delivery, failure)

    async def _retry(self, record: Record, delivery: Delivery, first: TargetFailed) -> None:
        """Go on after a failed first attempt: retry as the policy allows, else dead-letter."""
        attempts, failure = 1, first
        while True:
            age = self._clock() - delivery.ingestion_time_ms / 1000
            decision = self._policy.decide(attempts_made=attempts, event_age_seconds=age, retryable=failure.retryable)
            if not decision.retry:
                await self._give_up(record, failure, attempts=attempts, condition=decision.exhausted_condition)
                return
            self._metrics.retried(self.bus, self.rule.name, self.target.id)
            await self._sleep(decision.delay_seconds)
            attempts += 1
            latest = await self._attempt(delivery)
            if latest is None:
                self._delivered(delivery)
                return
            failure = latest  # the latest failure decides, and is what a dead letter reports

    async def _attempt(self, delivery: Delivery) -> TargetFailed | None:
        try:
            await self._sender.deliver(delivery.item)
        except TargetFailed as failure:
            return failure
        except Exception as exc:  # a kind's bug must not stop the partition: retried, then dead-lettered
            return TargetFailed(f"target {self.target.id!r} failed: {exc!r}")
        return None

    def _delivered(self, delivery: Delivery) -> None:
        self._metrics.delivered(self.bus, self.rule.name, self.target.id, self._clock() - delivery.ingestion_time_ms / 1000)

    def _delivery(self, record: Record) -> Delivery:
        ingested_ms = ingestion_time_ms(record.headers, record.timestamp_ms)
        raw = record.value or b""
        if self._input is None:
            # The whole event, as the router wrote it (a checked JSON envelope): passed on as it is.
            return Delivery(Item(payload=raw, key=record.key, headers=record.headers, raw_event=raw), ingested_ms)
        item = Item(key=record.key, headers=record.headers, raw_event=raw)
        try:
            payload = render(
                self._input, item.event, rule_name=self.rule.name, rule_arn=self._rule_arn, ingestion_time=_rfc3339(ingested_ms),
            )
        except Exception as exc:  # a record the router would never write, or a transform that cannot apply
            raise TargetFailed(f"cannot prepare the event for target {self.target.id!r}: {exc}", code=DlqErrorCode.INVALID_JSON, retryable=False) from exc
        item.payload = payload if isinstance(payload, bytes) else payload.encode()
        return Delivery(item, ingested_ms)

    async def _give_up(self, record: Record, failure: TargetFailed, *, attempts: int, condition: str | None) -> None:
        dlq = self.target.dead_letter_config
        self._metrics.failed(self.bus, self.rule.name, self.target.id, dead_lettered=dlq is not None)
        if dlq is None:
            log.error(
                "giving up on event %s for rule %s target %s after %d attempts, no DeadLetterConfig to keep it: %s",
                _event_id(record), self.rule.name, self.target.id, attempts, failure,
            )
            return
        headers = dead_letter_headers(
            DeadLetterInfo(
                error_code=failure.code, error_message=failure.message, exhausted_retry_condition=condition,
                retry_attempts=max(attempts - 1, 0), rule_arn=self._rule_arn, target_arn=self._target_arn,
            )
        )
        carried = [(k, v) for k, v in record.headers if k == TRACE_HEADER]
        # If this write fails the exception stops the agent before the offset is committed: redelivered later.
        await self._sink.send_all([OutRecord(dlq.topic, record.key, record.value or b"", [*headers, *carried])])


def target_spec(rule: Rule, target: Target) -> TargetSpec:
    """What one of a rule's targets is, for ``eventpipes.targets.build.make_target``."""
    return TargetSpec(target.kind_row, target.destination, "rule", name=rule.name,
                      partition_key_path=target.partition_key_path, http_parameters=target.http_parameters)


def _event_id(record: Record) -> str:
    return (record.key or b"?").decode(errors="replace")


def _rfc3339(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))
