"""Worker memory (issue 21): RSS of a worker with 1,000 rules routing 1,000,000 events.

    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/memory.py                    # 1,000 rules, 1,000,000 events
    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/memory.py --events 100000    # quicker

A bus of one partition is filled first, straight through an aiokafka batch producer, with
``--events`` EventBridge envelopes of ~450-byte details (the PutEvents benchmark's orders).
Then ``eventpipes run`` (every role, one process) starts on a topology of ``--rules`` rules,
rule i matching ``detail.kind`` ``k<i>`` with one Kafka topic target; all rules target the
same topic, so the run adds a one-partition delivery topic and retry topic per rule and no
more. Every event matches one rule, among ``--active`` rules spread over the list (event n:
rule ``(n % active) * (rules // active)``): every rule is compiled, subscribed and has its
delivery handler, as on a bus where most rules match rarely. With every rule active on this
shared machine the broker took the 1,000 partitions' writes at ~250 events/s (a 1,000,000-event
run would take an hour). The group starts at the beginning of the bus, so the worker routes
and delivers the whole backlog: the heaviest case for memory (full batches in flight). Its
RSS (``/proc/<pid>/status`` VmRSS) is sampled every half second until every event is
delivered; printed: RSS once ready, peak (VmHWM), at the end, and the rates. Target: under
300 MB. Topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from eventpipes.events.entries import prepare_entry
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import TopicSpec, bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, connect, free_port, made_by_this_run, unique_name, wait_until

sys.path.insert(0, str(Path(__file__).parent))
from put_events import detail  # noqa: E402 - the PutEvents benchmark's orders

BATCH = 2000


def status_kb(pid: int, field: str) -> int:
    """A field of ``/proc/<pid>/status`` in kB (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


async def _fill(bootstrap: str, topic: str, count: int, rules: int, active: int, settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    await producer.start()
    now = datetime.now(timezone.utc)
    headers = [("content-type", b"application/json")]
    try:
        acks = []
        for start in range(0, count, BATCH):
            batch = producer.create_batch()
            for n in range(start, min(start + BATCH, count)):
                body = detail(n)[:-1] + f', "kind": "k{(n % active) * (rules // active)}"}}'
                event = prepare_entry({"Source": "bench", "DetailType": "Order", "Detail": body}, default_bus="b",
                                      account=settings.account, region=settings.region, max_entry_bytes=settings.max_entry_bytes, now=now).event
                if batch.append(key=event.id.encode(), value=event.to_json(), timestamp=None, headers=headers) is None:
                    acks.append(await producer.send_batch(batch, topic, partition=0))
                    batch = producer.create_batch()
                    batch.append(key=event.id.encode(), value=event.to_json(), timestamp=None, headers=headers)
            acks.append(await producer.send_batch(batch, topic, partition=0))
            if len(acks) > 16:
                await asyncio.gather(*acks)
                acks = []
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


def commit_beginning(bootstrap: str, group: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in partitions})
    consumer.close()


def delivered_total(exposition: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith("eventpipes_target_delivered_total{"))


def run(cluster: KafkaCluster, folder: Path, rules: int, active: int, count: int) -> None:
    bus, group, out = unique_name("bench-mem"), unique_name("bench-mem-group"), unique_name("bench-mem-out")
    lines = "\n".join(f"  - {{Name: r{i}, EventBusName: {bus}, EventPattern: {{detail: {{kind: [k{i}]}}}}, Targets: [{{Id: t, Topic: {out}}}]}}"
                      for i in range(rules))
    topology = folder / "memory.yaml"
    topology.write_text(f"EventBuses:\n  - {{Name: {bus}, Partitions: 1}}\nRules:\n{lines}\n")
    cluster.admin.ensure_topic(TopicSpec(bus_topic(bus), 1, {"max.message.bytes": str(2 * 1024 * 1024)}))
    began = time.monotonic()
    asyncio.run(_fill(cluster.bootstrap, bus_topic(bus), count, rules, active, cluster.settings))
    print(f"  bus filled with {count:,} events in {time.monotonic() - began:.0f} s", flush=True)
    commit_beginning(cluster.bootstrap, group, bus_topic(bus))
    samples: list[int] = []
    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=cluster.env()) as worker:
        pid = worker.process.pid
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(status_kb(pid, "VmRSS"))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        worker.wait_ready(timeout=600)
        ready_rss, started = status_kb(pid, "VmRSS"), time.monotonic()
        ends = end_offsets(cluster.client, bus_topic(bus))
        wait_until(lambda: committed_offsets(cluster.client, group, bus_topic(bus)) == ends, timeout=3600, interval=2, what="every event routed")
        routed_s = time.monotonic() - started
        wait_until(lambda: delivered_total(worker.metrics()) >= count, timeout=3600, interval=2, what="every event delivered")
        delivered_s = time.monotonic() - started
        peak, end_rss = status_kb(pid, "VmHWM"), status_kb(pid, "VmRSS")
        stop.set()
        sampler.join()
    mb = 1024
    print(f"worker, {rules:,} rules ({active} with traffic), {count:,} events routed and delivered: RSS ready {ready_rss / mb:.0f} MB, "
          f"peak {peak / mb:.0f} MB (sampled max {max(samples) / mb:.0f} MB), at the end {end_rss / mb:.0f} MB (target < 300 MB); "
          f"routed in {routed_s:.0f} s ({count / routed_s:,.0f} events/s), delivered in {delivered_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=10, help="rules the events match [default: 10]")
    args = parser.parse_args()
    cluster = connect(Settings())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; date {time.strftime('%Y-%m-%d')}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(cluster, Path(folder), args.rules, min(args.active, args.rules), args.events)
    finally:
        cluster.admin.delete_topics(sorted(t for t in cluster.admin.topics() if made_by_this_run(t)))
        cluster.close()


if __name__ == "__main__":
    main()
