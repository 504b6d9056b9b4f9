"""A rule set: many named patterns matched against an event in one pass."""

from __future__ import annotations

import threading
from typing import Iterable, Mapping

from eventpipes.patterns.machine import Machine
from eventpipes.patterns.pattern import EventInput, Pattern, PatternInput, compile_pattern, flat_event


class Ruler:
    """Named event patterns, compiled into one machine.

    ``matches(event)`` returns every matching rule in one walk whose cost follows
    the event's fields, not the number of rules. Rules may be added and removed
    while other threads match; see :mod:`eventpipes.patterns.machine` for the rule.

    Example:
        >>> ruler = Ruler({"ec2": {"source": ["aws.ec2"]}})
        >>> ruler.matches({"source": "aws.ec2"})
        {'ec2'}
    """

    def __init__(self, patterns: Mapping[str, PatternInput | Pattern] | None = None) -> None:
        self._machine = Machine()
        self._patterns: dict[str, Pattern] = {}
        # Keeps the name -> pattern table in step with the machine when writers race;
        # readers (matches) never take it.
        self._write_lock = threading.RLock()
        if patterns:
            self.update(add=patterns)

    def add(self, name: str, pattern: PatternInput | Pattern) -> Pattern:
        """Add a rule, or replace the rule of that name.

        Raises:
            InvalidEventPattern: the pattern is one EventBridge would reject (nothing changes).
        """
        compiled = self._compile(pattern)
        with self._write_lock:
            self._machine.update(add={name: compiled.sub_rules})
            self._patterns[name] = compiled
        return compiled

    def update(
        self, add: Mapping[str, PatternInput | Pattern] | None = None, remove: Iterable[str] = ()
    ) -> None:
        """Remove and add many rules as one change; much faster than one call per rule.

        Raises:
            InvalidEventPattern: one of the patterns is invalid (nothing changes).
        """
        compiled = {name: self._compile(p) for name, p in (add or {}).items()}
        removed = list(remove)
        with self._write_lock:
            self._machine.update(add={n: p.sub_rules for n, p in compiled.items()}, remove=removed)
            for name in removed:
                self._patterns.pop(name, None)
            self._patterns.update(compiled)

    def remove(self, name: str) -> bool:
        """Remove a rule; returns whether there was one of that name."""
        with self._write_lock:
            present = name in self._patterns
            self._machine.update(remove=[name])
            self._patterns.pop(name, None)
        return present

    def matches(self, event: EventInput) -> set[str]:
        """The names of every rule the event matches.

        Raises:
            ValidationException: the event is not a JSON object.
        """
        root, paths = self._machine.view
        return self._machine.matches(flat_event(event, paths), root)

    def pattern(self, name: str) -> Pattern:
        """The compiled pattern of a rule (KeyError if there is none)."""
        return self._patterns[name]

    def names(self) -> list[str]:
        """The rule names, in the order they were added."""
        return list(self._patterns)

    def __contains__(self, name: object) -> bool:
        return name in self._patterns

    def __len__(self) -> int:
        return len(self._patterns)

    @staticmethod
    def _compile(pattern: PatternInput | Pattern) -> Pattern:
        return pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
