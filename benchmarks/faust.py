"""Faust benchmarks (issue 20): the Faust routing agent against eventpipes' routing worker, a raw loop and Faust's own ceiling.

    .venv/bin/python benchmarks/faust.py --rounds 3      # 40,000 events per bus, both buses (~7 min)
    .venv/bin/python benchmarks/faust.py --quick         # 5,000 events
    .venv/bin/python benchmarks/faust.py --bus one-match --events 20000 --only "faust ceiling" --only "faust route"

Two buses of 100 rules, each rule with one Kafka topic target (so 100 delivery topics of 3
partitions, as the bus):

- **one-match**: rule i is ``{detail: {kind: [k<i>]}}`` and event n has ``kind: k<n % 100>``:
  every event matches exactly one rule (``benchmarks/routing.py``'s workload).
- **multi-match**: the first 100 rules and N events of ``gen_bench.py`` (the shared event-ruler
  workload, seed 20250301): exact, numeric-range, prefix and combined patterns; ~4 matches per event.

The bus is filled with N events first (JSON envelopes, as PutEvents writes them), then each
contender reads all of it, one after the other, in the same run:

1. **raw**: one aiokafka consumer re-producing every record to one topic, acks=all, awaiting
   each fetched batch's acknowledgements (``routing.py``'s baseline; its second pass).
2. **eventpipes**: ``eventpipes run --role routing`` (its consumer group committed at the bus's
   beginning). A first routing pass of the same events, before it, warms the 300 delivery
   partitions (the broker's one-time cost of a fresh partition; see ``routing.py``).
3. **Faust ceiling**: a Faust agent that only takes batches (``Stream.take_events``, the route's
   batch size and wait) and does nothing with them: what Faust's consume path can carry.
4. **Faust route**: ``eventpipes.faust.route_bus`` in a Faust worker, as it comes (its own
   packing producer; ``--linger`` sets its linger).
5. **Faust app prod**: the same with ``producer="faust"`` (the app's producer, a ``send`` per record).

``--rounds N`` runs the Faust contenders N times, interleaved, and reports each one's median
and each round's route/ceiling ratios; ``--only`` picks contenders (the warm-up routing pass
always runs); ``--profile DIR`` attaches py-spy to each Faust worker from its first batch on.

Wall-clock rates: eventpipes, events over the span of its delivery records' broker append times
(LogAppendTime); raw, the ceiling and the routes, events over the span from their first to
their last batch, by their own clock. Start-up is never counted. The machine is shared, so each
contender's CPU per event is measured too (its process's user + system time over the same span,
all threads; for eventpipes' worker from "ready" to its last commit, which adds up to a second
of idle fetching): that figure moves far less with other people's load than the wall clock does.
Target: the Faust route at least 70% of the Faust ceiling.

The Faust workers run as subprocesses of this file (``--serve``), each with a unique app id, a
data directory under a temporary one, and SIGKILL if SIGTERM has not ended them in 10 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named faust.py: its folder must not shadow the faust package it imports.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

from eventpipes.faust.routing import BATCH_SIZE, WITHIN  # noqa: E402
from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON  # noqa: E402
from eventpipes.kafka.offsets import committed_offsets, end_offsets  # noqa: E402
from eventpipes.kafka.topics import TopicSpec, bus_topic, bus_topic_spec, delivery_topic, internal_topic_spec, replay_topic  # noqa: E402
from eventpipes.patterns import Ruler  # noqa: E402
from eventpipes.settings import Settings  # noqa: E402
from eventpipes.testing import WorkerProcess, connect, free_port, made_by_this_run, unique_name, wait_until  # noqa: E402

RULES = 100
#: Events per Faust batch, for the ceiling and the routes alike (``--batch-size``).
BATCH = BATCH_SIZE
#: Seconds a partial Faust batch waits (``--within``).
WAIT = WITHIN
PARTITIONS = 3
GEN_BENCH = Path("/work/shared/peers/event-ruler/gen_bench.py")
GEN_SEED = 20250301
#: ``--profile DIR``: each Faust contender runs under ``py-spy record`` writing collapsed stacks there.
PROFILE: Path | None = None
#: ``--linger``: the route's linger (route_bus's default when None).
LINGER: float | None = None
#: ``--rounds``: passes of each Faust contender, interleaved; the median is reported.
ROUNDS = 1
#: ``--keep-logs DIR``: the Faust workers' logs are copied there.
KEEP_LOGS: Path | None = None
#: ``--only``: the contenders measured (all by default).
ALL_CONTENDERS = ("raw", "eventpipes", "faust ceiling", "faust route", "faust app prod")
CONTENDERS: tuple[str, ...] = ALL_CONTENDERS


# ---------------------------------------------------------------- workloads

def one_match(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rules = [{"name": f"r{i}", "pattern": {"detail": {"kind": [f"k{i}"]}}} for i in range(RULES)]
    events = [envelope(n, "bench", "Order", {"n": n, "kind": f"k{n % RULES}", "amount": n % 997}) for n in range(count)]
    return rules, events


def multi_match(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location("gen_bench", GEN_BENCH)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with tempfile.TemporaryDirectory() as folder:
        gen.generate(folder, GEN_SEED, RULES, count)
        rules = json.loads(Path(folder, "rules.json").read_text())
        events = [json.loads(line) for line in Path(folder, "events.jsonl").read_text().splitlines() if line]
    return rules, events


def envelope(n: int, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"version": "0", "id": f"00000000-0000-4000-8000-{n:012d}", "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": "2026-12-04T00:00:00Z", "region": "us-east-1", "resources": [], "detail": detail}


WORKLOADS = {"one-match": one_match, "multi-match": multi_match}


# ---------------------------------------------------------------- Kafka set-up and measures

def topology_text(bus: str, rules: list[dict[str, Any]]) -> str:
    lines = [f"EventBuses:\n  - {{Name: {bus}, Partitions: {PARTITIONS}}}\nRules:"]
    for i, rule in enumerate(rules):
        lines.append(f"  - Name: {rule['name']}\n    EventBusName: {bus}\n    EventPattern: {json.dumps(rule['pattern'])}\n"
                     f"    Targets: [{{Id: t, Topic: {bus}.t{i}}}]")
    return "\n".join(lines) + "\n"


def create_topics(cluster: Any, bus: str, rules: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The bus, delivery topics and target topics, both stamped by the broker (LogAppendTime).

    Returns the delivery topics (what a Faust route writes) and the target topics (what a
    routing worker that delivers Kafka topic targets itself writes instead of delivery records).
    """
    cluster.admin.ensure_topic(bus_topic_spec(bus, PARTITIONS))
    deliveries = [delivery_topic(bus, rule["name"], "t") for rule in rules]
    for topic in deliveries:
        spec = internal_topic_spec(topic, PARTITIONS)
        cluster.admin.ensure_topic(TopicSpec(topic, PARTITIONS, {**spec.config, "message.timestamp.type": "LogAppendTime"}))
    targets = [f"{bus}.t{i}" for i in range(len(rules))]
    for topic in targets:  # one partition each is enough
        cluster.admin.ensure_topic(TopicSpec(topic, 1, {"message.timestamp.type": "LogAppendTime"}))
    return deliveries, targets


def warm(bootstrap: str, topics: list[str]) -> None:
    """One record on every partition of ``topics``: the broker's one-time cost of a fresh partition is paid here."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    for topic in topics:
        for partition in producer.partitions_for(topic) or ():
            producer.send(topic, b"warm-up", partition=partition)
    producer.flush()
    producer.close()


def fill(bootstrap: str, bus: str, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024)
    for event in events:
        producer.send(bus_topic(bus), json.dumps(event, separators=(",", ":")).encode(), key=event["id"].encode(),
                      headers=[(CONTENT_TYPE, CONTENT_TYPE_JSON)])
    producer.flush()
    producer.close()


def commit_beginning(bootstrap: str, group: str, topics: list[str]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(partitions)
    consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in partitions})
    consumer.close()


def span(bootstrap: str, topics: list[str], since_ms: int) -> tuple[int, int, int]:
    """Records appended to ``topics`` at or after ``since_ms``: how many, the first and the last append time."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    starts = consumer.offsets_for_times({tp: since_ms for tp in partitions})
    ends = consumer.end_offsets(partitions)
    count, first, last = 0, None, None
    tails = []
    for tp in partitions:
        found = starts.get(tp)
        if found is None:
            continue
        count += ends[tp] - found.offset
        first = found.timestamp if first is None else min(first, found.timestamp)
        tails.append(tp)
    consumer.assign(tails)
    for tp in tails:
        consumer.seek(tp, ends[tp] - 1)
    pending = set(tails)
    while pending:
        for tp, records in consumer.poll(timeout_ms=1000).items():
            if tp in pending:
                last = max(last or 0, max(r.timestamp for r in records))
                pending.discard(tp)
    consumer.close()
    return count, first or 0, last or 0


async def raw_copy(bootstrap: str, source: str, sink: str, count: int) -> tuple[float, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from eventpipes.kafka.worker import MAX_BATCH

    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=None, max_poll_records=MAX_BATCH)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await consumer.start()
    await producer.start()
    seen, began, cpu = 0, None, 0.0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
            futures = []
            for records in batches.values():
                for record in records:
                    if began is None:
                        began, cpu = time.monotonic(), time.process_time()
                    futures.append(await producer.send(sink, record.value, key=record.key, headers=list(record.headers)))
            await asyncio.gather(*futures)
            seen += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    return count / (time.monotonic() - (began or time.monotonic())), (time.process_time() - cpu) / count


# ---------------------------------------------------------------- the Faust workers

class FaustProcess:
    """``benchmarks/faust.py --serve MODE ...`` in a session of its own, with a hard-kill fallback."""

    def __init__(self, mode: str, folder: Path, app_id: str, bus: str, count: int, *, topology: Path | None = None,
                 result: Path | None = None, bootstrap: str) -> None:
        self.log_path = folder / f"{app_id}.log"
        self._log = open(self.log_path, "ab")
        args = ["--serve", mode, "--batch-size", str(BATCH), "--within", str(WAIT), *(["--linger", str(LINGER)] if LINGER is not None else []), "--app-id", app_id, "--bus-name", bus, "--events", str(count), "--datadir", str(folder / f"{app_id}-data"),
                "--bootstrap", bootstrap]
        if topology is not None:
            args += ["--topology", str(topology)]
        if result is not None:
            args += ["--result", str(result)]
        self.profile = None if PROFILE is None else PROFILE / f"{mode}.{bus}.txt"
        self.profiler: subprocess.Popen[bytes] | None = None
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"faust worker exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")

    def watch(self, started: Path) -> None:
        """With ``--profile``: py-spy attached once the first batch is taken (``started`` exists), GIL holders only."""
        if self.profile is not None and self.profiler is None and started.exists():
            self.profile.parent.mkdir(parents=True, exist_ok=True)
            self.profiler = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw", "--gil",
                                              "--rate", "250", "--pid", str(self.process.pid), "-o", str(self.profile)],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.profiler is not None:  # py-spy writes its stacks on SIGINT
            self.profiler.send_signal(signal.SIGINT)
            self.profiler.wait(timeout=30)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._log.close()
        if KEEP_LOGS is not None:
            KEEP_LOGS.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.log_path, KEEP_LOGS / self.log_path.name)


def serve(args: argparse.Namespace) -> None:
    """The Faust worker of one contender (runs in the subprocess)."""
    import gc

    import faust

    gc.callbacks.append(gc_clock)

    from eventpipes.faust import route_bus

    app = faust.App(args.app_id, broker=f"kafka://{args.bootstrap}", datadir=args.datadir, web_enabled=False,
                    broker_session_timeout=10.0)
    if args.serve == "ceiling":
        topic = app.topic(bus_topic(args.bus_name), replay_topic(args.bus_name), key_serializer="raw", value_serializer="raw")

        @app.agent(topic, concurrency=1)
        async def take_only(stream: Any) -> None:
            seen, first, cpu, batches = 0, 0.0, 0.0, 0
            async for events in stream.take_events(args.batch_size, within=args.within):
                batches += 1
                if not first:
                    first, cpu = time.monotonic(), time.process_time()
                    gc_mark()
                    Path(args.result + ".started").touch()
                seen += len(events)
                if seen >= args.events:
                    result(args.result, seen, time.monotonic() - first, time.process_time() - cpu, batches)
    else:
        route = route_bus(app, args.bus_name, args.topology, group=f"{args.app_id}-delivery", batch_size=args.batch_size,
                          within=args.within, producer="faust" if args.serve == "route-faust" else "batched",
                          **({"linger": args.linger} if args.linger is not None else {}))
        timed(route, args)
    # Not -l warn: at WARN and above Faust's worker shows a terminal spinner and sets the root
    # logger to DEBUG for it, so aiokafka's per-record debug call in send() built a log record
    # for every routed record (55% of the produce path's time in a profile).
    # --without-web: `faust worker` serves port 6066 whatever web_enabled says.
    sys.argv = [sys.argv[0], "worker", "-l", "info", "--without-web"]
    app.main()


def result(path: str, events: int, seconds: float, cpu: float, batches: int) -> None:
    """What a Faust contender measured by its own clocks: events, wall seconds, CPU seconds (all threads), batches
    taken, and the cyclic garbage collector's seconds and collections since the first batch."""
    import gc

    Path(path).write_text(json.dumps({"events": events, "seconds": seconds, "cpu": cpu, "batches": batches,
                                      "gc": GC_CLOCK[0] - GC_CLOCK[3], "collections": GC_CLOCK[2] - GC_CLOCK[4],
                                      "by_generation": GC_GENERATIONS, "tracked": len(gc.get_objects())}))


#: Seconds spent in the cyclic garbage collector, when the current collection began, collections,
#: and the first two at the first batch (``gc_mark``).
GC_CLOCK = [0.0, 0.0, 0, 0.0, 0]


GC_GENERATIONS: dict[int, list[float]] = {}


def gc_clock(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        GC_CLOCK[1] = time.process_time()
    else:
        spent = time.process_time() - GC_CLOCK[1]
        GC_CLOCK[0] += spent
        GC_CLOCK[2] += 1
        if GC_CLOCK[3] or GC_CLOCK[4]:
            entry = GC_GENERATIONS.setdefault(info["generation"], [0, 0.0])
            entry[0] += 1
            entry[1] += spent


def gc_mark() -> None:
    GC_CLOCK[3], GC_CLOCK[4] = GC_CLOCK[0], GC_CLOCK[2]


def timed(route: Any, args: argparse.Namespace) -> None:
    """Clocks around ``route.route`` (what each batch runs): from the first batch's start to the
    end of the batch that completes ``--events``, as the ceiling agent is timed."""
    inner, state = route.route, {"seen": 0, "wall": 0.0, "cpu": 0.0, "batches": 0}

    async def route_timed(records: list[Any]) -> None:
        if not state["seen"]:
            state["wall"], state["cpu"] = time.monotonic(), time.process_time()
            gc_mark()
            Path(args.result + ".started").touch()
        count, routed = len(records), inner(records)
        del records  # the route keeps no record until the produce: neither does its clock
        await routed
        state["seen"] += count
        state["batches"] += 1
        if state["seen"] >= args.events and not Path(args.result).exists():
            result(args.result, int(state["seen"]), time.monotonic() - state["wall"], time.process_time() - state["cpu"],
                   int(state["batches"]))

    route.route = route_timed


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- one bus

def faust_pass(bootstrap: str, folder: Path, bus: str, mode: str, label: str, count: int, topology: Path,
               deliveries: list[str], total: int) -> dict[str, Any]:
    """One Faust contender reading the whole bus in a worker of its own; what it measured."""
    app_id, measured = unique_name(f"faust-{mode}"), folder / f"{bus}-{mode}-{time.monotonic_ns()}.json"
    commit_beginning(bootstrap, app_id, [bus_topic(bus)])
    began_ms = int(time.time() * 1000)
    process = FaustProcess(mode, folder, app_id, bus, count, topology=topology if mode != "ceiling" else None,
                           result=measured, bootstrap=bootstrap)
    try:
        started = Path(f"{measured}.started")
        wait_until(lambda: process.check() or process.watch(started) or measured.exists(), timeout=900, interval=0.2,
                   what=f"{label}: every event")
    finally:
        process.stop()
    taken: dict[str, Any] = json.loads(measured.read_text())
    if mode != "ceiling":
        routed, _, _ = span(bootstrap, deliveries, began_ms)
        assert routed >= total, f"{label}: {routed} records routed for {total} matches"
    return taken


def measure(cluster: Any, folder: Path, workload: str, count: int) -> dict[str, float]:
    rules, events = WORKLOADS[workload](count)
    ruler = Ruler({rule["name"]: rule["pattern"] for rule in rules})
    total = sum(len(ruler.matches(event)) for event in events)  # delivery records each pass writes
    matches = total / len(events)
    bus, bootstrap = unique_name(f"faust-{workload}"), cluster.bootstrap
    deliveries, targets = create_topics(cluster, bus, rules)
    topology = folder / f"{bus}.yaml"
    topology.write_text(topology_text(bus, rules))
    fill(bootstrap, bus, events)
    ends = end_offsets(cluster.client, bus_topic(bus))
    assert sum(ends.values()) == count
    rates: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds per event
    per_batch: dict[str, float] = {}  # events per Faust batch
    collector: dict[str, float] = {}  # CPU seconds per event in the cyclic garbage collector

    if "raw" in CONTENDERS:
        sink = cluster.create_topic(unique_name("faust-raw-sink"), partitions=PARTITIONS)
        asyncio.run(raw_copy(bootstrap, bus_topic(bus), sink, count))  # first pass warms the sink
        rates["raw"], cpu["raw"] = asyncio.run(raw_copy(bootstrap, bus_topic(bus), sink, count))

    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    # The warm-up pass also warms the delivery partitions for the Faust routes.
    for label in ("warm-up", "eventpipes") if "eventpipes" in CONTENDERS else ("warm-up",):
        group = unique_name("faust-bench-group")
        commit_beginning(bootstrap, group, [bus_topic(bus)])
        began_ms = int(time.time() * 1000)
        with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=("routing",)) as worker:
            worker.wait_ready(timeout=120)
            used = cpu_seconds(worker.process.pid)
            wait_until(lambda: committed_offsets(cluster.client, group, bus_topic(bus)) == ends, timeout=900, interval=0.5,
                       what=f"{label}: every event routed")
            cpu[label] = (cpu_seconds(worker.process.pid) - used) / count
        # Delivery records, or (a worker that delivers topic targets itself) the targets' records.
        routed, first, last = span(bootstrap, deliveries + targets, began_ms)
        assert routed == total, f"{label}: {routed} records routed for {total} matches"
        rates[label] = count / max((last - first) / 1000, 1e-3)
    warm(bootstrap, deliveries)  # if the worker wrote no delivery record, the Faust routes' first pass would warm them

    # Per Faust contender, per round: events/s, CPU s per event, events per batch, collector s per event.
    rounds: dict[str, list[tuple[float, float, float, float]]] = {}
    for _ in range(ROUNDS):
        for mode, label in (("ceiling", "faust ceiling"), ("route", "faust route"), ("route-faust", "faust app prod")):
            if label not in CONTENDERS:
                continue
            taken = faust_pass(bootstrap, folder, bus, mode, label, count, topology, deliveries, total)
            rounds.setdefault(label, []).append((taken["events"] / taken["seconds"], taken["cpu"] / taken["events"],
                                                 taken["events"] / taken["batches"], taken["gc"] / taken["events"]))
    for label, measured in rounds.items():  # the median round of each; a shared machine's load comes and goes
        rates[label] = statistics.median(m[0] for m in measured)
        cpu[label] = statistics.median(m[1] for m in measured)
        per_batch[label] = statistics.median(m[2] for m in measured)
        collector[label] = statistics.median(m[3] for m in measured)
    if ROUNDS > 1 and "faust ceiling" in rounds:
        for label in ("faust route", "faust app prod"):
            if label in rounds:  # each round's pair ran one after the other: their ratio is the least disturbed
                pairs = list(zip(rounds["faust ceiling"], rounds[label]))
                print(f"  {label} / faust ceiling per round, wall clock: "
                      + " ".join(f"{b[0] / a[0]:.0%}" for a, b in pairs)
                      + "; CPU: " + " ".join(f"{a[1] / b[1]:.0%}" for a, b in pairs))

    print(f"{workload}: {count:,} events, {RULES} rules, {matches:.2f} matches per event")
    print(f"  {'':14} {'events/s':>9}  {'of raw':>6}  {'CPU µs/event':>12}  {'events/CPU-s':>12}  {'events/batch':>12}  {'gc µs/event':>11}")
    for name in (n for n in CONTENDERS if n in rates):
        of_raw = f"{rates[name] / rates['raw']:>6.0%}" if "raw" in rates else f"{'':>6}"
        batch = f"{per_batch[name]:>12,.0f}  {collector[name] * 1e6:>11,.1f}" if name in per_batch else ""
        print(f"  {name:14} {rates[name]:>9,.0f}  {of_raw}  {cpu[name] * 1e6:>12,.0f}  {1 / cpu[name]:>12,.0f}  {batch}")
    for name in ("faust route", "faust app prod"):
        if name not in rates or "faust ceiling" not in rates:
            continue
        against = (f"; / eventpipes: {rates[name] / rates['eventpipes']:.0%} by wall clock, {cpu['eventpipes'] / cpu[name]:.0%} by CPU"
                   if "eventpipes" in rates else "")
        print(f"  {name} / faust ceiling: {rates[name] / rates['faust ceiling']:.0%} by wall clock, "
              f"{cpu['faust ceiling'] / cpu[name]:.0%} by CPU per event (target >= 70%){against}")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, help="events per bus [default: 40,000; 5,000 with --quick]")
    parser.add_argument("--bus", action="append", choices=list(WORKLOADS), help="measure only this bus (repeatable)")
    parser.add_argument("--batch-size", type=int, help="events per Faust batch (take_events) [default: route_bus's]")
    parser.add_argument("--within", type=float, help="seconds a partial Faust batch waits [default: route_bus's]")
    parser.add_argument("--only", action="append", choices=list(ALL_CONTENDERS),
                        help="measure only this contender (repeatable; the warm-up routing pass always runs)")
    parser.add_argument("--profile", type=Path, help="py-spy each Faust contender from its first batch on; collapsed stacks into this folder")
    parser.add_argument("--keep-logs", type=Path, help="copy the Faust workers' logs into this folder")
    parser.add_argument("--rounds", type=int, default=1, help="passes of each Faust contender, interleaved; medians reported")
    parser.add_argument("--linger", type=float, help="the route's linger (route_bus(linger=)) [default: route_bus's]")
    parser.add_argument("--serve", choices=["ceiling", "route", "route-faust"], help=argparse.SUPPRESS)
    for name in ("--app-id", "--bus-name", "--datadir", "--topology", "--result", "--bootstrap"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    count = args.events or (5_000 if args.quick else 40_000)
    global BATCH, WAIT, PROFILE, CONTENDERS, KEEP_LOGS, LINGER, ROUNDS
    BATCH, WAIT = args.batch_size or BATCH, args.within or WAIT
    LINGER, ROUNDS = args.linger, args.rounds
    PROFILE, KEEP_LOGS, CONTENDERS = args.profile, args.keep_logs, tuple(n for n in ALL_CONTENDERS if not args.only or n in args.only)
    cluster = connect(Settings())
    import faust

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"faust-streaming {faust.__version__}; date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for workload in args.bus or list(WORKLOADS):
                measure(cluster, Path(folder), workload, count)
    finally:
        # ~700 partitions per bus: left behind, they weigh on the shared broker.
        cluster.admin.delete_topics(sorted(t for t in cluster.admin.topics() if made_by_this_run(t)))
        cluster.close()


if __name__ == "__main__":
    main()
