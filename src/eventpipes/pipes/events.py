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
from eventpipes.pipes.record import PipeRecord
from eventpipes.pipes.sources.kinds import source_shape, view_of
from eventpipes.pipes.sources.shape import SourceContext
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
    """Give one record its source's shape (see :mod:`eventpipes.pipes.sources.kinds`).

    The runner shapes a partition's records a fetch at a time with its source kind's
    :class:`~eventpipes.pipes.sources.shape.PartitionShaper`; this is the one-record form.
    """
    return source_shape(pipe).one(record, pipe, SourceContext(bootstrap_servers, region, account), timestamp_type)


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
