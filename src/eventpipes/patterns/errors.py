"""The one error the pattern language raises: a pattern EventBridge would reject."""

from __future__ import annotations

from eventpipes.errors import EventPipesError

#: EventBridge's prefix for every pattern it refuses (its ``InvalidEventPatternException`` text).
MESSAGE_PREFIX = "Event pattern is not valid. Reason: "


class InvalidEventPattern(EventPipesError):
    """An event pattern that EventBridge would reject, with where and why.

    ``str(error)`` is one line: ``InvalidEventPatternException: Event pattern is not
    valid. Reason: <EventBridge's reason> (at <path>)``.

    Attributes:
        path: where in the pattern the problem is, dot-joined as EventBridge joins
            keys (``detail.state``), with ``[i]`` for a position in a value list;
            ``""`` for the pattern as a whole.
        reason: EventBridge's reason text alone, without prefix or path.
        input_error: always true: the caller's input is wrong (the CLI exits 2).
    """

    code = "InvalidEventPatternException"
    input_error = True

    def __init__(self, reason: str, *, path: str = "") -> None:
        where = f" (at {path})" if path else ""
        super().__init__(f"{MESSAGE_PREFIX}{reason}{where}")
        self.path = path
        self.reason = reason
