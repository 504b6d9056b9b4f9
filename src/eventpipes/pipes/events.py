"""What travels through a pipe: a source record in its source's shape, the filter, the input template.

:func:`to_pipe_record` gives a record its source's shape as a
:class:`~eventpipes.pipes.record.PipeRecord`: its position (for offsets and dead letters)
with the JSON event the pipe's stages see. :class:`RecordFilter`
applies ``FilterCriteria`` (a record passes when any pattern matches; no patterns, all
pass). :class:`PipeTemplate` applies an ``InputTemplate`` to one event with ``<$.path>``
placeholders and the ``<aws.pipes.*>`` reserved variables; paths reach into a Kafka
record's decoded ``value`` (``<$.value.orderId>``), as EventBridge parses the payload
implicitly.

Pure: no Kafka, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from eventpipes.patterns import compile_pattern
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord, payload_size
from eventpipes.pipes.sources import InvalidSourceRecord, stable_event_id
from eventpipes.pipes.sources.debezium import debezium_event
from eventpipes.pipes.sources.dynamodb import dynamodb_event
from eventpipes.pipes.sources.kafka import KafkaShaper, decoded_view
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


def to_pipe_record(record: Record, pipe: Pipe, *, bootstrap_servers: str, region: str, account: str,
                   timestamp_type: int = 0) -> PipeRecord:
    """Give one record its source's shape (see :mod:`eventpipes.pipes.sources`).

    The runner shapes Kafka records a partition's fetch at a time with
    :class:`~eventpipes.pipes.sources.kafka.KafkaShaper`; this is the one-record form.
    """
    if pipe.source_kind == "kafka":
        return KafkaShaper(record.topic, record.partition, bootstrap_servers=bootstrap_servers).one(record, timestamp_type)
    fallback_id = stable_event_id(record.topic, record.partition, record.offset)
    try:
        event: dict[str, Any] | None
        if pipe.source_kind == "dynamodb":
            event = dynamodb_event(record, region=region, account=account)
        else:
            params = pipe.source_parameters.dynamodb_stream
            view = params.stream_view_type if params is not None else "NEW_AND_OLD_IMAGES"
            event = debezium_event(record, view_type=view, region=region, account=account)
    except InvalidSourceRecord as error:
        return PipeRecord.of(record, None, fallback_id, len(record.value or b""), error)
    if event is None:
        return PipeRecord.of(record, None, fallback_id, 0)
    return PipeRecord.of(record, event, str(event.get("eventID", fallback_id)), payload_size(event))


def view_of(event: Any) -> Any:
    """The event as filters and template paths see it: a Kafka record's ``value`` decoded."""
    if isinstance(event, dict) and event.get("eventSource") == "SelfManagedKafka":
        return decoded_view(event)
    return event


class RecordFilter:
    """``FilterCriteria``: a record passes when any of up to 5 patterns matches it."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._patterns = [compile_pattern(pattern) for pattern in patterns]

    @property
    def passes_all(self) -> bool:
        """No patterns: every record passes (the runner then skips the per-record call)."""
        return not self._patterns

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
