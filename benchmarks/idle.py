"""Idle cost of a worker (issue 21): CPU a worker on ``topologies/orders.yaml`` uses with no traffic.

    .venv/bin/python benchmarks/idle.py                 # 30 s of idle, then 5 lone events
    .venv/bin/python benchmarks/idle.py --seconds 60 --lone 10

Starts ``eventpipes run topologies/orders.yaml`` in a consumer group of its own (so it starts
at the end of the buses and routes nothing that is already there), waits until it is ready
and ``--settle`` seconds more, then reads the worker's CPU time (user + system, every thread,
from ``/proc/<pid>/stat``) before and after ``--seconds`` of no traffic. Target: at most 1% of
a core.

Then the price of being idle: ``--lone`` events put one at a time, each after ``--gap``
seconds of quiet (longer than ``kafka.fetch_wait.IDLE_AFTER_SECONDS``, so the worker is in its
idle mode each time), each an ``OrderPlaced`` that the ``order-audit`` rule sends to the
``orders.audit`` topic; latency = the audit record's timestamp minus the bus record's.
Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import uuid

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import WorkerProcess, connect, free_port, unique_name, wait_until

TOPOLOGY = "topologies/orders.yaml"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (``/proc/<pid>/stat`` fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(pid: int, seconds: float) -> float:
    """Share of one core the process used over ``seconds`` of wall time."""
    cpu, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.monotonic() - began)


def lone_latencies(cluster, count: int, gap: float) -> list[int]:  # type: ignore[no-untyped-def]
    """ms from bus record to audit record for ``count`` events, each after ``gap`` s of quiet."""
    began_ms = int(time.time() * 1000)
    orders = [f"idle-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    with EventBusClient(cluster.settings) as client:
        for order in orders:
            time.sleep(gap)
            detail = {"orderId": order, "customer": {"id": "c-1"}, "total": 10}
            result = client.put_events([{"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": json.dumps(detail)}], bus="orders")
            assert result.failed_entry_count == 0, result.to_dict()

    def found(topic: str, key: str) -> dict[str, int]:
        stamps = {}
        for record in read_topic(cluster.client, topic, StartAt("timestamp", began_ms), timeout_seconds=30, stop_at_end=True):
            value = json.loads(record.value or b"{}")
            order = value.get(key) if key == "order" else value.get("detail", {}).get("orderId")
            if order in orders:
                stamps[order] = record.timestamp_ms
        return stamps

    audit = wait_until(lambda: (a := found("orders.audit", "order")) and len(a) == count and a, timeout=60, interval=0.5,
                       what="every lone event on orders.audit")
    put = found(bus_topic("orders"), "detail")
    return [audit[order] - put[order] for order in orders]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="idle period measured [default: 30]")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after ready before measuring [default: 10]")
    parser.add_argument("--lone", type=int, default=5, help="lone events after the idle period [default: 5; 0: none]")
    parser.add_argument("--gap", type=float, default=4.0, help="quiet seconds before each lone event [default: 4]")
    args = parser.parse_args()
    cluster = connect(Settings())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}; date {time.strftime('%Y-%m-%d')}")
    try:
        with WorkerProcess(TOPOLOGY, group=unique_name("bench-idle"), web_port=free_port(), env=cluster.env()) as worker:
            worker.wait_ready(timeout=180)
            time.sleep(args.settle)
            share = idle_share(worker.process.pid, args.seconds)
            threads = len(os.listdir(f"/proc/{worker.process.pid}/task"))
            print(f"idle worker ({TOPOLOGY}, {threads} threads): {share * args.seconds:.2f} s of CPU over {args.seconds:.0f} s = "
                  f"{share:.2%} of a core (target <= 1%)", flush=True)
            if args.lone:
                latencies = lone_latencies(cluster, args.lone, args.gap)
                print(f"lone events after {args.gap:.0f} s of quiet, bus -> orders.audit: {', '.join(f'{ms} ms' for ms in latencies)}")
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
