"""One frozen value type per match kind, and the shape of a compiled pattern.

Every matcher answers ``matches(value)`` for one leaf value of a flattened event
(see :mod:`eventpipes.patterns.values`). The machine indexes the kinds it can look
up in a dictionary (exact values, prefixes, suffixes, ignore-case forms) and asks
the others one by one. Semantics follow EventBridge as recorded against AWS:

- string operators (prefix, suffix, equals-ignore-case, wildcard, cidr) never
  match a number, a boolean or null;
- every ``anything-but`` form matches any value that is present and not excluded,
  null, booleans and numbers included (only a missing field fails it);
- numbers compare as six-decimal values (:class:`~eventpipes.patterns.values.Num`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Hashable, Union

from eventpipes.patterns.values import Num, Value, exact_key


@dataclass(frozen=True, slots=True)
class Exact:
    """A value given as is: a string, a number (compared numerically), true, false or null."""

    key: Hashable
    """The value's index key (:func:`~eventpipes.patterns.values.exact_key`)."""

    def matches(self, value: Value) -> bool:
        return exact_key(value) == self.key


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    """``{"equals-ignore-case": "..."}``."""

    lowered: str
    """The value, lower-cased; event strings are lower-cased to compare."""

    def matches(self, value: Value) -> bool:
        return type(value) is str and value.lower() == self.lowered


@dataclass(frozen=True, slots=True)
class Prefix:
    """``{"prefix": "..."}`` or ``{"prefix": {"equals-ignore-case": "..."}}``."""

    text: str
    """The prefix (lower-cased when ``ignore_case``)."""
    ignore_case: bool = False
    """Whether case is ignored."""

    def matches(self, value: Value) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    """``{"suffix": "..."}`` or ``{"suffix": {"equals-ignore-case": "..."}}``."""

    text: str
    """The suffix (lower-cased when ``ignore_case``)."""
    ignore_case: bool = False
    """Whether case is ignored."""

    def matches(self, value: Value) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``{"wildcard": "..."}``: ``*`` is any run of characters."""

    text: str
    """The wildcard as written in the pattern."""
    regex: re.Pattern[str] = field(compare=False, hash=False, repr=False)
    """Compiled form (derived from ``text``)."""
    literal_prefix: str = field(compare=False, hash=False, repr=False, default="")
    """Characters before the first star: a cheap first check."""

    def matches(self, value: Value) -> bool:
        if type(value) is not str or not value.startswith(self.literal_prefix):
            return False
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Numeric:
    """``{"numeric": [...]}``: a one- or two-sided range, or ``=`` (lo == hi, both closed)."""

    lo: int | None
    """Lower bound in millionths, None for none."""
    lo_open: bool
    """Whether the lower bound itself is excluded (``>``)."""
    hi: int | None
    """Upper bound in millionths, None for none."""
    hi_open: bool
    """Whether the upper bound itself is excluded (``<``)."""

    def matches(self, value: Value) -> bool:
        if type(value) is not Num or value.micros is None:
            return False
        return self.contains(value.micros)

    def contains(self, number: int) -> bool:
        """Whether the range holds ``number`` (in millionths)."""
        if self.lo is not None and (number <= self.lo if self.lo_open else number < self.lo):
            return False
        if self.hi is not None and (number >= self.hi if self.hi_open else number > self.hi):
            return False
        return True


def ip_number(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) of an IP address literal, else None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


@dataclass(frozen=True, slots=True)
class Cidr:
    """``{"cidr": "10.0.0.0/24"}``: IPv4 or IPv6 addresses in a block.

    The block is the whole network the address lies in: host bits set in the
    written address are ignored, so ``10.0.0.5/24`` covers 10.0.0.0-10.0.0.255, as
    in event-ruler and EventBridge. Masks run from 0 to 31 (IPv4) and 0 to 127
    (IPv6); event-ruler refuses /32 and /128.
    """

    version: int
    """4 or 6."""
    lo: int
    """First address, as an integer."""
    hi: int
    """Last address, as an integer."""

    def matches(self, value: Value) -> bool:
        if type(value) is not str:
            return False
        parsed = ip_number(value)
        return parsed is not None and parsed[0] == self.version and self.lo <= parsed[1] <= self.hi


@dataclass(frozen=True, slots=True)
class Exists:
    """``{"exists": true}``: the field is present with a leaf value (null included)."""

    def matches(self, value: Value) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """``{"anything-but": ...}`` with a string, a number, or a list of either."""

    strings: frozenset[str] = frozenset()
    """Excluded strings."""
    numbers: frozenset[int] = frozenset()
    """Excluded numbers, in millionths."""

    def matches(self, value: Value) -> bool:
        if type(value) is str:
            return value not in self.strings
        if type(value) is Num:
            return value.micros is None or value.micros not in self.numbers
        return True


@dataclass(frozen=True, slots=True)
class AnythingButIgnoreCase:
    """``{"anything-but": {"equals-ignore-case": ...}}``."""

    lowered: frozenset[str]
    """Excluded strings, lower-cased."""

    def matches(self, value: Value) -> bool:
        return type(value) is not str or value.lower() not in self.lowered


@dataclass(frozen=True, slots=True)
class AnythingButPrefix:
    """``{"anything-but": {"prefix": ...}}``."""

    prefixes: frozenset[str]
    """Excluded prefixes (never empty strings)."""

    def matches(self, value: Value) -> bool:
        return type(value) is not str or not any(value.startswith(p) for p in self.prefixes)


@dataclass(frozen=True, slots=True)
class AnythingButSuffix:
    """``{"anything-but": {"suffix": ...}}``."""

    suffixes: frozenset[str]
    """Excluded suffixes (never empty strings)."""

    def matches(self, value: Value) -> bool:
        return type(value) is not str or not any(value.endswith(s) for s in self.suffixes)


@dataclass(frozen=True, slots=True)
class AnythingButWildcard:
    """``{"anything-but": {"wildcard": ...}}``."""

    wildcards: frozenset[Wildcard]
    """Excluded wildcards."""

    def matches(self, value: Value) -> bool:
        return type(value) is not str or not any(w.matches(value) for w in self.wildcards)


Matcher = Union[
    Exact, EqualsIgnoreCase, Prefix, Suffix, Wildcard, Numeric, Cidr, Exists,
    AnythingBut, AnythingButIgnoreCase, AnythingButPrefix, AnythingButSuffix, AnythingButWildcard,
]


@dataclass(frozen=True, slots=True)
class Condition:
    """What one field path must hold: any of ``matchers`` on a value, or (if ``absent``) no value.

    This is one ``"path": [ ... ]`` entry of a pattern, its list already split into
    value matchers and ``{"exists": false}``.
    """

    path: str
    """Dot-joined field path (``detail.state``), as EventBridge joins keys."""
    matchers: frozenset[Matcher]
    """A value at ``path`` satisfies the condition if any of these matches it."""
    absent: bool = False
    """Whether having no value at ``path`` also satisfies it (``{"exists": false}``)."""


#: All conditions must hold together, one ``$or`` branch of a pattern.
SubRule = tuple[Condition, ...]
