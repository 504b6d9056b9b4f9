"""PutEvents with details at and past EventBridge's documented depth, on the real broker (issue 15)."""

from __future__ import annotations

import json

from eventpipes.bus.put_events import EventBusClient
from eventpipes.events import Event
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster


def entry(detail: str) -> dict[str, str]:
    return {"Source": "com.example.deep", "DetailType": "Deep", "Detail": detail}


def nested(depth: int) -> str:
    return '{"a":' * depth + '"leaf"' + "}" * depth


def test_a_1100_deep_detail_is_put_among_good_entries_and_a_deeper_one_fails_alone(
        kafka: KafkaCluster, settings: Settings, created_bus: str) -> None:
    entries = [entry(json.dumps({"n": 1})), entry(nested(1100)), entry(nested(1101)),
               entry('{"bad": "\\ud800"}'), entry(json.dumps({"n": 5}))]

    with EventBusClient(settings) as client:
        result = client.put_events(entries, bus=created_bus).to_dict()

    assert result["FailedEntryCount"] == 2
    assert result["Entries"][2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert result["Entries"][3] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    put = {result["Entries"][i]["EventId"]: i for i in (0, 1, 4)}
    records = kafka.read(bus_topic(created_bus), 3)
    on_bus = {record.key.decode(): record.value for record in records if record.key and record.value}
    assert sorted(on_bus) == sorted(put)
    events = {put[event_id]: Event.from_json(value) for event_id, value in on_bus.items()}
    assert (events[0].detail, events[4].detail) == ({"n": 1}, {"n": 5})
    # the deep detail as put, byte for byte (comparing 1,100-deep dicts would itself recurse)
    assert events[1].to_json().endswith(b'"detail":' + nested(1100).encode() + b"}")
