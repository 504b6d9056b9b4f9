"""A boto3 program written for EventBridge, against the endpoint a real worker serves (``run --api-port``).

Given only ``endpoint_url`` and credentials, it puts events that a worker routes to a rule's
Kafka topic target, creates an archive the running worker starts filling, and replays a
window of it back through the rule: every step is read where a user would look, on the
target topic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from eventpipes.arns import archive_arn, bus_arn
from eventpipes.kafka.topics import REPLAYS_TOPIC
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - {{Name: orders, EventBusName: {bus}, EventPattern: {{source: [shop]}}, Targets: [{{Id: t, Topic: {target}}}]}}
"""


@pytest.fixture(scope="module")
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    names = {"bus": unique_name("bus"), "target": unique_name("target")}
    topology = tmp_path_factory.mktemp("api-worker") / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    api_port = free_port()
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), args=("--api-port", str(api_port)),
                           env={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}).wait_ready()
    try:
        assert f"AWS endpoint on http://127.0.0.1:{api_port}" in worker.log()
        yield {**names, "url": f"http://127.0.0.1:{api_port}"}
    finally:
        worker.stop()


def test_events_put_archived_and_replayed_through_the_endpoint_reach_the_target(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    events = boto3.client("events", endpoint_url=world["url"], region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    bus, account = world["bus"], kafka.settings.account
    answer = events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": '{"n": "live"}', "EventBusName": bus},
                                        {"Source": "other", "DetailType": "Order", "Detail": "{}", "EventBusName": bus}])
    assert answer["FailedEntryCount"] == 0
    routed = json.loads(kafka.read(world["target"], 1, timeout=60)[0].value or b"")
    assert routed["id"] == answer["Entries"][0]["EventId"] and routed["detail"] == {"n": "live"}

    archive = unique_name("arch")
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn("us-east-1", account, bus))

    def archiving() -> bool:  # the running worker follows the archive definitions: probe until it archives
        events.put_events(Entries=[{"Source": "probe", "DetailType": "Probe", "Detail": "{}", "EventBusName": bus}])
        return bool(events.describe_archive(ArchiveName=archive)["EventCount"] >= 1)

    wait_until(archiving, timeout=60, interval=1.0, what="the worker archiving")
    before = events.describe_archive(ArchiveName=archive)["EventCount"]
    # Event times from a minute ahead: a replay finds its window by record time and allows events
    # archived out of time order by at most 15 minutes (archive.replay.LATE_GRACE_MS).
    t0 = int(time.time()) + 60
    for i in range(6):
        events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": i}), "EventBusName": bus,
                                    "Time": datetime.fromtimestamp(t0 + i * 60, tz=timezone.utc)}])
    wait_until(lambda: events.describe_archive(ArchiveName=archive)["EventCount"] >= before + 6, timeout=60, what="6 events archived")

    replay = unique_name("replay")
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn("us-east-1", account, archive),
                        EventStartTime=datetime.fromtimestamp(t0 + 2 * 60, tz=timezone.utc),
                        EventEndTime=datetime.fromtimestamp(t0 + 4 * 60, tz=timezone.utc),
                        Destination={"Arn": bus_arn("us-east-1", account, bus)})
    wait_until(lambda: events.describe_replay(ReplayName=replay)["State"] == "COMPLETED", timeout=60, what="replay COMPLETED")

    def replayed() -> list[int]:
        found = [json.loads(r.value or b"") for r in kafka.read_all(world["target"])]
        return sorted(e["detail"]["n"] for e in found if e.get("replay-name") == replay)

    assert wait_until(lambda: len(replayed()) >= 3 and replayed(), timeout=60, what="replayed events at the target") == [2, 3, 4]
    events.delete_archive(ArchiveName=archive)
    forget_replay(kafka, replay)


def forget_replay(kafka: KafkaCluster, name: str) -> None:
    """Leave ``replay list`` as it was: EventBridge has no call to delete a replay, so its record is tombstoned."""
    kafka.producer().send(REPLAYS_TOPIC, key=name.encode(), value=None).get(timeout=30)
