"""``ScheduleExpression`` text to a ``RateSchedule`` or ``CronSchedule``, with EventBridge's rules.

Strict where EventBridge documents a form: lower-case ``rate``/``cron``, single spaces, a
positive whole number, a singular unit for 1 and a plural one above (``rate(1 minute)``,
``rate(5 minutes)``), six cron fields with exactly one of the day fields ``?``. Lenient
only where Quartz (whose syntax EventBridge's cron follows) is: names and ``L``/``W`` in
any case, wrapping ranges, ``*/n`` steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from eventpipes.schedules.cron import CronSchedule
from eventpipes.schedules.days import parse_day_of_month, parse_day_of_week
from eventpipes.schedules.errors import InvalidScheduleExpression
from eventpipes.schedules.fields import HOURS, MINUTES, MONTH, YEAR, FieldError, parse_values
from eventpipes.schedules.rate import RateSchedule

Schedule = RateSchedule | CronSchedule
T = TypeVar("T")

#: PutRule's length limit on ScheduleExpression.
MAX_LENGTH = 256

_RATE = re.compile(r"rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")


def parse_schedule(text: str) -> Schedule:
    """Parse a ``ScheduleExpression``.

    Args:
        text: ``rate(value unit)`` or ``cron(minutes hours day-of-month month day-of-week year)``.

    Returns:
        The schedule; a rate is anchored at the epoch until ``anchored`` is called.

    Raises:
        InvalidScheduleExpression: EventBridge would refuse the expression.
    """
    if not isinstance(text, str) or not text:
        raise InvalidScheduleExpression(str(text), "the expression is empty")
    if len(text) > MAX_LENGTH:
        raise InvalidScheduleExpression(text[:40] + "...", f"longer than {MAX_LENGTH} characters")
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron("):
        return _parse_cron(text)
    raise InvalidScheduleExpression(text, "it is neither rate(value unit) nor cron(fields)")


def _parse_rate(text: str) -> RateSchedule:
    match = _RATE.fullmatch(text)
    if match is None:
        raise InvalidScheduleExpression(text, "a rate is rate(value unit): a positive whole number, one space, "
                                              "and minute(s), hour(s) or day(s) in lower case")
    value, unit = int(match[1]), match[2]
    singular = unit.rstrip("s")
    if (value == 1) != (unit == singular):
        want = singular if value == 1 else singular + "s"
        raise InvalidScheduleExpression(text, f"the unit for {value} is {want!r}")
    try:
        return RateSchedule(text, value * _UNITS[singular])
    except OverflowError:
        raise InvalidScheduleExpression(text, "the period is too long") from None


def _parse_cron(text: str) -> CronSchedule:
    match = _CRON.fullmatch(text)
    fields = match[1].split(" ") if match else []
    if len(fields) != 6 or not all(fields):
        raise InvalidScheduleExpression(text, "a cron expression has six fields separated by single spaces")
    minutes, hours, dom, month, dow, year = (f.upper() for f in fields)
    if (dom == "?") == (dow == "?"):
        raise InvalidScheduleExpression(text, "exactly one of day-of-month and day-of-week must be '?'")
    return CronSchedule(
        text,
        _field(text, 0, lambda t: parse_values(t, MINUTES), minutes),
        _field(text, 1, lambda t: parse_values(t, HOURS), hours),
        _field(text, 3, lambda t: parse_values(t, MONTH), month),
        _field(text, 5, lambda t: parse_values(t, YEAR), year),
        None if dom == "?" else _field(text, 2, parse_day_of_month, dom),
        None if dow == "?" else _field(text, 4, parse_day_of_week, dow),
    )


def _field(expression: str, position: int, parse: Callable[[str], T], text: str) -> T:
    """``parse(text)``, its ``FieldError`` turned into EventBridge's error naming the field."""
    try:
        return parse(text)
    except FieldError as exc:
        raise InvalidScheduleExpression(expression, f"{_FIELD_NAMES[position]}: {exc}") from None
