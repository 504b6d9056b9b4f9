"""The two day fields, which select days of a given month rather than fixed numbers.

Exactly one of day-of-month and day-of-week constrains the day; the other is ``?``. Each
field may use, besides the shared grammar (``fields``), EventBridge's day wildcards:

* day-of-month: ``L`` (last day), ``LW`` (last weekday), ``nW`` (the weekday nearest to day
  ``n``, never crossing into another month);
* day-of-week: ``L`` (Saturday, the last day of the week), ``dL`` (the last weekday ``d`` of
  the month: ``6L`` is the last Friday), ``d#n`` (the ``n``-th weekday ``d``: ``6#3`` is the
  third Friday).

Each of these stands alone in its field (``L,15`` or ``3#1,6#3`` is refused), as EventBridge
documents for ``#`` and Quartz enforces for the others.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from eventpipes.schedules.fields import DAY_OF_MONTH, DAY_OF_WEEK, FieldError, parse_value, parse_values

#: Monday to Friday in EventBridge's numbering (1 = Sunday).
WEEKDAYS = frozenset({2, 3, 4, 5, 6})


def weekday_of(year: int, month: int, day: int) -> int:
    """EventBridge's day-of-week number (1 = Sunday ... 7 = Saturday) of a date."""
    return (date(year, month, day).weekday() + 1) % 7 + 1


@dataclass(frozen=True, slots=True)
class DayOfMonth:
    """A day-of-month field: plain days, or one of ``L``, ``LW``, ``nW``."""

    days: tuple[int, ...] = ()
    """Days 1-31 selected by number (a day a month lacks is not selected that month)."""
    last: bool = False
    """``L``: the month's last day."""
    last_weekday: bool = False
    """``LW``: the month's last Monday-to-Friday day."""
    nearest_weekday: int | None = None
    """``nW``: the Monday-to-Friday day nearest to day ``n``, within the month."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The sorted days of ``year``-``month`` this field selects."""
        length = calendar.monthrange(year, month)[1]
        if self.last:
            return (length,)
        if self.last_weekday:
            return (_weekday_at_or_before(year, month, length),)
        if self.nearest_weekday is not None:
            return _nearest_weekday(year, month, self.nearest_weekday, length)
        return tuple(d for d in self.days if d <= length)


@dataclass(frozen=True, slots=True)
class DayOfWeek:
    """A day-of-week field: plain weekdays, or one of ``dL``, ``d#n``."""

    weekdays: tuple[int, ...] = ()
    """Weekdays 1-7 (Sunday = 1) selected every week."""
    last_of: int | None = None
    """``dL``: the month's last weekday ``d``."""
    nth: tuple[int, int] | None = None
    """``d#n``: weekday ``d``'s ``n``-th occurrence in the month (none when the month has fewer)."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        """The sorted days of ``year``-``month`` this field selects."""
        length = calendar.monthrange(year, month)[1]
        first = weekday_of(year, month, 1)
        if self.last_of is not None:
            last = length - (weekday_of(year, month, length) - self.last_of) % 7
            return (last,)
        if self.nth is not None:
            weekday, n = self.nth
            day = 1 + (weekday - first) % 7 + 7 * (n - 1)
            return (day,) if day <= length else ()
        chosen = set(self.weekdays)
        return tuple(d for d in range(1, length + 1) if (first - 1 + d - 1) % 7 + 1 in chosen)


def parse_day_of_month(text: str) -> DayOfMonth:
    """A day-of-month field other than ``?``.

    Raises:
        FieldError: the text is not a valid day-of-month field.
    """
    if text == "L":
        return DayOfMonth(last=True)
    if text == "LW":
        return DayOfMonth(last_weekday=True)
    if text.endswith("W"):
        if not text[:-1].isascii() or not text[:-1].isdigit():
            raise FieldError(f"{text!r}: W follows a single day number (3W)")
        return DayOfMonth(nearest_weekday=parse_value(text[:-1], DAY_OF_MONTH))
    if "L" in text or "W" in text:
        raise FieldError(f"{text!r}: L, LW and nW stand alone in day-of-month")
    return DayOfMonth(days=parse_values(text, DAY_OF_MONTH))


def parse_day_of_week(text: str) -> DayOfWeek:
    """A day-of-week field other than ``?``.

    Raises:
        FieldError: the text is not a valid day-of-week field.
    """
    if text == "L":
        return DayOfWeek(weekdays=(DAY_OF_WEEK.high,))
    if "#" in text:
        weekday, _, nth = text.partition("#")
        if not nth.isascii() or not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise FieldError(f"{text!r}: # takes one weekday and an occurrence 1-5 (6#3)")
        return DayOfWeek(nth=(parse_value(weekday, DAY_OF_WEEK), int(nth)))
    if text.upper().endswith("L") and len(text) > 1:
        return DayOfWeek(last_of=parse_value(text[:-1], DAY_OF_WEEK))
    if "/" in text:
        raise FieldError(f"{text!r}: day-of-week takes no / increments")
    return DayOfWeek(weekdays=parse_values(text, DAY_OF_WEEK))


def _weekday_at_or_before(year: int, month: int, day: int) -> int:
    weekday = weekday_of(year, month, day)
    return day - 1 if weekday == 7 else day - 2 if weekday == 1 else day


def _nearest_weekday(year: int, month: int, day: int, length: int) -> tuple[int, ...]:
    if day > length:
        return ()
    weekday = weekday_of(year, month, day)
    if weekday == 7:  # Saturday: the Friday before, unless that is last month (then Monday the 3rd)
        return (day - 1,) if day > 1 else (day + 2,)
    if weekday == 1:  # Sunday: the Monday after, unless that is next month (then the Friday before)
        return (day + 1,) if day < length else (day - 2,)
    return (day,)
