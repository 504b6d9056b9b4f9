"""Source shapes: Kafka records as EventBridge gives them, DynamoDB Streams records, Debezium changes."""

from __future__ import annotations

import base64
import json

import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from eventpipes.pipes.batching import Batcher, BatchingPolicy
from eventpipes.pipes.events import PipeTemplate, RecordFilter, reserved_values, PipeArns, to_pipe_record
from eventpipes.pipes.sources import InvalidSourceRecord
from eventpipes.pipes.sources.debezium import attribute_value, debezium_event
from eventpipes.pipes.sources.dynamodb import dynamodb_event
from eventpipes.targets.base import to_bytes
from eventpipes.pipes.model import MAX_BATCH_PAYLOAD_BYTES
from eventpipes.pipes.record import BATCH_ITEMS_MAX_BYTES, PipeRecord, payload_size
from eventpipes.pipes.sources import kafka as kafka_source
from eventpipes.pipes.sources.kafka import KafkaShaper, kafka_event
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


headers_st = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=12))), max_size=3)


@settings(deadline=None)  # max_examples from the Hypothesis profile (tests/conftest.py): 300 in CI, 30 everyday
@given(key=st.one_of(st.none(), st.binary(max_size=40)), value=st.one_of(st.none(), st.binary(max_size=300)),
       headers=headers_st, offset=st.integers(0, 2**63 - 1), timestamp=st.integers(-1, 2**45),
       timestamp_type=st.sampled_from([0, 1]), partition=st.integers(0, 999),
       bootstrap=st.sampled_from(["b:9092", "kafka-1:9092,kafka-2:9092", "brøker:9092", 'a"b\\c:1']))
def test_kafka_record_size_is_its_exact_payload_size(key: bytes | None, value: bytes | None,
                                                     headers: list[tuple[str, bytes | None]], offset: int,
                                                     timestamp: int, timestamp_type: int, partition: int,
                                                     bootstrap: str) -> None:
    message = ConsumerRecord("orders.v1_x-y", partition, offset, timestamp, timestamp_type, key, value, None, 0, 0,
                             tuple(headers))
    item = KafkaShaper("orders.v1_x-y", partition, bootstrap_servers=bootstrap).shape([message])[0]
    assert item.size == payload_size(item.event)
    assert item.event == {
        "eventSource": "SelfManagedKafka", "bootstrapServers": bootstrap, "eventSourceKey": f"orders.v1_x-y-{partition}",
        "eventID": f"orders.v1_x-y-{partition}:{offset}", "topic": "orders.v1_x-y", "partition": partition,
        "offset": offset, "timestamp": timestamp, "timestampType": ["CREATE_TIME", "LOG_APPEND_TIME"][timestamp_type],
        **({"key": base64.b64encode(key).decode()} if key is not None else {}),
        **({"value": base64.b64encode(value).decode()} if value is not None else {}),
        "headers": [{name: list(data or b"")} for name, data in headers],
    }
    assert (item.offset, item.key, item.value, item.event_id) == (offset, key, value, item.event["eventID"])


def test_batches_fill_the_6_mb_json_payload_as_far_as_the_next_record_allows() -> None:
    shaper = KafkaShaper("big", 0, bootstrap_servers="b:9092")
    # ~1 MB values of varying length, so batches end at different distances from the limit
    messages = [ConsumerRecord("big", 0, n, 1700000000000, 0, b"k", b"x" * (1_000_000 + 9_973 * n), None, 0, 0, ())
                for n in range(40)]
    items = shaper.shape(messages)
    batcher: Batcher[PipeRecord] = Batcher(BatchingPolicy(10000, 0, BATCH_ITEMS_MAX_BYTES), lambda: 0.0,
                                           size=lambda r: r.size)
    batcher.add_many(items)
    taken = 0
    while len(batcher):
        batch = batcher.flush()
        assert batch == items[taken:taken + len(batch)]
        taken += len(batch)
        assert len(to_bytes([item.event for item in batch])) <= MAX_BATCH_PAYLOAD_BYTES
        if taken < len(items):  # the next record would not have fitted
            assert len(to_bytes([item.event for item in [*batch, items[taken]]])) > MAX_BATCH_PAYLOAD_BYTES
    assert taken == len(items)


def test_records_the_shaper_is_told_to_convert_are_shaped_as_converted() -> None:
    def convert(record: Record) -> Record:
        return Record(record.topic, record.partition, record.offset, record.timestamp_ms, record.key,
                      b'{"as": "json"}', (("content-type", b"application/json"),))

    shaper = KafkaShaper("bus", 0, bootstrap_servers="b", convert=convert,
                         needs_conversion=lambda headers: ("content-type", b"avro") in headers)
    avro = ConsumerRecord("bus", 0, 7, 1, 0, None, b"\x00\x00\x00\x00\x01avro", None, 0, 0, (("content-type", b"avro"),))
    plain = ConsumerRecord("bus", 0, 8, 1, 0, None, b"{}", None, 0, 0, (("content-type", b"other"),))
    converted, untouched = shaper.shape([avro, plain])
    assert base64.b64decode(converted.event["value"]) == b'{"as": "json"}' and converted.value == b'{"as": "json"}'
    assert converted.event["headers"] == [{"content-type": list(b"application/json")}]
    assert converted.size == payload_size(converted.event)
    assert untouched.value == b"{}" and untouched.event["headers"] == [{"content-type": list(b"other")}]


message_st = st.builds(
    lambda offset, timestamp, timestamp_type, key, value, headers: (offset, timestamp, timestamp_type, key, value, headers),
    st.integers(0, 2**63 - 1), st.one_of(st.integers(-2**63, 2**45), st.integers(2**63, 2**70)), st.sampled_from([0, 1, 7]),
    st.one_of(st.none(), st.binary(max_size=40), st.binary(max_size=40).map(bytearray)),
    st.one_of(st.none(), st.binary(max_size=300)), st.one_of(st.just(()), headers_st.map(tuple)))


@settings(max_examples=300, deadline=None)
@given(fields=st.lists(message_st, max_size=20), partition=st.integers(0, 999),
       bootstrap=st.sampled_from(["b:9092", "brøker:9092", 'a"b\\c:1']))
def test_the_c_shaping_loop_gives_what_the_python_loop_gives(fields: list[tuple[int, int, int, bytes | None, bytes | None,
                                                                                   tuple[tuple[str, bytes | None], ...]]],
                                                             partition: int, bootstrap: str) -> None:
    assert kafka_source._c_shape is not None, "the C extension was not built (setup.py)"
    messages = [ConsumerRecord("orders.v1_x-y", partition, offset, timestamp, timestamp_type, key, value, None, 0, 0, headers)
                for offset, timestamp, timestamp_type, key, value, headers in fields]
    shaper = KafkaShaper("orders.v1_x-y", partition, bootstrap_servers=bootstrap)
    in_c, in_python = shaper._shape_c(messages), shaper._shape(messages)
    assert in_c == in_python
    assert [list(item.event.items()) for item in in_c] == [list(item.event.items()) for item in in_python]  # key order too
    assert all(type(item) is PipeRecord for item in in_c)
