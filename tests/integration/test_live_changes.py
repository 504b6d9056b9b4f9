"""A running worker follows its topology's changes (``eventpipes run FILE --watch``), losing nothing.

Each step edits the file, waits for the worker to say it applied it, and puts events after
it (and where it matters, before it). A ``witness`` rule matching every event shows when
the router has routed an event, so a rule that should not have matched it is checked on
its target topic (which the router writes itself) and its delivery topic at that moment
rather than after an arbitrary wait.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.topics import delivery_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

HEAD = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - Name: witness
    EventBusName: {bus}
    EventPattern: {{source: [tests]}}
    Targets: [{{Id: w, Topic: {witness}}}]
"""


def rule(name: str, bus: str, detail_types: list[str], topics: list[str], state: str = "ENABLED") -> str:
    targets = ", ".join(f"{{Id: t{n}, Topic: {topic}}}" for n, topic in enumerate(topics))
    return (f"  - Name: {name}\n    EventBusName: {bus}\n    State: {state}\n"
            f"    EventPattern: {{detail-type: {json.dumps(detail_types)}}}\n    Targets: [{targets}]\n")


class Live:
    def __init__(self, kafka: KafkaCluster, tmp_path: Path) -> None:
        self.kafka = kafka
        self.names = {"bus": unique_name("bus"), "witness": unique_name("witness")}
        self.file = tmp_path / "topology.yaml"
        self.applied = 0
        self.write([])
        env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
        self.worker = WorkerProcess(str(self.file), group=unique_name("group"), web_port=free_port(), env=env,
                                    args=("--watch",)).wait_ready()

    def write(self, rules: list[str]) -> None:
        self.file.write_text(HEAD.format(**self.names) + "".join(rules))

    def change(self, rules: list[str]) -> None:
        self.write(rules)
        self.applied += 1
        wait_until(lambda: self.worker.log().count("applied the changes") >= self.applied, timeout=30,
                   what=f"change {self.applied} applied")

    def put(self, detail_type: str) -> str:
        marker = unique_name("m")
        with EventBusClient(self.kafka.settings) as client:
            result = client.put_events([{"Source": "tests", "DetailType": detail_type, "Detail": json.dumps({"m": marker})}],
                                       bus=self.names["bus"])
        assert result.failed_entry_count == 0
        wait_until(lambda: marker in self.markers(self.names["witness"]), timeout=30, what=f"{detail_type} routed")
        return marker

    def markers(self, topic: str) -> list[str]:
        return [json.loads(r.value or b"")["detail"]["m"] for r in self.kafka.read_all(topic, timeout=3)]

    def routed_to(self, rule_name: str, target: str, topic: str) -> list[str]:
        """What the router wrote for a rule's target: to its topic, or to its delivery topic (delivered yet or not)."""
        return self.markers(topic) + self.markers(delivery_topic(self.names["bus"], rule_name, target))


def test_rules_and_targets_change_under_a_running_worker(kafka: KafkaCluster, tmp_path: Path) -> None:
    live = Live(kafka, tmp_path)
    bus = live.names["bus"]
    a, b, b2 = unique_name("a"), unique_name("b"), unique_name("b2")
    try:
        before_new_rule = live.put("A")
        live.change([rule("ra", bus, ["A"], [a])])  # a new rule
        first = live.put("A")
        wait_until(lambda: first in live.markers(a), timeout=30, what="the new rule's first delivery")
        assert before_new_rule not in live.routed_to("ra", "t0", a)

        live.change([rule("ra", bus, ["A"], [a], state="DISABLED")])  # disabled
        while_disabled = live.put("A")
        assert while_disabled not in live.routed_to("ra", "t0", a)

        live.change([rule("ra", bus, ["A"], [a]), rule("rb", bus, ["B"], [b])])  # enabled again, and another rule
        again, first_b = live.put("A"), live.put("B")
        wait_until(lambda: again in live.markers(a) and first_b in live.markers(b), timeout=30, what="both rules deliver")

        live.change([rule("ra", bus, ["A"], [a]), rule("rb", bus, ["C"], [b])])  # a new pattern
        old_pattern, new_pattern = live.put("B"), live.put("C")
        wait_until(lambda: new_pattern in live.markers(b), timeout=30, what="the new pattern's delivery")
        assert old_pattern not in live.routed_to("rb", "t0", b)

        live.change([rule("ra", bus, ["A"], [a]), rule("rb", bus, ["C"], [b, b2])])  # a target added
        to_both = live.put("C")
        wait_until(lambda: to_both in live.markers(b) and to_both in live.markers(b2), timeout=30, what="both targets")

        live.change([rule("ra", bus, ["A"], [a]), rule("rb", bus, ["C"], [b])])  # the target removed
        to_one = live.put("C")
        wait_until(lambda: to_one in live.markers(b), timeout=30, what="the remaining target")
        assert to_one not in live.routed_to("rb", "t1", b2)

        live.change([rule("ra", bus, ["A"], [a])])  # a rule deleted
        after_delete = live.put("C")
        assert after_delete not in live.routed_to("rb", "t0", b)
        still = live.put("A")
        wait_until(lambda: still in live.markers(a), timeout=30, what="the untouched rule goes on")
        # Nothing delivered twice, nothing lost, on the rule that lived through every change.
        assert sorted(live.markers(a)) == sorted([first, again, still])
    finally:
        live.worker.stop()
        print(live.worker.log()[-4000:])
    assert "Traceback" not in live.worker.log()


def test_a_file_with_problems_is_reported_and_the_worker_runs_on(kafka: KafkaCluster, tmp_path: Path) -> None:
    live = Live(kafka, tmp_path)
    out = unique_name("out")
    try:
        live.change([rule("ra", live.names["bus"], ["A"], [out])])
        live.file.write_text(live.file.read_text() + "  - Name: broken\n    EventPattern: {detail-type: [{numeric: 1}]}\n")
        wait_until(lambda: "not applied" in live.worker.log(), timeout=30, what="the problem reported")
        marker = live.put("A")
        wait_until(lambda: marker in live.markers(out), timeout=30, what="the last good topology still delivering")
    finally:
        live.worker.stop()
