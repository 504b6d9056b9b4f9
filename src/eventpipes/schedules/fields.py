"""One cron field's text to the set of values it selects (minutes, hours, months, years, plain days).

The grammar every field shares: items separated by ``,``; an item is ``*``, a value, a
range ``a-b``, each optionally followed by ``/step`` (``v/step`` runs from ``v`` to the
field's maximum). Values are numbers or, in the month and day-of-week fields, three-letter
names (any case, as Quartz, whose syntax EventBridge follows, upper-cases the expression).
A range whose start is past its end wraps around (``FRI-MON``, ``22-2``), as in Quartz,
except in the year field where it would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FieldError(ValueError):
    """One field's text is not valid; the parser adds which field and the whole expression."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What one cron field accepts."""

    name: str
    """The field's name in EventBridge's documentation, used in error reasons."""
    low: int
    """Smallest value."""
    high: int
    """Largest value."""
    names: tuple[str, ...] = field(default=())
    """Names of the values ``low``, ``low + 1``, ... (JAN-DEC, SUN-SAT), if the field has them."""
    wraps: bool = True
    """Whether a range may run past ``high`` back to ``low`` (not in the year field)."""

    @property
    def span(self) -> int:
        return self.high - self.low + 1


MINUTES = FieldSpec("minutes", 0, 59)
HOURS = FieldSpec("hours", 0, 23)
DAY_OF_MONTH = FieldSpec("day-of-month", 1, 31)
MONTH = FieldSpec("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))
#: EventBridge numbers weekdays 1-7 from Sunday (Quartz's numbering), not cron's 0-6.
DAY_OF_WEEK = FieldSpec("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
#: EventBridge's documented year range.
YEAR = FieldSpec("year", 1970, 2199, wraps=False)


def parse_values(text: str, spec: FieldSpec) -> tuple[int, ...]:
    """The sorted values ``text`` selects in field ``spec``.

    Raises:
        FieldError: an item is empty, out of range, or not of the grammar.
    """
    selected: set[int] = set()
    for item in text.split(","):
        selected.update(_item_values(item, spec))
    return tuple(sorted(selected))


def parse_value(text: str, spec: FieldSpec) -> int:
    """One value: digits or (where the field has names) a name, within the field's range.

    Raises:
        FieldError: anything else.
    """
    upper = text.upper()
    if upper in spec.names:
        return spec.low + spec.names.index(upper)
    if not text.isascii() or not text.isdigit():
        raise FieldError(f"{text!r} is not a number" + (" or a name" if spec.names else ""))
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise FieldError(f"{value} is outside {spec.low}-{spec.high}")
    return value


def _item_values(item: str, spec: FieldSpec) -> list[int]:
    base, slash, step_text = item.partition("/")
    step = _step(step_text, spec) if slash else 1
    if base == "*":
        start, end = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = parse_value(first, spec), parse_value(last, spec)
    else:
        start = parse_value(base, spec)
        end = spec.high if slash else start
    return _run(start, end, spec)[::step]


def _step(text: str, spec: FieldSpec) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= spec.span:
        raise FieldError(f"step {text!r} must be 1-{spec.span}")
    return int(text)


def _run(start: int, end: int, spec: FieldSpec) -> list[int]:
    if start <= end:
        return list(range(start, end + 1))
    if not spec.wraps:
        raise FieldError(f"range {start}-{end} runs backwards")
    return list(range(start, spec.high + 1)) + list(range(spec.low, end + 1))
