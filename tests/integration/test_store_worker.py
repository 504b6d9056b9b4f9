"""A worker that follows the control plane's store (``eventpipes run`` without a file), built live with boto3.

What issue 17 asks of a user: run one worker, then create a bus, a rule and its targets
through the AWS API, watch events flow, change the rule, without restarting anything.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from eventpipes.api import BackgroundEndpoint
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until


@pytest.fixture
def store(kafka: KafkaCluster) -> Iterator[Settings]:
    """A control topic of this test's own, and the key connection secrets would need."""
    settings = kafka.settings.model_copy(update={"control_topic": unique_name("control"),
                                                 "control_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    yield settings
    kafka.admin.delete_topics([settings.control_topic])


def test_a_worker_follows_what_boto3_builds_in_the_store(kafka: KafkaCluster, store: Settings) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_CONTROL_TOPIC": store.control_topic}
    worker = WorkerProcess(None, group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        with BackgroundEndpoint(store, keys={}) as url:
            events: Any = boto3.client("events", endpoint_url=url, region_name="us-east-1",
                                       aws_access_key_id="test", aws_secret_access_key="test")
            bus, out, later = unique_name("bus"), unique_name("out"), unique_name("later")
            events.create_event_bus(Name=bus)
            events.put_rule(Name="orders", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
            answer = events.put_targets(Rule="orders", EventBusName=bus, Targets=[{"Id": "t", "Arn": f"kafka:topic/{out}"}])
            assert answer["FailedEntryCount"] == 0

            def put(marker: str) -> None:
                entry = {"Source": "shop", "DetailType": "order", "Detail": json.dumps({"m": marker}), "EventBusName": bus}
                assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

            def markers(topic: str) -> list[str]:
                if not kafka.admin.topic_exists(topic):  # the worker makes it when it applies the target
                    return []
                return [json.loads(r.value or b"")["detail"]["m"] for r in kafka.read_all(topic, timeout=3)]

            # The worker applies the change within seconds: keep putting until one arrives.
            wait_until(lambda: (put(m := unique_name("m")), m in markers(out))[1] or any(markers(out)), timeout=60,
                       interval=1.0, what="the first event routed by the rule created through boto3")
            events.put_targets(Rule="orders", EventBusName=bus, Targets=[{"Id": "t2", "Arn": f"kafka:topic/{later}"}])
            wait_until(lambda: (put(unique_name("m")), markers(later))[1], timeout=60, interval=1.0,
                       what="an event at the target added later")
            events.disable_rule(Name="orders", EventBusName=bus)
            wait_until(lambda: "applied the store's changes" in worker.log(), timeout=30, what="the change applied")
    finally:
        worker.stop()
    assert "Traceback" not in worker.log()


def test_a_deleted_bus_stops_being_routed_and_a_bus_made_again_under_its_name_routes_afresh(
        kafka: KafkaCluster, store: Settings) -> None:
    """DeleteEventBus deletes the bus's topic under a running worker; the worker goes on, and the name can be reused."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_CONTROL_TOPIC": store.control_topic}
    worker = WorkerProcess(None, group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        with BackgroundEndpoint(store, keys={}) as url:
            events: Any = boto3.client("events", endpoint_url=url, region_name="us-east-1",
                                       aws_access_key_id="test", aws_secret_access_key="test")
            bus, first, second = unique_name("bus"), unique_name("out"), unique_name("out")

            def build(out: str) -> None:
                events.create_event_bus(Name=bus)
                events.put_rule(Name="orders", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
                events.put_targets(Rule="orders", EventBusName=bus, Targets=[{"Id": "t", "Arn": f"kafka:topic/{out}"}])

            def put_until_routed(out: str) -> None:
                def routed() -> bool:
                    entry = {"Source": "shop", "DetailType": "order", "Detail": "{}", "EventBusName": bus}
                    events.put_events(Entries=[entry])
                    return kafka.admin.topic_exists(out) and bool(kafka.read_all(out, timeout=3))  # made when the worker applies the rule
                wait_until(routed, timeout=60, interval=1.0, what=f"an event routed to {out}")

            build(first)
            put_until_routed(first)
            events.delete_event_bus(Name=bus)
            assert bus_topic(bus) not in kafka.admin.topics()
            build(second)  # the same name again: a new, empty topic; the group's old offsets went with the old one
            put_until_routed(second)
    finally:
        worker.stop()
    assert "Traceback" not in worker.log()
    assert worker.process.returncode in (0, -15)


def test_a_restarted_worker_reads_the_same_store_and_routes_on(kafka: KafkaCluster, store: Settings) -> None:
    """A worker stopped and started again (same group, no file) runs what the store holds, with nothing routed twice."""
    from eventpipes.bus.put_events import EventBusClient
    from eventpipes.control import ControlPlane

    bus, out, group = unique_name("bus"), unique_name("out"), unique_name("group")
    with ControlPlane(store) as plane:
        plane.invoke("CreateEventBus", {"Name": bus})
        plane.invoke("PutRule", {"Name": "orders", "EventBusName": bus, "EventPattern": json.dumps({"source": ["shop"]})})
        plane.invoke("PutTargets", {"Rule": "orders", "EventBusName": bus, "Targets": [{"Id": "t", "Arn": f"kafka:topic/{out}"}]})
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_CONTROL_TOPIC": store.control_topic}

    def put(marker: str) -> None:
        entry = {"Source": "shop", "DetailType": "order", "Detail": json.dumps({"m": marker}), "EventBusName": bus}
        with EventBusClient(kafka.settings) as client:
            assert client.put_events([entry]).failed_entry_count == 0

    def markers() -> list[str]:
        if not kafka.admin.topic_exists(out):
            return []
        return [json.loads(r.value or b"")["detail"]["m"] for r in kafka.read_all(out, timeout=3)]

    first: list[str] = []
    with WorkerProcess(None, group=group, web_port=free_port(), env=env) as worker:
        worker.wait_ready()
        wait_until(lambda: (first.append(unique_name("m")), put(first[-1]), markers())[2], timeout=60, interval=1.0,
                   what="an event routed by the first worker")
        wait_until(lambda: len(markers()) == len(first), timeout=30, what="every event put routed by the first worker")
    second = unique_name("m")
    put(second)  # while no worker runs: the group's committed offsets keep it for the next one
    with WorkerProcess(None, group=group, web_port=free_port(), env=env) as worker:
        worker.wait_ready()
        wait_until(lambda: second in markers(), timeout=60, what="the event routed by the restarted worker")
        assert "Traceback" not in worker.log()
    assert sorted(markers()) == sorted(first + [second])  # the restarted worker read the same store, and routed nothing twice
    kafka.admin.delete_topics([bus_topic(bus), out])
