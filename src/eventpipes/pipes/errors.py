"""Typed errors of pipes: a pipe that cannot be found or run (a failing target raises ``eventpipes.errors.TargetFailed``)."""

from __future__ import annotations

from eventpipes.errors import EventPipesError



class PipeNotFound(EventPipesError):
    """No pipe of that name (EventBridge's ``NotFoundException``).

    Attributes:
        name: the pipe asked for.
    """

    code = "NotFoundException"
    input_error = True

    def __init__(self, name: str, where: str = "") -> None:
        super().__init__(f"Pipe {name} does not exist{f' in {where}' if where else ''}.")
        self.name = name


class PipeStateConflict(EventPipesError):
    """The pipe is already in the state asked for, or running elsewhere (``ConflictException``).

    Attributes:
        name: the pipe.
        current_state: its state now.
    """

    code = "ConflictException"
    input_error = True

    def __init__(self, name: str, current_state: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.current_state = current_state
