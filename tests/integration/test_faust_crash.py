"""A Faust routing worker killed with SIGKILL mid-stream and restarted loses no event (duplicates allowed)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic, delivery_topic
from eventpipes.testing import KafkaCluster, unique_name, wait_until
from test_faust_support import FaustWorker

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 3}}
Rules:
  - Name: all
    EventBusName: {bus}
    EventPattern: {{source: [crash-test]}}
    Targets: [{{Id: copy, Topic: {topic}}}]
"""

EVENTS = 600


def test_a_killed_faust_worker_restarts_without_losing_events(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic = unique_name("bus"), unique_name("target")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_TOPOLOGY": str(topology), "EVENTPIPES_BUS": bus,
           "EVENTPIPES_GROUP": unique_name("group"), "EVENTPIPES_FILTER_SOURCE": unique_name("unused")}
    delivery = delivery_topic(bus, "all", "copy")

    def routed() -> Counter[int]:
        return Counter(json.loads(r.value or b"")["detail"]["n"] for r in kafka.read_all(delivery, timeout=5))

    def put_all() -> None:
        with EventBusClient(kafka.settings) as client:
            for start in range(0, EVENTS, 10):
                entries = [{"Source": "crash-test", "DetailType": "n", "Detail": json.dumps({"n": n})} for n in range(start, start + 10)]
                assert client.put_events(entries, bus=bus).failed_entry_count == 0
                time.sleep(0.02)  # a steady stream (~300 events/s) for the kill to land in, not a wait for a condition

    first = FaustWorker(tmp_path, env)
    app_id = first.app_id
    try:
        first.wait_ready()
        putter = threading.Thread(target=put_all)
        putter.start()
        wait_until(lambda: sum(end_offsets(kafka.client, delivery).values()) >= 100, what="the first worker routing")
        first.kill()  # mid-stream: events routed since its last commit were never committed
    finally:
        first.stop()
    killed_at = sum(routed().values())
    putter.join(timeout=60)
    assert killed_at < EVENTS, "the worker was killed after routing everything: the test proved nothing"

    with FaustWorker(tmp_path, env, app_id=app_id) as second:  # the same app: its group and data dir
        second.wait_ready()
        wait_until(lambda: set(routed()) == set(range(EVENTS)), timeout=60, what="every event routed after the restart")
        ends = end_offsets(kafka.client, bus_topic(bus))
        wait_until(lambda: committed_offsets(kafka.client, app_id, bus_topic(bus)) == ends, what="the restarted group committed")
    counts = routed()
    assert set(counts) == set(range(EVENTS))
    assert sum(counts.values()) >= EVENTS  # duplicates allowed (at least once), never a gap
