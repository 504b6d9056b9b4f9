"""What travels through a pipe: a source record in its source's shape, the filter, the input template.

:class:`PipeRecord` pairs eventpipes' :class:`~eventpipes.records.Record` (its position,
for offsets and dead letters) with the JSON event the pipe's stages see. :class:`RecordFilter`
applies ``FilterCriteria`` (a record passes when any pattern matches; no patterns, all
pass). :class:`PipeTemplate` applies an ``InputTemplate`` to one event with ``<$.path>``
placeholders and the ``<aws.pipes.*>`` reserved variables; paths reach into a Kafka
record's decoded ``value`` (``<$.value.orderId>``), as EventBridge parses the payload
implicitly.

Pure: no Kafka, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from eventpipes.patterns import compile_pattern
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.sources import InvalidSourceRecord, stable_event_id
from eventpipes.pipes.sources.debezium import debezium_event
from eventpipes.pipes.sources.dynamodb import dynamodb_event
from eventpipes.pipes.sources.kafka import decoded_view, kafka_event
from eventpipes.records import Record
from eventpipes.transform import MISSING, parse_path, parse_template

PIPE_ARN: Final = "aws.pipes.pipe-arn"
PIPE_NAME: Final = "aws.pipes.pipe-name"
SOURCE_ARN: Final = "aws.pipes.source-arn"
ENRICHMENT_ARN: Final = "aws.pipes.enrichment-arn"
TARGET_ARN: Final = "aws.pipes.target-arn"
INGESTION_TIME: Final = "aws.pipes.event.ingestion-time"
EVENT: Final = "aws.pipes.event"
EVENT_JSON: Final = "aws.pipes.event.json"


@dataclass(frozen=True, slots=True)
class PipeRecord:
    """One source record on its way through a pipe."""

    record: Record
    """Where it came from (topic, partition, offset) and what it held."""
    event: dict[str, Any] | None
    """The record in its source's shape; None when it is no event (a Debezium tombstone)
    or cannot be one (see :attr:`error`)."""
    event_id: str
    """``eventID``: stable per record; the ``itemIdentifier`` of partial batch responses."""
    size: int
    """Bytes the event takes in an invocation payload (for the 6 MB batch limit)."""
    error: InvalidSourceRecord | None = None
    """Why the record could not be given the source's shape (it is dead-lettered)."""

    @property
    def offset(self) -> int:
        return self.record.offset

    @property
    def timestamp_ms(self) -> int:
        return self.record.timestamp_ms

    @property
    def key(self) -> bytes | None:
        return self.record.key


def to_pipe_record(record: Record, pipe: Pipe, *, bootstrap_servers: str, region: str, account: str,
                   timestamp_type: int = 0) -> PipeRecord:
    """Give a record its source's shape (see :mod:`eventpipes.pipes.sources`)."""
    fallback_id = stable_event_id(record.topic, record.partition, record.offset)
    try:
        event: dict[str, Any] | None
        if pipe.source_kind == "kafka":
            event = kafka_event(record, bootstrap_servers=bootstrap_servers, timestamp_type=timestamp_type)
        elif pipe.source_kind == "dynamodb":
            event = dynamodb_event(record, region=region, account=account)
        else:
            params = pipe.source_parameters.dynamodb_stream
            view = params.stream_view_type if params is not None else "NEW_AND_OLD_IMAGES"
            event = debezium_event(record, view_type=view, region=region, account=account)
    except InvalidSourceRecord as error:
        return PipeRecord(record, None, fallback_id, len(record.value or b""), error)
    if event is None:
        return PipeRecord(record, None, fallback_id, 0)
    if pipe.source_kind == "kafka":
        # base64 grows key and value by 4/3; the metadata and headers cost a few hundred bytes.
        # An estimate rather than json.dumps: serialising every record only to measure it
        # cost a third of a no-op pipe's CPU time.
        size = (len(record.key or b"") + len(record.value or b"")) * 4 // 3 + 4 * sum(len(v) for _, v in record.headers) + 320
    else:
        size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
    return PipeRecord(record, event, str(event.get("eventID", fallback_id)), size)


def view_of(event: Any) -> Any:
    """The event as filters and template paths see it: a Kafka record's ``value`` decoded."""
    if isinstance(event, dict) and event.get("eventSource") == "SelfManagedKafka":
        return decoded_view(event)
    return event


class RecordFilter:
    """``FilterCriteria``: a record passes when any of up to 5 patterns matches it."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._patterns = [compile_pattern(pattern) for pattern in patterns]

    def passes(self, event: dict[str, Any]) -> bool:
        if not self._patterns:
            return True
        view = view_of(event)
        return any(pattern.matches(view) for pattern in self._patterns)


class PipeTemplate:
    """An ``InputTemplate`` applied to one event at a time (EventBridge applies it per record)."""

    def __init__(self, text: str) -> None:
        self._template = parse_template(text)
        self._paths = {name: parse_path(name) for name in self._template.placeholders if name.startswith("$")}

    @property
    def is_json(self) -> bool:
        return self._template.is_json

    def render(self, event: Any, reserved: dict[str, Any]) -> str:
        view = view_of(event)

        def lookup(name: str) -> Any:
            if name in self._paths:
                return self._paths[name].find(view)
            if name == EVENT:
                return event
            if name == EVENT_JSON:
                return view
            return reserved.get(name, MISSING)

        return self._template.render(lookup)


@dataclass(frozen=True, slots=True)
class PipeArns:
    """The names the ``aws.pipes.*-arn`` variables and dead letters carry."""

    pipe: str
    source: str
    enrichment: str
    target: str

    @classmethod
    def of(cls, pipe: Pipe, *, region: str, account: str) -> "PipeArns":
        return cls(pipe.arn(region, account), f"topic:{pipe.source_topic}", pipe.enrichment or "", pipe.target)


def reserved_values(pipe: Pipe, arns: PipeArns, record: PipeRecord | None) -> dict[str, Any]:
    """Values of the ``aws.pipes.*`` variables for one record (``aws.pipes.event*`` come from the event)."""
    values: dict[str, Any] = {PIPE_ARN: arns.pipe, PIPE_NAME: pipe.name, SOURCE_ARN: arns.source,
                              ENRICHMENT_ARN: arns.enrichment, TARGET_ARN: arns.target}
    if record is not None:
        moment = datetime.fromtimestamp(record.timestamp_ms / 1000, tz=timezone.utc)
        values[INGESTION_TIME] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return values
