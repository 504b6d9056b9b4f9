"""A Kafka record in the shape EventBridge Pipes gives self-managed Kafka records.

``topic``, ``partition``, ``offset``, ``timestamp`` (ms), ``timestampType``, ``key`` and
``value`` in base64 (each left out when the record has none, as EventBridge does),
``headers`` as a list of one-key objects whose value is the header's bytes as a list of
numbers, plus ``eventSource``, ``bootstrapServers``, ``eventSourceKey`` (``<topic>-<partition>``)
and eventpipes' ``eventID``.

For filtering and templates the ``value`` is decoded (:func:`decoded_view`), as EventBridge
does: JSON is parsed; a UTF-8 string that is not JSON stays a string (a pattern such as
``{"value": [{"prefix": "err"}]}`` applies to it); a value that is not UTF-8 matches no
pattern that names ``value``.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
from collections.abc import Callable, Iterable
from typing import Any, Final, NamedTuple

from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord
from eventpipes.pipes.sources.shape import Conversion, Headers, SourceContext, SourceMessage
from eventpipes.records import Record

_c_shape: Callable[..., list[PipeRecord]] | None
try:
    # The same loop as KafkaShaper._shape in C (~0.6 µs per record instead of ~1.8 µs), built
    # by setup.py where a C compiler is found; without one the Python loop runs instead.
    # Imported as an attribute of the package: import-linter reads no compiled module, and
    # took ``from eventpipes.pipes.sources._kafka_shape import`` for an import of the root.
    from eventpipes.pipes.sources import _kafka_shape
    _c_shape = _kafka_shape.shape
except ImportError:  # pragma: no cover - depends on the build machine
    _c_shape = None

EVENT_SOURCE = "SelfManagedKafka"
TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}

#: JSON length of each byte value as a number (a header's bytes travel as a list of numbers).
_DIGITS = tuple(len(str(n)) for n in range(256))
#: ``,"key":""`` and ``,"value":""`` around the base64 text.
_KEY_FIELD = len(',"key":""')
_VALUE_FIELD = len(',"value":""')
#: Header names whose JSON length a shaper remembers: producers use a handful of names, and
#: the bound keeps names that vary per record (an id in the name) from growing the cache.
_NAMES_CACHED = 256


class _Message(NamedTuple):
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: Headers


class KafkaShaper:
    """Gives the records of one partition the shape above, with their exact payload size.

    A pipe shapes every record it reads, so this is its hottest path: what all records of
    the partition share (``eventSourceKey``, the ``eventID`` prefix, the JSON length of the
    fixed fields) is worked out once, and each record's size is summed from the lengths of
    its parts rather than by serialising it (which cost a third of a no-op pipe's time).
    The sum is exactly :func:`~eventpipes.pipes.record.payload_size` of the event; a unit
    test holds the two together.

    Args:
        convert: applied to a record whose headers ``needs_conversion`` accepts before it is
            shaped (a schema-governed bus's Avro record read as its JSON envelope).
    """

    def __init__(self, topic: str, partition: int, *, bootstrap_servers: str,
                 needs_conversion: Callable[[Headers], bool] | None = None,
                 convert: Callable[[Record], Record] | None = None) -> None:
        self.topic = topic
        self.partition = partition
        self._bootstrap = bootstrap_servers
        self._source_key = f"{topic}-{partition}"
        self._id_prefix = f"{self._source_key}:"
        self._needs_conversion = needs_conversion if convert is not None else None
        self._convert = convert
        self._names: dict[str, int] = {}
        # The event with empty variable parts: offset and timestamp 0 (one digit each, taken
        # off), no eventID digits, timestampType "", no key or value, no headers.
        skeleton = self._event(self._id_prefix, 0, 0, "")
        skeleton["headers"] = []
        self._fixed = len(json.dumps(skeleton, separators=(",", ":"), ensure_ascii=False).encode()) + 1 - 2
        # What the C loop takes after the messages: what the records of this partition share.
        self._c_arguments = (PipeRecord, self._shape_one, EVENT_SOURCE, topic, partition, bootstrap_servers,
                             self._source_key, self._id_prefix, self._fixed, TIMESTAMP_TYPES, "CREATE_TIME",
                             _KEY_FIELD, _VALUE_FIELD)

    def _event(self, event_id: str, offset: int, timestamp: int, timestamp_type: str) -> dict[str, Any]:
        return {
            "eventSource": EVENT_SOURCE, "bootstrapServers": self._bootstrap, "eventSourceKey": self._source_key,
            "eventID": event_id, "topic": self.topic, "partition": self.partition, "offset": offset,
            "timestamp": timestamp, "timestampType": timestamp_type,
        }

    def shape(self, messages: Iterable[SourceMessage]) -> list[PipeRecord]:
        """The messages (of this partition, in offset order) as pipe records."""
        enabled = gc.isenabled()
        # The loop makes three containers per record, none of them in a cycle; left on, the
        # cyclic collector ran every ~230 records and rescanned the records still buffered
        # in the lanes (a third of this function's time). Off for the loop (it does not
        # yield, so no other task runs meanwhile), and one young collection follows.
        gc.disable()
        try:
            return self._shape_c(messages) if _c_shape is not None else self._shape(messages)
        finally:
            if enabled:
                gc.enable()

    def _shape_c(self, messages: Iterable[SourceMessage]) -> list[PipeRecord]:
        """:meth:`_shape` in C; a record with headers (or of unusual types) is left to :meth:`_shape_one`."""
        assert _c_shape is not None
        return _c_shape(messages, *self._c_arguments)

    def _shape_one(self, message: SourceMessage) -> PipeRecord:
        return self._shape((message,))[0]

    def _shape(self, messages: Iterable[SourceMessage]) -> list[PipeRecord]:
        topic, partition, prefix, fixed = self.topic, self.partition, self._id_prefix, self._fixed
        bootstrap, source_key, types = self._bootstrap, self._source_key, TIMESTAMP_TYPES
        b64 = binascii.b2a_base64
        needs_conversion = self._needs_conversion
        records: list[PipeRecord] = []
        append = records.append
        for message in messages:
            offset, timestamp, key, value, headers = (message.offset, message.timestamp, message.key,
                                                      message.value, message.headers)
            if headers and needs_conversion is not None and needs_conversion(headers):
                key, value, headers = self._converted(message)
            digits = str(offset)
            event_id = prefix + digits
            timestamp_type = types.get(message.timestamp_type, "CREATE_TIME")
            # Built inline rather than through _event: a call per record is measurable here.
            event: dict[str, Any] = {
                "eventSource": EVENT_SOURCE, "bootstrapServers": bootstrap, "eventSourceKey": source_key,
                "eventID": event_id, "topic": topic, "partition": partition, "offset": offset,
                "timestamp": timestamp, "timestampType": timestamp_type,
            }
            size = fixed + 2 * len(digits) + len(str(timestamp)) + len(timestamp_type)
            if key is not None:
                text = b64(key, newline=False).decode("ascii")
                event["key"] = text
                size += len(text) + _KEY_FIELD
            if value is not None:
                text = b64(value, newline=False).decode("ascii")
                event["value"] = text
                size += len(text) + _VALUE_FIELD
            pairs: tuple[tuple[str, bytes], ...] = ()
            if headers:
                pairs = tuple((name, data or b"") for name, data in headers)  # a null header value as empty
                event["headers"] = [{name: list(data)} for name, data in pairs]
                size += self._headers_size(pairs)
            else:
                event["headers"] = []
            append(PipeRecord(topic, partition, offset, timestamp, key, value, pairs, event, event_id, size))
        return records

    def _converted(self, message: SourceMessage) -> tuple[bytes | None, bytes | None, Headers]:
        assert self._convert is not None
        record = self._convert(Record(self.topic, self.partition, message.offset, message.timestamp, message.key,
                                      message.value, tuple(message.headers)))
        return record.key, record.value, record.headers

    def _headers_size(self, headers: Headers) -> int:
        """JSON length of ``[{"name":[n,n]},...]`` less the ``[]`` counted in the fixed part."""
        size = len(headers) - 1  # commas between the objects
        for name, data in headers:
            quoted = self._names.get(name)
            if quoted is None:
                quoted = len(json.dumps(name, ensure_ascii=False).encode())
                if len(self._names) < _NAMES_CACHED:
                    self._names[name] = quoted
            # {"name":[...]}: braces, colon, brackets, and a comma between numbers
            size += quoted + 5 + sum(map(_DIGITS.__getitem__, data)) + max(len(data) - 1, 0)
        return size

    def one(self, record: Record, timestamp_type: int = 0) -> PipeRecord:
        """One record (already an eventpipes ``Record``) as a pipe record."""
        return self.shape([_Message(record.offset, record.timestamp_ms, timestamp_type, record.key, record.value,
                                    record.headers)])[0]


class KafkaSource:
    """The self-managed Kafka source kind (a :class:`~eventpipes.pipes.sources.shape.SourceShape`):
    records in the shape of the module docstring, shaped a partition's fetch at a time by
    :class:`KafkaShaper`."""

    event_source = EVENT_SOURCE

    def event_source_arn(self, topic: str, where: SourceContext) -> str | None:
        return None  # EventBridge's self-managed Kafka records name the cluster, not an ARN

    def view(self, event: dict[str, Any]) -> dict[str, Any]:
        return decoded_view(event)

    def one(self, record: Record, pipe: Pipe, where: SourceContext, timestamp_type: int = 0) -> PipeRecord:
        shaper = KafkaShaper(record.topic, record.partition, bootstrap_servers=where.bootstrap_servers)
        return shaper.one(record, timestamp_type)

    def partition(self, topic: str, partition: int, pipe: Pipe, where: SourceContext,
                  conversion: Conversion | None = None) -> KafkaShaper:
        if conversion is None:
            return KafkaShaper(topic, partition, bootstrap_servers=where.bootstrap_servers)
        return KafkaShaper(topic, partition, bootstrap_servers=where.bootstrap_servers,
                           needs_conversion=conversion.applies, convert=conversion.convert)


KAFKA: Final = KafkaSource()
"""The row of :data:`~eventpipes.pipes.sources.kinds.SOURCE_KINDS` for ``kafka``."""


def kafka_event(record: Record, *, bootstrap_servers: str, timestamp_type: int = 0) -> dict[str, Any]:
    """The record as a pipe sees it."""
    event = KafkaShaper(record.topic, record.partition, bootstrap_servers=bootstrap_servers).one(record, timestamp_type).event
    assert event is not None
    return event


_UNDECODABLE = object()


def decode_payload(data: bytes) -> Any:
    """JSON when the bytes are JSON, the text when they are UTF-8, else a marker that matches nothing."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _UNDECODABLE
    try:
        return json.loads(text)
    except ValueError:
        return text


def decoded_view(event: dict[str, Any]) -> dict[str, Any]:
    """The event with ``value`` decoded from base64 and parsed (see the module docstring).

    A value that is not UTF-8 is removed, so a pattern naming ``value`` cannot match it.
    """
    encoded = event.get("value")
    if not isinstance(encoded, str):
        return event
    try:
        decoded = decode_payload(base64.b64decode(encoded, validate=True))
    except ValueError:
        return event
    view = dict(event)
    if decoded is _UNDECODABLE:
        del view["value"]
    else:
        view["value"] = decoded
    return view
