"""The worker's producer: what the router, the targets and dead-lettering write through."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from aiokafka import AIOKafkaProducer

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.partitioning import partition_for_key
from eventpipes.records import OutRecord


class WorkerSink:
    """The worker's own aiokafka producer (acks=all); ``send_all`` returns once every record is acknowledged.

    Rejected alternative: Faust's ``Topic.send``. Its per-record path (sensors, futures,
    callbacks) cost ~200 µs a record here, capping the router at ~3,000 events/s.
    """

    def __init__(self, kafka: KafkaClientConfig) -> None:
        self._kafka = kafka
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        # Callers' records enter the producer one call after another, so records of one
        # partition keep the order of the calls (a router's overlapping batches of one bus
        # partition stay in put order on the archive and delivery partitions).
        self._enqueuing = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **self._kafka.aiokafka(),
                    acks="all",
                    linger_ms=2,
                    max_request_size=4 * 1024 * 1024,
                    client_id="eventpipes-worker",
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def warm_up(self, topics: list[str]) -> None:
        """Fetch metadata for every topic the worker writes to, in one request.

        Without it the first record to each topic waits for its own metadata request:
        with 100 targets, the first batch took seconds.
        """
        producer = await self._get()
        await producer.client.set_topics(topics)

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has, from the producer's metadata (0 while unknown: before ``warm_up``)."""
        if self._producer is None:
            return 0
        return len(self._producer.client.cluster.partitions_for_topic(topic) or ())

    async def send_all(self, records: list[OutRecord]) -> None:
        """Produce ``records`` (in order per partition) and return once every one is acknowledged.

        Records are packed into one batch per partition (aiokafka's C batch builder): with a
        router's fan-out to hundreds of partitions, that costs about half the CPU of a
        ``send`` per record. A keyed record's partition is Kafka's default partitioner's
        (``kafka.partitioning``); a record without key or partition goes through ``send``.
        """
        producer = await self._get()
        by_partition: dict[tuple[str, int], list[OutRecord]] = {}
        keyed: list[OutRecord] = []
        counts: dict[str, int] = {}
        for record in records:
            partition = record.partition
            if partition is None and record.key is not None:
                count = counts.get(record.topic)
                if count is None:
                    count = counts[record.topic] = self.partition_count(record.topic)
                if count:
                    partition = partition_for_key(record.key, count)
            if partition is None:
                keyed.append(record)  # no key, or a topic not in the metadata yet: aiokafka's send decides
            else:
                by_partition.setdefault((record.topic, partition), []).append(record)
        async with self._enqueuing:
            pending = [
                await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers), timestamp_ms=r.timestamp_ms)
                for r in keyed
            ]
            for (topic, partition), group in by_partition.items():
                pending += [await producer.send_batch(batch, topic, partition=partition) for batch in _batches(producer, group)]
        await asyncio.gather(*pending)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


def _batches(producer: AIOKafkaProducer, records: list[OutRecord]) -> Iterator[Any]:
    """``records`` packed into as few of the producer's batches as its batch size allows.

    A batch always takes its first record, however large (as ``send`` would do).
    """
    batch = producer.create_batch()
    for record in records:
        if batch.append(key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=record.headers) is None:
            yield batch
            batch = producer.create_batch()
            batch.append(key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=record.headers)
    yield batch


class ProducerSink:
    """A ``RecordSink`` over a producer someone else started and stops (a pipe's).

    Records are enqueued one after another, then their acknowledgements awaited together:
    one round trip for the batch, in the order given within each partition.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def send_all(self, records: list[OutRecord]) -> None:
        futures = [await self._producer.send(r.topic, r.value, key=r.key, headers=r.headers or None,
                                              partition=r.partition, timestamp_ms=r.timestamp_ms) for r in records]
        await asyncio.gather(*futures)
