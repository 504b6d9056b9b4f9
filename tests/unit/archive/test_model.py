"""The pure archive model: names, patterns, windows, FilterArns, replay states, the stored form."""

from __future__ import annotations

import pytest

from eventpipes.archive import crypto
from eventpipes.archive.errors import ArchiveKeyError, IllegalStatusException, InvalidEventPatternException, ValidationException
from eventpipes.archive.model import (
    LEASE_MS, Archive, Progress, Replay, ReplayState, bus_of_destination, check_name, check_pattern, check_window,
    next_state, parse_offsets, rule_of_filter,
)
from eventpipes.archive.job import Pacer, _with_replay_name


def replay(**changes: object) -> Replay:
    base = Replay(name="r", archive="a", bus="orders", event_start_ms=0, event_end_ms=10, state=ReplayState.STARTING, replay_start_ms=1000, heartbeat_ms=1000)
    from dataclasses import replace

    return replace(base, **changes)  # type: ignore[arg-type]


def test_names_follow_eventbridge_limits() -> None:
    assert check_name("Archive", "a" * 48) == "a" * 48
    with pytest.raises(ValidationException, match="ArchiveName"):
        check_name("Archive", "a" * 49)
    assert check_name("Replay", "r" * 64)
    with pytest.raises(ValidationException, match="ReplayName"):
        check_name("Replay", "has space")


def test_patterns_are_checked_as_eventbridge_does() -> None:
    assert check_pattern('{"source": ["x"]}') == {"source": ["x"]}
    assert check_pattern(None) is None
    with pytest.raises(InvalidEventPatternException) as caught:
        check_pattern({"source": "x"})
    assert caught.value.code == "InvalidEventPatternException" and caught.value.input_error
    with pytest.raises(ValueError):
        Archive(ArchiveName="a", EventPattern="{not json")


def test_retention_days_map_to_retention_ms() -> None:
    assert Archive(ArchiveName="a").retention_ms == -1
    assert Archive(ArchiveName="a", RetentionDays=2).retention_ms == 2 * 86_400_000


def test_windows_offsets_destinations_and_filters() -> None:
    with pytest.raises(ValidationException, match="EventEndTime"):
        check_window(10, 10)
    assert parse_offsets("0:10, 2:5", "FromOffsets") == {0: 10, 2: 5}
    with pytest.raises(ValidationException, match="FromOffsets"):
        parse_offsets("0-10", "FromOffsets")
    assert bus_of_destination("arn:aws:events:us-east-1:000000000000:event-bus/orders") == "orders"
    assert rule_of_filter("orders", "arn:aws:events:us-east-1:000000000000:rule/orders/r1") == "r1"
    assert rule_of_filter("default", "arn:aws:events:us-east-1:000000000000:rule/r1") == "r1"
    with pytest.raises(ValidationException, match="FilterArns"):
        rule_of_filter("orders", "arn:aws:events:us-east-1:000000000000:rule/other/r1")


@pytest.mark.parametrize(("state", "action", "expected"), [
    (ReplayState.STARTING, "run", ReplayState.RUNNING),
    (ReplayState.RUNNING, "cancel", ReplayState.CANCELLING),
    (ReplayState.CANCELLING, "cancelled", ReplayState.CANCELLED),
    (ReplayState.CANCELLING, "complete", ReplayState.CANCELLED),
    (ReplayState.RUNNING, "complete", ReplayState.COMPLETED),
    (ReplayState.RUNNING, "fail", ReplayState.FAILED),
])
def test_allowed_transitions(state: ReplayState, action: str, expected: ReplayState) -> None:
    assert next_state("r", state, action) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("state", [ReplayState.COMPLETED, ReplayState.CANCELLED, ReplayState.FAILED])
def test_finished_replays_cannot_be_cancelled_or_resumed(state: ReplayState) -> None:
    for action in ("cancel", "resume", "run"):
        with pytest.raises(IllegalStatusException):
            next_state("r", state, action)  # type: ignore[arg-type]


def test_terminal_states_get_an_end_time_and_the_stored_form_round_trips() -> None:
    done = replay(state=ReplayState.RUNNING, progress=Progress(positions={0: 5}, stops={0: 9}, records_total=9)).moved("complete", 5000)
    assert done.state == ReplayState.COMPLETED and done.replay_end_ms == 5000
    assert Replay.from_json(done.to_json()) == done


def test_describe_shows_cancelling_and_a_stopped_job() -> None:
    running = replay(state=ReplayState.RUNNING, owner="h:1", heartbeat_ms=1000, filter_rules=("r1",))
    body = running.describe("us-east-1", "000000000000", now_ms=1500, cancel_requested=True)
    assert body["State"] == "CANCELLING"
    assert body["Destination"]["FilterArns"] == ["arn:aws:events:us-east-1:000000000000:rule/orders/r1"]
    stale = running.describe("us-east-1", "000000000000", now_ms=1000 + LEASE_MS + 1)
    assert stale["State"] == "RUNNING" and "has not reported" in stale["StateReason"]


def test_replay_name_is_added_at_the_top_level() -> None:
    import json

    suffix = b',"replay-name":"n"}'
    assert json.loads(_with_replay_name(b'{"id":"1","detail":{"a":1}}', suffix, "n")) == {"id": "1", "detail": {"a": 1}, "replay-name": "n"}
    assert json.loads(_with_replay_name(b"{}", suffix, "n")) == {"replay-name": "n"}


def test_pacer_spaces_events() -> None:
    now = [0.0]
    slept: list[float] = []
    pacer = Pacer(100, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)) and None)
    for _ in range(100):
        pacer.tick()
    assert 0.9 <= now[0] <= 1.1


def test_crypto_round_trip_and_wrong_keys() -> None:
    key = b"k" * 32
    sealed = crypto.encrypt(key, "a", b"event")
    assert crypto.decrypt(key, "a", sealed) == b"event"
    with pytest.raises(ArchiveKeyError):
        crypto.decrypt(b"o" * 32, "a", sealed)
    with pytest.raises(ArchiveKeyError):
        crypto.decrypt(key, "another-archive", sealed)
    with pytest.raises(ArchiveKeyError, match="not set"):
        crypto.load_key("a", "NOPE", {})
    with pytest.raises(ArchiveKeyError, match="16, 24 or 32"):
        crypto.load_key("a", "K", {"K": "YWJj"})
    with pytest.raises(ArchiveKeyError):
        crypto.check_key("a", b"o" * 32, crypto.key_check(key))


def test_an_archive_status_round_trips_and_its_key_names_the_archive() -> None:
    from eventpipes.archive.model import ArchiveStatus, archive_group, status_key

    failed = ArchiveStatus("UPDATE_FAILED", "KEY_X is not set", 1_000, "host:1")
    assert ArchiveStatus.from_json(failed.to_json()) == failed
    assert ArchiveStatus.archive_of(status_key("orders-archive")) == "orders-archive"
    assert ArchiveStatus.archive_of("orders-archive") is None  # a definition's key
    assert archive_group("orders-archive") == "eventpipes.archive.orders-archive"
    assert ArchiveStatus.from_json(b'{"State": "SOMETHING"}').state == "ENABLED"  # only UPDATE_FAILED holds describe's state
