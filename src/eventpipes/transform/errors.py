"""Errors for target input configuration EventBridge would refuse at ``PutTargets``."""

from __future__ import annotations

from eventpipes.errors import ValidationException


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
