"""Problems found in a topology file, each with its file, line, column and path."""

from __future__ import annotations

from dataclasses import dataclass

from eventpipes.errors import EventPipesError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a topology, located as an editor would show it."""

    path: str
    """Where in the document, e.g. ``Rules[0].Targets[1].RetryPolicy.MaximumRetryAttempts``."""
    message: str
    """What is wrong and what was expected."""
    file: str = "<topology>"
    """The file it was read from."""
    line: int | None = None
    """1-based line, when known."""
    column: int | None = None
    """1-based column, when known."""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.path or '<document>'}: {self.message}" if self.path else f"{where}: {self.message}"


class TopologyError(EventPipesError):
    """A topology that cannot be used; ``problems`` lists every problem found."""

    code = "InvalidTopology"
    input_error = True

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0]) if problems else "invalid topology"
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(first + more)
        self.problems = problems
