"""Which tick of a scheduled rule is due, given what was already handled: the ticker's pure part.

A rule's progress is one instant, ``handled_through``: every tick at or before it was
fired (or deliberately passed over). A rule never handled before counts from its anchor
(its creation or enabling), so nothing before it fires, and a tick due after it is not
lost if the owner dies before firing it.

Catch-up policy: when several ticks fell due while no worker ran, only the latest of them
fires (its ``time`` is its own instant), and the rule goes on from there. EventBridge does
not back-fill missed ticks; one catch-up tick lets a nightly job that was due while the
cluster was down run once rather than never.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from eventpipes.schedules.cron import as_utc
from eventpipes.schedules.parse import Schedule


@dataclass(frozen=True, slots=True)
class ScheduledRule:
    """One scheduled rule as the ticker needs it."""

    name: str
    """The rule's name: the key of its progress record, so unique among the ticker's rules."""
    arn: str
    """The rule's ARN, written into each tick's ``resources``."""
    schedule: Schedule
    """When it fires."""
    anchor: datetime
    """When the rule was created or last enabled: a rate's ticks count from it and no tick
    at or before it fires. It must not change from one worker start to the next."""

    @property
    def anchored_schedule(self) -> Schedule:
        return self.schedule.anchored(self.anchor)


@dataclass(frozen=True, slots=True)
class Tick:
    """One firing of one rule."""

    rule: ScheduledRule
    """The rule that fires."""
    instant: datetime
    """The scheduled instant (the event's ``time``), not the moment it ran."""
    catch_up: bool
    """True when later than one period: ticks before it were passed over (the catch-up policy)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """A rule's progress record, kept in Kafka under the rule's name."""

    handled_through: datetime
    """Every tick at or before this instant was fired or passed over."""
    last_fired: datetime | None
    """The instant of the last tick fired, for status (None before the first)."""

    def to_json(self) -> bytes:
        return json.dumps({
            "handled_through": self.handled_through.isoformat(),
            "last_fired": self.last_fired.isoformat() if self.last_fired else None,
        }).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Progress":
        """Read a progress record.

        Raises:
            ValueError: not a progress record.
        """
        body = json.loads(data)
        last = body.get("last_fired")
        return cls(as_utc(datetime.fromisoformat(body["handled_through"])),
                   as_utc(datetime.fromisoformat(last)) if last else None)


def counted_from(rule: ScheduledRule, progress: Progress | None) -> datetime:
    """The instant after which ``rule``'s ticks are still to fire."""
    anchor = as_utc(rule.anchor)
    return anchor if progress is None else max(anchor, progress.handled_through)


def due_tick(rule: ScheduledRule, progress: Progress | None, now: datetime) -> Tick | None:
    """The tick to fire now, if any: the latest one after ``counted_from`` and at or before ``now``."""
    schedule = rule.anchored_schedule
    since = counted_from(rule, progress)
    latest = schedule.latest_at_or_before(now)
    if latest is None or latest <= since:
        return None
    first = schedule.next_fire(since)
    return Tick(rule, latest, catch_up=first is not None and first < latest)


def next_due(rule: ScheduledRule, progress: Progress | None, now: datetime) -> datetime | None:
    """When ``rule`` next has a tick due, as of ``now`` (None: never again)."""
    return rule.anchored_schedule.next_fire(max(counted_from(rule, progress), as_utc(now)))
