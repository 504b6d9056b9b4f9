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
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from eventpipes.bus.metrics import Metrics
from eventpipes.bus.names import rule_arn, target_arn
from eventpipes.bus.router import ingestion_time_ms
from eventpipes.bus.targets.base import Delivery, DeliveryFailed, TargetSender
from eventpipes.records import OutRecord, Record, RecordSink
from eventpipes.retry import Backoff, DeadLetterInfo, DlqErrorCode, RetryPolicy, dead_letter_headers
from eventpipes.topology.model import Rule, Target
from eventpipes.transform import TargetInput, render, target_input_from_dict

log = logging.getLogger(__name__)


class DeliveryWorker:
    """Delivers the events routed to one target of one rule."""

    def __init__(
        self,
        bus: str,
        rule: Rule,
        target: Target,
        sender: TargetSender,
        sink: RecordSink,
        metrics: Metrics,
        *,
        region: str,
        account: str,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bus, self.rule, self.target = bus, rule, target
        self._sender, self._sink, self._metrics = sender, sink, metrics
        self._rule_arn = rule_arn(region, account, bus, rule.name)
        self._target_arn = target_arn(region, account, target)
        self._input: TargetInput = target_input_from_dict(target.model_dump(by_alias=True, exclude_none=True), target_id=target.id)
        self._policy = RetryPolicy.for_target(
            maximum_retry_attempts=target.retry_policy.maximum_retry_attempts,
            maximum_event_age_in_seconds=target.retry_policy.maximum_event_age_in_seconds,
            backoff=backoff,
        )
        self._clock, self._sleep = clock, sleep

    async def handle(self, record: Record) -> None:
        """Deliver one routed record, retrying as the policy allows, else dead-letter it."""
        ingested_ms = ingestion_time_ms(record.headers, record.timestamp_ms)
        try:
            delivery = self._delivery(record, ingested_ms)
        except DeliveryFailed as failure:
            await self._give_up(record, failure, attempts=0, condition=None)
            return
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._sender.deliver(delivery)
            except DeliveryFailed as failure:
                age = self._clock() - ingested_ms / 1000
                decision = self._policy.decide(attempts_made=attempts, event_age_seconds=age, retryable=failure.retryable)
                if decision.retry:
                    self._metrics.retried(self.bus, self.rule.name, self.target.id)
                    await self._sleep(decision.delay_seconds)
                    continue
                await self._give_up(record, failure, attempts=attempts, condition=decision.exhausted_condition)
                return
            self._metrics.delivered(self.bus, self.rule.name, self.target.id, self._clock() - ingested_ms / 1000)
            return

    def _delivery(self, record: Record, ingested_ms: int) -> Delivery:
        try:
            event: Any = json.loads(record.value or b"")
            payload = render(
                self._input, event, rule_name=self.rule.name, rule_arn=self._rule_arn,
                ingestion_time=_rfc3339(ingested_ms),
            )
        except Exception as exc:  # a record the router would never write, or a transform that cannot apply
            raise DeliveryFailed(f"cannot prepare the event for target {self.target.id!r}: {exc}", code=DlqErrorCode.INVALID_JSON, retryable=False) from exc
        return Delivery(
            event=event,
            raw=record.value or b"",
            payload=payload if isinstance(payload, bytes) else payload.encode(),
            rule=self.rule.name,
            rule_arn=self._rule_arn,
            ingestion_time_ms=ingested_ms,
            headers=record.headers,
        )

    async def _give_up(self, record: Record, failure: DeliveryFailed, *, attempts: int, condition: str | None) -> None:
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
        carried = [(k, v) for k, v in record.headers if k == "trace-header"]
        # If this write fails the exception stops the agent before the offset is committed: redelivered later.
        await self._sink.send_all([OutRecord(dlq.topic, record.key, record.value or b"", [*headers, *carried])])


def _event_id(record: Record) -> str:
    return (record.key or b"?").decode(errors="replace")


def _rfc3339(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))
