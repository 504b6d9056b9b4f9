"""The subset of JSONPath that EventBridge evaluates against an event.

EventBridge documents what it supports: dot notation (``$.detail.state``), names
made of letters, digits, dashes, underscores and forward slashes, array indices
(``$.resources[0]``) and wildcards (``$.detail.*``, ``$.resources[*]``). A target's
``InputPath`` may also use bracket notation (``$['detail']['state']``); the values of
``InputPathsMap`` must not.

The result follows Jayway JsonPath, the Java library this behaviour matches:

* a *definite* path (no wildcard) selects one value or nothing at all;
* an *indefinite* path (any wildcard) always selects a list of what it reached,
  possibly empty, in document order.

Rejected alternative: jsonpath-ng. It parses far more than EventBridge accepts
(filters, slices, recursive descent), so it would need this same checker in front
of it, and it returns match objects rather than the definite/indefinite distinction
the input transformer depends on; the subset is thirty lines on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Union

from eventpipes.transform.errors import InvalidJsonPath

#: One name in dot notation. Wider than the documented alphabet (letters, digits,
#: ``-``, ``_``, ``/``) so that events with ``:`` or ``@`` in keys stay reachable; the
#: characters JSONPath itself uses, quotes, spaces and the template's ``<>`` are out.
_NAME = r"[^.\[\]\s'\"<>*]+"

_SEGMENT = re.compile(
    rf"\.(?P<name>{_NAME})"
    r"|\.(?P<dotstar>\*)"
    r"|\[(?P<index>-?\d+)\]"
    r"|\[(?P<brackstar>\*)\]"
    rf"|\['(?P<quoted>{_NAME})'\]"
)


@dataclass(frozen=True, slots=True)
class Key:
    """Step into an object member."""

    name: str
    """The member's name."""


@dataclass(frozen=True, slots=True)
class Index:
    """Step into an array element; negative counts from the end, as in Jayway."""

    position: int
    """Zero-based position."""


@dataclass(frozen=True, slots=True)
class Wildcard:
    """Step into every member of an object or every element of an array."""


Step = Union[Key, Index, Wildcard]


class _Missing:
    """The single value a definite path gives when it reaches nothing."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What a definite path that matches nothing evaluates to (never ``None``: JSON ``null`` is a value).
MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path, ready to be evaluated against any number of events."""

    text: str
    """The path as written, e.g. ``$.detail.instance-id``."""
    steps: tuple[Step, ...]
    """The steps after ``$``, in order."""

    @property
    def definite(self) -> bool:
        """True when the path has no wildcard and so selects at most one value."""
        return not any(isinstance(step, Wildcard) for step in self.steps)

    def find(self, document: Any) -> Any:
        """Evaluate the path.

        Args:
            document: the parsed JSON the path starts from (``$``).

        Returns:
            For a definite path, the value it reaches or :data:`MISSING`. For an
            indefinite path, the list of values it reaches (empty if none).
        """
        current = [document]
        for step in self.steps:
            current = [found for value in current for found in _step(step, value)]
        if self.definite:
            return current[0] if current else MISSING
        return current


def _step(step: Step, value: Any) -> list[Any]:
    if isinstance(step, Key):
        return [value[step.name]] if isinstance(value, dict) and step.name in value else []
    if isinstance(step, Index):
        if isinstance(value, list) and -len(value) <= step.position < len(value):
            return [value[step.position]]
        return []
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, list) else []


def parse_path(text: str, *, field: str = "", allow_brackets: bool = True) -> JsonPath:
    """Parse a JSONPath in the subset EventBridge evaluates.

    Args:
        text: the path, starting with ``$``.
        field: where the path came from, for the error (``InputPath``,
            ``InputTransformer.InputPathsMap.instance``).
        allow_brackets: whether ``['name']`` is accepted (``InputPath`` yes,
            ``InputPathsMap`` values no: EventBridge requires dot notation there).

    Raises:
        InvalidJsonPath: the text is not a path in the subset.
    """
    if not text.startswith("$"):
        raise InvalidJsonPath(f"JSON path {text!r} must start with '$'", path=field)
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise InvalidJsonPath(
                f"JSON path {text!r} is not supported from character {position + 1}: EventBridge "
                "accepts dot notation, array indices and wildcards", path=field)
        if match["quoted"] is not None and not allow_brackets:
            raise InvalidJsonPath(
                f"JSON path {text!r} uses bracket notation; use JSON dot notation", path=field)
        steps.append(_to_step(match))
        position = match.end()
    return JsonPath(text=text, steps=tuple(steps))


def _to_step(match: re.Match[str]) -> Step:
    if match["index"] is not None:
        return Index(int(match["index"]))
    name = match["name"] or match["quoted"]
    return Key(name) if name is not None else Wildcard()
