"""Debezium change events turned into DynamoDB Streams records, so a pipe sits on a CDC topic
exactly as it would on a DynamoDB stream.

Debezium's ``op`` maps to ``eventName``: ``c`` (create) and ``r`` (snapshot read) are
``INSERT``, ``u`` is ``MODIFY``, ``d`` is ``REMOVE``. ``after`` becomes ``NewImage`` and
``before`` ``OldImage``, as the stream view type allows. ``Keys`` are the fields of the
Kafka record's key (Debezium keys a change by the row's primary key). Values become
DynamoDB typed attribute values: strings ``S``, numbers ``N`` (as text), booleans
``BOOL``, null ``NULL``, objects ``M``, arrays ``L``. Both Debezium JSON forms are read:
with the ``schema``/``payload`` envelope and without it. A tombstone (null value, written
after a delete for compaction) is no change: it gives no record and counts as processed.

``SequenceNumber`` is the Kafka offset, zero-padded to 21 digits as DynamoDB's are, so it
sorts in stream order; ``SizeBytes`` is the UTF-8 size of ``Keys`` and the images;
``ApproximateCreationDateTime`` is Debezium's ``ts_ms`` in seconds.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from eventpipes.arns import dynamodb_stream_arn
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord
from eventpipes.pipes.sources import InvalidSourceRecord, stable_event_id
from eventpipes.pipes.sources.dynamodb import EVENT_SOURCE
from eventpipes.pipes.sources.shape import Conversion, PartitionShaper, RecordByRecord, SourceContext, pipe_record
from eventpipes.records import Record

OPERATIONS = {"c": "INSERT", "r": "INSERT", "u": "MODIFY", "d": "REMOVE"}

StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


def attribute_value(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB typed attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": json.dumps(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [attribute_value(item) for item in value]}
    if isinstance(value, dict):
        return {"M": image(value)}
    return {"S": str(value)}


def image(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a DynamoDB item image."""
    return {name: attribute_value(value) for name, value in row.items()}


def _payload(data: bytes, where: str, what: str) -> Any:
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise InvalidSourceRecord(f"Debezium {what} is not JSON: {exc}", where=where) from exc
    if isinstance(body, dict) and "payload" in body and "schema" in body:
        return body["payload"]
    return body


def debezium_event(record: Record, *, view_type: StreamViewType, region: str, account: str) -> dict[str, Any] | None:
    """The DynamoDB Streams record for one Debezium change event; None for a tombstone.

    Raises:
        InvalidSourceRecord: not a Debezium change event.
    """
    if record.value is None:
        return None
    change = _payload(record.value, record.where, "value")
    if not isinstance(change, dict) or change.get("op") not in OPERATIONS:
        raise InvalidSourceRecord("not a Debezium change event (op must be c, u, d or r)", where=record.where)
    key = _payload(record.key, record.where, "key") if record.key is not None else {}
    keys = image(key) if isinstance(key, dict) else {}
    after, before = change.get("after"), change.get("before")
    body: dict[str, Any] = {"Keys": keys}
    if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and isinstance(after, dict):
        body["NewImage"] = image(after)
    if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and isinstance(before, dict):
        body["OldImage"] = image(before)
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    ts_ms = change.get("ts_ms")
    timestamp_ms: int = ts_ms if isinstance(ts_ms, int) else record.timestamp_ms
    source_field = change.get("source")
    source: dict[str, Any] = source_field if isinstance(source_field, dict) else {}
    table = str(source.get("table") or record.topic)
    dynamodb = {"ApproximateCreationDateTime": timestamp_ms / 1000, **body,
                "SequenceNumber": f"{record.offset:021d}", "SizeBytes": size, "StreamViewType": view_type}
    return {
        "eventID": stable_event_id(record.topic, record.partition, record.offset),
        "eventName": OPERATIONS[change["op"]],
        "eventVersion": "1.1",
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": dynamodb_stream_arn(region, account, table, record.topic),
    }


class DebeziumSource:
    """The Debezium source kind (a :class:`~eventpipes.pipes.sources.shape.SourceShape`): each
    change event is :func:`debezium_event` of it, in the pipe's ``StreamViewType``; it calls
    itself what it looks like, a DynamoDB stream."""

    event_source = EVENT_SOURCE

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        return event  # filters see a stream record as it is (its dynamodb field is JSON already)

    def event_source_arn(self, topic: str, where: SourceContext) -> str | None:
        return dynamodb_stream_arn(where.region, where.account, topic, topic)  # a change naming its table names that

    def one(self, record: Record, pipe: Pipe, where: SourceContext, timestamp_type: int = 0) -> PipeRecord:
        params = pipe.source_parameters.dynamodb_stream
        view: StreamViewType = params.stream_view_type if params is not None else "NEW_AND_OLD_IMAGES"
        return pipe_record(record, lambda r: debezium_event(r, view_type=view, region=where.region,
                                                            account=where.account))

    def partition(self, topic: str, partition: int, pipe: Pipe, where: SourceContext,
                  conversion: Conversion | None = None) -> PartitionShaper:
        return RecordByRecord(self, topic, partition, pipe, where, conversion)


DEBEZIUM: Final = DebeziumSource()
"""The row of :data:`~eventpipes.pipes.sources.kinds.SOURCE_KINDS` for ``debezium``."""
