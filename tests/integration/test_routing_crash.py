"""At-least-once across a crash: SIGKILL a worker mid-stream, restart it, every event arrives."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 3}}
Rules:
  - Name: all
    EventBusName: {bus}
    EventPattern: {{source: [crash-test]}}
    Targets:
      - {{Id: copy, Topic: {topic}}}
      - {{Id: slow, Function: "recording_target:slow_record"}}
"""

EVENTS = 600


def delivered_ids(kafka: KafkaCluster, topic: str) -> set[str]:
    return {json.loads(r.value or b"")["detail"]["n"] for r in kafka.read_all(topic, timeout=10)}


def test_a_worker_killed_mid_stream_loses_nothing_after_restart(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic, group = unique_name("bus"), unique_name("target"), unique_name("group")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    record_file = tmp_path / "slow.jsonl"
    record_file.touch()
    support = Path(__file__).parent / "support"
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "PYTHONPATH": str(support), "EVENTPIPES_TEST_RECORD_FILE": str(record_file)}

    def slow_seen() -> set[str]:
        return {json.loads(line)["payload"]["detail"]["n"] for line in record_file.read_text().splitlines() if line.strip()}

    first = WorkerProcess(str(topology), group=group, web_port=free_port(), env=env).wait_ready()
    try:
        def put_all() -> None:
            with EventBusClient(kafka.settings) as client:
                for start in range(0, EVENTS, 10):
                    entries = [{"Source": "crash-test", "DetailType": "n", "Detail": json.dumps({"n": str(n)})} for n in range(start, start + 10)]
                    assert client.put_events(entries, bus=bus).failed_entry_count == 0

        producer = threading.Thread(target=put_all)
        producer.start()
        wait_until(lambda: len(slow_seen()) >= EVENTS // 4, timeout=120, what="a quarter at the slow target")
        first.kill()  # mid-stream: events still arriving, deliveries in flight
        producer.join(timeout=120)
    finally:
        first.stop()
    assert len(slow_seen()) < EVENTS  # the kill really happened mid-stream

    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env).wait_ready():
        expected = {str(n) for n in range(EVENTS)}
        wait_until(lambda: delivered_ids(kafka, topic) >= expected, timeout=180, what="every event on the topic target")

        wait_until(lambda: slow_seen() >= expected, timeout=180, what="every event at the function target")
        # The router commits up to the end of the bus once everything is routed.
        ends = end_offsets(kafka.client, bus_topic(bus))
        assert sum(ends.values()) == EVENTS
        wait_until(lambda: committed_offsets(kafka.client, group, bus_topic(bus)) == ends, what="router offsets at the end of the bus")
