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
from eventpipes.kafka.errors import TopicError
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
                try:
                    found = kafka.read_all(topic, timeout=3)
                except TopicError:  # the worker makes a new target's topic when it applies the change
                    return []
                return [json.loads(r.value or b"")["detail"]["m"] for r in found]

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
