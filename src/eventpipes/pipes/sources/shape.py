"""The contract every pipe source kind keeps: what it makes of a Kafka record, and what it is called.

Every pipe reads a Kafka topic; its *source kind* says which EventBridge source the records
look like once read (self-managed Kafka records, DynamoDB Streams records, ...). A kind is one
:class:`SourceShape` object in its own module, named by one row of
:data:`eventpipes.pipes.sources.kinds.SOURCE_KINDS`; nothing else dispatches on the kind.

The runner shapes a partition's records a fetch at a time through the kind's
:class:`PartitionShaper` (the Kafka kind's is the hot path of a pipe, see
:class:`~eventpipes.pipes.sources.kafka.KafkaShaper`); ``to_pipe_record`` shapes one record.

Pure: no Kafka, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord, payload_size
from eventpipes.pipes.sources import InvalidSourceRecord, stable_event_id
from eventpipes.records import Record

Headers = Sequence[tuple[str, bytes]]


class SourceMessage(Protocol):
    """What shaping reads of a consumed record (the names of aiokafka's ``ConsumerRecord``)."""

    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def timestamp_type(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Headers: ...


@dataclass(frozen=True, slots=True)
class SourceContext:
    """Where the pipe runs: what shaped records name besides the record itself."""

    bootstrap_servers: str
    """The cluster, as a Kafka record's ``bootstrapServers`` names it."""
    region: str
    """For ``awsRegion`` and ARNs."""
    account: str
    """For ARNs."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """A change made to some records before they are shaped: a schema-governed bus's Avro
    record read as its JSON envelope, so the pipe sees JSON whatever the bus stores."""

    applies: Callable[[Headers], bool]
    """Whether a record with these headers is converted (asked only of records with headers)."""
    convert: Callable[[Record], Record]
    """The record as the pipe reads it."""


class PartitionShaper(Protocol):
    """Shapes the records of one partition, a fetch at a time.

    Contract: one :class:`~eventpipes.pipes.record.PipeRecord` per message, in the order
    given (offset order); a record that cannot be shaped is a ``PipeRecord`` with its
    ``error`` set (it is dead-lettered), never an exception; a record that is no event (a
    tombstone) is a ``PipeRecord`` whose ``event`` is None (it counts as processed).
    """

    def shape(self, messages: Iterable[SourceMessage]) -> list[PipeRecord]: ...


class SourceShape(Protocol):
    """One source kind: the shape its records take, and the names EventBridge gives it."""

    @property
    def event_source(self) -> str:
        """EventBridge's name for the source, as events carry it in ``eventSource``
        (``SelfManagedKafka``, ``aws:dynamodb``); a bus target's default ``DetailType`` is
        ``Event from <event_source>``."""
        ...

    def event_source_arn(self, topic: str, where: SourceContext) -> str | None:
        """The ``eventSourceARN`` records of this topic carry by default; None when the shape has none."""
        ...

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as filters and template paths see it (a Kafka record's ``value`` decoded)."""
        ...

    def one(self, record: Record, pipe: Pipe, where: SourceContext, timestamp_type: int = 0) -> PipeRecord:
        """One record in this shape (see :class:`PartitionShaper` for what a bad record gives)."""
        ...

    def partition(self, topic: str, partition: int, pipe: Pipe, where: SourceContext,
                  conversion: Conversion | None = None) -> PartitionShaper:
        """A shaper for one partition's records, converted first where ``conversion`` applies."""
        ...


def pipe_record(record: Record, event_of: Callable[[Record], dict[str, Any] | None]) -> PipeRecord:
    """A record shaped by ``event_of``, which returns None for no event or raises :class:`InvalidSourceRecord`.

    The record keeps its stable ``eventID`` when its event names none, or it has no event.
    """
    fallback_id = stable_event_id(record.topic, record.partition, record.offset)
    try:
        event = event_of(record)
    except InvalidSourceRecord as error:
        return PipeRecord.of(record, None, fallback_id, len(record.value or b""), error)
    if event is None:
        return PipeRecord.of(record, None, fallback_id, 0)
    return PipeRecord.of(record, event, str(event.get("eventID", fallback_id)), payload_size(event))


class RecordByRecord:
    """A :class:`PartitionShaper` for kinds that shape one record at a time (parsing the value
    costs them more than the loop does, so they have no batch form)."""

    def __init__(self, source: SourceShape, topic: str, partition: int, pipe: Pipe, where: SourceContext,
                 conversion: Conversion | None = None) -> None:
        self._source, self._pipe, self._where = source, pipe, where
        self._topic, self._partition = topic, partition
        self._conversion = conversion

    def shape(self, messages: Iterable[SourceMessage]) -> list[PipeRecord]:
        return [self._shape(message) for message in messages]

    def _shape(self, message: SourceMessage) -> PipeRecord:
        headers = tuple(message.headers or ())
        record = Record(self._topic, self._partition, message.offset, message.timestamp, message.key, message.value,
                        headers)
        if headers and self._conversion is not None and self._conversion.applies(headers):
            record = self._conversion.convert(record)
        return self._source.one(record, self._pipe, self._where, message.timestamp_type)
