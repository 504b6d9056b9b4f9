"""The table of source kinds: one row per kind the model names, each keeping the SourceShape contract."""

from __future__ import annotations

import base64
import json
import typing

import pytest
from aiokafka.structs import ConsumerRecord

from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import payload_size
from eventpipes.pipes.sources.kinds import SOURCE_KINDS, event_source, source_shape, view_of
from eventpipes.pipes.sources.shape import Conversion, SourceContext
from eventpipes.records import Record
from eventpipes.topology import load_text

WHERE = SourceContext("b:9092", "eu-west-1", "1" * 12)
DYNAMO = {"eventName": "INSERT", "dynamodb": {"Keys": {"Id": {"N": "1"}}}}
DEBEZIUM = {"op": "c", "after": {"id": 1}}
VALUES = {"kafka": b'{"n": 1}', "dynamodb": json.dumps(DYNAMO).encode(), "debezium": json.dumps(DEBEZIUM).encode()}


def pipe_of(kind: str) -> Pipe:
    params = {"kafka": "SelfManagedKafkaParameters: {}", "dynamodb": "DynamoDBStreamParameters: {}",
              "debezium": "DynamoDBStreamParameters: {ChangeEventFormat: DEBEZIUM}"}[kind]
    return load_text(f"Pipes: [{{Name: p, Source: src, SourceParameters: {{{params}}}, Target: 'topic:o'}}]").pipes[0]


def test_the_table_has_a_row_for_every_kind_the_model_names() -> None:
    kinds = typing.get_args(typing.get_type_hints(Pipe.__dict__["source_kind"].fget)["return"])
    assert set(SOURCE_KINDS) == set(kinds)
    assert {kind: pipe_of(kind).source_kind for kind in kinds} == {kind: kind for kind in kinds}


@pytest.mark.parametrize("kind", sorted(SOURCE_KINDS))
def test_a_kind_names_its_events_as_its_row_says(kind: str) -> None:
    pipe = pipe_of(kind)
    shape = source_shape(pipe)
    item = shape.one(Record("src", 2, 7, 1700000000000, b'{"id": 1}', VALUES[kind], ()), pipe, WHERE)
    assert item.event is not None and item.error is None
    assert item.event["eventSource"] == shape.event_source == event_source(pipe)
    assert item.event.get("eventSourceARN") == shape.event_source_arn("src", WHERE)
    assert item.size == payload_size(item.event) and item.event_id == item.event["eventID"]
    assert event_source(pipe) == {"kafka": "SelfManagedKafka"}.get(kind, "aws:dynamodb")


@pytest.mark.parametrize("kind", sorted(SOURCE_KINDS))
def test_a_partition_shaper_gives_what_one_record_at_a_time_gives_after_conversion(kind: str) -> None:
    pipe = pipe_of(kind)
    shape = source_shape(pipe)
    converted = VALUES[kind]

    def convert(record: Record) -> Record:
        return Record(record.topic, record.partition, record.offset, record.timestamp_ms, record.key, converted, ())

    conversion = Conversion(lambda headers: ("content-type", b"avro") in headers, convert)
    messages = [
        ConsumerRecord("src", 2, 5, 1700000000000, 1, b'{"id": 1}', VALUES[kind], None, 0, 0, ()),
        ConsumerRecord("src", 2, 6, 1700000000001, 0, None, b"avro bytes", None, 0, 0, (("content-type", b"avro"),)),
        ConsumerRecord("src", 2, 7, 1700000000002, 0, None, b"not json", None, 0, 0, (("other", b"x"),)),
    ]
    shaped = shape.partition("src", 2, pipe, WHERE, conversion).shape(messages)
    expected = [
        shape.one(Record("src", 2, 5, 1700000000000, b'{"id": 1}', VALUES[kind], ()), pipe, WHERE, 1),
        shape.one(Record("src", 2, 6, 1700000000001, None, converted, ()), pipe, WHERE),
        shape.one(Record("src", 2, 7, 1700000000002, None, b"not json", (("other", b"x"),)), pipe, WHERE),
    ]
    assert [(i.offset, i.value, i.headers, i.event, i.event_id, i.size) for i in shaped] == \
        [(i.offset, i.value, i.headers, i.event, i.event_id, i.size) for i in expected]
    assert (shaped[2].error is None) is (kind == "kafka")  # a change stream record must be JSON


def test_filters_see_an_event_through_its_kinds_view() -> None:
    kafka = source_shape(pipe_of("kafka")).one(Record("src", 0, 1, 1, None, b'{"n": 1}', ()), pipe_of("kafka"), WHERE)
    assert kafka.event is not None and view_of(kafka.event)["value"] == {"n": 1}
    assert kafka.event["value"] == base64.b64encode(b'{"n": 1}').decode()  # the event itself is unchanged
    stream_record = {"eventSource": "aws:dynamodb", "dynamodb": {"Keys": {}}}
    assert view_of(stream_record) is stream_record
    odd = {"eventSource": ["not", "a", "name"], "value": "eyJuIjogMX0="}  # written by the producer: seen as is
    assert view_of(odd) is odd and view_of("text") == "text"
