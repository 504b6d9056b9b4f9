"""Errors of the control plane, each carrying AWS's error code and AWS's message.

``code`` is the error name EventBridge (or Pipes) answers with, so the AWS-compatible
endpoint puts it in ``__type`` as is, and ``message`` is AWS's text. Raised before a change
is written, or by the rules that apply it (``state.py``): either way nothing changed.
Pure: no Kafka here.
"""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class ControlPlaneError(EventPipesError):
    """Base of every error ``ControlPlane.invoke`` raises; ``code`` is AWS's error code."""

    code = "InternalException"
    input_error = True


class ValidationException(ControlPlaneError):
    """A parameter is malformed or breaks a rule (EventBridge's and Pipes' ``ValidationException``)."""

    code = "ValidationException"


class ResourceNotFoundException(ControlPlaneError):
    """The named resource does not exist (EventBridge's name)."""

    code = "ResourceNotFoundException"


class ResourceAlreadyExistsException(ControlPlaneError):
    """A resource of that name exists already (EventBridge's name)."""

    code = "ResourceAlreadyExistsException"


class LimitExceededException(ControlPlaneError):
    """A quota would be passed: 5 targets per rule, 300 rules per bus (EventBridge's name)."""

    code = "LimitExceededException"


class InvalidEventPatternException(ControlPlaneError):
    """An event pattern EventBridge would refuse; ``path`` says where in the pattern ("" for the whole)."""

    code = "InvalidEventPatternException"
    path = ""


class ConcurrentModificationException(ControlPlaneError):
    """Two writers collided (EventBridge's name); the request may be sent again."""

    code = "ConcurrentModificationException"
    retryable = True


class InvalidStateException(ControlPlaneError):
    """The resource is not in a state that allows the request (EventBridge's name)."""

    code = "InvalidStateException"


class NotFoundException(ControlPlaneError):
    """Pipes' name for a resource that does not exist."""

    code = "NotFoundException"


class ConflictException(ControlPlaneError):
    """Pipes' name for a conflicting request (a pipe of that name exists already)."""

    code = "ConflictException"


class UnknownOperationException(ControlPlaneError):
    """The operation is not one the control plane serves."""

    code = "UnknownOperationException"


class InternalException(ControlPlaneError):
    """The store could not answer (Kafka unreachable, or the change was written but not applied in time).

    Not the caller's fault: ``retryable`` is true. A request that timed out after it was
    written may still be applied later; describing the resource tells.
    """

    code = "InternalException"
    input_error = False
    retryable = True


class ApplyRefused(ControlPlaneError):
    """A topology that cannot be applied to the store as it is (an archive moved to another bus, a
    ``<stored secret>`` with no stored secret to keep); raised while planning, before anything is changed."""

    code = "ValidationException"


class StepFailed(ControlPlaneError):
    """A step of ``eventpipes apply`` was refused; the steps before it stay applied.

    ``code`` is the refusal's own (``ResourceAlreadyExistsException``, ...), ``step`` the
    1-based number of the step, and the message names the step and what was applied before it.
    """

    def __init__(self, message: str, *, code: str, step: int, input_error: bool, retryable: bool) -> None:
        super().__init__(message, code=code)
        self.step = step
        self.input_error = input_error
        self.retryable = retryable


class KeyMissing(ControlPlaneError):
    """Secrets were given but this process has no ``EVENTPIPES_CONTROL_KEY`` to encrypt them with."""

    code = "ValidationException"


__all__ = [
    "ApplyRefused",
    "ConcurrentModificationException",
    "ConflictException",
    "ControlPlaneError",
    "InternalException",
    "InvalidEventPatternException",
    "InvalidStateException",
    "KeyMissing",
    "LimitExceededException",
    "NotFoundException",
    "ResourceAlreadyExistsException",
    "ResourceNotFoundException",
    "StepFailed",
    "UnknownOperationException",
    "ValidationException",
]
