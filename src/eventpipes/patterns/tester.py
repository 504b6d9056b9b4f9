"""What ``TestEventPattern`` does: check the event's envelope, then match the pattern."""

from __future__ import annotations

from typing import Any, Final, Mapping

from eventpipes.errors import ValidationException
from eventpipes.patterns.pattern import PatternInput, compile_pattern, event_object

#: Envelope fields TestEventPattern requires of the sample event (it accepts
#: events without ``version``, ``resources`` or ``detail``).
TEST_EVENT_FIELDS: Final = ("id", "account", "source", "time", "region", "detail-type")

_NOT_VALID: Final = "Parameter Event is not valid."


def check_test_event(event: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    """The event as a JSON object, if TestEventPattern would accept it.

    Raises:
        ValidationException: EventBridge's "Parameter Event is not valid.", with the reason.
    """
    event = event_object(event)
    missing = [name for name in TEST_EVENT_FIELDS if name not in event]
    if missing:
        raise ValidationException(f"{_NOT_VALID} Reason: missing field(s) {', '.join(missing)}")
    return dict(event)


def evaluate_test_event(pattern: PatternInput, event: Mapping[str, Any] | str | bytes) -> bool:
    """``aws events test-event-pattern``: whether the event matches the pattern.

    The pattern is checked first, as EventBridge does.

    Raises:
        InvalidEventPattern: the pattern is one EventBridge would reject.
        ValidationException: the event is not one TestEventPattern accepts.
    """
    compiled = compile_pattern(pattern)
    return compiled.matches(check_test_event(event))
