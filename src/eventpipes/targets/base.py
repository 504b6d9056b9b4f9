"""What every target kind promises: the item it is given, the two shapes, how it fails.

A kind has one of two shapes (``kinds.TargetKind.shape``):

* :class:`RecordTarget` (a Kafka topic, a bus): ``write`` takes many items and returns one
  outcome per item, in order: None for written, or the :class:`TargetFailed` that item met.
  Raising fails every item.
* :class:`InvocationTarget` (an HTTP endpoint, a Python function): ``invoke`` takes one
  body (a rule's event, or a pipe's batch as a list) and returns the decoded response (None
  for none). It raises :class:`TargetFailed` when the target did not accept the body;
  ``retryable`` says whether the same body may succeed later (a timeout, a 5xx) or not
  (a 400, a declared non-retryable error), which decides between another attempt and the
  dead-letter topic. Any other exception counts as a retryable failure.

Rules and pipes do not call these directly but through the adapters in
``eventpipes.targets.adapters``: one event at a time, or one batch.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from eventpipes.errors import TargetFailed
from eventpipes.records import RecordSink
from eventpipes.targets.kinds import TargetKind

__all__ = ["Item", "RecordTarget", "InvocationTarget", "TargetFailed", "TargetSpec", "TargetContext", "to_bytes"]

_UNSET: Any = object()


def to_bytes(value: Any) -> bytes:
    """A payload as bytes: text as UTF-8, anything else as compact JSON."""
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def from_bytes(payload: bytes) -> Any:
    """A payload as a value: JSON decoded, else the text."""
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Item:
    """One event or record on its way to a target.

    A rule hands over bytes (its input transformation's output) and a pipe hands over values
    (decoded JSON, or text); each form is made from the other only if a target asks for it,
    since converting cost as much as the rest of a delivery.
    """

    __slots__ = ("_payload", "_value", "_event", "raw_event", "key", "headers")

    def __init__(self, *, payload: bytes | None = None, value: Any = _UNSET, key: bytes | None = None,
                 headers: tuple[tuple[str, bytes], ...] = (), raw_event: bytes | None = None,
                 event: dict[str, Any] | None = None) -> None:
        self._payload = payload
        self._value = value
        self._event = event
        self.raw_event = raw_event
        """The matched EventBridge event as it sat on the bus (rules only)."""
        self.key = key
        """The record key it carries: the event id (rules), the source record's key (pipes)."""
        self.headers = headers
        """Headers of the record it came from (trace header, bus path)."""

    @property
    def payload(self) -> bytes:
        """What the target receives, as bytes."""
        if self._payload is None:
            self._payload = to_bytes(self._value)
        return self._payload

    @payload.setter
    def payload(self, payload: bytes) -> None:
        self._payload, self._value = payload, _UNSET

    @property
    def value(self) -> Any:
        """What the target receives, as a value (decoded JSON, or text)."""
        if self._value is _UNSET:
            self._value = from_bytes(self._payload or b"")
        return self._value

    @property
    def event(self) -> dict[str, Any]:
        """The matched event (rules), parsed on first use: an empty mapping for a pipe's records."""
        if self._event is None:
            self._event = json.loads(self.raw_event) if self.raw_event else {}
        return self._event

    @property
    def event_id(self) -> bytes:
        """The event id as a record key."""
        return self.key if self.key else str(self.event.get("id", "")).encode()


@runtime_checkable
class RecordTarget(Protocol):
    """Writes each item on its own; one outcome per item (see the module docstring)."""

    async def write(self, items: Sequence[Item]) -> list[TargetFailed | None]: ...

    async def close(self) -> None: ...


@runtime_checkable
class InvocationTarget(Protocol):
    """Invoked with one body; returns the decoded response or raises TargetFailed."""

    async def invoke(self, body: Item) -> Any: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One configured target: its kind, destination and kind-specific parameters."""

    kind: TargetKind
    """The row of ``eventpipes.targets.kinds.KINDS``."""
    destination: str
    """Topic, bus, API destination, ``module:function`` or URL, as the kind reads it."""
    origin: Literal["rule", "pipe"]
    """Who sends: a rule sends matched events; a pipe sends its records' payloads."""
    name: str = ""
    """The rule's name (records a topic target writes name it) or the pipe's."""
    partition_key_path: str | None = None
    """Topic targets of rules: JSONPath into the event whose value keys the record."""
    message_group_id: str | None = None
    """Topic targets of rules: the key of every record (SQS FIFO's ``MessageGroupId``), instead of a path."""
    http_parameters: Any = None
    """ApiDestination targets: the rule target's ``HttpParameters``."""
    bus_parameters: Any = None
    """EventBus targets of pipes: ``EventBridgeEventBusParameters`` (DetailType, Source)."""
    source_label: str = ""
    """EventBus targets of pipes: the default ``DetailType`` is ``Event from <this>``."""


PutEvents = Callable[[list[dict[str, Any]], str], Awaitable[list[str | None]]]
"""``(entries, bus)`` → per entry, None if put, else why not: PutEvents as a pipe's bus target needs it."""


@dataclass(frozen=True, slots=True)
class TargetContext:
    """What targets share in one process: the producer, the account, resolvers for named resources."""

    sink: RecordSink
    """Writes records and returns once Kafka acknowledged them."""
    region: str
    account: str
    source_bus: str | None = None
    """Rules: the bus the rule reads (an EventBus target refuses to send an event back to it)."""
    api_destination: Callable[[str], tuple[Any, Any, Any]] | None = None
    """Name → ``(ApiDestination, Connection, TokenBucket)``, for ApiDestination targets."""
    put_events: PutEvents | None = None
    """PutEvents, for pipes' EventBus targets (governed buses validate what they take)."""
    ensure_topic: Callable[[str], None] | None = None
    """Creates a topic if missing, for pipes' Topic targets (rules' topics are made by ``prepare``)."""
