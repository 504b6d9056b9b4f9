"""Event patterns as Faust stream predicates: ``stream.filter(EventPattern({...}))``.

Both predicates answer exactly as eventpipes' matcher does (``eventpipes.patterns``: the same
compiled machine, the same conformance vectors), for an event given as a dict, as JSON text
or as raw JSON bytes (a topic read with ``value_serializer="raw"`` skips Faust's own JSON
decoding). Like ``aws events test-event-pattern`` without its envelope check, a pattern
matches any JSON object, so a Faust app can filter its own records, not only EventBridge
envelopes. A value that is not a JSON object matches nothing: the predicate says False, as
EventBridge never delivers a non-event to a rule, rather than crash the agent.

This module does not import Faust: a predicate is a plain callable, and ``Stream.filter``
accepts any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eventpipes.errors import ValidationException
from eventpipes.faust.errors import RouteConfigurationError
from eventpipes.patterns import InvalidEventPattern, Pattern, Ruler, compile_pattern
from eventpipes.patterns.pattern import PatternInput
from eventpipes.topology import Rule, Topology, load_file

#: What a predicate takes: a decoded JSON object, or its JSON text as str or bytes.
EventValue = Mapping[str, Any] | str | bytes


class EventPattern:
    """One event pattern as a predicate: ``EventPattern(pattern)(event) -> bool``.

    Args:
        pattern: the pattern as a mapping or as JSON text.

    Raises:
        InvalidEventPattern: a pattern EventBridge would reject (EventBridge's reason and the path).
    """

    __slots__ = ("pattern",)

    def __init__(self, pattern: PatternInput) -> None:
        self.pattern: Pattern = compile_pattern(pattern)

    def __call__(self, event: EventValue) -> bool:
        try:
            return self.pattern.matches(event)
        except ValidationException:
            return False  # not a JSON object: matches no pattern

    def __repr__(self) -> str:
        return f"EventPattern({len(self.pattern.sub_rules)} sub-rules)"


class RuleSet:
    """Named patterns matched at once; true for an event that any of them matches.

    ``matches(event)`` says which ones. Build it from patterns, from topology rules
    (``from_rules``), or from a topology file's rules on one bus (``from_topology``);
    disabled rules are left out, as eventpipes' router leaves them out.

    Raises:
        InvalidEventPattern: one of the patterns is invalid; its ``path`` starts with the
            rule's name (``orders/detail.total``).
    """

    __slots__ = ("ruler",)

    def __init__(self, patterns: Mapping[str, PatternInput]) -> None:
        self.ruler = Ruler({name: _compiled(name, pattern) for name, pattern in patterns.items()})

    @classmethod
    def from_rules(cls, rules: Iterable[Rule]) -> "RuleSet":
        # A rule without a pattern (main's schedule-only rules) matches no event.
        return cls({rule.name: rule.event_pattern for rule in rules
                    if rule.state == "ENABLED" and rule.event_pattern is not None})

    @classmethod
    def from_topology(cls, topology: Topology | str | Path, bus: str) -> "RuleSet":
        """The enabled rules on ``bus`` of a topology (or of the topology file at that path).

        Raises:
            TopologyError: the file is not a valid topology.
            RouteConfigurationError: no rule reads ``bus``.
        """
        loaded = topology if isinstance(topology, Topology) else load_file(topology)
        rules = loaded.rules_on(bus)
        if not rules:
            raise RouteConfigurationError(f"the topology has no rules on bus {bus!r}")
        return cls.from_rules(rules)

    def matches(self, event: EventValue) -> set[str]:
        """The names of the rules ``event`` matches (none for a value that is not a JSON object)."""
        try:
            return self.ruler.matches(event)
        except ValidationException:
            return set()

    def __call__(self, event: EventValue) -> bool:
        return bool(self.matches(event))

    def __len__(self) -> int:
        return len(self.ruler)

    def __repr__(self) -> str:
        return f"RuleSet({self.ruler.names()!r})"


def _compiled(name: str, pattern: PatternInput) -> Pattern:
    try:
        return compile_pattern(pattern)
    except InvalidEventPattern as error:
        raise InvalidEventPattern(error.reason, path=f"{name}/{error.path}" if error.path else name) from error
