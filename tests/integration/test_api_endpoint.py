"""The AWS endpoint end to end with boto3 on the real broker: PutEvents, archives, replays.

boto3 is given only ``endpoint_url`` and credentials, as a user's EventBridge program is;
what it puts is read back from the bus topic, and what a replay re-publishes from the
bus's replay topic.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.exceptions
import pytest

from eventpipes.api import BackgroundEndpoint
from eventpipes.archive.replay import ReplayJob, ReplayRequest, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.arns import archive_arn, bus_arn, replay_arn
from eventpipes.events.envelope import Event, format_time
from eventpipes.kafka.topics import archive_topic, bus_topic, replay_topic
from eventpipes.kafka.topics import REPLAYS_TOPIC
from eventpipes.testing import KafkaCluster, unique_name, wait_until

T0 = int(datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc).timestamp())


@pytest.fixture(scope="module")
def endpoint(kafka: KafkaCluster) -> Iterator[str]:
    settings = kafka.settings.model_copy(update={"control_topic": unique_name("control")})  # buses of its own
    with BackgroundEndpoint(settings, keys={}) as url:
        yield url
    kafka.admin.delete_topics([settings.control_topic])


@pytest.fixture
def events(endpoint: str) -> Any:
    return boto3.client("events", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def entry(bus: str, i: int, **extra: Any) -> dict[str, Any]:
    return {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"i": i}), "EventBusName": bus, **extra}


def test_put_events_reach_the_bus_topic_with_per_entry_errors(kafka: KafkaCluster, events: Any) -> None:
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    answer = events.put_events(Entries=[entry(bus, 1), entry(bus, 2, Detail="not json"), entry(bus, 3, Source="aws.s3")])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["FailedEntryCount"] == 2
    good, malformed, reserved = answer["Entries"]
    assert malformed == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert reserved["ErrorCode"] == "NotAuthorizedForSourceException"
    records = kafka.read(bus_topic(bus), 1)
    event = json.loads(records[0].value or b"")
    assert event["id"] == good["EventId"] and event["detail"] == {"i": 1} and event["source"] == "shop"
    assert event["account"] == kafka.settings.account
    events.delete_event_bus(Name=bus)
    kafka.admin.delete_topics([bus_topic(bus)])


def test_put_events_over_the_size_limit_fails_the_request_as_aws(kafka: KafkaCluster, events: Any) -> None:
    bus = unique_name("bus")
    half = kafka.settings.max_entry_bytes // 2
    big = [entry(bus, i, Detail=json.dumps({"pad": "x" * half})) for i in range(2)]  # each fits, together they do not
    with pytest.raises(botocore.exceptions.ClientError) as error:
        events.put_events(Entries=big)
    assert error.value.response["Error"] == {"Code": "ValidationException",
                                             "Message": "Total size of the entries in the request is over the limit."}
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert bus_topic(bus) not in kafka.admin.topics()  # nothing was put


def test_archives_with_boto3(kafka: KafkaCluster, events: Any) -> None:
    bus, name = unique_name("bus"), unique_name("arch")
    source = bus_arn("us-east-1", kafka.settings.account, bus)
    created = events.create_archive(ArchiveName=name, EventSourceArn=source, EventPattern='{"source": ["shop"]}',
                                    Description="orders", RetentionDays=3)
    assert created["ArchiveArn"] == archive_arn("us-east-1", kafka.settings.account, name)
    assert created["State"] == "ENABLED" and abs(created["CreationTime"].timestamp() - time.time()) < 120
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException) as duplicate:
        events.create_archive(ArchiveName=name, EventSourceArn=source)
    assert duplicate.value.response["Error"]["Message"] == f"Archive {name} already exists."
    with pytest.raises(botocore.exceptions.ClientError) as bad_name:  # botocore checks no patterns: the endpoint does
        events.create_archive(ArchiveName="bad name!", EventSourceArn=source)
    assert bad_name.value.response["Error"]["Message"].endswith("Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.create_archive(ArchiveName=unique_name("arch"), EventSourceArn=source, EventPattern='{"source": "shop"}')
    described = events.describe_archive(ArchiveName=name)
    assert (described["EventSourceArn"], described["RetentionDays"], described["EventCount"]) == (source, 3, 0)
    assert json.loads(described["EventPattern"]) == {"source": ["shop"]}
    events.update_archive(ArchiveName=name, Description="all orders", RetentionDays=5)
    assert events.describe_archive(ArchiveName=name)["RetentionDays"] == 5
    listed = events.list_archives(NamePrefix=name)["Archives"]
    assert [a["ArchiveName"] for a in listed] == [name] and listed[0]["State"] == "ENABLED"
    events.delete_archive(ArchiveName=name)
    for call in (events.describe_archive, events.delete_archive):
        with pytest.raises(events.exceptions.ResourceNotFoundException) as missing:
            call(ArchiveName=name)
        assert missing.value.response["Error"]["Message"] == f"Archive {name} does not exist."


def test_list_archives_pages_with_next_token(kafka: KafkaCluster, events: Any) -> None:
    bus, prefix = unique_name("bus"), unique_name("page")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        events.create_archive(ArchiveName=name, EventSourceArn=bus_arn("us-east-1", kafka.settings.account, bus))
    first = events.list_archives(NamePrefix=prefix, Limit=2)
    second = events.list_archives(NamePrefix=prefix, Limit=2, NextToken=first["NextToken"])
    assert [a["ArchiveName"] for a in first["Archives"] + second["Archives"]] == names
    assert "NextToken" not in second
    paged, token = [], None
    while True:
        page = events.list_archives(NamePrefix=prefix, Limit=1, **({"NextToken": token} if token else {}))
        paged += [a["ArchiveName"] for a in page["Archives"]]
        if "NextToken" not in page:
            break
        token = page["NextToken"]
    assert paged == names
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        events.list_archives(NamePrefix=prefix, NextToken="not a token")
    assert bad.value.response["Error"]["Code"] == "ValidationException"
    for name in names:
        events.delete_archive(ArchiveName=name)


def test_replay_a_window_with_boto3(kafka: KafkaCluster, events: Any) -> None:
    bus, other, name = unique_name("bus"), unique_name("bus"), unique_name("arch")
    account = kafka.settings.account
    events.create_archive(ArchiveName=name, EventSourceArn=bus_arn("us-east-1", account, bus))
    # What the worker's archiver writes: each event with its time as the record's timestamp.
    producer = kafka.producer()
    for i in range(20):
        event = Event(source="shop", detail_type="Order", detail={"i": i}, account=account, region="us-east-1",
                      time=format_time(datetime.fromtimestamp(T0 + i * 60, tz=timezone.utc)))
        producer.send(archive_topic(name), key=event.id.encode(), value=event.to_json(), timestamp_ms=(T0 + i * 60) * 1000)
    producer.flush()
    source = archive_arn("us-east-1", account, name)
    replay = unique_name("replay")
    window = {"EventStartTime": datetime.fromtimestamp(T0 + 5 * 60, tz=timezone.utc),
              "EventEndTime": datetime.fromtimestamp(T0 + 9 * 60, tz=timezone.utc)}

    # AWS's error precedence and messages.
    def error_of(**request: Any) -> dict[str, str]:
        with pytest.raises(botocore.exceptions.ClientError) as error:
            events.start_replay(**{"ReplayName": unique_name("replay"), "EventSourceArn": source, **window,
                                   "Destination": {"Arn": bus_arn("us-east-1", account, bus)}, **request})
        return dict(error.value.response["Error"])

    missing = archive_arn("us-east-1", account, "no-such-archive")
    assert error_of(EventSourceArn=missing) == {
        "Code": "ValidationException", "Message": "Parameter EventSourceArn is not valid. Reason: Archive no-such-archive does not exist."}
    assert error_of(Destination={"Arn": bus_arn("us-east-1", account, other)}) == {
        "Code": "ValidationException", "Message": "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."}
    assert error_of(EventEndTime=window["EventStartTime"]) == {
        "Code": "ValidationException", "Message": "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."}

    started = events.start_replay(ReplayName=replay, EventSourceArn=source, Destination={"Arn": bus_arn("us-east-1", account, bus)},
                                  **window)
    assert started["State"] == "STARTING" and started["ReplayArn"].endswith(f":replay/{replay}")
    done = wait_until(lambda: (d := events.describe_replay(ReplayName=replay))["State"] == "COMPLETED" and d, timeout=60,
                      what="replay COMPLETED")
    assert done["EventSourceArn"] == source and done["EventStartTime"] == window["EventStartTime"]
    replayed = [json.loads(r.value or b"") for r in kafka.read_all(replay_topic(bus))]
    assert sorted(e["detail"]["i"] for e in replayed if e.get("replay-name") == replay) == [5, 6, 7, 8, 9]
    assert [r["ReplayName"] for r in events.list_replays(NamePrefix=replay)["Replays"]] == [replay]

    # Names are unique across archives: a second archive cannot reuse the replay's name.
    second = unique_name("arch")
    events.create_archive(ArchiveName=second, EventSourceArn=bus_arn("us-east-1", account, bus))
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException) as duplicate:
        events.start_replay(ReplayName=replay, EventSourceArn=archive_arn("us-east-1", account, second),
                            Destination={"Arn": bus_arn("us-east-1", account, bus)}, **window)
    assert duplicate.value.response["Error"]["Message"] == f"Replay {replay} already exists."
    with pytest.raises(events.exceptions.IllegalStatusException):
        events.cancel_replay(ReplayName=replay)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_replay(ReplayName=unique_name("replay"))
    for archive in (name, second):
        events.delete_archive(ArchiveName=archive)
    forget_replay(kafka, replay)


def test_cancel_replay_and_the_states_describe_replay_reports(kafka: KafkaCluster, events: Any) -> None:
    """A replay running elsewhere (a paced job, as `eventpipes replay start --rate-limit` runs it) cancelled with boto3."""
    bus, name, replay = unique_name("bus"), unique_name("arch"), unique_name("replay")
    account = kafka.settings.account
    events.create_archive(ArchiveName=name, EventSourceArn=bus_arn("us-east-1", account, bus))
    producer = kafka.producer()
    for i in range(40):
        event = Event(source="shop", detail_type="Order", detail={"i": i}, account=account, region="us-east-1",
                      time=format_time(datetime.fromtimestamp(T0 + i, tz=timezone.utc)))
        producer.send(archive_topic(name), key=event.id.encode(), value=event.to_json(), timestamp_ms=(T0 + i) * 1000)
    producer.flush()
    with ArchiveStore(kafka.settings) as store:  # 40 events at 4 a second: ten seconds unless cancelled
        started = start_replay(store, ReplayRequest(name=replay, archive=name, start_ms=T0 * 1000, end_ms=(T0 + 60) * 1000,
                                                    rate_limit=4))
    assert events.describe_replay(ReplayName=replay)["State"] == "STARTING"

    def job() -> None:
        with ArchiveStore(kafka.settings) as store:
            ReplayJob(store, started).run()

    runner = threading.Thread(target=job, daemon=True)
    runner.start()
    wait_until(lambda: events.describe_replay(ReplayName=replay)["State"] == "RUNNING", timeout=30, what="replay RUNNING")
    cancelling = events.cancel_replay(ReplayName=replay)
    assert (cancelling["State"], cancelling["ReplayArn"]) == ("CANCELLING", replay_arn("us-east-1", account, replay))
    with pytest.raises(events.exceptions.IllegalStatusException):  # a cancel already asked for
        events.cancel_replay(ReplayName=replay)
    done = wait_until(lambda: (d := events.describe_replay(ReplayName=replay))["State"] == "CANCELLED" and d, timeout=30,
                      what="replay CANCELLED")
    assert done["ReplayEndTime"] >= done["ReplayStartTime"]
    runner.join(timeout=30)
    assert [r["State"] for r in events.list_replays(NamePrefix=replay, State="CANCELLED")["Replays"]] == ["CANCELLED"]
    assert events.list_replays(NamePrefix=replay, State="COMPLETED")["Replays"] == []
    with pytest.raises(events.exceptions.IllegalStatusException):
        events.cancel_replay(ReplayName=replay)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.cancel_replay(ReplayName=unique_name("replay"))
    events.delete_archive(ArchiveName=name)
    forget_replay(kafka, replay)


def forget_replay(kafka: KafkaCluster, name: str) -> None:
    """Leave ``replay list`` as it was: EventBridge has no call to delete a replay, so its record is tombstoned."""
    kafka.producer().send(REPLAYS_TOPIC, key=name.encode(), value=None).get(timeout=30)
