"""Event values as the matcher sees them: strings, exact decimal numbers, JSON literals.

EventBridge (through aws/event-ruler) compares numbers as decimals with six places
after the point, between -5e9 and +5e9: ``300``, ``300.0`` and ``3.0e2`` are one
number. A number outside that range or with more places still matches a pattern
that spells it the same way (an account id such as ``123456789012``), but never a
numeric range. :class:`Num` carries both forms so that each comparison is one
integer or dictionary operation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final, Hashable, Union

#: Largest magnitude EventBridge compares numerically (its documented limit).
FIVE_BILLION: Final = 5_000_000_000
#: Numbers are compared in millionths: EventBridge keeps six decimal places.
MICROS_PER_UNIT: Final = 1_000_000
_LIMIT_MICROS: Final = FIVE_BILLION * MICROS_PER_UNIT

#: Exact-match keys of the JSON literals; tuples so they never equal a str or an int key
#: (``True == 1`` in Python, and 1 is a valid number key).
TRUE_KEY: Final = ("true",)
FALSE_KEY: Final = ("false",)
NULL_KEY: Final = ("null",)


@dataclass(frozen=True, slots=True)
class Num:
    """A JSON number from an event or a pattern."""

    micros: int | None
    """The value in millionths, or None when EventBridge cannot compare it numerically."""
    text: str
    """The number as JSON writes it, for the literal match of numbers without ``micros``."""
    key: Hashable = field(init=False, compare=False, repr=False)
    """Exact-match key: the millionths when comparable, else the literal text (derived;
    stored because matching reads it for every number)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.micros if self.micros is not None else ("lit", self.text))


#: A leaf value of a flattened event.
Value = Union[str, Num, bool, None]


class NumberError(ValueError):
    """A number EventBridge refuses in a numeric pattern; the message is EventBridge's."""


def decimal_micros(number: Decimal) -> int:
    """The millionths of a decimal, or raise :class:`NumberError` with EventBridge's reason."""
    if not number.is_finite():
        raise NumberError(f"Value must be between {-FIVE_BILLION} and {FIVE_BILLION}, inclusive")
    scaled = number.scaleb(6)
    if scaled != scaled.to_integral_value():
        raise NumberError("Only values upto 6 decimals are supported")
    micros = int(scaled)
    if not -_LIMIT_MICROS <= micros <= _LIMIT_MICROS:
        raise NumberError(f"Value must be between {-FIVE_BILLION} and {FIVE_BILLION}, inclusive")
    return micros


def number_text(value: int | float) -> str:
    """How JSON writes a Python number (the shortest text that reads back the same)."""
    return str(value) if isinstance(value, int) else repr(value)


def _make_num(value: int) -> Num:
    micros = value * MICROS_PER_UNIT if -FIVE_BILLION <= value <= FIVE_BILLION else None
    return Num(micros, str(value))


#: Nums of the small integers (counts, attempts, quantities, status codes), made once:
#: events are full of them, and each new Num is an object for the garbage collector.
_SMALL_INTS: Final = {value: _make_num(value) for value in range(-16, 1024)}


def to_num(value: int | float) -> Num:
    """A Python number from parsed JSON as a :class:`Num`."""
    if type(value) is int:
        return _SMALL_INTS.get(value) or _make_num(value)
    text = number_text(value)
    if not math.isfinite(value):
        return Num(None, text)
    if "e" not in text:
        # repr of a finite float without an exponent is digits, a point, digits: its
        # millionths are the digits with the fraction padded to six places (what the
        # Decimal route below computes, at a fifth of the cost).
        whole, _, fraction = text.partition(".")
        if len(fraction) > 6:
            return Num(None, text)
        micros = int(whole + fraction.ljust(6, "0"))
        return Num(micros if -_LIMIT_MICROS <= micros <= _LIMIT_MICROS else None, text)
    try:
        return Num(decimal_micros(Decimal(text)), text)
    except (NumberError, InvalidOperation):
        return Num(None, text)


def exact_key(value: Value) -> Hashable:
    """The key under which an exact pattern value is indexed (see the ``*_KEY`` constants)."""
    if value is True:
        return TRUE_KEY
    if value is False:
        return FALSE_KEY
    if value is None:
        return NULL_KEY
    if isinstance(value, Num):
        return value.key
    return value
