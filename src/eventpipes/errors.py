"""The root of every error eventpipes raises on purpose.

Each subpackage keeps its own short subclasses in its ``errors.py``. Errors carry
what a caller needs as attributes (``code``, ``path``, ``retryable``) so that the
CLI, the HTTP API and the dead-letter writer never parse a message string.
"""

from __future__ import annotations


class EventPipesError(Exception):
    """Base of all eventpipes errors.

    Attributes:
        code: the EventBridge (or Kafka, or Confluent) error name this maps to.
        retryable: whether the same call may succeed if made again unchanged.
    """

    code: str = "InternalFailure"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationException(EventPipesError):
    """A request that is wrong as a whole (EventBridge's ``ValidationException``)."""

    code = "ValidationException"


class ConfigurationError(EventPipesError):
    """An environment setting or a file that cannot be used as given."""

    code = "ConfigurationError"


class NonRetryableError(EventPipesError):
    """Raise from a target function when retrying the same event cannot succeed.

    The event goes straight to the target's dead-letter topic, with this error's
    ``code`` and message in its headers.
    """

    code = "NonRetryableError"


class TargetFailed(EventPipesError):
    """A target (or a pipe's enrichment) did not accept an event or a batch.

    Attributes:
        code: EventBridge's DLQ ``ERROR_CODE`` (a ``retry.DlqErrorCode`` value).
        retryable: whether another attempt may succeed.
    """

    def __init__(self, message: str, *, code: str = "ERROR_FROM_TARGET", retryable: bool = True) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
