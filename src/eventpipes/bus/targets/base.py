"""What every target kind promises, and how it reports failure.

A target's ``deliver`` returns when the target has accepted the payload. It raises
``DeliveryFailed`` when it has not: ``retryable`` says whether trying the same
payload again may succeed (a timeout, a 5xx) or not (a 400, a declared
non-retryable error), which decides between another attempt and the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from typing import Any, Protocol, runtime_checkable

from eventpipes.errors import TargetFailed


class DeliveryFailed(TargetFailed):
    """A rule target did not accept an event (``retryable`` decides: retry or dead-letter)."""


@dataclass(slots=True)
class Delivery:
    """One event on its way to one target."""

    raw: bytes
    """The event exactly as it sat on the bus topic (a JSON envelope)."""
    payload: bytes
    """What the target receives: the event after the target's input transformation."""
    rule: str
    """Name of the rule that matched."""
    rule_arn: str
    """ARN of that rule."""
    ingestion_time_ms: int
    """When the event was put on the bus (the bus record's timestamp)."""
    headers: tuple[tuple[str, bytes], ...] = ()
    """Headers the bus record carried (trace header, hop count)."""
    key: bytes | None = None
    """The routed record's key: the event id."""
    parsed: dict[str, Any] | None = None
    """The envelope, if already parsed (else ``event`` parses ``raw`` on first use)."""

    @property
    def event(self) -> dict[str, Any]:
        """The matched event, as an EventBridge envelope.

        Parsed only when a target needs it: a topic target without input transformation
        passes ``raw`` on untouched, and parsing it cost as much as the rest of the delivery.
        """
        if self.parsed is None:
            self.parsed = json.loads(self.raw)
        return self.parsed

    @property
    def event_id(self) -> bytes:
        """The event id as a record key."""
        return self.key if self.key else str(self.event.get("id", "")).encode()


class TargetSender(Protocol):
    """A target kind. ``deliver`` returns on success and raises ``DeliveryFailed`` otherwise."""

    async def deliver(self, delivery: Delivery) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class BatchTargetSender(TargetSender, Protocol):
    """A target kind that can take a whole batch in one call (Kafka topics, buses).

    ``deliver_all`` returns one outcome per delivery, in order: None for delivered, or
    the ``DeliveryFailed`` that delivery's first attempt met (it is then retried alone).
    """

    async def deliver_all(self, deliveries: list[Delivery]) -> list[DeliveryFailed | None]: ...
