"""The best raw loops: what a throughput benchmark's ratio is measured against (issue 21).

A ratio against a weak loop flatters eventpipes, so each throughput benchmark (routing,
pipes, replay) also runs, in the same run, the fastest plain loops we could write with the
installed clients, on the same input topic and records, and reports the ratio to the best
of them next to its own historical baseline:

- **copy** (consume and produce, acks=all): aiokafka with large fetches
  (``getmany(max_records=10000)``) and one ``create_batch``/``send_batch`` per fetched
  partition, acknowledgements awaited a few fetches behind; and confluent-kafka
  (librdkafka) with ``consume(num_messages=...)``, ``produce`` per record and ``poll(0)``.
  Each record goes to the sink partition numbered as its source partition, key, value and
  headers unchanged (the router too keeps a record's partition number).
- **consume**: the same consumers with nothing done per record (the pipes benchmark's
  baseline is consumption).

The loops neither join a group nor commit offsets: they are an upper bound, not an
at-least-once service. Each is timed from its first record returned to its last record
received (consume) or acknowledged (copy): connecting, the offset lookup and the first
fetch's round trip are left out, as the eventpipes figures leave out start-up. librdkafka's
first call asks for one record: ``consume(num_messages=10000)`` waits for 10,000 while
librdkafka keeps fetching, and a clock started after it missed several fetches (a 1 KB-record
copy read "263,000 records/s", three times the other loops); a clock started at assignment
took in a start-up stall of ~1 s in some passes (confluent-kafka consumption read
~175,000 records/s in those passes, ~1,000,000 in the others).

Several settings of each client are candidates (``COPY_LOOPS``, ``CONSUME_LOOPS``; how they
were chosen is in benchmarks/README.md, "Best raw loops"); ``best_copy`` and
``best_consume`` run each candidate (after one warming pass) and return every figure with
the best of them, the "best raw loop" of that run.

    .venv/bin/python benchmarks/baselines.py --explore --records 200000   # the settings grid
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer
from confluent_kafka import TopicPartition as ConfluentPartition

#: Largest produce request and record batch a loop may build (the bus allows 2 MB records).
MAX_REQUEST_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AiokafkaSettings:
    """One aiokafka configuration of the loops."""

    max_records: int = 10_000
    """Records asked of ``getmany`` at a time (and ``max_poll_records``)."""
    fetch_max_bytes: int = 64 * 1024 * 1024
    """Consumer ``fetch_max_bytes``: bytes per fetch response, over all partitions."""
    max_partition_fetch_bytes: int = 1024 * 1024
    """Consumer ``max_partition_fetch_bytes``: bytes per partition per fetch (see ``COPY_LOOPS``)."""
    max_batch_size: int = 1024 * 1024
    """Producer ``max_batch_size``: bytes per ``create_batch`` batch (aiokafka's default is 16 KB)."""
    linger_ms: int = 0
    """Producer ``linger_ms`` (``send_batch`` batches are closed, so this barely matters)."""
    in_flight: int = 2
    """Fetches whose acknowledgements may still be pending when the next one is produced."""

    def label(self, copy: bool = True) -> str:
        fetch = f"aiokafka getmany {self.max_records}, {_mb(self.max_partition_fetch_bytes)} per partition"
        return f"{fetch}, send_batch {_mb(self.max_batch_size)}, acks of {self.in_flight} fetches pending" if copy else fetch


@dataclass(frozen=True, slots=True)
class ConfluentSettings:
    """One confluent-kafka (librdkafka) configuration of the loops."""

    num_messages: int = 10_000
    """Messages asked of ``consume`` at a time."""
    consumer: dict[str, Any] = field(default_factory=dict)
    """Consumer properties over the defaults (``fetch.max.bytes``, ``max.partition.fetch.bytes``, ...)."""
    producer: dict[str, Any] = field(default_factory=dict)
    """Producer properties over ``PRODUCER_BASE`` (``linger.ms``, ``batch.num.messages``, ...)."""

    def label(self, copy: bool = True) -> str:
        tuned = {**self.consumer, **self.producer} if copy else self.consumer
        return f"confluent-kafka consume {self.num_messages}" + (f", {_short(tuned)}" if tuned else "")


#: What every confluent-kafka producer of the loops has: durable writes like eventpipes' own.
PRODUCER_BASE: dict[str, Any] = {
    "acks": "all", "compression.type": "none", "enable.idempotence": False,
    "message.max.bytes": MAX_REQUEST_BYTES, "queue.buffering.max.messages": 1_000_000,
}

#: Candidate settings, chosen with ``--explore`` (benchmarks/README.md, "Best raw loops").
MB = 1024 * 1024
#: Every candidate fetches at most 1 MB per partition, as eventpipes' consumers do (aiokafka's
#: and librdkafka's default): the clock starts at the first record, so the first fetch is
#: outside it on both sides. With 8 MB per partition a 20,000-event topic arrived whole in the
#: first fetch and a copy "ran" at 572,000 records/s.
COPY_LOOPS: tuple[AiokafkaSettings | ConfluentSettings, ...] = (
    AiokafkaSettings(max_partition_fetch_bytes=MB, max_batch_size=512 * 1024),
    AiokafkaSettings(max_partition_fetch_bytes=MB, max_batch_size=512 * 1024, in_flight=4),
    AiokafkaSettings(max_partition_fetch_bytes=MB, max_batch_size=MB, in_flight=1),
    AiokafkaSettings(max_records=20_000, max_partition_fetch_bytes=MB, in_flight=4),
    ConfluentSettings(producer={"linger.ms": 5, "batch.num.messages": 10_000, "batch.size": 1_000_000}),
    ConfluentSettings(num_messages=2_000, producer={"linger.ms": 20, "batch.num.messages": 10_000, "batch.size": 1_000_000}),
    ConfluentSettings(num_messages=1_000),
)
CONSUME_LOOPS: tuple[AiokafkaSettings | ConfluentSettings, ...] = (
    AiokafkaSettings(max_records=2_000, max_partition_fetch_bytes=MB),
    AiokafkaSettings(max_partition_fetch_bytes=MB),
    ConfluentSettings(num_messages=1_000),
    ConfluentSettings(num_messages=2_000),
    ConfluentSettings(),
)


@dataclass(frozen=True, slots=True)
class LoopResult:
    """One loop's figure in a run."""

    label: str
    records_per_second: float


@dataclass(frozen=True, slots=True)
class Best:
    """Every loop's figure in a run and the best of them."""

    kind: str
    """``copy`` (consume and produce) or ``consume``."""
    results: tuple[LoopResult, ...]

    @property
    def best(self) -> LoopResult:
        return max(self.results, key=lambda r: r.records_per_second)

    @property
    def rate(self) -> float:
        return self.best.records_per_second

    def lines(self) -> list[str]:
        """One line per loop, the best marked."""
        best = self.best
        return [f"  raw {self.kind} {r.records_per_second:>10,.0f} records/s  {r.label}{'  <- best' if r is best else ''}"
                for r in self.results]


# -- aiokafka ---------------------------------------------------------------------------------

def _consumer(bootstrap: str, topic: str, s: AiokafkaSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                            auto_offset_reset="earliest", max_poll_records=s.max_records, fetch_max_bytes=s.fetch_max_bytes,
                            max_partition_fetch_bytes=s.max_partition_fetch_bytes)


async def aiokafka_copy(bootstrap: str, source: str, sink: str, count: int, s: AiokafkaSettings) -> float:
    """Records/second copying ``count`` records of ``source`` to ``sink`` (same partition numbers)."""
    consumer = _consumer(bootstrap, source, s)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=s.linger_ms, max_batch_size=s.max_batch_size,
                                max_request_size=MAX_REQUEST_BYTES)
    await consumer.start()
    await producer.start()
    pending: deque[list[asyncio.Future[Any]]] = deque()
    seen, began = 0, 0.0
    try:
        while seen < count:
            fetched = await consumer.getmany(timeout_ms=500, max_records=s.max_records)
            acks: list[asyncio.Future[Any]] = []
            for tp, records in fetched.items():
                if not records:
                    continue
                began = began or time.perf_counter()
                seen += len(records)
                batch = producer.create_batch()
                for r in records:
                    if batch.append(key=r.key, value=r.value, timestamp=None, headers=list(r.headers)) is None:
                        acks.append(await producer.send_batch(batch, sink, partition=tp.partition))
                        batch = producer.create_batch()
                        batch.append(key=r.key, value=r.value, timestamp=None, headers=list(r.headers))
                acks.append(await producer.send_batch(batch, sink, partition=tp.partition))
            pending.append(acks)
            while len(pending) > s.in_flight:
                await asyncio.gather(*pending.popleft())
        for acks in pending:
            await asyncio.gather(*acks)
        return seen / (time.perf_counter() - began)
    finally:
        await consumer.stop()
        await producer.stop()


async def aiokafka_consume(bootstrap: str, source: str, count: int, s: AiokafkaSettings) -> float:
    """Records/second reading ``count`` records of ``source``, nothing done per record."""
    consumer = _consumer(bootstrap, source, s)
    await consumer.start()
    seen, began = 0, 0.0
    try:
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=500, max_records=s.max_records)).values():
                if records:
                    began = began or time.perf_counter()
                    seen += len(records)
        return seen / (time.perf_counter() - began)
    finally:
        await consumer.stop()


# -- confluent-kafka --------------------------------------------------------------------------

def _confluent_consumer(bootstrap: str, source: str, s: ConfluentSettings) -> Consumer:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", **s.consumer})
    partitions = consumer.list_topics(source, timeout=10).topics[source].partitions
    consumer.assign([ConfluentPartition(source, p, OFFSET_BEGINNING) for p in sorted(partitions)])
    return consumer


def _first(consumer: Consumer, timeout: float = 60) -> list[Any]:
    """The first record, as soon as it is there (the clock starts then, as at aiokafka's first ``getmany``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := [m for m in consumer.consume(num_messages=1, timeout=0.5) if m.error() is None]:
            return found
    raise TimeoutError(f"confluent-kafka: no record within {timeout} s")


def confluent_copy(bootstrap: str, source: str, sink: str, count: int, s: ConfluentSettings) -> float:
    """Records/second copying ``count`` records of ``source`` to ``sink`` (same partition numbers)."""
    consumer = _confluent_consumer(bootstrap, source, s)
    failed: list[Any] = []

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failed.append(error)

    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_BASE, **s.producer, "on_delivery": delivered})
    seen = 0
    try:
        messages = _first(consumer)
        began = time.perf_counter()
        while True:
            for m in messages:
                if m.error() is not None:
                    continue
                seen += 1
                while True:
                    try:
                        producer.produce(sink, m.value(), m.key(), partition=m.partition() or 0, headers=m.headers())
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.poll(0)
            if seen >= count:
                break
            # Never more than remain: ``consume`` waits its whole timeout for a count it cannot reach.
            messages = consumer.consume(num_messages=min(s.num_messages, count - seen), timeout=0.5)
        if producer.flush(60):
            raise RuntimeError("confluent-kafka copy: records still unacknowledged after 60 s")
        if failed:
            raise RuntimeError(f"confluent-kafka copy: {len(failed)} records failed, first: {failed[0]}")
        return seen / (time.perf_counter() - began)
    finally:
        consumer.close()


def confluent_consume(bootstrap: str, source: str, count: int, s: ConfluentSettings) -> float:
    """Records/second reading ``count`` records of ``source``, nothing done per record."""
    consumer = _confluent_consumer(bootstrap, source, s)
    try:
        seen = len(_first(consumer))
        began = time.perf_counter()
        while seen < count:
            messages = consumer.consume(num_messages=min(s.num_messages, count - seen), timeout=0.5)
            seen += sum(1 for m in messages if m.error() is None)
        return seen / (time.perf_counter() - began)
    finally:
        consumer.close()


# -- picking the best -------------------------------------------------------------------------

def copy_rate(bootstrap: str, source: str, sink: str, count: int, s: AiokafkaSettings | ConfluentSettings) -> float:
    if isinstance(s, AiokafkaSettings):
        return asyncio.run(aiokafka_copy(bootstrap, source, sink, count, s))
    return confluent_copy(bootstrap, source, sink, count, s)


def consume_rate(bootstrap: str, source: str, count: int, s: AiokafkaSettings | ConfluentSettings) -> float:
    if isinstance(s, AiokafkaSettings):
        return asyncio.run(aiokafka_consume(bootstrap, source, count, s))
    return confluent_consume(bootstrap, source, count, s)


def best_copy(bootstrap: str, source: str, sink: str, count: int, *, rounds: int = 1,
              loops: Sequence[AiokafkaSettings | ConfluentSettings] = COPY_LOOPS) -> Best:
    """Every copy loop's best of ``rounds`` passes, ``source`` to ``sink``, after one unmeasured pass.

    The unmeasured pass warms ``sink``'s partitions: the broker stalls a partition's first
    writes while it creates its index files (see routing.py's ``WARM_UP``).
    """
    copy_rate(bootstrap, source, sink, count, loops[0])
    return Best("copy", tuple(LoopResult(s.label(copy=True), max(copy_rate(bootstrap, source, sink, count, s) for _ in range(rounds)))
                              for s in loops))


def best_consume(bootstrap: str, source: str, count: int, *, rounds: int = 1,
                 loops: Sequence[AiokafkaSettings | ConfluentSettings] = CONSUME_LOOPS) -> Best:
    """Every consume loop's best of ``rounds`` passes over ``source``."""
    return Best("consume", tuple(LoopResult(s.label(copy=False), max(consume_rate(bootstrap, source, count, s) for _ in range(rounds)))
                                 for s in loops))


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _short(props: dict[str, Any]) -> str:
    return " ".join(f"{k}={_mb(v) if isinstance(v, int) and v >= 1024 * 1024 and 'bytes' in k else v}" for k, v in props.items())


# -- exploring the settings -------------------------------------------------------------------

def _envelope(n: int) -> bytes:
    """A bus record like the routing benchmark's (a PutEvents envelope, ~300 bytes)."""
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "Order", "source": "bench", "account": "000000000000",
                       "time": "2026-12-05T00:00:00Z", "region": "us-east-1", "resources": [],
                       "detail": {"n": n, "kind": f"k{n % 100}", "amount": n % 997}}).encode()


def explore(bootstrap: str, records: int, partitions: int, grid: Callable[[], list[AiokafkaSettings | ConfluentSettings]]) -> None:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    source, sink = f"bench-raw-src-{uuid.uuid4().hex[:8]}", f"bench-raw-sink-{uuid.uuid4().hex[:8]}"
    # Bus-sized records, as eventpipes' bus and delivery topics allow (kafka.topics.BUS_MAX_MESSAGE_BYTES).
    config = {"max.message.bytes": str(2 * 1024 * 1024)}
    admin.create_topics([NewTopic(source, partitions, 1, topic_configs=config), NewTopic(sink, partitions, 1, topic_configs=config)])
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1024 * 1024)
        for n in range(records):
            producer.send(source, key=str(n).encode(), value=_envelope(n), headers=[("content-type", b"application/json")])
        producer.flush()
        producer.close()
        loops = grid()
        print(f"{records:,} records of ~{len(_envelope(0))} bytes, {partitions} partitions")
        copy_rate(bootstrap, source, sink, records, COPY_LOOPS[0])  # warm the sink
        for s in loops:
            rates = [copy_rate(bootstrap, source, sink, records, s) for _ in range(2)]
            print(f"copy    {max(rates):>10,.0f} ({min(rates):>10,.0f})  {s.label()}", flush=True)
        for s in loops:
            rates = [consume_rate(bootstrap, source, records, s) for _ in range(2)]
            print(f"consume {max(rates):>10,.0f} ({min(rates):>10,.0f})  {s.label(copy=False)}", flush=True)
    finally:
        admin.delete_topics([source, sink])
        admin.close()


def _grid() -> list[AiokafkaSettings | ConfluentSettings]:
    """The settings tried by ``--explore``: the candidates and a few neighbours (1 MB per partition, see ``COPY_LOOPS``)."""
    return [
        AiokafkaSettings(max_records=2_000, max_batch_size=16 * 1024),
        AiokafkaSettings(max_records=2_000, max_batch_size=512 * 1024),
        *COPY_LOOPS[:4],
        AiokafkaSettings(max_records=20_000, max_batch_size=512 * 1024, in_flight=8),
        *COPY_LOOPS[4:],
        ConfluentSettings(producer={"linger.ms": 50, "batch.num.messages": 100_000, "batch.size": 1_000_000}),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--explore", action="store_true", help="run the settings grid on a fresh topic")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    args = parser.parse_args()
    if not args.explore:
        parser.error("nothing to do without --explore (the loops are used by routing.py, pipes.py and replay.py)")
    explore(args.bootstrap, args.records, args.partitions, _grid)
