"""Bounds a topology's YAML must keep before it is composed, so hostile files fail fast and located.

Three attacks cost nothing to write and a lot to load, and each is refused here from ruamel.yaml's
event stream, which is read lazily and left at the first event past a bound:

* **Nesting.** ruamel.yaml composes nodes recursively (about three Python frames per level, so
  ``RecursionError`` near 300 levels) and its scanner slows down quadratically with flow depth
  (10,000 nested ``[`` took 36 s to parse). A document may nest at most :data:`MAX_NESTING`
  levels (the topology's own mapping is level 1; a rule's ``EventPattern`` starts at level 4).
  EventBridge bounds a rule's pattern at 2,048 characters (4,096 with a quota increase) and a
  pipe's filter ``Pattern`` at 4,096; patterns in practice nest under 10 levels, so 100 leaves
  room for any real pattern while keeping the recursive composer far from the recursion limit.
* **JSON text in a value.** ``EventPattern`` and a pipe filter's ``Pattern`` may be JSON text,
  parsed later by ``json.loads`` (recursive too). A scalar whose text starts with ``{`` or ``[``
  may nest at most :data:`MAX_NESTING` levels as well.
* **Alias expansion** (a "billion laughs": 542 bytes of anchors and aliases in an
  ``EventPattern`` became 200 MB, 15 s and 464 MB of memory once pydantic copied the shared
  nodes). Aliases may add at most :data:`MAX_ALIAS_EXPANSION` units to the document, a unit
  being one node or one character of a scalar, counted as the aliases would expand. That is
  64 EventPatterns at EventBridge's 4,096-character maximum, far beyond what sharing a retry
  policy or a target block between rules needs, and a few hundred kilobytes at worst.

Each refusal is a :class:`~eventpipes.topology.errors.Problem` at the line and column of the
event that went past the bound. Syntax errors are left to the loader, which reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, DocumentStartEvent, Event, ScalarEvent

from eventpipes.events.jsontext import JsonTooDeep, check_depth
from eventpipes.topology.errors import Problem

#: Deepest nesting of a topology document (and of JSON text in one of its values).
MAX_NESTING = 100
#: Most nodes plus scalar characters that alias expansion may add to one document.
MAX_ALIAS_EXPANSION = 262_144


@dataclass
class _Open:
    """A collection being read: its anchor and its expanded size so far."""

    anchor: str | None
    size: int = 1


def check_bounds(text: str, file: str) -> Problem | None:
    """The first bound the document goes past, located; ``None`` if it keeps them all."""
    scan = _Scan(file)
    try:
        for event in YAML(typ="rt").parse(text):
            problem = scan.feed(event)
            if problem is not None:
                return problem
    except YAMLError:
        return None  # a syntax error: the loader reports it with its own location
    return None


class _Scan:
    """Nesting depth and expanded size, event by event."""

    def __init__(self, file: str) -> None:
        self._file = file
        self._open: list[_Open] = []
        self._sizes: dict[str, int] = {}
        self._expanded = 0

    def feed(self, event: Event) -> Problem | None:
        if isinstance(event, DocumentStartEvent):
            self._sizes.clear()  # anchors do not cross documents
        elif isinstance(event, CollectionStartEvent):
            if len(self._open) >= MAX_NESTING:
                return self._problem(event, f"nested more than {MAX_NESTING} levels deep; "
                                            f"a topology may nest at most {MAX_NESTING}")
            self._open.append(_Open(event.anchor))
        elif isinstance(event, CollectionEndEvent):
            closed = self._open.pop()
            self._add(closed.anchor, closed.size)
        elif isinstance(event, ScalarEvent):
            self._add(event.anchor, 1 + len(event.value))
            return self._json_text(event)
        elif isinstance(event, AliasEvent):
            size = self._sizes.get(event.anchor, 1)
            self._expanded += size
            if self._expanded > MAX_ALIAS_EXPANSION:
                return self._problem(event, f"alias *{event.anchor} takes alias expansion past {MAX_ALIAS_EXPANSION} "
                                            "nodes and characters; use fewer aliases or write the values out")
            self._add(None, size)
        return None

    def _add(self, anchor: str | None, size: int) -> None:
        if anchor is not None:
            self._sizes[anchor] = size
        if self._open:
            self._open[-1].size += size

    def _json_text(self, event: ScalarEvent) -> Problem | None:
        if not event.value.lstrip().startswith(("{", "[")):
            return None
        try:
            check_depth(event.value, MAX_NESTING)
        except JsonTooDeep:
            return self._problem(event, f"JSON text nested more than {MAX_NESTING} levels deep; "
                                        f"a topology may nest at most {MAX_NESTING}")
        return None

    def _problem(self, event: Event, message: str) -> Problem:
        mark = event.start_mark
        return Problem("", message, self._file, mark.line + 1, mark.column + 1)
