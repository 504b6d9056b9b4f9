"""A worker following the store (``eventpipes run`` without a file) picks up what the CLI's verbs change.

Driven only by ``eventpipes`` verbs (``put-events`` included), each step checks events put
before and after it at the Kafka target topic. Two helper rules make the checks exact rather
than timed: ``witness`` routes every test event to a topic of its own, so once an event is
there the router has routed it (a record's outputs are committed together, so a rule that
would have matched it has written it by then); ``beacon`` gets a new pattern after each
change, and once an event matching that pattern is routed, the worker runs a snapshot that
holds the change (the store is one log: the beacon's change came after it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cli_verbs_support import Verbs, verbs_on_own_store
from eventpipes.kafka.topics import delivery_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until


@pytest.fixture
def verbs(kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Verbs]:
    with verbs_on_own_store(kafka, monkeypatch) as found:
        yield found


class Live:
    def __init__(self, verbs: Verbs) -> None:
        self.verbs = verbs
        self.bus, self.out, self.out2 = unique_name("bus"), unique_name("out"), unique_name("out2")
        self.witness, self.beacons = unique_name("witness"), unique_name("beacon")
        self.changes = 0

    def on_bus(self, *args: str) -> object:
        return self.verbs.ok(*args, "--event-bus-name", self.bus)

    def put(self, detail_type: str, source: str = "tests") -> str:
        marker = unique_name("m")
        entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps({"m": marker})}
        answer = self.verbs.ok("put-events", "--bus", self.bus, "--entries", json.dumps([entry]))
        assert answer["FailedEntryCount"] == 0, answer
        return marker

    def markers(self, topic: str) -> list[str]:
        return [json.loads(r.value or b"")["detail"]["m"] for r in self.verbs.kafka.read_all(topic, timeout=3)]

    def routed_to(self, rule: str, target: str) -> list[str]:
        """What the router wrote for a rule's target (its delivery topic), delivered yet or not."""
        return self.markers(delivery_topic(self.bus, rule, target))

    def witnessed(self, marker: str) -> None:
        wait_until(lambda: marker in self.markers(self.witness), timeout=30, interval=0.5, what=f"{marker} routed")

    def applied(self) -> None:
        """Until the worker runs a snapshot holding every change made so far (see the module's docstring)."""
        self.changes += 1
        detail_type = f"change-{self.changes}"
        self.on_bus("put-rule", "--name", "beacon", "--event-pattern", json.dumps({"source": ["beacon"], "detail-type": [detail_type]}))
        probes: list[str] = []
        wait_until(lambda: (probes.append(self.put(detail_type, source="beacon")), set(probes) & set(self.markers(self.beacons)))[1],
                   timeout=60, interval=1.0, what=f"change {self.changes} applied by the worker")


def test_a_worker_follows_what_the_verbs_change(verbs: Verbs) -> None:
    live = Live(verbs)
    env = {**verbs.env}
    worker = WorkerProcess(None, group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        verbs.ok("create-event-bus", "--name", live.bus)
        live.on_bus("put-rule", "--name", "witness", "--event-pattern", '{"source": ["tests"]}')
        live.on_bus("put-targets", "--rule", "witness", "--targets", json.dumps([{"Id": "w", "Arn": f"kafka:topic/{live.witness}"}]))
        live.on_bus("put-rule", "--name", "beacon", "--event-pattern", '{"source": ["beacon"], "detail-type": ["none"]}')
        live.on_bus("put-targets", "--rule", "beacon", "--targets", json.dumps([{"Id": "b", "Arn": f"kafka:topic/{live.beacons}"}]))
        live.applied()

        # A new rule and its target: events put after reach the topic, one put before does not.
        before_rule = live.put("A")
        live.witnessed(before_rule)
        live.on_bus("put-rule", "--name", "orders", "--event-pattern", '{"source": ["tests"], "detail-type": ["A"]}')
        live.on_bus("put-targets", "--rule", "orders", "--targets", json.dumps([{"Id": "t1", "Arn": f"kafka:topic/{live.out}"}]))
        probes: list[str] = []
        wait_until(lambda: (probes.append(live.put("A")), set(probes) & set(live.markers(live.out)))[1], timeout=60, interval=1.0,
                   what="the first event routed by the rule put with put-rule and put-targets")
        assert before_rule not in live.markers(live.out) and before_rule not in live.routed_to("orders", "t1")

        # A new pattern applies to events put after it.
        live.on_bus("put-rule", "--name", "orders", "--event-pattern", '{"source": ["tests"], "detail-type": ["B"]}')
        live.applied()
        old_pattern, new_pattern = live.put("A"), live.put("B")
        wait_until(lambda: new_pattern in live.markers(live.out), timeout=30, what="the new pattern's delivery")
        live.witnessed(old_pattern)
        assert old_pattern not in live.routed_to("orders", "t1")

        # Disabled: events after are not delivered; enabled again: they are.
        live.on_bus("disable-rule", "--name", "orders")
        live.applied()
        while_disabled = live.put("B")
        live.witnessed(while_disabled)
        assert while_disabled not in live.routed_to("orders", "t1")
        live.on_bus("enable-rule", "--name", "orders")
        live.applied()
        enabled = live.put("B")
        wait_until(lambda: enabled in live.markers(live.out), timeout=30, what="delivery after enable-rule")

        # A second target, then remove-targets: the removed one gets nothing put after.
        live.on_bus("put-targets", "--rule", "orders", "--targets", json.dumps([{"Id": "t2", "Arn": f"kafka:topic/{live.out2}"}]))
        live.applied()
        to_both = live.put("B")
        wait_until(lambda: to_both in live.markers(live.out) and to_both in live.markers(live.out2), timeout=30, what="both targets")
        live.on_bus("remove-targets", "--rule", "orders", "--ids", "t2")
        live.applied()
        to_one = live.put("B")
        wait_until(lambda: to_one in live.markers(live.out), timeout=30, what="the remaining target")
        assert to_one not in live.routed_to("orders", "t2") and to_one not in live.markers(live.out2)

        # Deleted (its last target removed first, as EventBridge requires): nothing put after is routed by it.
        live.on_bus("remove-targets", "--rule", "orders", "--ids", "t1")
        live.on_bus("delete-rule", "--name", "orders")
        live.applied()
        after_delete = live.put("B")
        live.witnessed(after_delete)
        assert after_delete not in live.routed_to("orders", "t1")

        # Nothing lost, nothing twice: every event the rule was in force for, once (probes put
        # before the worker applied the rule are not in force for it, so they may be absent).
        delivered = live.markers(live.out)
        for marker in (new_pattern, enabled, to_both, to_one):
            assert delivered.count(marker) == 1, (marker, "routed", live.routed_to("orders", "t1").count(marker), "times")
        assert set(delivered) <= set(probes) | {new_pattern, enabled, to_both, to_one}
        assert len(delivered) == len(set(delivered))
        assert live.markers(live.out2) == [to_both]
    finally:
        worker.stop()
        for rule in ("witness", "beacon", "orders"):
            targets = verbs.call("list-targets-by-rule", "--rule", rule, "--event-bus-name", live.bus)
            if targets.exit_code == 0:
                ids = [t["Id"] for t in json.loads(targets.stdout)["Targets"]]
                if ids:
                    live.on_bus("remove-targets", "--rule", rule, "--ids", *ids)
                live.on_bus("delete-rule", "--name", rule)
        verbs.call("delete-event-bus", "--name", live.bus)
        verbs.delete_topics_named(live.bus, live.out, live.out2, live.witness, live.beacons)
    assert "Traceback" not in worker.log()
