"""Benchmark: what reading read_committed costs the worker on records written without transactions.

The worker (``kafka/worker.py``) reads read_committed since scheduled ticks reach delivery
topics in transactions. Routed events are written without one, and for those the broker's
last stable offset is its high watermark, so the isolation level should change nothing. This
consumes the same pre-filled topic (N records of 200 bytes, 3 partitions, as an idle router
would see a backlog) with ``PartitionWorker`` and a no-op handler, alternating
read_uncommitted and read_committed, and prints records/s per pass and the medians.

Run: ``.venv/bin/python benchmarks/isolation.py [--records 200000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from eventpipes.kafka import worker as worker_module
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import TopicSpec
from eventpipes.kafka.worker import PartitionWorker
from eventpipes.records import Record
from eventpipes.settings import get_settings
from eventpipes.testing import unique_name


def fill(kafka: KafkaClientConfig, topic: str, records: int) -> None:
    producer = make_producer(kafka)
    value = b"x" * 200
    for n in range(records):
        producer.send(topic, value=value, key=str(n).encode())
    producer.flush()
    producer.close()


async def consume(kafka: KafkaClientConfig, topic: str, records: int, isolation: str) -> float:
    """Records/s for one fresh group reading the whole topic at ``isolation``."""
    seen = 0
    done = asyncio.Event()

    async def handler(batch: list[Record]) -> None:
        nonlocal seen
        seen += len(batch)
        if seen >= records:
            done.set()

    original = worker_module.AIOKafkaConsumer
    worker_module.AIOKafkaConsumer = lambda **kw: original(**{**kw, "isolation_level": isolation})  # type: ignore[assignment,misc]
    try:
        runtime = PartitionWorker(kafka, unique_name("bench-isolation"), {topic: handler})
        started = time.perf_counter()
        running = asyncio.create_task(runtime.run())
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - started
        runtime.stop()
        await running
    finally:
        worker_module.AIOKafkaConsumer = original  # type: ignore[misc]
    return records / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kafka = client_config(get_settings())
    topic = unique_name("bench-isolation")
    with Admin(kafka) as admin:
        admin.ensure_topic(TopicSpec(topic, 3))
    fill(kafka, topic, args.records)
    rates: dict[str, list[float]] = {"read_uncommitted": [], "read_committed": []}
    for _ in range(args.rounds):
        for isolation in rates:
            rate = asyncio.run(consume(kafka, topic, args.records, isolation))
            rates[isolation].append(rate)
            print(f"{isolation:>16}: {rate:,.0f} records/s")
    medians = {k: statistics.median(v) for k, v in rates.items()}
    print(f"medians: read_uncommitted {medians['read_uncommitted']:,.0f}, read_committed {medians['read_committed']:,.0f} "
          f"records/s; ratio {medians['read_committed'] / medians['read_uncommitted']:.2f}")
    with Admin(kafka) as admin:
        admin.delete_topics([topic])


if __name__ == "__main__":
    main()
