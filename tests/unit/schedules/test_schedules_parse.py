"""ScheduleExpression parsing: EventBridge's documented examples and every form it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventpipes.errors import ValidationException
from eventpipes.schedules import CronSchedule, InvalidScheduleExpression, RateSchedule, parse_schedule
from eventpipes.schedules.days import DayOfMonth, DayOfWeek

# EventBridge's documentation: the rate and cron references, the Rule API page, PutRule's
# examples, and the wildcard descriptions (3W, 3#2, 1/10, JAN,FEB,MAR, 1-15).
DOCUMENTED_VALID = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "cron(0 20 * * ? *)",
    "cron(0 12 * * ? *)",
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0/30 20-23 ? * MON-FRI *)",
    "cron(0/30 0-2 ? * TUE-SAT *)",
    "cron(15 10 ? * 6L 2019-2022)",
    "cron(0 8 * * ? *)",
    "cron(0 8 ? * 3#1 *)",
    "cron(0 9 ? * 3#2 *)",
    "cron(0 9 3W * ? *)",
    "cron(1/10 * * JAN,FEB,MAR ? *)",
    "cron(0 0 1-15 * ? *)",
]

DOCUMENTED_INVALID = [
    "cron(7 20 * * 1-7 *)",  # both day fields given
    "rate(1 hours)",
    "rate(5 hour)",
    "cron(0 9 ? * 3#1,6#3 *)",  # '#' allows one expression only
]

INVALID_FORMS = [
    # rate: singular/plural, zero, negative, capitals, spaces, units, numbers
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(1 days)",
    "rate(2 day)",
    "rate(0 minutes)",
    "rate(0 minute)",
    "rate(-1 minutes)",
    "rate(-5 minutes)",
    "rate(+5 minutes)",
    "rate(05 minutes)",
    "rate(1.5 hours)",
    "rate(5 Minutes)",
    "rate(5 MINUTES)",
    "Rate(5 minutes)",
    "RATE(5 minutes)",
    "rate(5  minutes)",
    "rate( 5 minutes)",
    "rate(5 minutes )",
    " rate(5 minutes)",
    "rate(5 minutes) ",
    "rate(5minutes)",
    "rate(5 seconds)",
    "rate(1 second)",
    "rate(2 weeks)",
    "rate(minutes)",
    "rate(5)",
    "rate()",
    "rate(5 minutes",
    # cron: shape
    "cron(0 10 * * ?)",
    "cron(0 10 * * ? * *)",
    "cron(0 10 * * ? *",
    "cron(0  10 * * ? *)",
    "cron( 0 10 * * ? *)",
    "cron(0 10 * * ? * )",
    "Cron(0 10 * * ? *)",
    "cron()",
    "cron",
    "",
    "at(2026-01-01T00:00:00)",
    # cron: the day fields
    "cron(0 10 * * * *)",
    "cron(0 10 ? * ? *)",
    "cron(0 10 1 * MON *)",
    "cron(0 10 ?,1 * ? *)",
    # cron: ranges
    "cron(60 10 * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 10 0 * ? *)",
    "cron(0 10 32 * ? *)",
    "cron(0 10 * 0 ? *)",
    "cron(0 10 * 13 ? *)",
    "cron(0 10 ? * 0 *)",
    "cron(0 10 ? * 8 *)",
    "cron(0 10 * * ? 1969)",
    "cron(0 10 * * ? 2200)",
    "cron(0 10 * * ? 2030-2020)",
    "cron(0 10 * * ? 2200-2201)",
    "cron(-1 10 * * ? *)",
    # cron: steps
    "cron(0/0 * * * ? *)",
    "cron(0/61 * * * ? *)",
    "cron(*/ * * * ? *)",
    "cron(0 10 ? * 1/2 *)",
    # cron: wildcards in the wrong field or form
    "cron(? 10 * * ? *)",
    "cron(L 10 * * ? *)",
    "cron(0 L * * ? *)",
    "cron(0 10 * L ? *)",
    "cron(0 10 * * ? L)",
    "cron(0 10 ? * 3W *)",
    "cron(0 10 3#2 * ? *)",
    "cron(0 10 W * ? *)",
    "cron(0 10 1-5W * ? *)",
    "cron(0 10 L,15 * ? *)",
    "cron(0 10 L-3 * ? *)",
    "cron(0 10 32W * ? *)",
    "cron(0 10 0W * ? *)",
    "cron(0 10 ? * 6#6 *)",
    "cron(0 10 ? * 6#0 *)",
    "cron(0 10 ? * 8#1 *)",
    "cron(0 10 ? * 8L *)",
    "cron(0 10 ? * 6L,1 *)",
    "cron(0 10 * FOO ? *)",
    "cron(0 10 ? * MONDAY *)",
    "cron(0 10 * JAN-FOO ? *)",
    "cron(0 10 , * ? *)",
    "cron(0 10 1, * ? *)",
    "cron(0 10 1- * ? *)",
    "cron(0 10 ５ * ? *)",
]


@pytest.mark.parametrize("text", DOCUMENTED_VALID)
def test_documented_examples_parse(text: str) -> None:
    schedule = parse_schedule(text)
    assert schedule.expression == text


@pytest.mark.parametrize("text", DOCUMENTED_INVALID + INVALID_FORMS)
def test_invalid_forms_are_refused_with_eventbridge_error(text: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as caught:
        parse_schedule(text)
    error = caught.value
    assert isinstance(error, ValidationException)
    assert error.code == "ValidationException"
    assert error.message == "Parameter ScheduleExpression is not valid."
    assert error.path == "ScheduleExpression"
    assert "\n" not in str(error) and error.reason in str(error)


def test_reason_names_the_field() -> None:
    with pytest.raises(InvalidScheduleExpression) as caught:
        parse_schedule("cron(0 25 * * ? *)")
    assert caught.value.reason == "hours: 25 is outside 0-23"
    assert str(caught.value) == ("ValidationException: Parameter ScheduleExpression is not valid. "
                                 "(hours: 25 is outside 0-23: 'cron(0 25 * * ? *)')")
    with pytest.raises(InvalidScheduleExpression) as caught:
        parse_schedule("cron(7 20 * * 1-7 *)")
    assert "day-of-month and day-of-week" in caught.value.reason
    with pytest.raises(InvalidScheduleExpression) as caught:
        parse_schedule("rate(5 minute)")
    assert "'minutes'" in caught.value.reason


def test_over_256_characters_is_refused() -> None:
    text = "cron(" + ",".join(["0"] * 130) + " 10 * * ? *)"
    with pytest.raises(InvalidScheduleExpression):
        parse_schedule(text)


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(36 hours)", timedelta(hours=36)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(400 days)", timedelta(days=400)),
    ],
)
def test_rate_period(text: str, period: timedelta) -> None:
    schedule = parse_schedule(text)
    assert isinstance(schedule, RateSchedule)
    assert schedule.period == period


def cron(text: str) -> CronSchedule:
    schedule = parse_schedule(text)
    assert isinstance(schedule, CronSchedule)
    return schedule


def test_cron_fields() -> None:
    s = cron("cron(0/15 8-17 ? JAN,MAR-APR MON-FRI 2025-2027)")
    assert s.minutes == (0, 15, 30, 45)
    assert s.hours == tuple(range(8, 18))
    assert s.months == (1, 3, 4)
    assert s.years == (2025, 2026, 2027)
    assert s.day_of_month is None
    assert s.day_of_week == DayOfWeek(weekdays=(2, 3, 4, 5, 6))


def test_names_any_case_and_numbers_agree() -> None:
    assert cron("cron(0 0 ? jan-mar sun *)").months == (1, 2, 3)
    assert cron("cron(0 0 ? * SUN,SAT *)").day_of_week == DayOfWeek(weekdays=(1, 7))
    assert cron("cron(0 0 ? DEC 7 *)").months == (12,)


def test_steps_and_wrapping_ranges() -> None:
    assert cron("cron(1/10 * * * ? *)").minutes == (1, 11, 21, 31, 41, 51)
    assert cron("cron(*/20 * * * ? *)").minutes == (0, 20, 40)
    assert cron("cron(10-30/10 * * * ? *)").minutes == (10, 20, 30)
    assert cron("cron(0 22-2 * * ? *)").hours == (0, 1, 2, 22, 23)
    assert cron("cron(0 0 ? * FRI-MON *)").day_of_week == DayOfWeek(weekdays=(1, 2, 6, 7))
    assert cron("cron(0 0 * NOV-FEB ? *)").months == (1, 2, 11, 12)
    assert cron("cron(0 0 * * ? 1970/100)").years == (1970, 2070, 2170)


def test_day_wildcards() -> None:
    assert cron("cron(0 0 L * ? *)").day_of_month == DayOfMonth(last=True)
    assert cron("cron(0 0 LW * ? *)").day_of_month == DayOfMonth(last_weekday=True)
    assert cron("cron(0 0 15W * ? *)").day_of_month == DayOfMonth(nearest_weekday=15)
    assert cron("cron(0 0 ? * L *)").day_of_week == DayOfWeek(weekdays=(7,))
    assert cron("cron(0 0 ? * 6L *)").day_of_week == DayOfWeek(last_of=6)
    assert cron("cron(0 0 ? * FRIL *)").day_of_week == DayOfWeek(last_of=6)
    assert cron("cron(0 0 ? * 6#3 *)").day_of_week == DayOfWeek(nth=(6, 3))
    assert cron("cron(0 0 ? * FRI#3 *)").day_of_week == DayOfWeek(nth=(6, 3))
    assert cron("cron(0 0 1,15 * ? *)").day_of_month == DayOfMonth(days=(1, 15))


def test_parsed_schedules_are_frozen() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    with pytest.raises(AttributeError):
        schedule.expression = "x"  # type: ignore[misc]
