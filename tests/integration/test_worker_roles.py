"""`eventpipes run --role`: routing and delivery in workers of their own, one consumer group.

Most tests here use a Python function target, which the router hands to its delivery topic
for a delivery worker; a Kafka topic target is delivered by the router itself (the last test).
"""

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
    Targets: [{{Id: copy, {target}}}]
"""

SUPPORT = Path(__file__).parent / "support"

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


class World:
    """TOPOLOGY on fresh names in a file, and what its tests ask of it.

    ``kind="Function"``: the target records each event to a file (an invocation target, fed
    through its delivery topic); ``kind="Topic"``: a Kafka topic target (the router's own).
    """

    def __init__(self, kafka: KafkaCluster, folder: Path, kind: str = "Function") -> None:
        self.kafka, self.bus, self.topic, self.kind = kafka, unique_name("bus"), unique_name("target"), kind
        self.records = folder / "recorded.jsonl"
        self.records.touch()
        target = f"Topic: {self.topic}" if kind == "Topic" else 'Function: "recording_target:record"'
        self.file = folder / "topology.yaml"
        self.file.write_text(TOPOLOGY.format(bus=self.bus, target=target))
        self.delivery = delivery_topic(self.bus, "all", "copy")

    def worker(self, group: str, roles: tuple[str, ...] = ()) -> WorkerProcess:
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap, "EVENTPIPES_TEST_RECORD_FILE": str(self.records),
               "PYTHONPATH": f"{SUPPORT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        return WorkerProcess(str(self.file), group=group, web_port=free_port(), env=env, roles=roles)

    def delivered(self) -> list[int]:
        if self.kind == "Topic":
            return sorted(json.loads(r.value or b"")["detail"]["n"] for r in self.kafka.read_all(self.topic))
        lines = self.records.read_text().splitlines()
        return sorted(json.loads(line)["payload"]["detail"]["n"] for line in lines)

    def wait_delivered(self, count: int, what: str) -> None:
        wait_until(lambda: len(self.delivered()) >= count, what=what)

    def wait_caught_up(self, group: str) -> None:
        """Until ``group`` committed the end of the delivery topic: it has handled all of it."""
        ends = end_offsets(self.kafka.client, self.delivery)
        wait_until(lambda: committed_offsets(self.kafka.client, group, self.delivery) == ends, what=f"{group} caught up")

    def routed_by_another_group(self, count: int) -> None:
        """``count`` events routed and delivered by a group of its own, which then stops."""
        with self.worker(unique_name("group")) as other:
            other.wait_ready()
            put_events(self.kafka, self.bus, count)
            self.wait_delivered(count, "the other group's deliveries")


def test_a_routing_worker_and_a_delivery_worker_share_the_topology(kafka: KafkaCluster, tmp_path: Path) -> None:
    world, group = World(kafka, tmp_path), unique_name("group")
    bus, topology = world.bus, world.file
    labels = {"bus": bus, "rule": "all", "target": "copy"}
    with world.worker(group, roles=("routing",)) as router:
        router.wait_ready()
        put_events(kafka, bus, EVENTS)
        # Routed, but nothing delivers yet: the events wait on the delivery topic.
        ends = end_offsets(kafka.client, bus_topic(bus))
        wait_until(lambda: committed_offsets(kafka.client, group, bus_topic(bus)) == ends, what="every event routed")
        assert sum(end_offsets(kafka.client, delivery_topic(bus, "all", "copy")).values()) == EVENTS
        assert world.delivered() == []
        assert "not delivering" in router.log()

        with world.worker(group, roles=("delivery",)) as deliverer:
            deliverer.wait_ready()
            world.wait_delivered(EVENTS, "every event at the target")
            assert world.delivered() == list(range(EVENTS))
            # Each worker counts its own stage; `status` adds them up.
            assert metric_value(router.metrics(), "eventpipes_rule_matched_total", bus=bus, rule="all") == EVENTS
            assert metric_value(deliverer.metrics(), "eventpipes_rule_matched_total", bus=bus, rule="all") == 0
            assert metric_value(deliverer.metrics(), "eventpipes_target_delivered_total", **labels) == EVENTS
            assert "not routing" in deliverer.log()
            report = status(kafka, topology, group, router.web_port, deliverer.web_port)
            assert [w["Reachable"] for w in report["Workers"]] == [True, True]
            [rule] = report["Rules"]
            assert rule["SinceWorkerStart"]["Matched"] == EVENTS
            assert rule["Targets"][0]["SinceWorkerStart"]["Delivered"] == EVENTS


def test_a_worker_with_nothing_to_do_in_its_roles_says_so(kafka: KafkaCluster, tmp_path: Path) -> None:
    topology = World(kafka, tmp_path).file
    done = subprocess.run(
        [sys.executable, "-m", "eventpipes", "run", str(topology), "--role", "pipes", "--web-port", "0", "--group", unique_name("group")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap},
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "nothing to run as --role pipes: no buses to route, no targets to deliver to, no pipes declared RUNNING")


def test_a_new_group_does_not_deliver_what_another_group_routed(kafka: KafkaCluster, tmp_path: Path) -> None:
    world = World(kafka, tmp_path)
    world.routed_by_another_group(20)
    # Another deployment of the same topology (a new --group): its delivery topics are the same topics.
    group = unique_name("group")
    with world.worker(group) as second:
        second.wait_ready()
        put_events(kafka, world.bus, 10)
        world.wait_caught_up(group)
    assert len(world.delivered()) == 30  # 20 + 10: the first group's 20 were not delivered again


def test_a_delivery_worker_of_a_new_group_waits_for_its_routing_worker(kafka: KafkaCluster, tmp_path: Path) -> None:
    world, group = World(kafka, tmp_path), unique_name("group")
    world.routed_by_another_group(10)  # which this group must not deliver
    with world.worker(group, roles=("delivery",)) as deliverer:
        wait_until(lambda: "waiting for its routing worker" in deliverer.log(), what="the delivery worker waiting")
        assert "worker ready" not in deliverer.log()
        with world.worker(group, roles=("routing",)) as router:
            router.wait_ready()
            deliverer.wait_ready()
            put_events(kafka, world.bus, 10)
            world.wait_delivered(20, "this group's deliveries")
            world.wait_caught_up(group)
    assert len(world.delivered()) == 20


def test_two_deployments_of_one_topology_each_deliver_each_event_once(kafka: KafkaCluster, tmp_path: Path) -> None:
    world, groups = World(kafka, tmp_path), [unique_name("group"), unique_name("group")]
    with contextlib.ExitStack() as stack:
        for group in groups:
            stack.enter_context(world.worker(group)).wait_ready()
        put_events(kafka, world.bus, EVENTS)
        # Both groups route every event onto the shared delivery topic, and both read all of it.
        wait_until(lambda: sum(end_offsets(kafka.client, world.delivery).values()) == 2 * EVENTS, what="both groups routed")
        for group in groups:
            world.wait_caught_up(group)
    assert world.delivered() == sorted(list(range(EVENTS)) * 2)  # once per deployment, not once per routed copy


def test_a_routing_worker_delivers_kafka_topic_targets_itself(kafka: KafkaCluster, tmp_path: Path) -> None:
    """No delivery-topic hop for a target that writes to Kafka: a routing worker alone delivers it."""
    world, group = World(kafka, tmp_path, kind="Topic"), unique_name("group")
    labels = {"bus": world.bus, "rule": "all", "target": "copy"}
    with world.worker(group, roles=("routing",)) as router:
        router.wait_ready()
        put_events(kafka, world.bus, EVENTS)
        world.wait_delivered(EVENTS, "every event at the target topic")
        assert world.delivered() == list(range(EVENTS))
        assert sum(end_offsets(kafka.client, world.delivery).values()) == 0
        assert metric_value(router.metrics(), "eventpipes_rule_matched_total", bus=world.bus, rule="all") == EVENTS
        assert metric_value(router.metrics(), "eventpipes_target_delivered_total", **labels) == EVENTS
    headers = {k: v for k, v in kafka.read_all(world.topic)[0].headers}
    assert headers["eventpipes-rule"] == b"all" and headers["content-type"] == b"application/json"
