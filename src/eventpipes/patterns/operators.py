"""The match expressions inside a value list: ``{"prefix": ...}``, ``{"numeric": [...]}``, ...

Each reader takes the operator's JSON value and returns a matcher from
:mod:`eventpipes.patterns.model`, or raises :class:`_Reject` with EventBridge's
reason; :mod:`eventpipes.patterns.parse` adds the path. The reasons are
event-ruler's words, including its oddities (a non-string ``cidr`` is "prefix
match pattern must be a string"; an extra key after ``numeric`` or
``anything-but`` is "Too many elements in numeric expression").
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Any, Callable, Final

from eventpipes.patterns.model import (
    AnythingBut, AnythingButIgnoreCase, AnythingButPrefix, AnythingButSuffix, AnythingButWildcard,
    Cidr, EqualsIgnoreCase, Exact, Exists, Matcher, Numeric, Prefix, Suffix, Wildcard,
)
from eventpipes.patterns.values import NumberError, decimal_micros, number_text
from eventpipes.patterns.wildcard import WildcardError, check_complexity, parse_wildcard

#: Stands for ``{"exists": false}``, which is not a value matcher but "no value at all".
ABSENT: Final = object()

ONLY_ONE_KEY: Final = "Only one key allowed in match expression"
TOO_MANY_NUMERIC: Final = "Too many elements in numeric expression"
ANYTHING_BUT_VALUE: Final = "Value of anything-but must be an array or single string/number value."

_RANGE_OPERATORS: Final = ("=", "<", "<=", ">", ">=")
_MASK: Final = re.compile(r"[+-]?[0-9]+")


#: The end of a numeric list, as a token (EventBridge's messages show it as "]").
_END: Final = object()


class _Reject(Exception):
    """EventBridge's reason for refusing one match expression."""


def is_number(value: Any) -> bool:
    """A JSON number (Python's bool is an int, and is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_text(value: Any) -> str:
    # How a token reads in EventBridge's messages ("]" where it found the list's end).
    if value is _END:
        return "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return number_text(value)
    if isinstance(value, list):
        return "["
    if isinstance(value, dict):
        return "{"
    return str(value)


def _micros(value: int | float) -> int:
    try:
        return decimal_micros(Decimal(number_text(value)))
    except NumberError as exc:
        raise _Reject(str(exc)) from exc


def make_wildcard(text: str) -> Wildcard:
    """A checked wildcard matcher (syntax and EventBridge's complexity limit)."""
    try:
        parsed = parse_wildcard(text)
        check_complexity(parsed)
    except WildcardError as exc:
        raise _Reject(str(exc)) from exc
    return Wildcard(text, parsed.regex(), parsed.literal_prefix)


def _string(value: Any, reason: str) -> str:
    if not isinstance(value, str):
        raise _Reject(reason)
    return value


def _ignore_case_object(value: dict[str, Any], kind: str) -> str:
    # {"prefix": {"equals-ignore-case": "..."}} and the same for suffix.
    if not value:
        raise _Reject(f"{kind.capitalize()} expression name not found")
    name = next(iter(value))
    if name != "equals-ignore-case":
        raise _Reject(f"Unsupported {kind} pattern: {name}")
    text = _string(value[name], "equals-ignore-case match pattern must be a string")
    if len(value) > 1:
        raise _Reject(ONLY_ONE_KEY)
    return text.lower()


def _prefix(value: Any) -> Matcher:
    if isinstance(value, dict):
        return Prefix(_ignore_case_object(value, "prefix"), ignore_case=True)
    return Prefix(_string(value, "prefix match pattern must be a string"))


def _suffix(value: Any) -> Matcher:
    if isinstance(value, dict):
        return Suffix(_ignore_case_object(value, "suffix"), ignore_case=True)
    return Suffix(_string(value, "suffix match pattern must be a string"))


def _numeric(value: Any) -> Matcher:
    if not isinstance(value, list):
        raise _Reject("Value of numeric must be an array.")
    items = list(value) + [_END]
    operator = items[0]
    if not isinstance(operator, str):
        raise _Reject(f"Invalid member in numeric match: {_json_text(operator)}")
    if operator not in _RANGE_OPERATORS:
        raise _Reject(f"Unrecognized numeric range operator: {operator}")
    if not is_number(items[1]):
        raise _Reject(f"Value of {'equals' if operator == '=' else operator} must be numeric")
    first = _micros(items[1])
    if operator in ("=", "<", "<="):
        if items[2] is not _END:
            raise _Reject(TOO_MANY_NUMERIC)
        if operator == "=":
            return Numeric(first, False, first, False)
        return Numeric(None, False, first, operator == "<")
    if items[2] is _END:
        return Numeric(first, operator == ">", None, False)
    return _two_sided(first, operator == ">", items[2:])


def _two_sided(lo: int, lo_open: bool, rest: list[Any]) -> Matcher:
    upper = rest[0]
    if not isinstance(upper, str):
        raise _Reject(f"Bad value in numeric range: {_json_text(upper)}")
    if upper not in ("<", "<="):
        raise _Reject(f"Bad numeric range operator: {upper}")
    if len(rest) < 2 or not is_number(rest[1]):
        raise _Reject(f"Value of {upper} must be numeric")
    if rest[2] is not _END:
        raise _Reject("Too many terms in numeric range expression")
    hi = _micros(rest[1])
    if lo >= hi:
        raise _Reject("Bottom must be less than top")
    return Numeric(lo, lo_open, hi, upper == "<")


def _cidr(value: Any) -> Matcher:
    text = _string(value, "prefix match pattern must be a string")
    parts = text.split("/")
    if len(parts) != 2 or not parts[1]:
        raise _Reject("Malformed CIDR, one '/' required")
    if not _MASK.fullmatch(parts[1]):
        raise _Reject("Malformed CIDR, mask bits must be an integer")
    mask = int(parts[1])
    if mask < 0:
        raise _Reject("Malformed CIDR, mask bits must not be negative")
    try:
        address = ipaddress.ip_address(parts[0])
    except ValueError:
        raise _Reject(f"Nonstandard IP address: {parts[0]}") from None
    width = address.max_prefixlen
    if mask >= width:
        raise _Reject(f"IPv{address.version} mask bits must be < {width}")
    # The block is the whole network: host bits written in the address are cleared
    # (10.1.2.77/24 covers 10.1.2.0-10.1.2.255), as event-ruler and EventBridge do.
    host = (1 << (width - mask)) - 1
    network = int(address) & ~host
    return Cidr(address.version, network, network | host)


def _exists(value: Any) -> Matcher | object:
    if value is True:
        return Exists()
    if value is False:
        return ABSENT
    raise _Reject("exists match pattern must be either true or false.")


def _anything_but_list(values: list[Any]) -> Matcher:
    strings: set[str] = set()
    numbers: set[int] = set()
    for item in values:
        if isinstance(item, str):
            strings.add(item)
        elif is_number(item):
            numbers.add(_micros(item))
        else:
            raise _Reject("Inside anything but list, start|null|boolean is not supported.")
    if bool(strings) == bool(numbers):
        raise _Reject(
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        )
    return AnythingBut(frozenset(strings), frozenset(numbers))


_NOT_STRING: Final = {
    "equals-ignore-case": "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
    "wildcard": "wildcard match pattern must be a string",
}


def _anything_but_object(value: dict[str, Any]) -> Matcher:
    if not value:
        raise _Reject("Anything-But expression name not found")
    kind = next(iter(value))
    if kind not in _NOT_STRING:
        raise _Reject(f"Unsupported anything-but pattern: {kind}")
    inner = value[kind]
    if not (isinstance(inner, (list, str)) or is_number(inner)):
        raise _Reject(ANYTHING_BUT_VALUE)
    texts = []
    for item in inner if isinstance(inner, list) else [inner]:
        text = _string(item, _NOT_STRING[kind])
        if kind in ("prefix", "suffix") and not text:
            raise _Reject("Null prefix/suffix not allowed")
        texts.append(text)
    if len(value) > 1:
        raise _Reject(TOO_MANY_NUMERIC)
    if kind == "equals-ignore-case":
        return AnythingButIgnoreCase(frozenset(t.lower() for t in texts))
    if kind == "prefix":
        return AnythingButPrefix(frozenset(texts))
    if kind == "suffix":
        return AnythingButSuffix(frozenset(texts))
    return AnythingButWildcard(frozenset(make_wildcard(t) for t in texts))


def _anything_but(value: Any) -> Matcher:
    if isinstance(value, dict):
        return _anything_but_object(value)
    if isinstance(value, list):
        return _anything_but_list(value)
    if isinstance(value, str):
        return AnythingBut(strings=frozenset([value]))
    if is_number(value):
        return AnythingBut(numbers=frozenset([_micros(value)]))
    raise _Reject(ANYTHING_BUT_VALUE)


_READERS: Final[dict[str, Callable[[Any], Any]]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": lambda v: EqualsIgnoreCase(
        _string(v, "equals-ignore-case match pattern must be a string").lower()
    ),
    "wildcard": lambda v: make_wildcard(_string(v, "wildcard match pattern must be a string")),
    "numeric": _numeric,
    "anything-but": _anything_but,
    "exists": _exists,
    "cidr": _cidr,
}

#: Operator names, which may not be field names inside ``$or``.
OPERATOR_NAMES: Final = frozenset(_READERS)


def read_operator(expression: dict[str, Any]) -> Matcher | object:
    """One ``{operator: value}`` object as a matcher, or :data:`ABSENT` for ``exists: false``.

    Raises:
        _Reject: EventBridge's reason for refusing it.
    """
    if not expression:
        raise _Reject("Match expression name not found")
    name = next(iter(expression))
    reader = _READERS.get(name)
    if reader is None:
        raise _Reject(f"Unrecognized match type {name}")
    matcher = reader(expression[name])
    if len(expression) > 1:
        raise _Reject(TOO_MANY_NUMERIC if name in ("numeric", "anything-but") else ONLY_ONE_KEY)
    return matcher
