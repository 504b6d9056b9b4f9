"""DynamoDB Streams records read from a Kafka topic, in the shape a pipe gives DynamoDB stream records.

The topic holds one stream record per Kafka record, as JSON: ``eventID``, ``eventName``
(``INSERT`` / ``MODIFY`` / ``REMOVE``), ``dynamodb`` with ``Keys``, ``NewImage``,
``OldImage``, ``SequenceNumber``, ``SizeBytes``, ``StreamViewType`` and typed attribute
values (``{"S": ...}``, ``{"N": "..."}``, ...). The record reaches the pipe as written, with
``eventSource``, ``eventVersion``, ``awsRegion`` and ``eventSourceARN`` filled in when
absent, and an ``eventID`` when it has none. Filters apply to the record as is (its
``dynamodb`` field is JSON already).
"""

from __future__ import annotations

import json
from typing import Any, Final

from eventpipes.arns import dynamodb_stream_arn
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord
from eventpipes.pipes.sources import InvalidSourceRecord, stable_event_id
from eventpipes.pipes.sources.shape import Conversion, PartitionShaper, RecordByRecord, SourceContext, pipe_record
from eventpipes.records import Record

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
EVENT_SOURCE: Final = "aws:dynamodb"


def dynamodb_event(record: Record, *, region: str, account: str) -> dict[str, Any]:
    """The stream record a Kafka record holds.

    Raises:
        InvalidSourceRecord: the value is not a JSON DynamoDB Streams record.
    """
    if record.value is None:
        raise InvalidSourceRecord("a DynamoDB stream record cannot be empty", where=record.where)
    try:
        body = json.loads(record.value)
    except ValueError as exc:
        raise InvalidSourceRecord(f"not JSON: {exc}", where=record.where) from exc
    if not isinstance(body, dict) or not isinstance(body.get("dynamodb"), dict):
        raise InvalidSourceRecord("not a DynamoDB stream record (no dynamodb object)", where=record.where)
    if body.get("eventName") not in EVENT_NAMES:
        raise InvalidSourceRecord(f"eventName must be one of {', '.join(EVENT_NAMES)}", where=record.where)
    event = {
        "eventID": body.get("eventID") or stable_event_id(record.topic, record.partition, record.offset),
        "eventName": body["eventName"],
        "eventVersion": body.get("eventVersion", "1.1"),
        "eventSource": body.get("eventSource", EVENT_SOURCE),
        "awsRegion": body.get("awsRegion", region),
        "dynamodb": body["dynamodb"],
        "eventSourceARN": body.get("eventSourceARN", dynamodb_stream_arn(region, account, record.topic, record.topic)),
    }
    for extra in ("userIdentity",):
        if extra in body:
            event[extra] = body[extra]
    return event


class DynamoDBSource:
    """The DynamoDB Streams source kind (a :class:`~eventpipes.pipes.sources.shape.SourceShape`):
    each record is :func:`dynamodb_event` of it."""

    event_source = EVENT_SOURCE

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        return event  # filters see a stream record as it is (its dynamodb field is JSON already)

    def event_source_arn(self, topic: str, where: SourceContext) -> str | None:
        return dynamodb_stream_arn(where.region, where.account, topic, topic)

    def one(self, record: Record, pipe: Pipe, where: SourceContext, timestamp_type: int = 0) -> PipeRecord:
        return pipe_record(record, lambda r: dynamodb_event(r, region=where.region, account=where.account))

    def partition(self, topic: str, partition: int, pipe: Pipe, where: SourceContext,
                  conversion: Conversion | None = None) -> PartitionShaper:
        return RecordByRecord(self, topic, partition, pipe, where, conversion)


DYNAMODB: Final = DynamoDBSource()
"""The row of :data:`~eventpipes.pipes.sources.kinds.SOURCE_KINDS` for ``dynamodb``."""
