"""Routing benchmarks (issue 5): bus throughput with 100 rules, and latency at a steady rate.

    .venv/bin/python benchmarks/routing.py            # 80,000 events per layout, 15 s of latency load
    .venv/bin/python benchmarks/routing.py --quick    # 5,000 events, 5 s
    .venv/bin/python benchmarks/routing.py --layout split --no-latency   # one layout, no latency part

Throughput: a worker (``eventpipes run``) with 100 rules (each event matches exactly
one, each rule has a Kafka topic target) first routes and delivers 10,000 warm-up events
(see ``WARM_UP``) and stops; then N events are put on the bus and the topology is started
again, in each of ``LAYOUTS``: one worker with every role, or a routing worker and a
delivery worker (``eventpipes run --role``). The router's rate is N over the span between
the first and the last record routed to the delivery topics, as the broker stamped them
on append (the issue's measure: put to target delivery topic; start-up not counted); the
end-to-end rate, to the target topics, is printed too. Baseline, in the same run: one
aiokafka consumer reading the same kind of bus topic and re-producing every record to
one topic with acks=all, awaiting acknowledgements per fetched batch (up to ``MAX_BATCH``
records per partition, as the router does; its second pass, so its partitions are warm
too). Target: router at least 50% of the raw rate.

Latency, in each layout: one rule with a Kafka topic target; PutEvents at 1,000 events/s (10 per call)
for the load period; latency = the target record's timestamp minus the bus record's
timestamp, per event. Target: p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import TopicSpec, bus_topic, delivery_topic, internal_topic_spec
from eventpipes.kafka.worker import MAX_BATCH
from eventpipes.settings import Settings
from eventpipes.testing import WorkerProcess, connect, free_port, made_by_this_run, unique_name, wait_until

RULES = 100


def put_events(settings: Settings, bus: str, count: int, kind: callable) -> None:  # type: ignore[valid-type]
    with EventBusClient(settings) as client:
        for start in range(0, count, 10):
            entries = [{"Source": "bench", "DetailType": "Order", "Detail": json.dumps({"n": n, "kind": kind(n), "amount": n % 997})}
                       for n in range(start, min(start + 10, count))]
            assert client.put_events(entries, bus=bus).failed_entry_count == 0


def commit_beginning(bootstrap: str, group: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in partitions})
    consumer.close()


#: Events routed before the measured pass. The broker creates a partition's index files
#: when its first ~4 KB arrive, and on this machine 300 fresh delivery partitions stalled
#: produce requests for 1-2 s at that point (seen with aiokafka and librdkafka alike, and
#: never again on the same partitions): a one-time cost of a new topology, not routing.
WARM_UP = 10_000


def delivered_total(exposition: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith("eventpipes_target_delivered_total{"))


#: How the measured pass runs the topology: one worker with every role, or a routing
#: worker and a delivery worker of the same group (``eventpipes run --role``), each
#: process on its own core.
LAYOUTS = {"one worker": [()], "split": [("routing",), ("delivery",)]}


def router_throughput(cluster, folder: Path, count: int, layout: list[tuple[str, ...]]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Events/second from the bus to the delivery topics, and on to the target topics."""
    bus, group = unique_name("bench-bus"), unique_name("bench-group")
    rules = "\n".join(
        f"  - {{Name: r{i}, EventBusName: {bus}, EventPattern: {{detail: {{kind: [k{i}]}}}}, Targets: [{{Id: t, Topic: {bus}.t{i}}}]}}"
        for i in range(RULES)
    )
    topology = folder / "throughput.yaml"
    topology.write_text(f"EventBuses:\n  - {{Name: {bus}, Partitions: 3}}\nRules:\n{rules}\n")
    cluster.admin.ensure_topic(TopicSpec(bus_topic(bus), 3, {"max.message.bytes": str(2 * 1024 * 1024)}))
    # The broker stamps the delivery and target records when it appends them, so the span
    # below runs to the last write the broker took, as the baseline's runs to its last
    # acknowledgement (a producer's CreateTime is taken when a record enters its batch).
    for topic in [delivery_topic(bus, f"r{i}", "t") for i in range(RULES)] + [f"{bus}.t{i}" for i in range(RULES)]:
        spec = internal_topic_spec(topic, 3)
        cluster.admin.ensure_topic(TopicSpec(topic, 3, {**spec.config, "message.timestamp.type": "LogAppendTime"}))
    env = {"KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap}
    put_events(cluster.settings, bus, WARM_UP, lambda n: f"k{n % RULES}")
    commit_beginning(cluster.bootstrap, group, bus_topic(bus))
    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env) as worker:
        worker.wait_ready(timeout=120)
        wait_until(lambda: delivered_total(worker.metrics()) >= WARM_UP, timeout=600, interval=0.5, what="warm-up events delivered")
    put_events(cluster.settings, bus, count, lambda n: f"k{n % RULES}")
    began_ms = int(time.time() * 1000)
    with contextlib.ExitStack() as stack:
        workers = [stack.enter_context(WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=roles))
                   for roles in layout]
        for worker in workers:
            worker.wait_ready(timeout=120)
        # Cheap to poll while the worker runs: the router's committed offsets reach the bus's end.
        ends = end_offsets(cluster.client, bus_topic(bus))
        wait_until(lambda: committed_offsets(cluster.client, group, bus_topic(bus)) == ends, timeout=600, interval=0.5, what="every event routed")
        wait_until(lambda: sum(delivered_total(w.metrics()) for w in workers) >= count, timeout=600, interval=0.5,
                   what="every event delivered")

    def stamps(topics: list[str]) -> list[int]:
        return sorted(r.timestamp_ms for t in topics for r in read_topic(cluster.client, t, StartAt("beginning"), timeout_seconds=30, stop_at_end=True)
                      if r.timestamp_ms >= began_ms)

    delivered = stamps([f"{bus}.t{i}" for i in range(RULES)])
    # Kafka topic targets are written by the router itself (docs/topologies.md): no delivery-topic records.
    routed = stamps([delivery_topic(bus, f"r{i}", "t") for i in range(RULES)]) or delivered
    assert len(routed) == len(delivered) == count, f"{len(routed)} routed and {len(delivered)} delivered records for {count} events"
    print("  routed-record timestamps, ms after the first, at 10/50/90/100%:",
          [routed[int(q * (len(routed) - 1))] - routed[0] for q in (0.1, 0.5, 0.9, 1.0)])
    return count / max((routed[-1] - routed[0]) / 1000, 1e-3), count / max((delivered[-1] - routed[0]) / 1000, 1e-3)


async def raw_copy(bootstrap: str, source: str, sink: str, count: int) -> float:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                                max_poll_records=MAX_BATCH)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await consumer.start()
    await producer.start()
    seen, began = 0, None
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
            futures = []
            for records in batches.values():
                for record in records:
                    began = began or time.monotonic()
                    futures.append(await producer.send(sink, record.value, key=record.key, headers=list(record.headers)))
            await asyncio.gather(*futures)
            seen += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    return count / (time.monotonic() - (began or time.monotonic()))


def raw_throughput(cluster, count: int) -> float:  # type: ignore[no-untyped-def]
    bus = unique_name("bench-raw")
    cluster.admin.ensure_topic(TopicSpec(bus_topic(bus), 3, {"max.message.bytes": str(2 * 1024 * 1024)}))
    sink = cluster.create_topic(partitions=3)
    put_events(cluster.settings, bus, count, lambda n: f"k{n % RULES}")
    asyncio.run(raw_copy(cluster.bootstrap, bus_topic(bus), sink, count))  # warms the sink's partitions, as the router's warm-up does
    return asyncio.run(raw_copy(cluster.bootstrap, bus_topic(bus), sink, count))


def latency(cluster, folder: Path, seconds: float, rate: int, layout: list[tuple[str, ...]]) -> list[float]:  # type: ignore[no-untyped-def]
    bus, target = unique_name("lat-bus"), unique_name("lat-target")
    topology = folder / "latency.yaml"
    topology.write_text(
        f"EventBuses:\n  - {{Name: {bus}, Partitions: 3}}\nRules:\n"
        f"  - {{Name: all, EventBusName: {bus}, EventPattern: {{source: [bench]}}, Targets: [{{Id: t, Topic: {target}}}]}}\n"
    )
    env = {"KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap}
    group = unique_name("lat-group")
    with contextlib.ExitStack() as stack:
        for roles in layout:
            stack.enter_context(WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=roles)).wait_ready(timeout=120)
        total = int(seconds * rate)
        with EventBusClient(cluster.settings) as client:
            began = time.monotonic()
            for call in range(total // 10):
                due = began + call * 10 / rate
                if (pause := due - time.monotonic()) > 0:
                    time.sleep(pause)
                entries = [{"Source": "bench", "DetailType": "Tick", "Detail": json.dumps({"n": call * 10 + i})} for i in range(10)]
                client.put_events(entries, bus=bus)
        wait_until(lambda: len(cluster.read_all(target)) >= total, timeout=120, interval=1, what="every event at the target")
    put_at = {json.loads(r.value)["id"]: r.timestamp_ms for r in cluster.read_all(bus_topic(bus))}
    return [r.timestamp_ms - put_at[json.loads(r.value)["id"]] for r in cluster.read_all(target)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, help="events in the measured throughput pass [default: 80,000; 5,000 with --quick]")
    parser.add_argument("--layout", action="append", choices=list(LAYOUTS), help="measure only this layout (repeatable)")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency part")
    args = parser.parse_args()
    # 80,000: a 20,000-event pass is routed in under a second, before one worker's delivery
    # handlers take much of its process, and overstates the sustained rate.
    count, seconds = (5_000, 5.0) if args.quick else (80_000, 15.0)
    count = args.events or count
    cluster = connect(Settings())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; date {time.strftime('%Y-%m-%d')}")
    try:
        run(cluster, count, 0 if args.no_latency else seconds, args.layout or [])
    finally:
        # A run makes ~1,000 partitions; left behind, a few dozen runs took the local
        # broker past its open-file limit.
        cluster.admin.delete_topics(sorted(t for t in cluster.admin.topics() if made_by_this_run(t)))
        cluster.close()


def run(cluster, count: int, seconds: float, layouts: list[str]) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as folder:
        raw = raw_throughput(cluster, count)
        for name, layout in LAYOUTS.items():
            if layouts and name not in layouts:
                continue
            routed, delivered = router_throughput(cluster, Path(folder), count, layout)
            print(f"throughput, {name} ({' + '.join('/'.join(r) or 'all roles' for r in layout)}), {count} events, {RULES} rules: "
                  f"router {routed:,.0f} events/s; raw consume+produce {raw:,.0f} events/s; ratio {routed / raw:.0%} (target >= 50%)")
            print(f"  end to end (bus -> delivery topics -> target topics): {delivered:,.0f} events/s, {delivered / raw:.0%} of raw")
        if seconds <= 0:
            return
        for name, layout in LAYOUTS.items():
            if layouts and name not in layouts:
                continue
            samples = latency(cluster, Path(folder), seconds, 1000, layout)
            print(f"latency, {name}, at 1,000 events/s for {seconds:.0f} s ({len(samples)} events): p50 {percentile(samples, 0.5):.0f} ms, "
                  f"p99 {percentile(samples, 0.99):.0f} ms, max {max(samples):.0f} ms, mean {statistics.mean(samples):.1f} ms (target p99 < 100 ms)")


if __name__ == "__main__":
    main()
