"""`eventpipes run --role`: routing and delivery in workers of their own, one consumer group."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic, delivery_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, metric_value, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 2}}
Rules:
  - Name: all
    EventBusName: {bus}
    EventPattern: {{source: [roles-test]}}
    Targets: [{{Id: copy, Topic: {topic}}}]
"""

EVENTS = 40


def put_events(kafka: KafkaCluster, bus: str, count: int) -> None:
    with EventBusClient(kafka.settings) as client:
        for start in range(0, count, 10):
            entries = [{"Source": "roles-test", "DetailType": "n", "Detail": json.dumps({"n": n})} for n in range(start, start + 10)]
            assert client.put_events(entries, bus=bus).failed_entry_count == 0


def status(kafka: KafkaCluster, topology: Path, group: str, *ports: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "eventpipes", "status", str(topology), "--group", group,
         *(arg for port in ports for arg in ("--web-port", str(port)))],
        capture_output=True, text=True, timeout=60, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap},
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_routing_worker_and_a_delivery_worker_share_the_topology(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic, group = unique_name("bus"), unique_name("target"), unique_name("group")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    labels = {"bus": bus, "rule": "all", "target": "copy"}
    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=("routing",)) as router:
        router.wait_ready()
        put_events(kafka, bus, EVENTS)
        # Routed, but nothing delivers yet: the events wait on the delivery topic.
        ends = end_offsets(kafka.bootstrap, bus_topic(bus))
        wait_until(lambda: committed_offsets(kafka.bootstrap, group, bus_topic(bus)) == ends, what="every event routed")
        assert sum(end_offsets(kafka.bootstrap, delivery_topic(bus, "all", "copy")).values()) == EVENTS
        assert kafka.read_all(topic, timeout=2) == []
        assert "not delivering" in router.log()

        with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=("delivery",)) as deliverer:
            deliverer.wait_ready()
            wait_until(lambda: len(kafka.read_all(topic, timeout=5)) >= EVENTS, what="every event at the target")
            assert sorted(json.loads(r.value or b"")["detail"]["n"] for r in kafka.read_all(topic)) == list(range(EVENTS))
            # Each worker counts its own stage; `status` adds them up.
            assert metric_value(router.metrics(), "eventpipes_rule_matched_total", bus=bus, rule="all") == EVENTS
            assert metric_value(deliverer.metrics(), "eventpipes_rule_matched_total", bus=bus, rule="all") == 0
            assert metric_value(deliverer.metrics(), "eventpipes_target_delivered_total", **labels) == EVENTS
            assert "not routing" in deliverer.log()
            report = status(kafka, topology, group, router.web_port, deliverer.web_port)
            assert [w["Reachable"] for w in report["Workers"]] == [True, True]
            [rule] = report["Rules"]
            assert rule["Matched"] == EVENTS
            assert rule["Targets"][0]["Delivered"] == EVENTS


def test_a_worker_with_nothing_to_do_in_its_roles_says_so(kafka: KafkaCluster, tmp_path: Path) -> None:
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=unique_name("bus"), topic=unique_name("target")))
    done = subprocess.run(
        [sys.executable, "-m", "eventpipes", "run", str(topology), "--role", "pipes", "--web-port", "0", "--group", unique_name("group")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap},
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "nothing to run as --role pipes: no buses to route, no targets to deliver to, no pipes declared RUNNING")


def test_a_new_group_does_not_deliver_what_another_group_routed(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic = unique_name("bus"), unique_name("target")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env) as first:
        first.wait_ready()
        put_events(kafka, bus, 20)
        wait_until(lambda: len(kafka.read_all(topic, timeout=5)) >= 20, what="the first group's deliveries")
    # Another deployment of the same topology (a new --group): its delivery topics are the same topics.
    group = unique_name("group")
    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env) as second:
        second.wait_ready()
        put_events(kafka, bus, 10)
        delivery = delivery_topic(bus, "all", "copy")
        ends = end_offsets(kafka.bootstrap, delivery)
        wait_until(lambda: committed_offsets(kafka.bootstrap, group, delivery) == ends, what="the second group's deliveries")
    assert len(kafka.read_all(topic)) == 30  # 20 + 10: the first group's 20 were not delivered again


def test_a_delivery_worker_of_a_new_group_waits_for_its_routing_worker(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic, group = unique_name("bus"), unique_name("target"), unique_name("group")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    # Records another group routed earlier, which this group must not deliver.
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env) as other:
        other.wait_ready()
        put_events(kafka, bus, 10)
        wait_until(lambda: len(kafka.read_all(topic, timeout=5)) >= 10, what="the other group's deliveries")
    with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=("delivery",)) as deliverer:
        wait_until(lambda: "waiting for its routing worker" in deliverer.log(), what="the delivery worker waiting")
        assert "worker ready" not in deliverer.log()
        with WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, roles=("routing",)) as router:
            router.wait_ready()
            deliverer.wait_ready()
            put_events(kafka, bus, 10)
            wait_until(lambda: len(kafka.read_all(topic, timeout=5)) >= 20, what="this group's deliveries")
            delivery = delivery_topic(bus, "all", "copy")
            ends = end_offsets(kafka.bootstrap, delivery)
            wait_until(lambda: committed_offsets(kafka.bootstrap, group, delivery) == ends, what="caught up")
    assert len(kafka.read_all(topic)) == 20


def test_two_deployments_of_one_topology_each_deliver_each_event_once(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, topic = unique_name("bus"), unique_name("target")
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    groups = [unique_name("group"), unique_name("group")]
    with contextlib.ExitStack() as stack:
        for group in groups:
            stack.enter_context(WorkerProcess(str(topology), group=group, web_port=free_port(), env=env)).wait_ready()
        put_events(kafka, bus, EVENTS)
        delivery = delivery_topic(bus, "all", "copy")
        # Both groups route every event onto the shared delivery topic, and both read all of it.
        wait_until(lambda: sum(end_offsets(kafka.bootstrap, delivery).values()) == 2 * EVENTS, what="both groups routed")
        ends = end_offsets(kafka.bootstrap, delivery)
        for group in groups:
            wait_until(lambda: committed_offsets(kafka.bootstrap, group, delivery) == ends, what=f"{group} caught up")
    delivered = sorted(json.loads(r.value or b"")["detail"]["n"] for r in kafka.read_all(topic))
    assert delivered == sorted(list(range(EVENTS)) * 2)  # once per deployment, not once per routed copy
