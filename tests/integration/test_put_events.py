"""PutEvents against the real broker: what lands on the bus topic, and what does not."""

from __future__ import annotations

import json
import socket
import time

import pytest

from eventpipes.bus.put_events import EventBusClient
from eventpipes.errors import ValidationException
from eventpipes.events import Event
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES, bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, unique_name


def order(n: int, **extra: object) -> dict[str, object]:
    return {"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"orderId": n}), **extra}


@pytest.fixture
def client(settings: Settings) -> EventBusClient:
    with EventBusClient(settings) as bus_client:
        yield bus_client  # type: ignore[misc]


def test_put_events_land_on_the_bus_topic_as_envelopes(kafka: KafkaCluster, client: EventBusClient, created_bus: str) -> None:
    result = client.put_events([order(1, Resources=["arn:aws:x:1"]), order(2), order(3)], bus=created_bus)

    assert result.failed_entry_count == 0
    ids = [entry.event_id for entry in result.entries]
    records = kafka.read(bus_topic(created_bus), 3)
    events = {Event.from_json(r.value or b"").id: (r, Event.from_json(r.value or b"")) for r in records}
    assert sorted(events) == sorted(ids)
    record, first = events[ids[0]]
    assert (first.source, first.detail_type, first.detail, first.resources) == ("com.example.orders", "OrderPlaced", {"orderId": 1}, ("arn:aws:x:1",))
    assert (first.account, first.region) == (kafka.settings.account, kafka.settings.region)
    assert record.key == ids[0].encode()
    assert ("content-type", b"application/json") in record.headers


def test_bad_entries_fail_alone_and_good_ones_in_the_same_call_are_put(kafka: KafkaCluster, client: EventBusClient, created_bus: str) -> None:
    entries = [order(1), {"Source": "s", "DetailType": "d", "Detail": "{not json"}, {"Source": "s", "Detail": "{}"}, order(4)]

    result = client.put_events(entries, bus=created_bus).to_dict()

    assert result["FailedEntryCount"] == 2
    assert [sorted(e) for e in result["Entries"]] == [["EventId"], ["ErrorCode", "ErrorMessage"], ["ErrorCode", "ErrorMessage"], ["EventId"]]
    assert result["Entries"][1]["ErrorCode"] == "MalformedDetail"
    assert result["Entries"][2] == {"ErrorCode": "InvalidArgument", "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
    on_bus = [Event.from_json(r.value or b"").detail for r in kafka.read_all(bus_topic(created_bus))]
    assert sorted(d["orderId"] for d in on_bus) == [1, 4]


def test_entry_event_created_bus_routes_to_that_bus(kafka: KafkaCluster, client: EventBusClient, created_bus: str) -> None:
    other = kafka.create_bus()
    result = client.put_events([order(1), order(2, EventBusName=other)], bus=created_bus)

    assert result.failed_entry_count == 0
    assert [Event.from_json(r.value or b"").detail["orderId"] for r in kafka.read_all(bus_topic(other))] == [2]
    assert [Event.from_json(r.value or b"").detail["orderId"] for r in kafka.read_all(bus_topic(created_bus))] == [1]


def test_a_bus_topic_is_never_created_on_demand(kafka: KafkaCluster, client: EventBusClient, bus_name: str) -> None:
    result = client.put_events([order(1)], bus=bus_name).to_dict()
    assert result["Entries"] == [{"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {bus_name} does not exist."}]
    assert not kafka.admin.topic_exists(bus_topic(bus_name))


def test_a_one_megabyte_entry_is_put_when_the_limit_allows_it(kafka: KafkaCluster, created_bus: str) -> None:
    settings = kafka.settings.model_copy(update={"max_entry_bytes": 1024 * 1024})
    padding = "x" * (1024 * 1024 - 200)
    with EventBusClient(settings) as client:
        result = client.put_events([order(1, Detail=json.dumps({"pad": padding}))], bus=created_bus)
    assert result.failed_entry_count == 0
    [record] = kafka.read(bus_topic(created_bus), 1)
    assert Event.from_json(record.value or b"").detail["pad"] == padding
    assert len(record.value or b"") < BUS_MAX_MESSAGE_BYTES


def test_an_oversize_entry_fails_alone_under_the_default_limit(kafka: KafkaCluster, client: EventBusClient, created_bus: str) -> None:
    big = order(1, Detail=json.dumps({"pad": "x" * (256 * 1024)}))

    result = client.put_events([big, order(2)], bus=created_bus).to_dict()

    assert result["FailedEntryCount"] == 1
    assert result["Entries"][0]["ErrorCode"] == "InvalidArgument"
    assert "over the limit" in result["Entries"][0]["ErrorMessage"]
    assert [Event.from_json(r.value or b"").detail["orderId"] for r in kafka.read_all(bus_topic(created_bus))] == [2]


def test_more_than_ten_entries_is_rejected_whole_and_nothing_is_put(kafka: KafkaCluster, client: EventBusClient, bus_name: str) -> None:
    with pytest.raises(ValidationException, match="less than or equal to 10"):
        client.put_events([order(n) for n in range(11)], bus=bus_name)
    assert not kafka.admin.topic_exists(bus_topic(bus_name))


def test_an_unreachable_broker_is_a_typed_error_and_puts_nothing() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", EVENTPIPES_KAFKA_TIMEOUT=2)
    began = time.monotonic()
    with EventBusClient(settings) as client, pytest.raises(BrokerUnavailable) as caught:
        client.put_events([order(1)])
    assert caught.value.retryable
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert time.monotonic() - began < 20
