"""Compiled patterns: one pattern on its own, and the function behind TestEventPattern."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from eventpipes.errors import ValidationException
from eventpipes.patterns import native
from eventpipes.patterns.flatten import FieldPaths, FlatEvent, flatten
from eventpipes.patterns.jsondepth import MAX_DETAIL_DEPTH, MAX_EVENT_DEPTH, TooDeep, loads
from eventpipes.patterns.machine import Machine
from eventpipes.patterns.model import SubRule
from eventpipes.patterns.parse import parse_pattern

#: A pattern as callers give it: a JSON object or its text.
PatternInput = Union[Mapping[str, Any], str, bytes]
#: An event as callers give it: a JSON object, its text, or already flattened.
EventInput = Union[Mapping[str, Any], str, bytes, FlatEvent]

_SELF = "pattern"  # the one rule name inside a lone pattern's machine


def flat_event(event: EventInput, only: FieldPaths | None = None) -> FlatEvent:
    """Flatten an event given in any accepted form (with ``only``: just the leaves at those paths).

    Raises:
        ValidationException: the event is not JSON or not a JSON object.
    """
    if type(event) is dict:  # the usual case, without the slow ABC checks below
        if only is not None and only.native is not None:
            found = native.flatten_object(only.native, event)  # C; None: the Python walk
            if found is not None:
                return found
        return flatten(event, only)
    if isinstance(event, FlatEvent):
        return event
    if only is not None and only.native is not None and isinstance(event, (str, bytes, bytearray)):
        # JSON text straight to the fields rules read (C); None: text it leaves to json.loads.
        found = native.flatten_text(only.native, event)
        if found is not None:
            return found
    return flatten(event_object(event), only)


def event_object(event: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """An event given as a JSON object or its text, as the object.

    Text may nest up to :data:`~eventpipes.patterns.jsondepth.MAX_EVENT_DEPTH` levels (a
    ``detail`` as deep as PutEvents processes, inside its envelope).

    Raises:
        ValidationException: EventBridge's "Parameter Event is not valid.": not JSON, nested
            too deep, or not an object.
    """
    if isinstance(event, (str, bytes, bytearray)):
        try:
            event = loads(event, limit=MAX_EVENT_DEPTH)
        except TooDeep as exc:
            raise ValidationException(
                f"Parameter Event is not valid. Reason: nested deeper than {exc.limit} levels "
                f"(PutEvents processes JSON nested up to {MAX_DETAIL_DEPTH} levels deep)"
            ) from exc
        except ValueError as exc:
            raise ValidationException(f"Parameter Event is not valid. Reason: not JSON: {exc}") from exc
    if not isinstance(event, Mapping):
        raise ValidationException("Parameter Event is not valid. Reason: an event must be a JSON object")
    return event


@dataclass(frozen=True)
class Pattern:
    """A validated, compiled event pattern.

    Use :func:`compile_pattern` to make one; match many patterns at once with
    :class:`~eventpipes.patterns.ruler.Ruler`.
    """

    sub_rules: tuple[SubRule, ...]
    """The pattern multiplied out into ``$or``-free conjunctions."""
    _machine: Machine = field(compare=False, repr=False)

    def matches(self, event: EventInput) -> bool:
        """Whether the event matches the pattern.

        Raises:
            ValidationException: the event is not a JSON object.
        """
        root, paths = self._machine.view
        return bool(self._machine.matches(flat_event(event, paths), root))


def compile_pattern(pattern: PatternInput) -> Pattern:
    """Validate and compile an event pattern.

    Args:
        pattern: the pattern as a JSON object (a mapping) or as JSON text.

    Returns:
        The compiled pattern.

    Raises:
        InvalidEventPattern: a pattern EventBridge would reject; ``path`` says where.
    """
    sub_rules = parse_pattern(pattern)
    machine = Machine()
    machine.update(add={_SELF: sub_rules})
    return Pattern(sub_rules, machine)


def matches(pattern: PatternInput, event: EventInput) -> bool:
    """Whether ``event`` matches ``pattern`` (``aws events test-event-pattern`` without the envelope check).

    Raises:
        InvalidEventPattern: the pattern is one EventBridge would reject.
        ValidationException: the event is not a JSON object.
    """
    return compile_pattern(pattern).matches(event)
