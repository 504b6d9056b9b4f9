"""The one error schedule expressions raise: an expression EventBridge would refuse."""

from __future__ import annotations

from eventpipes.errors import ValidationException

#: EventBridge's message for every schedule expression it refuses (PutRule's ``ValidationException``).
MESSAGE = "Parameter ScheduleExpression is not valid."


class InvalidScheduleExpression(ValidationException):
    """A ``ScheduleExpression`` EventBridge would refuse.

    ``message`` is EventBridge's text exactly, so the AWS-compatible endpoint can return it
    as is; ``str(error)`` adds the reason, so a person sees what to change.

    Attributes:
        expression: the refused text.
        reason: what is wrong, naming the field (``day-of-week: ...``).
        path: always ``ScheduleExpression``, the request field at fault.
        input_error: always true: the caller's input is wrong (the CLI exits 2).
    """

    input_error = True
    path = "ScheduleExpression"

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(MESSAGE)
        self.expression = expression
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.message} ({self.reason}: {self.expression!r})"
