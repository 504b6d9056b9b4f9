"""A bus exists only once created: PutEvents, the AWS endpoint, the CLI and pipes refuse a bus that does not.

EventBridge accepts an event for a bus that does not exist and drops it; eventpipes fails the
entry (``ResourceNotFoundException``) and never creates a topic for it (docs/differences.md).
Each test checks the topic of the missing bus is still absent afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from eventpipes.api import BackgroundEndpoint
from eventpipes.bus.put_events import AsyncPutEvents, EventBusClient
from eventpipes.control import ControlPlane
from eventpipes.kafka.consumer import _consumer as reader_consumer
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, unique_name, wait_until

NOT_FOUND = "ResourceNotFoundException"


def entry(n: int, **extra: Any) -> dict[str, Any]:
    return {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"n": n}), **extra}


def missing_message(bus: str) -> str:
    return f"Event bus {bus} does not exist."


@pytest.fixture
def store_settings(kafka: KafkaCluster) -> Iterator[Settings]:
    """Settings with a control topic of this test's own (deleted at the end with the run's topics)."""
    yield kafka.settings.model_copy(update={"control_topic": unique_name("control")})


def test_an_entry_for_a_missing_bus_fails_alone_and_creates_no_topic(kafka: KafkaCluster) -> None:
    missing, existing = unique_name("bus"), kafka.create_bus()
    with EventBusClient(kafka.settings) as client:
        result = client.put_events([entry(1, EventBusName=missing), entry(2)], bus=existing).to_dict()
    assert result["FailedEntryCount"] == 1
    assert result["Entries"][0] == {"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(missing)}
    assert set(result["Entries"][1]) == {"EventId"}
    assert [json.loads(r.value or b"")["detail"] for r in kafka.read_all(bus_topic(existing))] == [{"n": 2}]
    assert bus_topic(missing) not in kafka.admin.topics()


def test_the_default_bus_always_exists(kafka: KafkaCluster) -> None:
    with EventBusClient(kafka.settings) as client:
        assert client.put_events([entry(1)]).failed_entry_count == 0


def test_a_bus_created_after_a_failed_put_is_accepted_by_the_same_client(kafka: KafkaCluster) -> None:
    bus = unique_name("bus")
    with EventBusClient(kafka.settings) as client:
        assert client.put_events([entry(1)], bus=bus).entries[0].error_code == NOT_FOUND
        kafka.create_bus(bus)
        result = client.put_events([entry(2)], bus=bus)  # the missing answer was not kept
    assert result.failed_entry_count == 0
    assert [json.loads(r.value or b"")["detail"] for r in kafka.read_all(bus_topic(bus))] == [{"n": 2}]


def test_a_deleted_bus_refuses_entries_and_loses_its_topic(kafka: KafkaCluster, store_settings: Settings) -> None:
    bus = unique_name("bus")
    # A short call budget: an entry sent in the moment before this client re-checks the bus
    # waits out the call (InternalFailure); waiting for the refusal then takes seconds, not tens.
    quick = kafka.settings.model_copy(update={"kafka_timeout_seconds": 2.0})
    with ControlPlane(store_settings) as plane, EventBusClient(quick) as client:
        plane.invoke("CreateEventBus", {"Name": bus})
        assert client.put_events([entry(1)], bus=bus).failed_entry_count == 0
        plane.invoke("DeleteEventBus", {"Name": bus})
        assert bus_topic(bus) not in kafka.admin.topics()  # gone when DeleteEventBus answers
        with EventBusClient(kafka.settings) as fresh:
            assert fresh.put_events([entry(2)], bus=bus).to_dict()["Entries"] == [
                {"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(bus)}]
        # The client that saw the bus exist stops believing it within a second.
        wait_until(lambda: client.put_events([entry(3)], bus=bus).entries[0].error_code == NOT_FOUND,
                   timeout=20, what="the deleted bus refused by the client that had seen it")
        assert bus_topic(bus) not in kafka.admin.topics()  # nothing re-created it


def test_delete_event_bus_of_a_bus_only_a_file_declares_keeps_its_topic(kafka: KafkaCluster, store_settings: Settings) -> None:
    bus = kafka.create_bus()  # as `eventpipes run FILE` makes the topics of the buses a file declares
    with ControlPlane(store_settings) as plane:
        assert plane.invoke("DeleteEventBus", {"Name": bus}) == {}  # not in the store: nothing to delete, as in EventBridge
    assert bus_topic(bus) in kafka.admin.topics()


def test_producers_and_readers_never_ask_the_broker_to_create_a_topic(kafka: KafkaCluster) -> None:
    # The shared broker runs with auto.create.topics.enable=false, so this is checked on the
    # request the clients would send: on a broker that auto-creates, a metadata request naming
    # a topic with allow_auto_topic_creation=true creates it. kafka-python 3.0 took the setting
    # and still asked (eventpipes.kafka.autocreate).
    producer, reader = make_producer(kafka.client), reader_consumer(kafka.client)
    try:
        producer._metadata.add_topic(bus_topic(unique_name("bus")))
        assert producer._metadata.metadata_request().allow_auto_topic_creation is False
        assert reader._cluster.metadata_request().allow_auto_topic_creation is False
    finally:
        producer.close(timeout=5)
        reader.close()


def test_a_pipe_bus_target_gets_the_refusal_per_entry(kafka: KafkaCluster) -> None:
    missing, existing = unique_name("bus"), kafka.create_bus()
    put = AsyncPutEvents(kafka.settings)
    try:
        assert asyncio.run(put([entry(1)], missing)) == [f"{NOT_FOUND}: {missing_message(missing)}"]
        assert asyncio.run(put([entry(2)], existing)) == [None]
    finally:
        put.close()
    assert bus_topic(missing) not in kafka.admin.topics()


def test_the_aws_endpoint_answers_200_with_the_entry_refused(kafka: KafkaCluster, store_settings: Settings) -> None:
    missing, created = unique_name("bus"), unique_name("bus")
    quick = store_settings.model_copy(update={"kafka_timeout_seconds": 3.0})  # as in the deleted-bus test above
    with BackgroundEndpoint(quick, keys={}) as url:
        events = boto3.client("events", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        answer = events.put_events(Entries=[entry(1, EventBusName=missing), entry(2, EventBusName=created)])
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert answer["FailedEntryCount"] == 2
        assert answer["Entries"] == [{"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(missing)},
                                     {"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(created)}]
        events.create_event_bus(Name=created)
        again = events.put_events(Entries=[entry(3, EventBusName=created)])
        assert again["FailedEntryCount"] == 0
        events.delete_event_bus(Name=created)

        def refused() -> Any:
            entries = events.put_events(Entries=[entry(4, EventBusName=created)])["Entries"]
            return entries if entries[0].get("ErrorCode") == NOT_FOUND else None

        gone = wait_until(refused, timeout=30, what="the deleted bus refused through the endpoint")
        assert gone == [{"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(created)}]
    assert bus_topic(missing) not in kafka.admin.topics()
    assert bus_topic(created) not in kafka.admin.topics()


def cli(kafka: KafkaCluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eventpipes", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **kafka.env()}, stdin=subprocess.DEVNULL)


def test_the_cli_refuses_a_missing_bus(kafka: KafkaCluster) -> None:
    missing = unique_name("bus")
    put = cli(kafka, "put-events", "--bus", missing, "--entries", json.dumps([entry(1)]))
    assert put.returncode == 0, put.stderr  # a per-entry failure, as the AWS CLI prints it
    assert json.loads(put.stdout) == {"FailedEntryCount": 1, "Entries": [{"ErrorCode": NOT_FOUND, "ErrorMessage": missing_message(missing)}]}
    tail = cli(kafka, "tail", "--bus", missing, "--timeout", "1")
    assert tail.returncode == 2
    assert tail.stderr.strip() == f"{NOT_FOUND}: {missing_message(missing)}"
    assert bus_topic(missing) not in kafka.admin.topics()
