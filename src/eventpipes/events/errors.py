"""Per-entry and per-event errors, with EventBridge's error codes."""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class EntryError(EventPipesError):
    """A PutEvents entry that cannot be put; it fails alone, the others still go.

    Attributes:
        field: the entry field at fault (``Source``, ``Detail``, ...), if one is.
    """

    code = "InvalidArgument"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidArgument(EntryError):
    """A parameter of the entry is missing or not valid."""

    code = "InvalidArgument"


class MalformedDetail(EntryError):
    """``Detail`` is not a JSON object."""

    code = "MalformedDetail"

    def __init__(self) -> None:
        super().__init__("Detail is malformed.", field="Detail")


class NotAuthorizedForSource(EntryError):
    """Sources starting with ``aws.`` belong to AWS services, as in EventBridge."""

    code = "NotAuthorizedForSourceException"

    def __init__(self, source: str) -> None:
        super().__init__(f"Not authorized for the source {source!r}.", field="Source")


class EventBusNotFound(EntryError):
    """The entry names a bus that does not exist (its topic does not: ``eventpipes.bus.existing``).

    EventBridge answers success and drops such an event; eventpipes fails the entry instead,
    so that a misspelled bus name is seen (docs/differences.md). ``eventpipes tail`` raises it too.
    """

    code = "ResourceNotFoundException"
    input_error = True
    """The CLI exits 2: the name given is wrong, not the system."""

    def __init__(self, bus: str) -> None:
        super().__init__(f"Event bus {bus} does not exist.", field="EventBusName")
        self.bus = bus


class InvalidEvent(EventPipesError):
    """A JSON document that is not a valid EventBridge event envelope."""

    code = "InvalidEvent"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InternalFailure(EntryError):
    """The entry was valid but could not be written; putting it again may succeed."""

    code = "InternalFailure"
    retryable = True
