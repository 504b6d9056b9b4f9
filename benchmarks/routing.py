"""Routing benchmarks (issues 5 and 21): bus throughput against raw loops, and latency at a steady rate.

    .venv/bin/python benchmarks/routing.py            # every workload and layout; 15 s of latency load
    .venv/bin/python benchmarks/routing.py --quick    # 5,000 events per pass, 5 s of latency load
    .venv/bin/python benchmarks/routing.py --workload gen-100 --layout split --no-latency

Throughput, per workload (``WORKLOADS``):

- **one-match**: 100 rules, each event matches exactly one (``detail.kind``), each rule
  its own Kafka topic target; events put with PutEvents.
- **gen-100**, **gen-1000**: the first 100 or 1,000 rules and the events of aws/event-ruler's
  peer workload (``../shared/peers/event-ruler/gen_bench.py``; about 4 and 38 matches per
  event), written to the bus topic as PutEvents writes them (envelope as value, id as key);
  every rule has one Kafka topic target, rule i on ``TARGET_TOPICS`` shared topics (i mod 10).
  gen-1000 puts a twentieth of the events (warm-up included): at ~38 matches per event, a
  pass still makes about twice as many output records as gen-100's.

Each workload's topology first routes and delivers warm-up events in one worker, which
stops; then N events are put on the 3-partition bus and the topology is started again, in
each of ``LAYOUTS``: one worker with every role, or a routing worker and a delivery worker
(``eventpipes run --role``). The router's rate is N over the span between the first and the
last record routed to the delivery topics, as the broker stamped them on append (put to
delivery topic; start-up not counted); the end-to-end rate, to the target topics, is printed
too, and for the gen workloads output records/s (routed records, one per match).

Baselines, in the same run, on a topic holding the same N events (``baselines.py``):

- **current**: the loop of benchmarks/README.md's history: one aiokafka consumer
  re-producing every record with ``send``, acks=all, awaiting acknowledgements per fetch
  (up to ``MAX_BATCH`` records per partition; its second pass, so its partitions are warm);
- **best**: the best of ``baselines.COPY_LOOPS`` (aiokafka batched, confluent-kafka).

Each throughput line prints the router's ratio to both. Targets (issue 21): one-match, one
worker >= 40% of the best loop, split >= 60%; gen-100 >= 25% of the best loop in events/s.

Latency, in each layout: one rule with a Kafka topic target; PutEvents at 1,000 events/s (10 per call)
for the load period; latency = the target record's timestamp minus the bus record's
timestamp, per event. Target: p99 under 50 ms.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import OFFSET_BEGINNING, Consumer
from confluent_kafka import TopicPartition as ConfluentPartition
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.structs import OffsetAndMetadata

import baselines
import event_ruler
from eventpipes.app import topic_specs
from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic, bus_topic_spec, delivery_topic
from eventpipes.kafka.worker import MAX_BATCH
from eventpipes.patterns import Ruler
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, connect, free_port, made_by_this_run, unique_name, wait_until
from eventpipes.topology import load_text

PARTITIONS = 3
#: Kafka topic targets the gen workloads' rules share (rule i writes to topic i mod 10): one
#: topic per rule would be 1,000 target topics (3,000 partitions) at 1,000 rules, on top of
#: the 2,000 delivery and retry topics eventpipes itself needs there.
TARGET_TOPICS = 10


@dataclass
class Workload:
    """Rules, their targets and the events put on the bus."""

    name: str
    rules: list[tuple[str, dict[str, Any]]]
    """(rule name, event pattern), in order."""
    target: Callable[[str, int], str]
    """The Kafka topic target of rule number i on bus ``bus``."""
    put: Callable[[KafkaCluster, str, int, int], int]
    """Put events number ``start`` to ``start + count`` on bus ``bus``; returns their matches (output records)."""
    scale: int = 1
    """Events per pass are divided by this (gen-1000: about 38 matches per event)."""


def put_events(settings: Settings, bus: str, count: int, kind: Callable[[int], str], start: int = 0) -> None:
    with EventBusClient(settings) as client:
        for first in range(start, start + count, 10):
            entries = [{"Source": "bench", "DetailType": "Order", "Detail": json.dumps({"n": n, "kind": kind(n), "amount": n % 997})}
                       for n in range(first, min(first + 10, start + count))]
            assert client.put_events(entries, bus=bus).failed_entry_count == 0


def one_match() -> Workload:
    def put(cluster: KafkaCluster, bus: str, start: int, count: int) -> int:
        put_events(cluster.settings, bus, count, lambda n: f"k{n % 100}", start)
        return count

    return Workload("one-match", [(f"r{i}", {"detail": {"kind": [f"k{i}"]}}) for i in range(100)],
                    lambda bus, i: f"{bus}.t{i}", put)


def gen_bench(rules: int, events: int, folder: Path, scale: int) -> Workload:
    """gen_bench's first ``rules`` rules and ``events`` events, each event's match count worked out with eventpipes' Ruler."""
    workload = event_ruler.generate(folder / f"gen-{rules}", rules, events)
    named = [(r["name"], r["pattern"]) for r in workload.rules]
    ruler = Ruler(dict(named))
    values = [line.encode() for line in workload.lines]
    keys = [json.loads(line)["id"].encode() for line in workload.lines]
    matched = [len(ruler.matches(json.loads(line))) for line in workload.lines]

    def put(cluster: KafkaCluster, bus: str, start: int, count: int) -> int:
        # As PutEvents writes a bus record (JSON envelope, the event id as key, a content-type
        # header), but with gen_bench's region, account and time, which its rules match on.
        producer = KafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all", linger_ms=20, batch_size=512 * 1024,
                                 max_request_size=4 * 1024 * 1024)
        for n in range(start, start + count):
            producer.send(bus_topic(bus), key=keys[n], value=values[n], headers=[("content-type", b"application/json")])
        producer.flush()
        producer.close()
        return sum(matched[start:start + count])

    return Workload(f"gen-{rules}", named, lambda bus, i: f"{bus}.out{i % TARGET_TOPICS}", put, scale)


def commit_beginning(bootstrap: str, group: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in partitions})
    consumer.close()


#: Events routed before the measured pass (divided by the workload's ``scale``). The broker
#: creates a partition's index files when its first ~4 KB arrive, and on this machine 300
#: fresh delivery partitions stalled produce requests for 1-2 s at that point (seen with
#: aiokafka and librdkafka alike, and never again on the same partitions): a one-time cost
#: of a new topology, not routing.
WARM_UP = 10_000


def delivered_total(exposition: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith("eventpipes_target_delivered_total{"))


#: How the measured pass runs the topology: one worker with every role, or a routing
#: worker and a delivery worker of the same group (``eventpipes run --role``), each
#: process on its own core.
LAYOUTS: dict[str, list[tuple[str, ...]]] = {"one worker": [()], "split": [("routing",), ("delivery",)]}


def topology_text(workload: Workload, bus: str) -> str:
    rules = "\n".join(f"  - {{Name: {name}, EventBusName: {bus}, EventPattern: {json.dumps(pattern)}, "
                      f"Targets: [{{Id: t, Topic: {workload.target(bus, i)}}}]}}"
                      for i, (name, pattern) in enumerate(workload.rules))
    return f"EventBuses:\n  - {{Name: {bus}, Partitions: {PARTITIONS}}}\nRules:\n{rules}\n"


def create_topics(cluster: KafkaCluster, text: str, bus: str, workload: Workload) -> tuple[list[str], list[str]]:
    """Every topic of the topology, made in bulk; returns the delivery topics and the target topics.

    The broker stamps the delivery and target records when it appends them
    (LogAppendTime), so the span measured runs to the last write the broker took, as the
    baseline's runs to its last acknowledgement (a producer's CreateTime is taken when a
    record enters its batch).
    """
    deliveries = [delivery_topic(bus, name, "t") for name, _ in workload.rules]
    targets = sorted({workload.target(bus, i) for i in range(len(workload.rules))})
    create_all(cluster, text, set(deliveries) | set(targets))
    return deliveries, targets


def create_all(cluster: KafkaCluster, text: str, stamped: set[str]) -> None:
    """Every topic of topology ``text``, 200 a request, ``stamped`` ones with LogAppendTime.

    Made here with a long timeout rather than by the worker one at a time (10 s each): just
    after a 1,000-rule topology's 6,000 partitions are deleted, the broker took longer.
    """
    specs = topic_specs(load_text(text))
    new = [NewTopic(spec.name, spec.partitions, 1, topic_configs={**spec.config, **({"message.timestamp.type": "LogAppendTime"}
                                                                                  if spec.name in stamped else {})})
           for spec in specs]
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        for first in range(0, len(new), 200):
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new[first:first + 200], timeout_ms=120_000)
    finally:
        admin.close()


#: Topics this run deleted (the broker's metadata may still list them for a while).
DELETED: set[str] = set()


def delete_topics(cluster: KafkaCluster, names: list[str]) -> None:
    """Delete ``names``, 200 a request; a topic already gone is no error."""
    names = sorted(set(names) - DELETED)
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        for first in range(0, len(names), 200):
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(names[first:first + 200], timeout_ms=120_000)
    finally:
        admin.close()
    DELETED.update(names)
    gone = set(names)
    wait_until(lambda: not gone & set(cluster.admin.topics()), timeout=600, interval=1, what="deleted topics gone from the metadata")


@dataclass
class Throughput:
    """One layout's measured pass."""

    events: int
    outputs: int
    routed_seconds: float
    delivered_seconds: float
    quantiles: list[int] = field(default_factory=list)

    @property
    def routed(self) -> float:
        return self.events / self.routed_seconds

    @property
    def delivered(self) -> float:
        return self.events / self.delivered_seconds


def router_throughput(cluster: KafkaCluster, folder: Path, workload: Workload, count: int, layout: list[tuple[str, ...]]) -> Throughput:
    """Events/second from the bus to the delivery topics, and on to the target topics."""
    bus, group = unique_name("bench-bus"), unique_name("bench-group")
    text = topology_text(workload, bus)
    topology = folder / "throughput.yaml"
    topology.write_text(text)
    try:
        deliveries, targets = create_topics(cluster, text, bus, workload)
        env = {"KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap}
        warm_up = WARM_UP // workload.scale
        warm_outputs = workload.put(cluster, bus, 0, warm_up)
        commit_beginning(cluster.bootstrap, group, bus_topic(bus))
        with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env) as worker:
            worker.wait_ready(timeout=300)
            wait_until(lambda: delivered_total(worker.metrics()) >= warm_outputs, timeout=1800, interval=0.5, what="warm-up events delivered")
        outputs = workload.put(cluster, bus, warm_up, count)
        began_ms = int(time.time() * 1000)
        with contextlib.ExitStack() as stack:
            workers = [stack.enter_context(WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=roles))
                       for roles in layout]
            for worker in workers:
                worker.wait_ready(timeout=300)
            # Cheap to poll while the worker runs: the router's committed offsets reach the bus's end.
            ends = end_offsets(cluster.client, bus_topic(bus))
            wait_until(lambda: committed_offsets(cluster.client, group, bus_topic(bus)) == ends, timeout=1800, interval=0.5,
                       what="every event routed")
            wait_until(lambda: sum(delivered_total(w.metrics()) for w in workers) >= outputs, timeout=1800, interval=0.5,
                       what="every event delivered")
        delivered = timestamps(cluster.bootstrap, targets, began_ms)
        # Kafka topic targets are written by the router itself (docs/topologies.md): no delivery-topic records.
        routed = timestamps(cluster.bootstrap, deliveries, began_ms) or delivered
    finally:
        # A 1,000-rule topology is ~6,000 partitions: gone before the next layout makes its own.
        delete_topics(cluster, [t for t in cluster.admin.topics() if bus in t])
    assert len(routed) == len(delivered) == outputs, f"{len(routed)} routed and {len(delivered)} delivered records, {outputs} expected"
    return Throughput(count, outputs, max((routed[-1] - routed[0]) / 1000, 1e-3), max((delivered[-1] - routed[0]) / 1000, 1e-3),
                      [routed[int(q * (len(routed) - 1))] - routed[0] for q in (0.1, 0.5, 0.9, 1.0)])


def timestamps(bootstrap: str, topics: list[str], since_ms: int, timeout: float = 300) -> list[int]:
    """The sorted timestamps of every record of ``topics`` stamped at ``since_ms`` or later."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("bench-read"), "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=30).topics
        partitions = [ConfluentPartition(t, p, OFFSET_BEGINNING) for t in topics for p in metadata[t].partitions]
        total = 0
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=30)
            total += high - low
        consumer.assign(partitions)
        found, seen, deadline = [], 0, time.monotonic() + timeout
        while seen < total and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=min(10_000, total - seen), timeout=1):
                if m.error() is None:
                    seen += 1
                    if (stamp := m.timestamp()[1]) >= since_ms:
                        found.append(stamp)
        return sorted(found)
    finally:
        consumer.close()


async def current_copy(bootstrap: str, source: str, sink: str, count: int) -> float:
    """The baseline of benchmarks/README.md's history: ``send`` per record, acknowledgements awaited per fetch."""
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


@dataclass(frozen=True)
class Raw:
    """A workload's baselines: the current loop and the best raw loops."""

    current: float
    best: baselines.Best


def raw_throughput(cluster: KafkaCluster, workload: Workload, count: int) -> Raw:
    """The baselines on a bus topic holding the same events as the measured pass."""
    bus = unique_name("bench-raw")
    cluster.admin.ensure_topic(bus_topic_spec(bus, PARTITIONS))
    sink = cluster.create_topic(partitions=PARTITIONS, config={"max.message.bytes": str(2 * 1024 * 1024)})
    try:
        workload.put(cluster, bus, WARM_UP, count)
        source = bus_topic(bus)
        asyncio.run(current_copy(cluster.bootstrap, source, sink, count))  # warms the sink's partitions, as the router's warm-up does
        current = asyncio.run(current_copy(cluster.bootstrap, source, sink, count))
        best = baselines.best_copy(cluster.bootstrap, source, sink, count)
    finally:
        delete_topics(cluster, [bus_topic(bus), sink])
    return Raw(current, best)


def latency(cluster: KafkaCluster, folder: Path, seconds: float, rate: int, layout: list[tuple[str, ...]]) -> list[float]:
    bus, target = unique_name("lat-bus"), unique_name("lat-target")
    topology = folder / "latency.yaml"
    topology.write_text(
        f"EventBuses:\n  - {{Name: {bus}, Partitions: 3}}\nRules:\n"
        f"  - {{Name: all, EventBusName: {bus}, EventPattern: {{source: [bench]}}, Targets: [{{Id: t, Topic: {target}}}]}}\n"
    )
    create_all(cluster, topology.read_text(), set())
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
    put_at = {json.loads(r.value or b"")["id"]: r.timestamp_ms for r in cluster.read_all(bus_topic(bus))}
    return [r.timestamp_ms - put_at[json.loads(r.value or b"")["id"]] for r in cluster.read_all(target)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


#: Workload names, and the events per pass each is divided by.
WORKLOADS = {"one-match": 1, "gen-100": 1, "gen-1000": 20}
#: Issue 21's targets, against the best raw loop, per workload and layout.
TARGETS = {("one-match", "one worker"): 0.40, ("one-match", "split"): 0.60, ("gen-100", "one worker"): 0.25, ("gen-100", "split"): 0.25}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, help="events in the measured throughput pass [default: 80,000; 5,000 with --quick] "
                                                   "(gen-1000: a twentieth)")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS), help="measure only this workload (repeatable)")
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
        run(cluster, count, 0 if args.no_latency else seconds, args.workload or list(WORKLOADS), args.layout or list(LAYOUTS))
    finally:
        # A run makes thousands of partitions; left behind, a few dozen runs took the local
        # broker past its open-file limit.
        delete_topics(cluster, [t for t in cluster.admin.topics() if made_by_this_run(t) and t not in DELETED])
        cluster.close()


def workload_named(name: str, folder: Path, count: int) -> Workload:
    if name == "one-match":
        return one_match()
    rules, scale = int(name.split("-")[1]), WORKLOADS[name]
    try:
        return gen_bench(rules, WARM_UP + count, folder, scale)  # the raw loops take the full count (see ``run``)
    except event_ruler.Unavailable as why:
        raise SystemExit(f"workload {name}: {why}") from None


def run(cluster: KafkaCluster, count: int, seconds: float, workloads: list[str], layouts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        raws: dict[str, Raw] = {}
        for name in workloads:
            workload = workload_named(name, Path(folder), count)
            events = count // workload.scale
            # The gen workloads' events are one stream: the raw loops copy N of them (the full
            # count also for gen-1000, whose 4,000-event pass would be over in ~30 ms raw).
            family = "gen" if name.startswith("gen") else name
            if family not in raws:
                raws[family] = raw_throughput(cluster, workload, count)
            raw = raws[family]
            print(f"{name}: raw loops on {count:,} of the same events (records/s):")
            print(f"  raw copy  {raw.current:>10,.0f} records/s  current baseline (aiokafka send per record)")
            print("\n".join(raw.best.lines()))
            for layout_name in layouts:
                layout = LAYOUTS[layout_name]
                result = router_throughput(cluster, Path(folder), workload, events, layout)
                target = TARGETS.get((name, layout_name))
                print(f"throughput, {name}, {layout_name} ({' + '.join('/'.join(r) or 'all roles' for r in layout)}), {events:,} events, "
                      f"{len(workload.rules):,} rules: router {result.routed:,.0f} events/s = {result.routed / raw.best.rate:.0%} of the best raw loop"
                      f"{f' (target >= {target:.0%})' if target else ''}, {result.routed / raw.current:.0%} of the current baseline")
                if result.outputs != result.events:
                    print(f"  {result.outputs / result.events:.2f} matches per event: {result.outputs / result.routed_seconds:,.0f} "
                          f"output records/s to the delivery topics, {result.outputs / result.delivered_seconds:,.0f} to the target topics")
                print(f"  end to end (bus -> delivery topics -> target topics): {result.delivered:,.0f} events/s = "
                      f"{result.delivered / raw.best.rate:.0%} of the best raw loop, {result.delivered / raw.current:.0%} of the current baseline")
                print(f"  routed-record timestamps, ms after the first, at 10/50/90/100%: {result.quantiles}", flush=True)
        if seconds <= 0:
            return
        for name in layouts:
            samples = latency(cluster, Path(folder), seconds, 1000, LAYOUTS[name])
            print(f"latency, {name}, at 1,000 events/s for {seconds:.0f} s ({len(samples)} events): p50 {percentile(samples, 0.5):.0f} ms, "
                  f"p99 {percentile(samples, 0.99):.0f} ms, max {max(samples):.0f} ms, mean {statistics.mean(samples):.1f} ms (target p99 < 50 ms)")


if __name__ == "__main__":
    main()
