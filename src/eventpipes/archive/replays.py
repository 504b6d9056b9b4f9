"""Replay control calls: StartReplay, DescribeReplay, ListReplays, CancelReplay, and resume.

Each checks its request, reads and writes replay state in Kafka (``archive.store``) and
returns; none replays an event. The job that does (``archive.job.ReplayJob``) runs where
the caller chooses (see ``archive.replay``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventpipes.archive.errors import (
    IllegalStatusException, LimitExceededException, ResourceAlreadyExistsException, ValidationException,
)
from eventpipes.archive.job import ReplayJob, archive_key
from eventpipes.archive.model import (
    MAX_CONCURRENT_REPLAYS, Replay, ReplayState, bus_of_destination, check_name, check_offsets, check_window, rule_of_filter,
)
from eventpipes.archive.store import ArchiveStore, now_ms
from eventpipes.arns import replay_arn


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """StartReplay's parameters, plus the Kafka-native extensions."""

    name: str
    archive: str
    start_ms: int | None = None
    """EventStartTime (ms); with ``end_ms``, or offsets instead."""
    end_ms: int | None = None
    destination: str | None = None
    """Destination.Arn: the archive's bus (a name or an event-bus ARN); None means that bus."""
    filter_arns: tuple[str, ...] = ()
    """Destination.FilterArns: rule ARNs or names; empty: every rule of the bus."""
    description: str | None = None
    from_offsets: dict[int, int] | None = None
    to_offsets: dict[int, int] | None = None
    to_topic: str | None = None
    rate_limit: float | None = None
    """Events per second; None or 0: no limit."""


def start_replay(store: ArchiveStore, request: ReplayRequest, *, key: bytes | None = None) -> Replay:
    """StartReplay: check the request, then record the replay as STARTING (run it with :class:`ReplayJob`).

    Raises:
        ValidationException: bad name, window, offsets, destination (another bus) or FilterArns.
        ResourceNotFoundException: no such archive.
        ResourceAlreadyExistsException: a replay of that name exists (names are never reused).
        LimitExceededException: 10 replays are running.
        ArchiveKeyError: the archive is encrypted and the key is missing or wrong.
    """
    check_name("Replay", request.name)
    if request.description is not None and len(request.description) > 512:
        raise ValidationException("Description", "must be at most 512 characters")
    stored = store.get_archive(request.archive)
    bus = stored.archive.event_bus_name
    _check_range(request)
    if request.destination is not None and bus_of_destination(request.destination) != bus:
        raise ValidationException("Destination.Arn", f"cross event bus replay is not permitted: the archive's bus is {bus}")
    rules = tuple(dict.fromkeys(rule_of_filter(bus, arn) for arn in request.filter_arns))
    if request.rate_limit is not None and request.rate_limit < 0:
        raise ValidationException("RateLimit", "must be >= 0")
    archive_key(stored, key)
    now = now_ms()
    replays, _ = store.replays()
    if request.name in replays:
        raise ResourceAlreadyExistsException("Replay", request.name)
    running = [r for r in replays.values() if r.active and not r.lease_expired(now)]
    if len(running) >= MAX_CONCURRENT_REPLAYS:
        raise LimitExceededException(MAX_CONCURRENT_REPLAYS)
    replay = Replay(
        name=request.name, archive=request.archive, bus=bus, event_start_ms=request.start_ms, event_end_ms=request.end_ms,
        state=ReplayState.STARTING, replay_start_ms=now, description=request.description, filter_rules=rules,
        from_offsets=request.from_offsets, to_offsets=request.to_offsets, to_topic=request.to_topic,
        rate_limit=request.rate_limit or None, heartbeat_ms=now,
    )
    store.put_replay(replay)
    return replay


def _check_range(request: ReplayRequest) -> None:
    by_time = request.start_ms is not None or request.end_ms is not None
    by_offsets = request.from_offsets is not None or request.to_offsets is not None
    if by_time and by_offsets:
        raise ValidationException("EventStartTime", "give a time window or offsets, not both")
    if by_time:
        if request.start_ms is None or request.end_ms is None:
            raise ValidationException("EventStartTime" if request.start_ms is None else "EventEndTime", "is required")
        check_window(request.start_ms, request.end_ms)
    elif by_offsets:
        check_offsets(request.from_offsets, request.to_offsets)
    else:
        raise ValidationException("EventStartTime", "is required (or FromOffsets/ToOffsets)")


def cancel_replay(store: ArchiveStore, name: str) -> dict[str, Any]:
    """CancelReplay: only while STARTING or RUNNING; the job stops at its next checkpoint.

    A replay whose job is gone (lease expired) is cancelled at once.

    Raises:
        ResourceNotFoundException, IllegalStatusException.
    """
    replay, requested = store.get_replay(name)
    if replay.state not in (ReplayState.STARTING, ReplayState.RUNNING) or requested:
        state = ReplayState.CANCELLING if requested and replay.active else replay.state
        raise IllegalStatusException(name, state.value, "cancel")
    store.request_cancel(name)
    now = now_ms()
    if replay.lease_expired(now):
        store.put_replay(replay.moved("cancelled", now, "cancelled while its job was not running"))
        return _short(store, replay.name, ReplayState.CANCELLED, "cancelled while its job was not running")
    return _short(store, replay.name, ReplayState.CANCELLING, "cancel requested")


def _short(store: ArchiveStore, name: str, state: ReplayState, reason: str) -> dict[str, Any]:

    return {"ReplayArn": replay_arn(store.settings.region, store.settings.account, name), "State": state.value, "StateReason": reason}


def resume_replay(store: ArchiveStore, name: str, *, key: bytes | None = None,
                  on_progress: Callable[[Replay], None] | None = None) -> Replay:
    """Continue a replay whose job stopped (killed, machine lost), from its last checkpoint.

    Raises:
        IllegalStatusException: the replay is finished, or its job is still running.
    """
    replay, requested = store.get_replay(name)
    if not replay.active:
        raise IllegalStatusException(name, replay.state.value, "resume")
    if replay.owner is not None and not replay.lease_expired(now_ms()):
        raise IllegalStatusException(name, f"{replay.state.value} (job {replay.owner} is alive)", "resume")
    if requested or replay.state == ReplayState.CANCELLING:
        cancelled = replay.moved("cancelled", now_ms(), "cancelled while its job was not running")
        store.put_replay(cancelled)
        return cancelled
    return ReplayJob(store, replay, key=key, on_progress=on_progress).run()


def list_replays(store: ArchiveStore, *, prefix: str | None = None, state: str | None = None, archive: str | None = None) -> list[dict[str, Any]]:
    """ListReplays in EventBridge's shape (with ``Progress``)."""
    replays, cancels = store.replays()
    now = now_ms()
    out: list[dict[str, Any]] = []
    keys: tuple[str, ...] = ("ReplayName", "EventSourceArn", "State", "StateReason", "EventStartTime", "EventEndTime",
                             "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime", "Progress")
    for replay in sorted(replays.values(), key=lambda r: r.replay_start_ms):
        body = replay.describe(store.settings.region, store.settings.account, now_ms=now, cancel_requested=replay.name in cancels)
        if (prefix and not replay.name.startswith(prefix)) or (state and body["State"] != state) or (archive and replay.archive != archive):
            continue
        out.append({k: body[k] for k in keys if k in body})
    return out


def describe_replay(store: ArchiveStore, name: str) -> dict[str, Any]:
    replay, requested = store.get_replay(name)
    return replay.describe(store.settings.region, store.settings.account, now_ms=now_ms(), cancel_requested=requested)


__all__ = ["ReplayRequest", "cancel_replay", "describe_replay", "list_replays", "resume_replay", "start_replay"]
