"""Delivery: one worker per target, draining that target's delivery topic and its retry topic.

For each event: transform it as the target asks and offer it to the target. A failed event
does not hold back the ones after it (EventBridge retries each event on its own and keeps
delivering the others): while the target's retry policy allows another attempt, the event
is written to the target's retry topic (``eventpipes.retry.<bus>.<rule>.<target>``) with the
attempts made and when the next one is due (exponential backoff, full jitter), and the
delivery topic moves on. The same worker reads the retry topic, waits for each event's due
time, and tries again. When the policy gives up (or the error cannot succeed on retry) the
event goes to the target's dead-letter topic with EventBridge's attributes as headers;
without a dead-letter topic it is counted and logged.

At-least-once: a batch's handler returns only when each of its events is delivered, waiting
on the retry topic (acknowledged by Kafka) or dead-lettered, so the offset after it may be
committed; a worker killed meanwhile reads the uncommitted records again, retry topic
included. Retried events may therefore reach the target after later ones; EventBridge does
not promise order either.
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
from eventpipes.kafka.headers import ATTEMPTS_HEADER, GROUP_HEADER, RETRY_AT_HEADER, TRACE_HEADER
from eventpipes.kafka.topics import retry_topic
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
        self.retry_topic = retry_topic(bus, rule.name, target.id)
        """Where this target's failed events wait for their next attempt."""

    async def handle_all(self, records: list[Record]) -> None:
        """Deliver a batch of routed records; returns once each is delivered, waiting for a retry, or given up on.

        A target that takes batches (``EventSender.batched``) gets every prepared event in one
        call; other targets get each event concurrently (EventBridge, too, delivers without
        order). Events whose attempt failed go to the retry topic (see the module docstring).
        Records another group's routers wrote (``GROUP_HEADER``) are skipped: that group
        delivers them.
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
        now, latencies = self._clock(), []
        for (record, delivery), failure in zip(prepared, outcomes):
            if failure is None:
                latencies.append(now - delivery.ingestion_time_ms / 1000)
            else:
                later.append(self._after_failure(record, delivery, failure, attempts=1))
        self._metrics.delivered_all(self.bus, self.rule.name, self.target.id, latencies)
        if later:
            await asyncio.gather(*later)

    def _ours(self, record: Record) -> bool:
        for key, value in record.headers:
            if key == GROUP_HEADER:
                return value == self._group
        return True  # routed before routers named their group: delivered, as then

    async def handle(self, record: Record, *, attempts_made: int = 0) -> None:
        """Attempt one record (routed, or due again from the retry topic) and see it through."""
        try:
            delivery = self._delivery(record)
        except TargetFailed as unprepared:
            await self._give_up(record, unprepared, attempts=attempts_made, condition=None)
            return
        failure = await self._attempt(delivery)
        if failure is None:
            self._delivered(delivery)
        else:
            await self._after_failure(record, delivery, failure, attempts=attempts_made + 1)

    async def handle_retries(self, records: list[Record]) -> None:
        """Attempt each record of the retry topic once it is due; returns when each is seen through.

        Each record waits on its own (due times differ with jitter), so one far-off retry holds
        back only its own batch's commit, never the delivery topic.
        """
        if self._group is not None:
            records = [record for record in records if self._ours(record)]
        await asyncio.gather(*(self._when_due(record) for record in records))

    async def _when_due(self, record: Record) -> None:
        attempts, due_ms = _retry_state(record)
        delay = due_ms / 1000 - self._clock()
        if delay > 0:
            await self._sleep(delay)
        await self.handle(record, attempts_made=attempts)

    async def _after_failure(self, record: Record, delivery: Delivery, failure: TargetFailed, *, attempts: int) -> None:
        """After a failed attempt: to the retry topic while the policy allows, else dead-letter.

        The latest failure decides, and is what a dead letter reports.
        """
        age = self._clock() - delivery.ingestion_time_ms / 1000
        decision = self._policy.decide(attempts_made=attempts, event_age_seconds=age, retryable=failure.retryable)
        if not decision.retry:
            await self._give_up(record, failure, attempts=attempts, condition=decision.exhausted_condition)
            return
        self._metrics.retried(self.bus, self.rule.name, self.target.id)
        due_ms = int((self._clock() + decision.delay_seconds) * 1000)
        headers = [(k, v) for k, v in record.headers if k not in (ATTEMPTS_HEADER, RETRY_AT_HEADER)]
        headers += [(ATTEMPTS_HEADER, str(attempts).encode()), (RETRY_AT_HEADER, str(due_ms).encode())]
        # If this write fails the exception stops the handler before the offset is committed: read again later.
        await self._sink.send_all([OutRecord(self.retry_topic, record.key, record.value or b"", headers)])

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
                      partition_key_path=target.partition_key_path, message_group_id=target.message_group_id,
                      http_parameters=target.http_parameters)


def _retry_state(record: Record) -> tuple[int, int]:
    """``(attempts made, next attempt due at, ms)`` of a retry-topic record (unreadable: 1 made, due now)."""
    found = {k: v for k, v in record.headers if k in (ATTEMPTS_HEADER, RETRY_AT_HEADER)}
    try:
        return int(found[ATTEMPTS_HEADER]), int(found[RETRY_AT_HEADER])
    except (KeyError, ValueError):
        return 1, 0


def _event_id(record: Record) -> str:
    return (record.key or b"?").decode(errors="replace")


def _rfc3339(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))
