"""A parsed ``cron(...)`` expression and the instants it fires at.

Finding the next (or previous) instant walks the fields from the year down, each time
taking the first allowed value at or after the current one with a binary search, and
resetting the lower fields to their first value once a higher field moved on. So a
search costs a few bisections per field, not a step per minute: the worst case, an
expression that never fires again (``cron(0 0 30 2 ? *)``, 30 February), looks at each
of the at most 230 years' 12 months once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from eventpipes.schedules.days import DayOfMonth, DayOfWeek

MINUTE = timedelta(minutes=1)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already (EventBridge schedules are UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)``, in UTC."""

    expression: str
    """The expression as written."""
    minutes: tuple[int, ...]
    """Sorted minutes 0-59."""
    hours: tuple[int, ...]
    """Sorted hours 0-23."""
    months: tuple[int, ...]
    """Sorted months 1-12."""
    years: tuple[int, ...]
    """Sorted years 1970-2199."""
    day_of_month: DayOfMonth | None
    """The day-of-month field, or None where it is ``?``."""
    day_of_week: DayOfWeek | None
    """The day-of-week field, or None where it is ``?`` (exactly one of the two is None)."""

    def anchored(self, anchor: datetime) -> "CronSchedule":
        """Itself: a cron expression names absolute instants, whenever its rule was created."""
        return self

    def next_fire(self, after: datetime) -> datetime | None:
        """The first instant strictly after ``after`` (UTC, whole minute); None when the years run out."""
        start = as_utc(after).replace(second=0, microsecond=0) + MINUTE
        return self._first_at_or_after(start)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last instant at or before ``moment``; None when there is none since 1970."""
        return self._last_at_or_before(as_utc(moment).replace(second=0, microsecond=0))

    def _days(self, year: int, month: int) -> tuple[int, ...]:
        field = self.day_of_month if self.day_of_month is not None else self.day_of_week
        assert field is not None  # the parser makes exactly one of them None
        return field.days_in(year, month)

    def _first_at_or_after(self, t: datetime) -> datetime | None:
        for year in self.years[bisect_left(self.years, t.year):]:
            same = year == t.year
            for month in self.months[bisect_left(self.months, t.month) if same else 0:]:
                same = same and month == t.month
                days = self._days(year, month)
                for day in days[bisect_left(days, t.day) if same else 0:]:
                    same = same and day == t.day
                    for hour in self.hours[bisect_left(self.hours, t.hour) if same else 0:]:
                        same = same and hour == t.hour
                        minutes = self.minutes[bisect_left(self.minutes, t.minute) if same else 0:]
                        if minutes:
                            return datetime(year, month, day, hour, minutes[0], tzinfo=timezone.utc)
        return None

    def _last_at_or_before(self, t: datetime) -> datetime | None:
        for year in reversed(self.years[:bisect_right(self.years, t.year)]):
            same = year == t.year
            for month in reversed(self.months[:bisect_right(self.months, t.month)] if same else self.months):
                same = same and month == t.month
                days = self._days(year, month)
                for day in reversed(days[:bisect_right(days, t.day)] if same else days):
                    same = same and day == t.day
                    for hour in reversed(self.hours[:bisect_right(self.hours, t.hour)] if same else self.hours):
                        same = same and hour == t.hour
                        minutes = self.minutes[:bisect_right(self.minutes, t.minute)] if same else self.minutes
                        if minutes:
                            return datetime(year, month, day, hour, minutes[-1], tzinfo=timezone.utc)
        return None
