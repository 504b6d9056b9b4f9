"""JSON text of patterns and events at EventBridge's nesting depth, with no RecursionError.

EventBridge's PutEvents reference says "PutEvents will only process nested JSON up to 1100
levels deep" (later revisions print 1000; the larger figure is taken, so anything EventBridge
documents as processable is accepted). Depth counts containers: ``{}`` and ``[]`` are 1 deep,
``{"a": {"b": 1}}`` is 2, a scalar 0. An event holds its ``detail`` one level down, so event
text is read up to :data:`MAX_EVENT_DEPTH`; deeper text is refused with :class:`TooDeep`.

Python's ``json.loads`` and ``json.dumps`` (C scanner and encoder) count every nesting level
against the interpreter's recursion limit (1000 by default, shared with the frames already on
the stack), so they raise ``RecursionError`` below the documented depth. Here the C functions
still do all ordinary work; a document that is deep, or that could be deeper than the bound
(more opening brackets than the bound: an upper bound on its depth, counted in C), goes through
an explicit-stack parser or encoder instead, which checks the bound as it opens containers.

Rejected alternative: raising the recursion limit around ``json.loads``. The limit is global
to the process (other threads see it), and from Python 3.12 the C scanner's depth is bounded
by the C stack instead, so the same call can fail differently per version.
"""

from __future__ import annotations

import json
import json.decoder
import re
from typing import Any, Callable, Final, Mapping

#: PutEvents: "will only process nested JSON up to 1100 levels deep" (EventBridge API reference).
MAX_DETAIL_DEPTH: Final = 1100
#: An event holds ``detail`` one level down: the deepest event text read.
MAX_EVENT_DEPTH: Final = MAX_DETAIL_DEPTH + 1

_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_NUMBER: Final = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_CONSTANTS: Final = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}
_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}
#: The json module's string reader (C when available); typeshed does not declare it.
scanstring: Callable[[str, int, bool], tuple[str, int]] = getattr(json.decoder, "scanstring")


class TooDeep(ValueError):
    """JSON nested deeper than the caller's bound (a ``ValueError``, as any bad JSON is).

    Attributes:
        limit: the bound, in levels.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def loads(text: str | bytes, *, limit: int, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads`` that refuses nesting past ``limit`` and never raises ``RecursionError``.

    Raises:
        TooDeep: the text nests deeper than ``limit``.
        ValueError: the text is not JSON (``json.JSONDecodeError``, ``UnicodeDecodeError``).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    if text.count("{") + text.count("[") <= limit:
        try:
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            pass  # deep, within the bound: the explicit stack below reads it
    return _Parser(text, limit, parse_constant).document()


def depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (containers counted; a scalar is 0)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        pending.extend((child, level) for child in children)
    return deepest


def dumps_compact(value: Any) -> str:
    """``json.dumps`` with ``(",", ":")`` separators, non-ASCII kept and NaN refused, at any depth.

    Raises:
        TypeError, ValueError: as ``json.dumps`` does for values JSON cannot hold.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        return _dumps_iteratively(value)


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _scalar(key)
    if key is None or isinstance(key, (bool, int, float)):
        return _scalar(_scalar(key))  # as json.dumps turns such keys into strings
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _dumps_iteratively(value: Any) -> str:
    out: list[str] = []
    # Each entry is text to write or a value to write; containers push their parts in reverse.
    pending: list[tuple[bool, Any]] = [(False, value)]
    while pending:
        is_text, item = pending.pop()
        if is_text:
            out.append(item)
        elif isinstance(item, Mapping):
            parts: list[tuple[bool, Any]] = [(True, "{")]
            for index, (key, child) in enumerate(item.items()):
                parts += [(True, ("," if index else "") + _key(key) + ":"), (False, child)]
            parts.append((True, "}"))
            pending.extend(reversed(parts))
        elif isinstance(item, (list, tuple)):
            parts = [(True, "[")]
            for index, child in enumerate(item):
                parts += [(True, ","), (False, child)] if index else [(False, child)]
            parts.append((True, "]"))
            pending.extend(reversed(parts))
        else:
            out.append(_scalar(item))
    return "".join(out)


class _Parser:
    """A JSON reader with an explicit stack: json.loads' results, without its recursion."""

    def __init__(self, text: str, limit: int, parse_constant: Callable[[str], Any] | None) -> None:
        self.text = text
        self.limit = limit
        self.parse_constant = parse_constant

    def _skip(self, pos: int) -> int:
        return _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]

    def _fail(self, message: str, pos: int) -> ValueError:
        return json.JSONDecodeError(message, self.text, pos)

    def _key(self, pos: int) -> tuple[str, int]:
        if self.text[pos:pos + 1] != '"':
            raise self._fail("Expecting property name enclosed in double quotes", pos)
        key, pos = scanstring(self.text, pos + 1, True)
        pos = self._skip(pos)
        if self.text[pos:pos + 1] != ":":
            raise self._fail("Expecting ':' delimiter", pos)
        return key, self._skip(pos + 1)

    def _scalar(self, pos: int) -> tuple[Any, int]:
        text = self.text
        char = text[pos:pos + 1]
        if char == '"':
            return scanstring(text, pos + 1, True)
        for word, literal in _LITERALS.items():
            if text.startswith(word, pos):
                return literal, pos + len(word)
        for word in _CONSTANTS:
            if text.startswith(word, pos):
                value = self.parse_constant(word) if self.parse_constant else float(word)
                return value, pos + len(word)
        number = _NUMBER.match(text, pos)
        if number is None:
            raise self._fail("Expecting value", pos)
        whole, fraction, exponent = number.groups()
        value = float(whole + (fraction or "") + (exponent or "")) if fraction or exponent else int(whole)
        return value, number.end()

    def document(self) -> Any:
        text = self.text
        containers: list[Any] = []  # open objects and arrays, outermost first
        keys: list[str] = []  # for each open object, the key its next value goes under
        pos = self._skip(0)
        while True:
            char = text[pos:pos + 1]
            if char in ("{", "["):
                if len(containers) >= self.limit:
                    raise TooDeep(self.limit)
                pos = self._skip(pos + 1)
                if text[pos:pos + 1] == ("}" if char == "{" else "]"):
                    value: Any = {} if char == "{" else []
                    pos += 1
                else:
                    containers.append({} if char == "{" else [])
                    if char == "{":
                        key, pos = self._key(pos)
                        keys.append(key)
                    continue
            else:
                value, pos = self._scalar(pos)
            # A value is complete: store it, then close every container it completes.
            while True:
                pos = self._skip(pos)
                if not containers:
                    if pos != len(text):
                        raise self._fail("Extra data", pos)
                    return value
                top = containers[-1]
                is_object = type(top) is dict
                if is_object:
                    top[keys[-1]] = value
                else:
                    top.append(value)
                char = text[pos:pos + 1]
                if char == ",":
                    pos = self._skip(pos + 1)
                    if is_object:
                        keys[-1], pos = self._key(pos)
                    break
                if char != ("}" if is_object else "]"):
                    raise self._fail("Expecting ',' delimiter", pos)
                pos += 1
                value = containers.pop()
                if is_object:
                    keys.pop()
