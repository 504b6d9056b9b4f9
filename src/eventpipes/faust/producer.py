"""The route's own producer: records packed into one batch per delivery partition as they are planned, one produce at a time.

Why not eventpipes' ``WorkerSink`` as it is: Faust hands the route what its stream buffered in
``within`` seconds, 150-300 events on a busy 2-core machine, not the 1,000 asked for
(benchmarks/faust.py, events per batch). One produce per Faust batch over 300 delivery
partitions gave batches of one to three records, and each ``send_batch`` costs ~25 µs of CPU
in aiokafka whatever it holds: more than the records in it. So:

* **One produce in flight, at most one per ``linger`` seconds.** Records given meanwhile are
  packed into the next one: under load a produce carries ``linger`` seconds of records (fuller
  batches, fewer of them); an event on an idle bus is produced at once.
* **Packed as they come.** Each record is appended to its partition's open batch (aiokafka's
  C builder) when it is given, and no ``OutRecord`` outlives that call. Records held in Python
  objects until the produce, thousands of them across a linger, survived into the collector's
  oldest generation and made full collections run 3-5 times as often as Faust's own consume
  path does (benchmarks/faust.py prints the collector's time per event).

``send_all`` returns once Kafka acknowledged every record it was given, and raises if the
produce that carried them failed (the caller sends them again: at least once). A partition's
records keep the order of the calls: a produce packs them in call order, and the next produce
starts only after the previous one was acknowledged or failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.partitioning import partition_for_key
from eventpipes.records import OutRecord

#: Bytes per produce batch at most (aiokafka's default is 16 KB). A linger's records for one
#: delivery partition go in one batch; the broker takes up to ``message.max.bytes`` (1 MB) a batch.
MAX_BATCH_BYTES = 512 * 1024


@dataclass(slots=True)
class _Produce:
    """The batches being filled for the next produce, and the outcome their callers await."""

    done: asyncio.Future[None]
    batches: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    """(topic, partition) -> aiokafka batch builders, filled in order."""
    unplaced: list[OutRecord] = field(default_factory=list)
    """Records with neither partition nor key, or of a topic not in the metadata: aiokafka's ``send`` places them."""

    def __bool__(self) -> bool:
        return bool(self.batches or self.unplaced)


class PackingProducer:
    """A ``RecordSink`` with a producer of its own (acks=all), started on first use.

    Args:
        kafka: the cluster and its security settings.
        linger: seconds between two produces at most often.
    """

    def __init__(self, kafka: KafkaClientConfig, *, linger: float) -> None:
        self._kafka = kafka
        self._linger = linger
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._open: _Produce | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._last = float("-inf")
        self._counts: dict[str, int] = {}

    async def start(self) -> AIOKafkaProducer:
        """The producer, started (once)."""
        if self._producer is not None:
            return self._producer
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(**self._kafka.aiokafka(), acks="all", linger_ms=2,
                                            max_request_size=4 * 1024 * 1024, max_batch_size=MAX_BATCH_BYTES,
                                            client_id="eventpipes-faust-route")
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()  # its connections closed: the next call starts a new one
                    raise
                self._producer = producer
            return self._producer

    async def warm_up(self, topics: list[str]) -> None:
        """Fetch every delivery topic's metadata in one request (else the first record to each waits for its own)."""
        producer = await self.start()
        await producer.client.set_topics(topics)

    async def send_all(self, records: Iterable[OutRecord]) -> None:
        """Pack ``records`` (consumed once, as given) and return once Kafka acknowledged them all."""
        producer = await self.start()
        produce = self._open
        if produce is None:
            produce = self._open = _Produce(asyncio.get_running_loop().create_future())
        packed = 0
        batches = produce.batches
        for record in records:  # the per-record path: every routed record comes through here
            packed += 1
            partition = record.partition
            builders = batches.get((record.topic, partition)) if partition is not None else None
            if builders is None or builders[-1].append(key=record.key, value=record.value, timestamp=record.timestamp_ms,
                                                       headers=record.headers) is None:
                self._pack(producer, produce, record)  # a partition's first record, a full batch, or no partition
        if not packed:
            return
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())
        # Shielded: a caller that gives up (the agent stopping) leaves the others' produce alone.
        await asyncio.shield(produce.done)

    def _pack(self, producer: AIOKafkaProducer, produce: _Produce, record: OutRecord) -> None:
        partition = record.partition
        if partition is None and record.key is not None:
            count = self._partition_count(producer, record.topic)
            if count:
                partition = partition_for_key(record.key, count)
        if partition is None:
            produce.unplaced.append(record)
            return
        builders = produce.batches.setdefault((record.topic, partition), [])
        if builders and builders[-1].append(key=record.key, value=record.value, timestamp=record.timestamp_ms,
                                            headers=record.headers) is not None:
            return  # a keyed record, into its partition's open batch
        builder = producer.create_batch()  # a new batch always takes its first record, however large
        builder.append(key=record.key, value=record.value, timestamp=record.timestamp_ms, headers=record.headers)
        builders.append(builder)

    def _partition_count(self, producer: AIOKafkaProducer, topic: str) -> int:
        count = self._counts.get(topic)
        if not count:
            count = self._counts[topic] = len(producer.client.cluster.partitions_for_topic(topic) or ())
        return count

    async def _flush(self) -> None:
        """Send what is packed, one produce after another, until nothing is."""
        loop = asyncio.get_running_loop()
        try:
            while self._open:
                wait = self._last + self._linger - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last = loop.time()
                produce, self._open = self._open, None
                try:
                    await self._send(produce)
                except asyncio.CancelledError:  # the loop stops: nobody waits for an answer any more
                    produce.done.cancel()
                    if self._open is not None:
                        self._open.done.cancel()
                    raise
                except Exception as exc:  # every caller of this produce sees why, and sends its own records again
                    produce.done.set_exception(exc)
                else:
                    produce.done.set_result(None)
        finally:
            self._flushing = None

    async def _send(self, produce: _Produce) -> None:
        producer = await self.start()
        pending = [await producer.send(r.topic, r.value, key=r.key, headers=r.headers, timestamp_ms=r.timestamp_ms)
                   for r in produce.unplaced]
        for (topic, partition), builders in produce.batches.items():
            for builder in builders:
                pending.append(await producer.send_batch(builder, topic, partition=partition))
        await asyncio.gather(*pending)

    async def stop(self) -> None:
        """Finish the produce under way, then close the producer."""
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
