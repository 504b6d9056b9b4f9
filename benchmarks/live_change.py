"""How long a live change takes to reach the events: from saving a topology file to the first
event routed by the rule the change added (issue 17).

    .venv/bin/python benchmarks/live_change.py              # 10 changes
    .venv/bin/python benchmarks/live_change.py --changes 3

A worker runs ``eventpipes run FILE --watch`` on a one-partition bus with a witness rule.
A producer thread puts one event every 20 ms throughout. Each round adds a rule matching
every event, with a Kafka topic target of its own, and measures from the moment the file
was written to the broker's append time of the first record on that rule's delivery topic
(so target delivery is not counted). The watcher looks at the file every
``WATCH_INTERVAL_SECONDS`` (0.5 s), so about half of that is the poll's average wait.
Target (issue 17): a change applies within 2 s. Prints each round and the median and max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.settings import get_settings
from eventpipes.testing import WorkerProcess, free_port, unique_name, wait_until

HEAD = """EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - {{Name: witness, EventBusName: {bus}, EventPattern: {{source: [bench]}}, Targets: [{{Id: w, Topic: {bus}.witness}}]}}
"""


def first_append_ms(bootstrap: str, topic: str, timeout: float = 30.0) -> int:
    """The broker's timestamp of the first record of ``topic`` (LogAppendTime-like: the record's own)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        tp = TopicPartition(topic, 0)
        wait_until(lambda: consumer.partitions_for_topic(topic), timeout=timeout, what=f"{topic} exists")
        consumer.assign([tp])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                return int(records[0].timestamp)
        raise TimeoutError(f"nothing on {topic} within {timeout} s")
    finally:
        consumer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    settings = get_settings()
    bus = unique_name("bench")
    folder = Path(tempfile.mkdtemp(prefix="eventpipes-live-"))
    topology = folder / "topology.yaml"
    rules: list[str] = []
    topology.write_text(HEAD.format(bus=bus))
    worker = WorkerProcess(str(topology), group=unique_name("bench"), web_port=free_port(), args=("--watch",),
                           env={"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}).wait_ready()
    stop = threading.Event()

    def produce() -> None:
        with EventBusClient(settings) as client:
            while not stop.is_set():
                client.put_events([{"Source": "bench", "DetailType": "t", "Detail": json.dumps({"at": time.time()})}], bus=bus)
                time.sleep(0.02)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    seconds = []
    try:
        for n in range(args.changes):
            name = f"added-{n}"
            rules.append(f"  - {{Name: {name}, EventBusName: {bus}, EventPattern: {{source: [bench]}}, "
                         f"Targets: [{{Id: t, Topic: {bus}.{name}}}]}}\n")
            written_ms = int(time.time() * 1000)
            topology.write_text(HEAD.format(bus=bus) + "".join(rules))
            # The router writes a Kafka topic target itself (no delivery topic): its first record is the first routed.
            routed_ms = first_append_ms(settings.bootstrap_servers, f"{bus}.{name}")
            seconds.append((routed_ms - written_ms) / 1000)
            print(f"change {n + 1}: first event routed by the new rule {seconds[-1]:.3f} s after the file was saved", flush=True)
    finally:
        stop.set()
        producer.join(timeout=10)
        worker.stop()
        with Admin(client_config(settings)) as admin:  # left behind, benchmark topics pile up on a dev broker
            admin.delete_topics(sorted(t for t in admin.topics() if bus in t))
    print(f"\nchange -> first routed event: median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s "
          f"over {len(seconds)} changes (target: within 2 s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
