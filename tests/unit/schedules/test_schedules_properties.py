"""Property tests: the field-jumping search agrees with a plain scan, and fire times only increase.

The reference below checks instants one at a time (skipping a whole day or hour only when
that day or hour cannot match, which changes nothing but speed) against day rules written
from their definitions, independently of ``eventpipes.schedules.days``.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from eventpipes.schedules import CronSchedule, parse_schedule
from eventpipes.schedules.days import DayOfMonth, DayOfWeek

MINUTES = ["*", "0", "59", "*/7", "5-10", "0,30", "15/20", "50-10"]
HOURS = ["*", "0", "23", "9-17", "*/5", "22-2", "12"]
DAYS_OF_MONTH = ["*", "1", "15", "29", "31", "L", "LW", "1W", "15W", "30W", "31W", "1-7", "*/10", "28-3"]
MONTHS = ["*", "2", "FEB", "1,6", "11-2", "*/3", "APR,JUN,SEP,NOV"]
DAYS_OF_WEEK = ["*", "1", "MON-FRI", "6L", "L", "6#3", "2#5", "SAT,SUN", "FRI-MON", "1L", "7#1"]
YEARS = ["*", "2020-2040", "2028", "2024/4"]

#: How far the reference scans before it gives up (the fast search must then also find nothing that early).
HORIZON = timedelta(days=3 * 366)


@st.composite
def crons(draw: st.DrawFn) -> str:
    minutes, hours, month, year = (draw(st.sampled_from(f)) for f in (MINUTES, HOURS, MONTHS, YEARS))
    if draw(st.booleans()):
        dom, dow = draw(st.sampled_from(DAYS_OF_MONTH)), "?"
    else:
        dom, dow = "?", draw(st.sampled_from(DAYS_OF_WEEK))
    return f"cron({minutes} {hours} {dom} {month} {dow} {year})"


instants = st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2041, 12, 31)).map(
    lambda d: d.replace(tzinfo=timezone.utc))


def eb_weekday(day: datetime) -> int:
    return day.isoweekday() % 7 + 1  # ISO Monday=1 ... Sunday=7  ->  Sunday=1 ... Saturday=7


def month_days(t: datetime) -> list[datetime]:
    length = calendar.monthrange(t.year, t.month)[1]
    return [t.replace(day=d) for d in range(1, length + 1)]


def dom_matches(rule: DayOfMonth, t: datetime) -> bool:
    days = month_days(t)
    workdays = [d.day for d in days if eb_weekday(d) in (2, 3, 4, 5, 6)]
    if rule.last:
        return t.day == len(days)
    if rule.last_weekday:
        return t.day == max(workdays)
    if rule.nearest_weekday is not None:
        n = rule.nearest_weekday
        return n <= len(days) and t.day == min(workdays, key=lambda d: abs(d - n))
    return t.day in rule.days


def dow_matches(rule: DayOfWeek, t: datetime) -> bool:
    length = calendar.monthrange(t.year, t.month)[1]
    if rule.last_of is not None:
        return eb_weekday(t) == rule.last_of and t.day + 7 > length
    if rule.nth is not None:
        weekday, n = rule.nth
        return eb_weekday(t) == weekday and (t.day - 1) // 7 + 1 == n
    return eb_weekday(t) in rule.weekdays


def day_matches(s: CronSchedule, t: datetime) -> bool:
    if t.year not in s.years or t.month not in s.months:
        return False
    if s.day_of_month is not None:
        return dom_matches(s.day_of_month, t)
    assert s.day_of_week is not None
    return dow_matches(s.day_of_week, t)


def reference_next(s: CronSchedule, after: datetime) -> datetime | None:
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = after + HORIZON
    while t <= end:
        if not day_matches(s, t):
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
        elif t.hour not in s.hours:
            t = t.replace(minute=0) + timedelta(hours=1)
        elif t.minute in s.minutes:
            return t
        else:
            t += timedelta(minutes=1)
    return None


def as_cron(text: str) -> CronSchedule:
    schedule = parse_schedule(text)
    assert isinstance(schedule, CronSchedule)
    return schedule


@settings(max_examples=150, deadline=None)
@given(crons(), instants)
def test_next_fire_matches_a_plain_scan(text: str, after: datetime) -> None:
    schedule = as_cron(text)
    expected = reference_next(schedule, after)
    got = schedule.next_fire(after)
    if expected is None:
        assert got is None or got > after + HORIZON
    else:
        assert got == expected


@settings(max_examples=100, deadline=None)
@given(crons(), instants)
def test_fire_times_strictly_increase_and_previous_agrees(text: str, after: datetime) -> None:
    schedule = as_cron(text)
    moment: datetime | None = after
    for _ in range(6):
        assert moment is not None
        following = schedule.next_fire(moment)
        if following is None:
            break
        assert following > moment
        assert following.second == 0 and following.microsecond == 0
        assert schedule.latest_at_or_before(following) == following
        before = schedule.latest_at_or_before(following - timedelta(seconds=1))
        assert before is None or before <= moment
        moment = following


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=10_000),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
)
def test_rate_ticks_are_anchor_plus_whole_periods(minutes: int, anchor: datetime, after: datetime) -> None:
    unit = "minute" if minutes == 1 else "minutes"
    schedule = parse_schedule(f"rate({minutes} {unit})").anchored(anchor)
    anchor_utc, after_utc = anchor.replace(tzinfo=timezone.utc), after.replace(tzinfo=timezone.utc)
    tick = schedule.next_fire(after_utc)
    assert tick is not None and tick > after_utc and tick > anchor_utc
    assert (tick - anchor_utc) % timedelta(minutes=minutes) == timedelta(0)
    assert tick - timedelta(minutes=minutes) <= max(after_utc, anchor_utc)
