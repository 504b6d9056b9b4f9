"""Errors the endpoint answers with: AWS's error code, AWS's message and AWS's HTTP status.

Every error eventpipes raises carries ``code`` (EventBridge's name where one exists); the
endpoint turns it into the error body botocore parses into its modeled exception. Only the
status needs deciding here: AWS answers client errors with 400 (Pipes: the status its model
gives each error), and its internal errors with 500, which SDKs retry.
"""

from __future__ import annotations

from eventpipes.errors import EventPipesError

#: Codes that mean "the service failed", answered with 500 (botocore retries them).
SERVER_CODES = frozenset({"InternalException", "InternalFailure", "BrokerUnavailable", "ServiceUnavailable"})

#: Pipes' REST-JSON statuses, as its service model gives them.
PIPES_STATUS = {
    "ValidationException": 400, "NotFoundException": 404, "ConflictException": 409,
    "ServiceQuotaExceededException": 402, "ThrottlingException": 429, "InternalException": 500,
}

#: EventBridge's names for what Pipes calls otherwise, should a pipes operation raise them.
PIPES_CODES = {
    "ResourceNotFoundException": "NotFoundException",
    "ResourceAlreadyExistsException": "ConflictException",
    "ConcurrentModificationException": "ConflictException",
    "LimitExceededException": "ServiceQuotaExceededException",
    "InvalidEventPatternException": "ValidationException",
}


class ApiError(EventPipesError):
    """An AWS error answer: ``code`` goes in ``__type`` (or ``x-amzn-ErrorType``), the message beside it."""

    input_error = True

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status if status is not None else (500 if code in SERVER_CODES else 400)


def unknown_operation(name: str) -> ApiError:
    """AWS's answer to an operation it does not know; here also to one eventpipes does not implement."""
    return ApiError("UnknownOperationException", f"Operation {name} is not supported by this endpoint (eventpipes).")


def serialization(reason: str) -> ApiError:
    """A body that is not the JSON object the protocol requires (AWS's ``SerializationException``)."""
    return ApiError("SerializationException", reason)


def from_error(error: Exception) -> ApiError:
    """Any eventpipes error as the AWS answer it stands for (its ``code`` and ``message``)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, EventPipesError):
        code = "InternalException" if error.code == "BrokerUnavailable" else error.code
        return ApiError(code, error.message)
    return ApiError("InternalException", "Service encountered unexpected problem. Please try again.")


def validation(parameter: str, reason: str) -> ApiError:
    """EventBridge's ``Parameter X is not valid. Reason: ...`` (``reason`` ends with its own period)."""
    return ApiError("ValidationException", f"Parameter {parameter} is not valid. Reason: {reason}")


def missing(member: str) -> ApiError:
    """AWS's framework message for a required member left out."""
    return ApiError("ValidationException",
                    f"1 validation error detected: Value null at '{member[:1].lower() + member[1:]}' failed to satisfy "
                    "constraint: Member must not be null")
