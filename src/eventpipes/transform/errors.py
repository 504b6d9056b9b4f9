"""Errors for target input configuration EventBridge would refuse at ``PutTargets``, and for
an event that a valid configuration cannot be applied to (:class:`TransformFailed`)."""

from __future__ import annotations

from eventpipes.errors import EventPipesError, ValidationException


class InvalidTargetInput(ValidationException):
    """A target's ``Input``, ``InputPath`` or ``InputTransformer`` EventBridge would reject.

    ``str(error)`` is one line: ``ValidationException: <what> (at <path>)``.

    Attributes:
        path: the field at fault in EventBridge's names, dot-joined:
            ``InputTransformer.InputPathsMap.instance``, ``InputTransformer.InputTemplate``,
            ``InputPath``, ``Input``; ``""`` for the target as a whole.
        reason: the message alone, without code or path.
        input_error: always true: the caller's input is wrong (the CLI exits 2).
    """

    input_error = True

    def __init__(self, reason: str, *, path: str = "") -> None:
        where = f" (at {path})" if path else ""
        super().__init__(f"{reason}{where}")
        self.path = path
        self.reason = reason


class InvalidInputTransformer(InvalidTargetInput):
    """An ``InputTransformer`` (paths map or template) EventBridge would reject."""


class InvalidJsonPath(InvalidTargetInput):
    """A JSONPath outside the subset EventBridge evaluates."""


class TransformFailed(EventPipesError):
    """One event the target's input transformation cannot be applied to.

    The target configuration is valid; this event's values do not fit it. Retrying the same
    event gives the same result, so ``retryable`` is false and the delivery code sends the
    event to the target's dead-letter topic with this error's message.
    """

    code = "TransformFailed"
    retryable = False


class ObjectInsideQuotes(TransformFailed):
    """A JSON template's placeholder inside quotes whose value is an object or an array.

    EventBridge accepts the rule and the event and then delivers nothing to the target
    (recorded from EventBridge); eventpipes dead-letters the event with this reason instead
    of dropping it silently.

    Attributes:
        placeholder: the placeholder's name, as between ``<`` and ``>``.
        kind: ``"object"`` or ``"array"``.
    """

    code = "ObjectInsideQuotes"

    def __init__(self, placeholder: str, kind: str) -> None:
        super().__init__(
            f"placeholder <{placeholder}> stands inside quotes in a JSON InputTemplate and its value is an {kind}; "
            "EventBridge delivers nothing to the target for such an event (put the placeholder outside the "
            "quotes to insert the value as JSON)")
        self.placeholder = placeholder
        self.kind = kind
