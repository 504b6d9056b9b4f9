"""Where a pipe's record goes when the pipe gives up on it: its dead-letter topic, or a log line.

A record is dead-lettered when retrying ran out or cannot help (the target refused it, it
is too old, it cannot be given the source's shape). With a ``DeadLetterConfig`` the record
is written to that topic unchanged (value and key as read), with EventBridge's dead-letter
attributes as headers (:func:`~eventpipes.retry.dead_letter_headers`) followed by where it
was read; the write is retried every :data:`DLQ_RETRY_SECONDS` until Kafka takes it, so a
record is never finished without reaching its target or its dead-letter topic (the batch,
and so the commit, waits). Without one, the record is discarded, counted and logged, as
EventBridge drops it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from eventpipes.kafka.headers import (PIPE_ATTEMPTS, PIPE_EVENT_ID, PIPE_SOURCE_OFFSET, PIPE_SOURCE_PARTITION,
                                      PIPE_SOURCE_TIMESTAMP, PIPE_SOURCE_TOPIC)
from eventpipes.pipes.counters import Counters
from eventpipes.pipes.events import PipeArns
from eventpipes.pipes.failures import DeadLetter
from eventpipes.pipes.record import PipeRecord
from eventpipes.retry import DeadLetterConfig, DeadLetterInfo, dead_letter_headers

log = logging.getLogger(__name__)

#: Dead-letter writes retry this often until Kafka takes them: a record is never finished
#: without reaching its target or its dead-letter topic.
DLQ_RETRY_SECONDS = 1.0


class Sender(Protocol):
    """What the writer needs of a producer (aiokafka's ``AIOKafkaProducer`` has it)."""

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> Any: ...


def dead_letter_record_headers(dead: DeadLetter[PipeRecord]) -> list[tuple[str, bytes]]:
    """A pipe dead letter's headers: EventBridge's attributes, then where the record was read and how often tried."""
    record = dead.item
    return dead_letter_headers(dead.info) + [
        (PIPE_SOURCE_TOPIC, record.topic.encode()), (PIPE_SOURCE_PARTITION, str(record.partition).encode()),
        (PIPE_SOURCE_OFFSET, str(record.offset).encode()), (PIPE_SOURCE_TIMESTAMP, str(record.timestamp_ms).encode()),
        (PIPE_EVENT_ID, record.event_id.encode()), (PIPE_ATTEMPTS, str(dead.attempts).encode()),
    ]


class DeadLetterWriter:
    """Writes one pipe's dead letters (see the module docstring).

    Args:
        pipe_name: for log lines.
        config: the pipe's ``DeadLetterConfig``; None discards dead letters.
        sender: the pipe's producer (``acks=all``).
        arns: the pipe's and target's ARNs, for records dead-lettered before any attempt.
        counters: the runner's counters (``RecordsDeadLettered``, ``RecordsDiscarded``).
    """

    def __init__(self, pipe_name: str, config: DeadLetterConfig | None, sender: Sender, arns: PipeArns,
                 counters: Counters) -> None:
        self._pipe_name = pipe_name
        self._config = config
        self._sender = sender
        self._arns = arns
        self._counters = counters

    async def write_now(self, item: PipeRecord, code: str, message: str) -> None:
        """Dead-letter a record the target never saw (it could not be given the source's shape)."""
        info = DeadLetterInfo(code, message, None, 0, self._arns.pipe, self._arns.target)
        await self.write(DeadLetter(item, info, 0))

    async def write(self, dead: DeadLetter[PipeRecord]) -> None:
        """Write the dead letter, retrying until Kafka takes it; or discard it without a ``DeadLetterConfig``."""
        record = dead.item
        if self._config is None:
            self._counters.records_discarded += 1
            log.warning("pipe %s: discarded %s after %d attempts (%s: %s); no DeadLetterConfig",
                        self._pipe_name, record.where, dead.attempts, dead.info.error_code, dead.info.error_message)
            return
        headers = dead_letter_record_headers(dead)
        while True:
            try:
                await self._sender.send_and_wait(self._config.topic, record.value, key=record.key, headers=headers)
                break
            except Exception as exc:
                log.warning("pipe %s: dead-letter write to %s failed, retrying: %r",
                            self._pipe_name, self._config.topic, exc)
                await asyncio.sleep(DLQ_RETRY_SECONDS)
        self._counters.records_dead_lettered += 1
