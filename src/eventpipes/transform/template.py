"""Placeholder substitution with EventBridge's quoting, shared by rule targets and Pipes.

A template is text with ``<name>`` placeholders. Rule targets name variables from
``InputPathsMap`` or reserved ``aws.events.*`` names; EventBridge Pipes put JSON paths
straight in the placeholder (``<$.body.key>``) and use ``aws.pipes.*`` names. This
module knows neither: :func:`parse_template` finds the placeholders and how each
one must be quoted, and :meth:`Template.render` asks a *lookup* for each value. The
rule-target side is :mod:`eventpipes.transform.render`; a Pipes transformer passes
its own lookup (JSON paths through :func:`~eventpipes.transform.jsonpath.parse_path`,
``aws.pipes.*`` from a dict) and reuses everything here.

How a value is inserted, as EventBridge does it for rule targets (:attr:`Flavour.RULES`):

* The template is **JSON** when its first non-blank character is ``{`` or ``[``.
  A placeholder outside quotes (``"state": <state>``) becomes the value as compact
  JSON: a string gets its quotes, an object, array, number, ``true``/``false`` or
  ``null`` is written as is. A placeholder inside quotes
  (``"msg": "now <state>"``) becomes the string's characters, or the JSON text of a
  number, boolean or null, escaped so the string stays valid JSON. An object or array
  inside quotes (``{"p": "<obj>"}``, ``"users/<obj>"``) makes EventBridge accept the
  rule and the event and deliver nothing to the target (recorded); here rendering
  raises :class:`~eventpipes.transform.errors.ObjectInsideQuotes`, which the delivery
  code sends to the target's dead-letter topic with its reason. The result is minified
  (whitespace outside strings removed), as EventBridge passes it on.
* Any other template is **text** (including a quoted string such as
  ``"instance <instance> is in <state>"``): strings are inserted as their
  characters, numbers, booleans and null as JSON, and an object or array in
  EventBridge's compact unquoted form (recorded: ``{"a": "x-1", "b": "y"}`` gives
  ``{a:x-1,b:y}``, ``["A","B"]`` gives ``[A,B]``). Our reading of nested cases, which the
  recordings do not cover: the form applies all the way down (``[{"a": 1}, ["b c"]]``
  gives ``[{a:1},[b c]]``), keys and strings are their characters unescaped (spaces,
  quotes and commas included), numbers, ``true``, ``false`` and ``null`` as in JSON. Nothing
  is escaped, and the text around placeholders is kept byte for byte.
* A variable whose path matched nothing is the empty string: ``""`` outside quotes
  in JSON, nothing at all inside quotes or in text (recorded from EventBridge).

EventBridge Pipes templates (:attr:`Flavour.PIPES`, the default) keep the earlier rules for
objects and arrays, which nothing recorded from Pipes contradicts: compact JSON in text, and
JSON text escaped inside quotes.

``<`` and ``>`` cannot be escaped: every ``<...>`` without whitespace inside is a
placeholder, and one the lookup does not define is refused when the template is
validated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, Union

from eventpipes.transform.errors import InvalidTargetInput, ObjectInsideQuotes
from eventpipes.transform.jsonpath import MISSING

#: A placeholder: ``<`` name ``>``, the name holding no whitespace and no angle bracket.
#: Whitespace is excluded so that prose such as ``a < b and c > d`` stays text.
PLACEHOLDER = re.compile(r"<([^<>\s]+)>")

#: The value a lookup returns; :data:`~eventpipes.transform.jsonpath.MISSING` when there is none.
Lookup = Callable[[str], Any]


class Quoting(StrEnum):
    """How one placeholder's value is written, decided by where it stands."""

    JSON_VALUE = "json-value"
    """Outside quotes in a JSON template: the value as JSON."""
    JSON_STRING = "json-string"
    """Inside quotes in a JSON template: the value's characters, JSON-escaped."""
    TEXT = "text"
    """Anywhere in a text template: the value's characters, unescaped."""


class Flavour(StrEnum):
    """Whose rules insert objects and arrays (see the module docstring)."""

    RULES = "rules"
    """EventBridge rule targets: unquoted compact form in text, refused inside quotes."""
    PIPES = "pipes"
    """EventBridge Pipes: compact JSON in text and, escaped, inside quotes."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One placeholder occurrence."""

    name: str
    """What stood between ``<`` and ``>``."""
    quoting: Quoting
    """How its value is written."""


Part = Union[str, Slot]


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and slots in order."""

    text: str
    """The template as written."""
    is_json: bool
    """True when the template is a JSON object or array (see the module docstring)."""
    parts: tuple[Part, ...]
    """Literal strings (already minified for JSON) and :class:`Slot` values, in order."""

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Every distinct placeholder name, in order of first use."""
        return tuple(dict.fromkeys(part.name for part in self.parts if isinstance(part, Slot)))

    def render(self, lookup: Lookup, *, flavour: Flavour = Flavour.PIPES) -> str:
        """Fill every slot with the lookup's value, quoted for where it stands.

        Raises:
            ObjectInsideQuotes: (``Flavour.RULES``) an object or array for a placeholder inside quotes.
        """
        return "".join(part if isinstance(part, str) else format_value(lookup(part.name), part.quoting, flavour,
                                                                        placeholder=part.name)
                       for part in self.parts)


def format_value(value: Any, quoting: Quoting, flavour: Flavour = Flavour.PIPES, *, placeholder: str = "") -> str:
    """Write one value as it is inserted at a placeholder.

    Args:
        value: a parsed JSON value, or ``MISSING`` for a path that matched nothing.
        quoting: where the placeholder stands.
        flavour: whose rules apply to objects and arrays.
        placeholder: the placeholder's name, for the error.

    Raises:
        ObjectInsideQuotes: (``Flavour.RULES``) an object or array inside quotes in a JSON template.
    """
    if value is MISSING:
        return '""' if quoting is Quoting.JSON_VALUE else ""
    if quoting is Quoting.JSON_VALUE:
        return compact_json(value)
    if flavour is Flavour.RULES and isinstance(value, (dict, list)):
        if quoting is Quoting.TEXT:
            return unquoted(value)
        raise ObjectInsideQuotes(placeholder, "object" if isinstance(value, dict) else "array")
    characters = value if isinstance(value, str) else compact_json(value)
    if quoting is Quoting.TEXT:
        return characters
    return json.dumps(characters, ensure_ascii=False)[1:-1]


def unquoted(value: Any) -> str:
    """A value in EventBridge's compact unquoted form: ``{a:x-1,b:[1,true,null]}``.

    Keys and strings are their characters; numbers, booleans and null are JSON.
    """
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{unquoted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(unquoted(item) for item in value) + "]"
    return value if isinstance(value, str) else compact_json(value)


def compact_json(value: Any) -> str:
    """JSON without insignificant whitespace, non-ASCII kept as is (as EventBridge sends it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_template(text: str, *, field: str = "InputTemplate") -> Template:
    """Find the placeholders in a template and how each must be quoted.

    Args:
        text: the template.
        field: where the template came from, for errors.

    Raises:
        InvalidTargetInput: a JSON template is not valid JSON once its placeholders
            are filled, or uses a placeholder as an object key.
    """
    if not text.lstrip().startswith(("{", "[")):
        return Template(text=text, is_json=False, parts=_text_parts(text))
    parts = tuple(_json_parts(text))
    _check_json(text, parts, field)
    return Template(text=text, is_json=True, parts=parts)


def _text_parts(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(text[position:match.start()])
        parts.append(Slot(match[1], Quoting.TEXT))
        position = match.end()
    parts.append(text[position:])
    return tuple(part for part in parts if part != "")


def _json_parts(text: str) -> list[Part]:
    """Split a JSON template, minifying literal text outside strings as it goes."""
    parts: list[Part] = []
    literal: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(text):
        char = text[position]
        placeholder = PLACEHOLDER.match(text, position) if char == "<" else None
        if placeholder is not None:
            parts.append("".join(literal))
            literal = []
            quoting = Quoting.JSON_STRING if in_string else Quoting.JSON_VALUE
            parts.append(Slot(placeholder[1], quoting))
            position = placeholder.end()
            escaped = False
            continue
        if in_string:
            literal.append(char)
            in_string = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            literal.append(char)
            in_string = True
        elif not char.isspace():
            literal.append(char)
        position += 1
    parts.append("".join(literal))
    return [part for part in parts if part != ""]


def _check_json(text: str, parts: tuple[Part, ...], field: str) -> None:
    # Stand-ins keep the shape of the filled template: "null" where a value goes, nothing
    # inside a string; whatever the real values are, the JSON is then well formed.
    probe = "".join(part if isinstance(part, str) else ("null" if part.quoting is Quoting.JSON_VALUE else "")
                    for part in parts)
    for index, part in enumerate(parts):
        if isinstance(part, Slot) and _is_key(parts, index):
            raise InvalidTargetInput(f"placeholder <{part.name}> cannot be used as an object key", path=field)
    try:
        json.loads(probe)
    except ValueError as exc:
        raise InvalidTargetInput(f"InputTemplate is a JSON object or array but not valid JSON: {exc}",
                                 path=field) from exc


def _is_key(parts: tuple[Part, ...], index: int) -> bool:
    """Whether the slot at ``index`` is (part of) an object key: ``:`` follows its value."""
    slot = parts[index]
    assert isinstance(slot, Slot)
    rest = "".join(part if isinstance(part, str) else "x" for part in parts[index + 1:])
    if slot.quoting is Quoting.JSON_STRING:
        rest = _after_string(rest)
    return rest.startswith(":")


def _after_string(text: str) -> str:
    """The text after the closing quote of the string we are inside."""
    escaped = False
    for position, char in enumerate(text):
        if char == '"' and not escaped:
            return text[position + 1:]
        escaped = not escaped and char == "\\"
    return ""
