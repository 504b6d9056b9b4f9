"""Reading a topic from a chosen position without a consumer group (``tail``, tests, inspection)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from eventpipes.kafka import autocreate
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.diagnose import unavailable
from eventpipes.kafka.errors import BrokerUnavailable, TopicError
from eventpipes.records import Record, record_from_message

#: One poll waits at most this long, so a deadline or a Ctrl-C is noticed promptly.
POLL_MS = 500


@dataclass(frozen=True, slots=True)
class StartAt:
    """Where reading starts in every partition."""

    kind: Literal["beginning", "end", "timestamp"]
    """From the oldest record, from now on, or from the first record at or after ``timestamp_ms``."""
    timestamp_ms: int | None = None


def read_topic(
    kafka: KafkaClientConfig,
    topic: str,
    start: StartAt,
    *,
    max_records: int | None = None,
    timeout_seconds: float | None = None,
    stop_at_end: bool = False,
) -> Iterator[Record]:
    """Yield records of every partition of ``topic`` from ``start``.

    Stops after ``max_records`` records, once ``timeout_seconds`` pass, when
    ``stop_at_end`` and every partition is read up to where it ended when reading
    began, or never.

    Raises:
        BrokerUnavailable: the cluster did not answer.
        TopicError: the topic does not exist.
    """
    consumer = _consumer(kafka)
    try:
        partitions = _assign(consumer, topic)
        _seek(consumer, partitions, start)
        ends = consumer.end_offsets(partitions) if stop_at_end else None
        yield from _poll(consumer, max_records, timeout_seconds, ends)
    finally:
        consumer.close()


def _consumer(kafka: KafkaClientConfig) -> KafkaConsumer:
    try:
        consumer = KafkaConsumer(
            **kafka.kafka_python(),
            group_id=None,
            enable_auto_commit=False,
            client_id="eventpipes-reader",
            allow_auto_create_topics=False,  # reading a topic never creates it (eventpipes.kafka.autocreate)
            # A delivery topic holds scheduled ticks written in transactions; an aborted one was never put.
            isolation_level="read_committed",
        )
    except (KafkaError, OSError) as exc:
        raise unavailable(kafka, exc) from exc
    autocreate.refuse(consumer._cluster)
    return consumer


def _assign(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    ids = consumer.partitions_for_topic(topic)
    if not ids:
        raise TopicError(f"topic {topic!r} does not exist")
    partitions = [TopicPartition(topic, p) for p in sorted(ids)]
    consumer.assign(partitions)
    return partitions


def _seek(consumer: KafkaConsumer, partitions: list[TopicPartition], start: StartAt) -> None:
    if start.kind == "beginning":
        consumer.seek_to_beginning(*partitions)
    elif start.kind == "end":
        consumer.seek_to_end(*partitions)
    else:
        # offsets_for_times finds the first offset at or after the time from the
        # broker's time index: no scan of older records.
        found = consumer.offsets_for_times({tp: start.timestamp_ms for tp in partitions})
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            hit = found.get(tp)
            consumer.seek(tp, hit.offset if hit is not None else ends[tp])
    for tp in partitions:
        consumer.position(tp)  # resolve lazily-reset positions now, before anything is produced


def _poll(
    consumer: KafkaConsumer,
    max_records: int | None,
    timeout_seconds: float | None,
    ends: dict[TopicPartition, int] | None,
) -> Iterator[Record]:
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    seen = 0
    while max_records is None or seen < max_records:
        if deadline is not None and time.monotonic() >= deadline:
            return
        if ends is not None and all(consumer.position(tp) >= end for tp, end in ends.items()):
            return
        batches = consumer.poll(timeout_ms=POLL_MS)
        for tp in sorted(batches, key=lambda tp: tp.partition):
            for message in batches[tp]:
                yield record_from_message(message)
                seen += 1
                if max_records is not None and seen >= max_records:
                    return
