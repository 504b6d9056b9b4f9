"""Kafka topic targets, which the router writes itself, keep the retry topic and the dead-letter topic."""

from __future__ import annotations

import json
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.topics import TopicSpec, delivery_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - Name: all
    EventBusName: {bus}
    EventPattern: {{source: [tests]}}
    Targets:
      - Id: small
        Topic: {topic}
        RetryPolicy: {{MaximumRetryAttempts: 2}}
        DeadLetterConfig: {{Arn: {dlq}}}
"""


def put(kafka: KafkaCluster, bus: str, detail: dict[str, str]) -> str:
    with EventBusClient(kafka.settings) as client:
        result = client.put_events([{"Source": "tests", "DetailType": "t", "Detail": json.dumps(detail)}], bus=bus)
    event_id = result.entries[0].event_id
    assert event_id is not None
    return event_id


def test_an_event_the_target_topic_refuses_is_retried_then_dead_lettered_while_others_are_delivered(
        kafka: KafkaCluster, tmp_path: Path) -> None:
    names = {"bus": unique_name("bus"), "topic": unique_name("target"), "dlq": unique_name("dlq")}
    # The target topic takes no record batch over 2,000 bytes: the broker refuses the big event every time.
    kafka.admin.ensure_topic(TopicSpec(names["topic"], 1, {"max.message.bytes": "2000"}))
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(),
                       env={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_RETRY_BASE_SECONDS": "0.05"}) as worker:
        worker.wait_ready()
        big = put(kafka, names["bus"], {"text": "x" * 3000})
        small = put(kafka, names["bus"], {"text": "fits"})

        def delivered() -> list[str]:
            return [json.loads(r.value or b"")["id"] for r in kafka.read_all(names["topic"], timeout=5)]

        wait_until(lambda: small in delivered(), timeout=60, what="the small event at the target")
        [dead] = wait_until(lambda: kafka.read_all(names["dlq"], timeout=5), timeout=60, what="the big event dead-lettered")
        info = {k: v.decode() for k, v in dead.headers}
        assert json.loads(dead.value or b"")["id"] == big
        assert info["RETRY_ATTEMPTS"] == "2" and info["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert f"could not write to topic '{names['topic']}'" in info["ERROR_MESSAGE"]
        assert big not in delivered()
    assert kafka.read_all(delivery_topic(names["bus"], "all", "small"), timeout=5) == []  # no delivery-topic hop
