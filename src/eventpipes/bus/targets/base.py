"""What every target kind promises, and how it reports failure.

A target's ``deliver`` returns when the target has accepted the payload. It raises
``DeliveryFailed`` when it has not: ``retryable`` says whether trying the same
payload again may succeed (a timeout, a 5xx) or not (a 400, a declared
non-retryable error), which decides between another attempt and the dead-letter topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eventpipes.errors import TargetFailed


class DeliveryFailed(TargetFailed):
    """A rule target did not accept an event (``retryable`` decides: retry or dead-letter)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one target."""

    event: dict[str, Any]
    """The matched event, as an EventBridge envelope."""
    raw: bytes
    """The event exactly as it sat on the bus topic."""
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


class TargetSender(Protocol):
    """A target kind. ``deliver`` returns on success and raises ``DeliveryFailed`` otherwise."""

    async def deliver(self, delivery: Delivery) -> None: ...

    async def close(self) -> None: ...
