"""Latency (issue 21): PutEvents to a Kafka topic target at 1,000 events/s, p99.

    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/latency.py                 # 30 s per layout
    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/latency.py --seconds 10 --layout "one worker"

A topology of one bus (3 partitions) and one rule with a Kafka topic target runs in each
layout: one worker with every role, or a routing worker and a delivery worker
(``eventpipes run --role``). One thread puts 1,000 events/s through an ``EventBusClient``
(calls of 10, one every 10 ms, on a fixed schedule). Per event, two figures:

- put to target: the target record's timestamp minus the wall clock when its PutEvents
  call began (the whole path a caller sees: the call, its acknowledgement, routing,
  the delivery topic, delivery);
- bus to target: the target record's timestamp minus the bus record's (what
  ``routing.py`` reports).

Target: p99 under 50 ms. Timestamps are the producers' (CreateTime) on one machine's clock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.topics import TopicSpec, bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, connect, free_port, made_by_this_run, unique_name, wait_until

LAYOUTS = {"one worker": [()], "split": [("routing",), ("delivery",)]}
RATE = 1000
PER_CALL = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(cluster: KafkaCluster, folder: Path, seconds: float, layout: list[tuple[str, ...]]) -> tuple[list[float], list[float], float]:
    """Per event: (put to target ms, bus to target ms), and the share of calls that began late."""
    bus, target, group = unique_name("lat-bus"), unique_name("lat-target"), unique_name("lat-group")
    topology = folder / "latency.yaml"
    topology.write_text(
        f"EventBuses:\n  - {{Name: {bus}, Partitions: 3}}\nRules:\n"
        f"  - {{Name: all, EventBusName: {bus}, EventPattern: {{source: [bench]}}, Targets: [{{Id: t, Topic: {target}}}]}}\n"
    )
    cluster.admin.ensure_topic(TopicSpec(target, 3, {}))
    began_at: dict[int, float] = {}  # event number -> wall clock (ms) when its call began
    late = 0
    with contextlib.ExitStack() as stack:
        for roles in layout:
            stack.enter_context(WorkerProcess(str(topology), group=group, web_port=free_port(), env=cluster.env(), roles=roles)).wait_ready(timeout=120)
        total = int(seconds * RATE)
        with EventBusClient(cluster.settings) as client:
            client.put_events([{"Source": "warm-up", "DetailType": "Tick", "Detail": "{}"}], bus=bus)  # connected; matches no rule
            began = time.monotonic()
            for call in range(total // PER_CALL):
                due = began + call * PER_CALL / RATE
                if (pause := due - time.monotonic()) > 0:
                    time.sleep(pause)
                elif pause < -0.005:
                    late += 1
                numbers = range(call * PER_CALL, (call + 1) * PER_CALL)
                now_ms = time.time() * 1000
                for n in numbers:
                    began_at[n] = now_ms
                result = client.put_events([{"Source": "bench", "DetailType": "Tick", "Detail": json.dumps({"n": n})} for n in numbers], bus=bus)
                assert result.failed_entry_count == 0, result.to_dict()
        wait_until(lambda: len(cluster.read_all(target)) >= total, timeout=120, interval=1, what="every event at the target")
    on_bus = {json.loads(r.value or b"")["id"]: r.timestamp_ms for r in cluster.read_all(bus_topic(bus))}
    put_to_target, bus_to_target = [], []
    for record in cluster.read_all(target):
        event = json.loads(record.value or b"")
        put_to_target.append(record.timestamp_ms - began_at[event["detail"]["n"]])
        bus_to_target.append(record.timestamp_ms - on_bus[event["id"]])
    return put_to_target, bus_to_target, late / max(total // PER_CALL, 1)


def show(name: str, samples: list[float]) -> str:
    return (f"{name}: p50 {percentile(samples, 0.5):.0f} ms, p99 {percentile(samples, 0.99):.0f} ms, "
            f"max {max(samples):.0f} ms, mean {statistics.mean(samples):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load period per layout [default: 30]")
    parser.add_argument("--layout", action="append", choices=list(LAYOUTS), help="only this layout (repeatable)")
    args = parser.parse_args()
    cluster = connect(Settings())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; date {time.strftime('%Y-%m-%d')}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for name in args.layout or list(LAYOUTS):
                put, routed, late = measure(cluster, Path(folder), args.seconds, LAYOUTS[name])
                print(f"latency, {name}, {RATE:,} events/s for {args.seconds:.0f} s ({len(put):,} events; {late:.1%} of calls began over 5 ms late), "
                      f"target p99 < 50 ms:\n  {show('put to target', put)}\n  {show('bus to target', routed)}", flush=True)
    finally:
        cluster.admin.delete_topics(sorted(t for t in cluster.admin.topics() if made_by_this_run(t)))
        cluster.close()


if __name__ == "__main__":
    main()
