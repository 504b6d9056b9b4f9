"""Which tick is due, the catch-up policy, the progress record, and the scheduled event's envelope."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from eventpipes.events import Event
from eventpipes.schedules import (
    Progress,
    RateSchedule,
    ScheduledRule,
    after_firing,
    anchor_of,
    baseline,
    due_tick,
    next_due,
    parse_schedule,
    scheduled_event,
)

ARN = "arn:aws:events:us-east-1:000000000000:rule/nightly"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def rule(expression: str, anchor: str) -> ScheduledRule:
    return ScheduledRule("nightly", ARN, parse_schedule(expression), at(anchor))


def test_nothing_due_before_the_first_tick_after_the_anchor() -> None:
    r = rule("cron(0 10 * * ? *)", "2026-03-01 10:05")
    assert due_tick(r, None, at("2026-03-01 10:30")) is None  # the 10:00 tick precedes the rule
    assert next_due(r, None, at("2026-03-01 10:30")) == at("2026-03-02 10:00")


def test_a_due_tick_is_due_until_handled() -> None:
    r = rule("cron(0 10 * * ? *)", "2026-03-01 10:05")
    tick = due_tick(r, None, at("2026-03-02 10:00:00.5"))
    assert tick is not None and tick.instant == at("2026-03-02 10:00") and not tick.catch_up
    handled = Progress(tick.instant, tick.instant)
    assert due_tick(r, handled, at("2026-03-02 10:00:01")) is None
    assert next_due(r, handled, at("2026-03-02 10:00:01")) == at("2026-03-03 10:00")


def test_catch_up_fires_only_the_latest_missed_tick() -> None:
    r = rule("rate(5 minutes)", "2026-03-01 10:00")
    handled = Progress(at("2026-03-01 10:05"), at("2026-03-01 10:05"))
    tick = due_tick(r, handled, at("2026-03-01 11:02"))
    assert tick is not None and tick.instant == at("2026-03-01 11:00") and tick.catch_up
    assert due_tick(r, Progress(tick.instant, tick.instant), at("2026-03-01 11:02")) is None


def test_a_re_enabled_rule_counts_from_its_new_anchor() -> None:
    # Progress from before the rule was disabled; re-enabled (new anchor) at 12:00.
    r = rule("cron(0 * * * ? *)", "2026-03-01 12:00:30")
    old = Progress(at("2026-03-01 08:00"), at("2026-03-01 08:00"))
    assert due_tick(r, old, at("2026-03-01 12:30")) is None
    tick = due_tick(r, old, at("2026-03-01 13:00:01"))
    assert tick is not None and tick.instant == at("2026-03-01 13:00") and not tick.catch_up


def test_seconds_rate_for_tests() -> None:
    r = ScheduledRule("fast", ARN, RateSchedule("test", timedelta(seconds=2)), at("2026-03-01 10:00:00.250"))
    tick = due_tick(r, None, at("2026-03-01 10:00:02.300"))
    assert tick is not None and tick.instant == at("2026-03-01 10:00:02.250")


def test_exhausted_cron_is_never_due_again() -> None:
    r = rule("cron(0 0 1 1 ? 2026)", "2025-06-01 00:00")
    done = Progress(at("2026-01-01 00:00"), at("2026-01-01 00:00"))
    assert due_tick(r, done, at("2030-01-01 00:00")) is None
    assert next_due(r, done, at("2030-01-01 00:00")) is None


def test_progress_record_round_trips() -> None:
    progress = Progress(at("2026-03-01 10:00:02.250"), None)
    assert Progress.from_json(progress.to_json()) == progress
    fired = Progress(at("2026-03-01 10:00"), at("2026-03-01 10:00"))
    assert Progress.from_json(fired.to_json()) == fired


def test_scheduled_event_envelope() -> None:
    event = scheduled_event(ARN, at("2026-03-01 10:00:00.750"), account="123456789012", region="eu-west-1")
    body = json.loads(event.to_json())
    assert list(body) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert body["version"] == "0"
    assert body["detail-type"] == "Scheduled Event"
    assert body["source"] == "aws.events"
    assert body["account"] == "123456789012"
    assert body["region"] == "eu-west-1"
    assert body["time"] == "2026-03-01T10:00:00Z"
    assert body["resources"] == [ARN]
    assert body["detail"] == {}
    assert Event.from_json(event.to_json()) == event
    other = scheduled_event(ARN, at("2026-03-01 10:00"), account="123456789012", region="eu-west-1")
    assert other.id != event.id
    assert scheduled_event(ARN, at("2026-03-01 10:00"), account="1", region="r", event_id="fixed").id == "fixed"


def test_a_rule_without_anchor_waits_for_its_baseline() -> None:
    r = ScheduledRule("topo", ARN, parse_schedule("rate(5 minutes)"), None)
    assert anchor_of(r, None) is None
    assert due_tick(r, None, at("2026-03-01 10:00")) is None and next_due(r, None, at("2026-03-01 10:00")) is None
    first = baseline(None, at("2026-03-01 10:00:30"))
    assert first == Progress(at("2026-03-01 10:00:30"), None, at("2026-03-01 10:00:30"))
    assert Progress.from_json(first.to_json()) == first
    assert next_due(r, first, at("2026-03-01 10:01")) == at("2026-03-01 10:05:30")
    tick = due_tick(r, first, at("2026-03-01 10:05:31"))
    assert tick is not None and tick.instant == at("2026-03-01 10:05:30")
    fired = after_firing(tick, first)
    assert fired == Progress(tick.instant, tick.instant, first.anchor)  # the recorded anchor is kept


def test_a_rule_with_its_own_anchor_ignores_a_recorded_one() -> None:
    r = rule("rate(5 minutes)", "2026-03-01 10:00")
    recorded = Progress(at("2026-03-01 09:00:30"), None, at("2026-03-01 09:00:30"))
    assert anchor_of(r, recorded) == at("2026-03-01 10:00")
    assert next_due(r, recorded, at("2026-03-01 10:01")) == at("2026-03-01 10:05")
    again = baseline(Progress(at("2026-03-01 11:00"), at("2026-03-01 11:00")), at("2026-03-01 10:30"))
    assert again == Progress(at("2026-03-01 11:00"), at("2026-03-01 11:00"), at("2026-03-01 10:30"))
