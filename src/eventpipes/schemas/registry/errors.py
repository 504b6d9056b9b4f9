"""Confluent Schema Registry errors, each with its ``error_code`` and HTTP status kept apart.

The server answers with ``{"error_code": ..., "message": ...}`` from these; the client turns
an answer back into the same class (:func:`from_response`), whichever registry sent it.
"""

from __future__ import annotations

from typing import ClassVar

from eventpipes.errors import EventPipesError


class RegistryError(EventPipesError):
    """An error answer of a schema registry.

    Attributes:
        error_code: Confluent's code, e.g. 40401 (``code`` holds the same, as text).
        http_status: the HTTP status it comes with, e.g. 404.
    """

    error_code: ClassVar[int] = 50001
    http_status: ClassVar[int] = 500
    code = "50001"

    def __init__(self, message: str) -> None:
        super().__init__(message, code=str(self.error_code))

    def to_body(self) -> dict[str, object]:
        """The JSON error body Confluent's registry answers with."""
        return {"error_code": self.error_code, "message": self.message}


class _Input(RegistryError):
    input_error = True


class SubjectNotFound(_Input):
    error_code, http_status = 40401, 404


class VersionNotFound(_Input):
    error_code, http_status = 40402, 404


class SchemaNotFound(_Input):
    error_code, http_status = 40403, 404


class SubjectSoftDeleted(_Input):
    error_code, http_status = 40404, 404


class SubjectNotSoftDeleted(_Input):
    error_code, http_status = 40405, 404


class VersionSoftDeleted(_Input):
    error_code, http_status = 40406, 404


class VersionNotSoftDeleted(_Input):
    error_code, http_status = 40407, 404


class SubjectCompatibilityNotConfigured(_Input):
    error_code, http_status = 40408, 404


class SubjectModeNotConfigured(_Input):
    error_code, http_status = 40409, 404


class IncompatibleSchema(_Input):
    """The schema breaks the subject's compatibility level.

    Attributes:
        messages: the reasons, as listed in the message.
    """

    error_code, http_status = 409, 409

    def __init__(self, message: str, messages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.messages = messages


class InvalidSchemaError(_Input):
    error_code, http_status = 42201, 422


class InvalidVersion(_Input):
    error_code, http_status = 42202, 422


class InvalidCompatibilityLevel(_Input):
    error_code, http_status = 42203, 422


class InvalidMode(_Input):
    error_code, http_status = 42204, 422


class OperationNotPermitted(_Input):
    """E.g. registering while the registry is READONLY."""

    error_code, http_status = 42205, 422


class InvalidSubject(_Input):
    """A subject name the registry refuses (empty, control characters, ``..`` path segments)."""

    error_code, http_status = 42208, 422


class Unauthorized(_Input):
    """Missing or wrong HTTP Basic credentials; the body is Confluent's ``{"error_code": 401, ...}``."""

    error_code, http_status = 401, 401


class BadRequest(_Input):
    """A request body that is not the JSON the endpoint takes."""

    error_code, http_status = 400, 400


class NotFound(_Input):
    """No such endpoint."""

    error_code, http_status = 404, 404


class StoreError(RegistryError):
    """The registry's Kafka log could not be written or read."""

    error_code, http_status = 50001, 500
    retryable = True


class OperationTimedOut(RegistryError):
    """The registry wrote the request but did not read it back in time."""

    error_code, http_status = 50002, 500
    retryable = True


class UnknownRegistryError(RegistryError):
    """An answer whose ``error_code`` eventpipes does not know; ``error_code`` is per instance."""

    def __init__(self, message: str, *, error_code: int, http_status: int) -> None:
        EventPipesError.__init__(self, message, code=str(error_code))
        self.error_code = error_code  # type: ignore[misc]
        self.http_status = http_status  # type: ignore[misc]


_BY_CODE: dict[int, type[RegistryError]] = {
    cls.error_code: cls
    for cls in (
        SubjectNotFound, VersionNotFound, SchemaNotFound, SubjectSoftDeleted, SubjectNotSoftDeleted,
        VersionSoftDeleted, VersionNotSoftDeleted, SubjectCompatibilityNotConfigured, SubjectModeNotConfigured,
        IncompatibleSchema, InvalidSchemaError, InvalidVersion, InvalidCompatibilityLevel, InvalidMode,
        OperationNotPermitted, InvalidSubject, Unauthorized, StoreError, OperationTimedOut,
    )
}


def from_response(http_status: int, body: object) -> RegistryError:
    """The error a registry's answer stands for (any Confluent-compatible registry)."""
    error_code = body.get("error_code") if isinstance(body, dict) else None
    message = str(body.get("message", "")) if isinstance(body, dict) else str(body)
    cls = _BY_CODE.get(error_code) if isinstance(error_code, int) else None
    if cls is not None and cls.http_status == http_status:
        return cls(message)
    code = error_code if isinstance(error_code, int) else http_status
    return UnknownRegistryError(message or f"HTTP {http_status}", error_code=code, http_status=http_status)
