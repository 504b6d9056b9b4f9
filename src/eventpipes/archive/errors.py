"""Errors of archives and replays, named as EventBridge names them.

Each is a short subclass with what the caller needs as attributes. Those that mean
"the request was wrong" set ``input_error`` so the CLI exits 2; nothing is changed
when one is raised.
"""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class ArchiveError(EventPipesError):
    """Base of archive and replay errors."""

    input_error = True


class ValidationException(ArchiveError):
    """A parameter is not valid; ``parameter`` names it."""

    code = "ValidationException"

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"Parameter {parameter} is not valid. Reason: {reason}")
        self.parameter = parameter
        self.reason = reason


class ResourceAlreadyExistsException(ArchiveError):
    """An archive or replay of that name exists already."""

    code = "ResourceAlreadyExistsException"

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} already exists.")
        self.kind = kind
        self.name = name


class ResourceNotFoundException(ArchiveError):
    """No archive or replay of that name."""

    code = "ResourceNotFoundException"

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind} {name} does not exist.")
        self.kind = kind
        self.name = name


class InvalidEventPatternException(ArchiveError):
    """The archive's event pattern is one EventBridge would refuse; ``path`` says where."""

    code = "InvalidEventPatternException"

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"Event pattern is not valid. Reason: {reason}" + (f" (at {path})" if path else ""))
        self.reason = reason
        self.path = path


class LimitExceededException(ArchiveError):
    """Too many replays running at once (``limit`` of them)."""

    code = "LimitExceededException"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The requested replay exceeds the limit of {limit} concurrent replays.")
        self.limit = limit


class IllegalStatusException(ArchiveError):
    """The replay is not in a state that allows the action."""

    code = "IllegalStatusException"

    def __init__(self, name: str, state: str, action: str) -> None:
        super().__init__(f"Replay {name} is in state {state}; cannot {action}.")
        self.name = name
        self.state = state
        self.action = action


class ArchiveKeyError(ArchiveError):
    """The key of an encrypted archive is missing or is not the archive's key; nothing was replayed."""

    code = "ArchiveKeyError"

    def __init__(self, archive: str, reason: str) -> None:
        super().__init__(f"archive {archive}: {reason}")
        self.archive = archive
        self.reason = reason
