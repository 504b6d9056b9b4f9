"""Which tick of a scheduled rule is due, given what was already handled: the ticker's pure part.

A rule's progress is one instant, ``handled_through``: every tick at or before it was
fired (or deliberately passed over). A rule never handled before counts from its anchor
(its creation or enabling), so nothing before it fires, and a tick due after it is not
lost if the owner dies before firing it. A rule given without an anchor (a topology file
knows no creation time) is anchored when the ticker first sees it, and that anchor is kept
in its progress record, so it stays the same across restarts.

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
    anchor: datetime | None
    """When the rule was created or last enabled: a rate's ticks count from it and no tick
    at or before it fires. It must not change from one worker start to the next. None: the
    moment the ticker first sees the rule, recorded in its progress."""


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
    anchor: datetime | None = None
    """The anchor the ticker chose for a rule given without one (None when the rule has its own)."""

    def to_json(self) -> bytes:
        body = {
            "handled_through": self.handled_through.isoformat(),
            "last_fired": self.last_fired.isoformat() if self.last_fired else None,
        }
        if self.anchor is not None:
            body["anchor"] = self.anchor.isoformat()
        return json.dumps(body).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Progress":
        """Read a progress record.

        Raises:
            ValueError: not a progress record.
        """
        body = json.loads(data)
        last, anchor = body.get("last_fired"), body.get("anchor")
        return cls(as_utc(datetime.fromisoformat(body["handled_through"])),
                   as_utc(datetime.fromisoformat(last)) if last else None,
                   as_utc(datetime.fromisoformat(anchor)) if anchor else None)


def anchor_of(rule: ScheduledRule, progress: Progress | None) -> datetime | None:
    """The rule's own anchor, else the one recorded in its progress; None: it needs a ``baseline``."""
    if rule.anchor is not None:
        return as_utc(rule.anchor)
    return progress.anchor if progress is not None else None


def baseline(progress: Progress | None, now: datetime) -> Progress:
    """The progress that anchors a rule given without an anchor at ``now`` (nothing before it fires)."""
    now = as_utc(now)
    if progress is None:
        return Progress(now, None, now)
    return Progress(max(progress.handled_through, now), progress.last_fired, now)


def after_firing(tick: Tick, progress: Progress | None) -> Progress:
    """The rule's progress once ``tick`` is fired (a recorded anchor is kept)."""
    return Progress(tick.instant, tick.instant, progress.anchor if progress is not None else None)


def due_tick(rule: ScheduledRule, progress: Progress | None, now: datetime) -> Tick | None:
    """The tick to fire now, if any: the latest one after the rule's anchor and its progress, at or before ``now``."""
    anchor = anchor_of(rule, progress)
    if anchor is None:
        return None
    schedule = rule.schedule.anchored(anchor)
    since = anchor if progress is None else max(anchor, progress.handled_through)
    latest = schedule.latest_at_or_before(now)
    if latest is None or latest <= since:
        return None
    first = schedule.next_fire(since)
    return Tick(rule, latest, catch_up=first is not None and first < latest)


def next_due(rule: ScheduledRule, progress: Progress | None, now: datetime) -> datetime | None:
    """When ``rule`` next has a tick due, as of ``now`` (None: never again, or not anchored yet)."""
    anchor = anchor_of(rule, progress)
    if anchor is None:
        return None
    since = anchor if progress is None else max(anchor, progress.handled_through)
    return rule.schedule.anchored(anchor).next_fire(max(since, as_utc(now)))
