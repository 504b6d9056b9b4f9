"""A parsed ``rate(value unit)`` expression: ticks a fixed period apart from an anchor.

EventBridge starts a rate rule's clock when the rule is created (or enabled): its ticks
are ``anchor + k * period`` for k = 1, 2, ..., not aligned to the wall clock. The anchor
is not part of the expression, so a parsed rate carries the Unix epoch until the rule's
own moment is set with ``anchored``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from eventpipes.schedules.cron import as_utc

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """``rate(value unit)``: every ``period``, counted from ``anchor``.

    Tests may build one with a period of seconds; the expression language itself has
    minutes as its smallest unit.
    """

    expression: str
    """The expression as written."""
    period: timedelta
    """Time between ticks (positive)."""
    anchor: datetime = EPOCH
    """When the rule was created or enabled; its ticks are ``anchor + k * period``, k >= 1."""

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError(f"a rate's period must be positive, not {self.period}")
        object.__setattr__(self, "anchor", as_utc(self.anchor))

    def anchored(self, anchor: datetime) -> "RateSchedule":
        """The same rate counted from ``anchor`` (the rule's creation or enabling)."""
        return replace(self, anchor=anchor)

    def next_fire(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after``; None past the largest datetime."""
        elapsed = as_utc(after) - self.anchor
        k = max(1, elapsed // self.period + 1)
        return self._tick(k)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last tick at or before ``moment``; None before the first tick."""
        k = (as_utc(moment) - self.anchor) // self.period
        return self._tick(k) if k >= 1 else None

    def _tick(self, k: int) -> datetime | None:
        try:
            return self.anchor + k * self.period
        except OverflowError:
            return None
