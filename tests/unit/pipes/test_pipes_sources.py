"""Source shapes: Kafka records as EventBridge gives them, DynamoDB Streams records, Debezium changes."""

from __future__ import annotations

import base64
import json

import pytest

from eventpipes.pipes.events import PipeTemplate, RecordFilter, reserved_values, PipeArns, to_pipe_record
from eventpipes.pipes.sources import InvalidSourceRecord
from eventpipes.pipes.sources.debezium import attribute_value, debezium_event
from eventpipes.pipes.sources.dynamodb import dynamodb_event
from eventpipes.pipes.sources.kafka import kafka_event
from eventpipes.records import Record
from eventpipes.topology import load_text


def record(value: bytes | None, key: bytes | None = b"k1", offset: int = 15) -> Record:
    return Record("mytopic", 0, offset, 1545084650987, key, value, (("h", b"hv"),))


def test_kafka_shape() -> None:
    event = kafka_event(record(b'{"a": 1}'), bootstrap_servers="b:9092")
    assert event == {
        "eventSource": "SelfManagedKafka", "bootstrapServers": "b:9092", "eventSourceKey": "mytopic-0",
        "eventID": "mytopic-0:15", "topic": "mytopic", "partition": 0, "offset": 15, "timestamp": 1545084650987,
        "timestampType": "CREATE_TIME", "key": base64.b64encode(b"k1").decode(),
        "value": base64.b64encode(b'{"a": 1}').decode(), "headers": [{"h": list(b"hv")}],
    }
    assert "key" not in kafka_event(record(b"x", key=None), bootstrap_servers="b")


@pytest.mark.parametrize(("value", "pattern", "passes"), [
    (b'{"status": "paid"}', {"value": {"status": ["paid"]}}, True),
    (b'{"status": "new"}', {"value": {"status": ["paid"]}}, False),
    (b"plain error text", {"value": [{"prefix": "plain"}]}, True),
    (b"plain error text", {"value": {"status": ["paid"]}}, False),  # JSON pattern, text payload: dropped
    (b'{"status": "paid"}', {"value": [{"prefix": "{"}]}, False),  # text pattern, JSON payload: dropped
    (b"\xff\xfe", {"value": [{"exists": True}]}, False),  # not UTF-8: matches no value pattern
    (b"\xff\xfe", {"partition": [0]}, True),  # metadata still filterable
])
def test_filters_see_the_decoded_value(value: bytes, pattern: dict[str, object], passes: bool) -> None:
    event = kafka_event(record(value), bootstrap_servers="b")
    assert RecordFilter((json.dumps(pattern),)).passes(event) is passes


def test_any_of_several_patterns_passes() -> None:
    event = kafka_event(record(b'{"n": 2}'), bootstrap_servers="b")
    assert RecordFilter(('{"value": {"n": [1]}}', '{"value": {"n": [2]}}')).passes(event)
    assert RecordFilter(()).passes(event)


def test_template_paths_reach_into_the_value_and_reserved_names_fill() -> None:
    pipe = load_text("Pipes: [{Name: p, Source: mytopic, Target: 'topic:o'}]").pipes[0]
    item = to_pipe_record(record(b'{"order": {"id": "o-1"}}'), pipe, bootstrap_servers="b", region="eu-west-1", account="1" * 12)
    template = PipeTemplate('{"id": <$.value.order.id>, "pipe": <aws.pipes.pipe-name>, "arn": <aws.pipes.pipe-arn>, '
                            '"t": <aws.pipes.event.ingestion-time>, "raw": <aws.pipes.event.json>}')
    rendered = json.loads(template.render(item.event, reserved_values(pipe, PipeArns.of(pipe, region="eu-west-1", account="1" * 12), item)))
    assert rendered["id"] == "o-1" and rendered["pipe"] == "p"
    assert rendered["arn"] == "arn:aws:pipes:eu-west-1:111111111111:pipe/p"
    assert rendered["t"] == "2018-12-17T22:10:50.987Z"
    assert rendered["raw"]["value"] == {"order": {"id": "o-1"}}


DYNAMO = {"eventID": "e1", "eventName": "MODIFY", "dynamodb": {
    "Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "new"}}, "OldImage": {"Message": {"S": "old"}},
    "SequenceNumber": "222", "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def test_dynamodb_records_keep_their_shape() -> None:
    event = dynamodb_event(record(json.dumps(DYNAMO).encode()), region="us-east-1", account="0" * 12)
    assert event["eventID"] == "e1" and event["eventName"] == "MODIFY" and event["eventSource"] == "aws:dynamodb"
    assert event["dynamodb"] == DYNAMO["dynamodb"]
    with pytest.raises(InvalidSourceRecord):
        dynamodb_event(record(b'{"eventName": "MODIFY"}'), region="r", account="a")
    with pytest.raises(InvalidSourceRecord):
        dynamodb_event(record(b"not json"), region="r", account="a")


@pytest.mark.parametrize(("op", "name"), [("c", "INSERT"), ("r", "INSERT"), ("u", "MODIFY"), ("d", "REMOVE")])
def test_debezium_changes_become_stream_records(op: str, name: str) -> None:
    before = None if op in "cr" else {"id": 7, "total": 10.5, "tags": ["a"], "paid": False}
    after = None if op == "d" else {"id": 7, "total": 12, "tags": ["a", "b"], "paid": True, "note": None}
    value = json.dumps({"schema": {}, "payload": {"op": op, "before": before, "after": after, "ts_ms": 1700000000000,
                                                  "source": {"table": "orders"}}}).encode()
    event = debezium_event(record(value, key=b'{"id": 7}', offset=42), view_type="NEW_AND_OLD_IMAGES", region="us-east-1", account="0" * 12)
    assert event is not None
    assert event["eventName"] == name and event["eventID"] == "mytopic-0:42"
    body = event["dynamodb"]
    assert body["Keys"] == {"id": {"N": "7"}}
    assert body["SequenceNumber"] == "000000000000000000042" and body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert body["ApproximateCreationDateTime"] == 1700000000
    assert ("NewImage" in body) is (after is not None) and ("OldImage" in body) is (before is not None)
    if after:
        assert body["NewImage"]["tags"] == {"L": [{"S": "a"}, {"S": "b"}]} and body["NewImage"]["note"] == {"NULL": True}
    assert event["eventSourceARN"].endswith(":table/orders/stream/mytopic")


def test_debezium_tombstones_are_no_event_and_view_types_apply() -> None:
    assert debezium_event(record(None), view_type="KEYS_ONLY", region="r", account="a") is None
    value = json.dumps({"op": "u", "before": {"id": 1}, "after": {"id": 1}}).encode()
    keys_only = debezium_event(record(value, key=b'{"id": 1}'), view_type="KEYS_ONLY", region="r", account="a")
    assert keys_only is not None and set(keys_only["dynamodb"]) >= {"Keys"} and "NewImage" not in keys_only["dynamodb"]
    assert attribute_value({"m": {"x": 1}}) == {"M": {"m": {"M": {"x": {"N": "1"}}}}}
