"""eventpipes' own view of a Kafka record, so pure code never sees a client library's type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


# Not frozen: every record read or produced is one of these, and a frozen dataclass's
# __init__ sets each field through object.__setattr__ (4.9-7.3% of the routing worker's
# samples went to Record and OutRecord construction). Nothing assigns to their fields.
@dataclass(slots=True)
class Record:
    """One record read from a topic."""

    topic: str
    """Topic it was read from."""
    partition: int
    """Partition within the topic."""
    offset: int
    """Offset within the partition."""
    timestamp_ms: int
    """Record timestamp, milliseconds since the epoch."""
    key: bytes | None
    """Record key, as stored."""
    value: bytes | None
    """Record value, as stored."""
    headers: tuple[tuple[str, bytes], ...] = ()
    """Record headers, in order."""

    @property
    def where(self) -> str:
        """``topic[partition]@offset``, for error messages."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


def record_from_message(message: Any) -> Record:
    """A ``Record`` from a kafka-python or aiokafka ``ConsumerRecord`` (they share attribute names)."""
    return Record(message.topic, message.partition, message.offset, message.timestamp, message.key, message.value,
                  _headers(message.headers))


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    if not headers:
        return ()
    out = tuple(headers)
    for _, value in out:
        if type(value) is not bytes:  # a null header value, or a view: rare, so only then rebuilt
            return tuple((k, bytes(v) if v is not None else b"") for k, v in out)
    return out


@dataclass(slots=True)
class OutRecord:
    """A record to produce."""

    topic: str
    """Destination topic."""
    key: bytes | None
    """Record key (partitioning)."""
    value: bytes
    """Record value."""
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    """Record headers, in order."""
    timestamp_ms: int | None = None
    """Record timestamp (CreateTime); None for the time of sending."""
    partition: int | None = None
    """Partition to write to; None lets the key choose (the default partitioner)."""


class RecordSink(Protocol):
    """Produces records in the order given and returns once Kafka acknowledged all of them."""

    async def send_all(self, records: list[OutRecord]) -> None: ...
