"""PutEvents from one Python process (issue 21): events/s through ``EventBusClient`` against raw producer loops.

    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/put_events.py            # 30,000 events per mode, 3 rounds
    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/put_events.py --quick    # 5,000 events, 1 round

Workload: calls of 10 entries (``Source``, ``DetailType``, a ~450-byte ``Detail`` of an
order with a customer and four line items), all on one bus of 3 partitions created before
the run, one ``EventBusClient`` shared by every thread of a mode. Modes, each timed from the
first call to the last result:

- sequential: one thread, one call after another;
- N threads: N threads sharing the client, each calling in a loop (``--threads``, default 8 and 32).

Baselines, same run, same bus, on the envelopes the client would write (built before the
clock starts, so they are the records alone): kafka-python's ``KafkaProducer`` sending every
record and flushing once (the client PutEvents used before issue 21), and the best raw loop
found: aiokafka's C batch builder, one batch per partition of up to 1 MB, ``send_batch``,
acks=all. Each round prints every figure; the last line gives medians over rounds. The bus
topic is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from aiokafka import AIOKafkaProducer
from kafka import KafkaProducer

from eventpipes.bus.put_events import EventBusClient
from eventpipes.events.entries import prepare_entry
from eventpipes.kafka.partitioning import partition_for_key
from eventpipes.kafka.topics import TopicSpec, bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, connect, unique_name

PARTITIONS = 3
PER_CALL = 10


def detail(n: int) -> str:
    """An order of about 450 bytes of JSON (the issue's workload)."""
    return json.dumps({
        "orderId": f"o-{n:08d}", "customer": {"id": f"c-{n % 1000}", "tier": "gold", "country": "DE"},
        "items": [{"sku": f"sku-{(n + i) % 500}", "qty": i + 1, "price": 12.5 + i} for i in range(4)],
        "total": 250.75, "currency": "EUR", "state": "PLACED", "channel": "web", "notes": "x" * 96,
    })


def calls(count: int) -> list[list[dict[str, Any]]]:
    entries = [{"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": detail(n)} for n in range(count)]
    return [entries[i:i + PER_CALL] for i in range(0, count, PER_CALL)]


def put_rate(client: EventBusClient, bus: str, work: list[list[dict[str, Any]]], threads: int) -> float:
    """Events/s of ``threads`` threads sharing ``client`` over ``work`` (every entry must be put)."""
    cursor = iter(work)
    lock = threading.Lock()
    failed: list[int] = []

    def loop() -> None:
        while True:
            with lock:
                entries = next(cursor, None)
            if entries is None:
                return
            result = client.put_events(entries, bus=bus)
            if result.failed_entry_count:
                failed.append(result.failed_entry_count)

    began = time.perf_counter()
    if threads == 1:
        loop()
    else:
        pool = [threading.Thread(target=loop) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    seconds = time.perf_counter() - began
    assert not failed, f"{sum(failed)} entries failed"
    return sum(len(c) for c in work) / seconds


def envelopes(work: list[list[dict[str, Any]]], settings: Settings) -> list[tuple[bytes, bytes]]:
    """(key, value) of the bus record each entry makes, as the client writes it."""
    now = datetime.now(timezone.utc)
    records = []
    for entries in work:
        for entry in entries:
            prepared = prepare_entry(entry, default_bus="b", account=settings.account, region=settings.region,
                                     max_entry_bytes=settings.max_entry_bytes, now=now)
            records.append((prepared.event.id.encode(), prepared.event.to_json()))
    return records


def kafka_python_rate(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=4 * 1024 * 1024)
    headers = [("content-type", b"application/json")]
    try:
        producer.send(topic, value=b"{}").get(timeout=30)  # connected, metadata known
        began = time.perf_counter()
        futures = [producer.send(topic, key=key, value=value, headers=headers) for key, value in records]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        return len(records) / (time.perf_counter() - began)
    finally:
        producer.close(timeout=5)


async def _aiokafka_batches(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    headers = [("content-type", b"application/json")]
    try:
        await (await producer.send(topic, b"{}"))
        partitions = len(await producer.partitions_for(topic))
        began = time.perf_counter()
        batches: dict[int, Any] = {}
        acks = []
        for key, value in records:
            partition = partition_for_key(key, partitions)
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                acks.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for partition, batch in batches.items():
            acks.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*acks)
        return len(records) / (time.perf_counter() - began)
    finally:
        await producer.stop()


def aiokafka_rate(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    return asyncio.run(_aiokafka_batches(bootstrap, topic, records))


def one_round(cluster: KafkaCluster, bus: str, count: int, thread_counts: list[int]) -> dict[str, float]:
    work = calls(count)
    figures: dict[str, float] = {}
    with EventBusClient(cluster.settings) as client:
        client.put_events(work[0], bus=bus)  # connected, metadata known
        figures["sequential"] = put_rate(client, bus, work, 1)
        for threads in thread_counts:
            figures[f"{threads} threads"] = put_rate(client, bus, work, threads)
    records = envelopes(work, cluster.settings)
    figures["raw kafka-python"] = kafka_python_rate(cluster.bootstrap, bus_topic(bus), records)
    figures["raw aiokafka batches"] = aiokafka_rate(cluster.bootstrap, bus_topic(bus), records)
    return figures


def show(figures: dict[str, float], pick: Callable[[list[float]], float] = statistics.median) -> str:
    raw, best = figures["raw kafka-python"], figures["raw aiokafka batches"]
    parts = [f"{name} {rate:,.0f}/s ({rate / raw:.0%} of kafka-python, {rate / best:.1%} of best)"
             for name, rate in figures.items() if not name.startswith("raw")]
    return "; ".join(parts) + f"; raw kafka-python {raw:,.0f}/s; raw aiokafka batches {best:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events, one round")
    parser.add_argument("--events", type=int, help="events per mode [default: 30,000; 5,000 with --quick]")
    parser.add_argument("--rounds", type=int, help="rounds [default: 3; 1 with --quick]")
    parser.add_argument("--threads", type=int, action="append", help="a threaded mode (repeatable) [default: 8 and 32]")
    args = parser.parse_args()
    count = args.events or (5_000 if args.quick else 30_000)
    rounds = args.rounds or (1 if args.quick else 3)
    cluster = connect(Settings())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; date {time.strftime('%Y-%m-%d')}; "
          f"{count:,} events per mode, {PER_CALL} entries per call, detail {len(detail(0))} bytes")
    bus = unique_name("bench-put")
    cluster.admin.ensure_topic(TopicSpec(bus_topic(bus), PARTITIONS, {"max.message.bytes": str(2 * 1024 * 1024)}))
    try:
        every: dict[str, list[float]] = {}
        for n in range(rounds):
            figures = one_round(cluster, bus, count, args.threads or [8, 32])
            print(f"round {n + 1}: {show(figures)}", flush=True)
            for name, rate in figures.items():
                every.setdefault(name, []).append(rate)
        print(f"median of {rounds}: {show({name: statistics.median(rates) for name, rates in every.items()})}")
    finally:
        cluster.admin.delete_topics([bus_topic(bus)])
        cluster.close()


if __name__ == "__main__":
    main()
