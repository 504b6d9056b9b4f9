"""Replays: start (validate and record), run (the job), cancel, resume.

Where a replay runs: in the process that starts it (``eventpipes replay start`` in the
foreground with a progress bar, or ``--detach`` for a background process; or the
Python API). Its state lives in Kafka (``archive.store``), so ``describe``, ``list``
and ``cancel`` work from any shell.

What a job does:

1. Finds each archive partition's first offset at or after ``EventStartTime`` with
   ``offsets_for_times`` (the broker's time index: no scan from the beginning), and
   the stop offset: the first record later than ``EventEndTime`` plus
   :data:`LATE_GRACE_MS`. Records in between whose time is outside the window are skipped.
2. Reads the partitions merged in event-time order (a k-way merge), as EventBridge
   replays in time order, so ``EventLastReplayedTime`` means "every event of the
   window before it has been replayed": a new replay from there covers the rest.
3. Writes each event, plus top-level ``"replay-name"``, to the bus's replay topic
   ``eventpipes.replay.<bus>`` (header ``eventpipes-replay-rules`` when limited to some
   rules) or to ``--to-topic``, in the output partition numbered as its archive
   partition (modulo the output's count): the archive partition already keeps one bus
   partition's keys together, and hashing each key again in Python cost more than the
   rest of the write (see ``kafka.batches``). The worker's replay router sends them on to the
   rules' targets. The bus topic is not used, so live traffic is not queued behind
   a replay, and replayed events are never archived again.
4. Every :data:`CHECKPOINT_SECONDS`: waits for Kafka's acknowledgement of what it
   wrote, then records its positions, counts and a heartbeat, and reads any cancel request.

A job killed mid-replay leaves RUNNING with a heartbeat that stops; after
``model.LEASE_MS`` describe says so, and ``eventpipes replay resume NAME`` continues
from the last checkpoint. Events written after that checkpoint are found on the
output topic (header ``eventpipes-replay-position``) and skipped, so nothing finished
is replayed twice. (EventBridge users expect a replay to run to an end; resuming
gives that, where marking it FAILED would force a new replay and duplicates.)
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from eventpipes.archive import crypto
from eventpipes.archive.errors import (
    IllegalStatusException, LimitExceededException, ResourceAlreadyExistsException, ValidationException,
)
from eventpipes.archive.model import (
    MAX_CONCURRENT_REPLAYS, Progress, Replay, ReplayAction, ReplayState, StoredArchive, bus_of_destination, check_name, check_offsets,
    check_window, rule_of_filter,
)
from eventpipes.archive.store import ArchiveStore, CancelWatch, now_ms
from eventpipes.arns import replay_arn
from eventpipes.kafka.batches import BatchProducer
from eventpipes.kafka.headers import ARCHIVED_CARRIED_HEADERS, REPLAY_NAME_HEADER, REPLAY_POSITION_HEADER, REPLAY_RULES_HEADER
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES, TopicSpec, archive_topic, replay_topic

log = logging.getLogger(__name__)

#: Records are archived somewhat out of event-time order: PutEvents with an explicit
#: ``Time``, and the router's batches of different bus partitions interleave in each
#: archive partition (records are placed by key hash). The window's stop offset is the
#: first record this much past its end; 15 minutes covers a router batch of 500 events
#: put far faster than their event times advance (the tests do this).
LATE_GRACE_MS = 15 * 60_000
#: Progress is made durable (and a cancel noticed) this often.
CHECKPOINT_SECONDS = 0.5
#: A partition whose merge buffer holds this many records is paused until it drains.
BUFFER_HIGH = 5_000


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


def archive_key(stored: StoredArchive, key: bytes | None) -> bytes | None:
    """The key to read an encrypted archive with (``key``, else its variable's value); None when not encrypted.

    Raises:
        ArchiveKeyError: missing, or not the archive's key.
    """
    if stored.key_check is None:
        return None
    if key is None:
        key = crypto.load_key(stored.name, stored.archive.encryption_key_variable or "EVENTPIPES_ARCHIVE_KEY")
    crypto.check_key(stored.name, key, stored.key_check)
    return key


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


class Pacer:
    """Spaces events to at most ``rate`` per second; sleeps only when ahead by a few ms."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = clock()

    def tick(self) -> None:
        if not self._interval:
            return
        self._next = max(self._next + self._interval, self._clock() - 0.1)
        ahead = self._next - self._clock()
        if ahead > 0.005:
            self._sleep(ahead)


class ReplayJob:
    """Runs one replay to COMPLETED, CANCELLED or FAILED, checkpointing its progress to Kafka."""

    def __init__(self, store: ArchiveStore, replay: Replay, *, key: bytes | None = None,
                 on_progress: Callable[[Replay], None] | None = None, checkpoint_seconds: float = CHECKPOINT_SECONDS) -> None:
        self.store = store
        self.replay = replay
        self._key = key
        self._on_progress = on_progress
        self._checkpoint_seconds = checkpoint_seconds
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._kafka = store.kafka

    def run(self) -> Replay:
        """Run to the end; returns the final replay. A failure is recorded as FAILED and re-raised."""
        watch = CancelWatch(self._kafka, self.replay.name)
        try:
            return self._run(watch)
        except Exception as exc:
            reason = exc.message if hasattr(exc, "message") else repr(exc)
            try:
                self._finish("fail", f"{getattr(exc, 'code', type(exc).__name__)}: {reason}"[:512])
            except Exception:  # Kafka away: the lease expires and describe says the job stopped
                log.exception("could not record replay %s as FAILED", self.replay.name)
            raise
        finally:
            watch.close()

    def _finish(self, action: ReplayAction, reason: str | None) -> Replay:
        current, _ = self.store.get_replay(self.replay.name)
        if not current.active:
            return current
        self.replay = replace(self.replay, state=current.state).moved(action, now_ms(), reason)
        self.store.put_replay(self.replay)
        self._report()
        return self.replay

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.replay)

    def _run(self, watch: CancelWatch) -> Replay:
        stored = self.store.get_archive(self.replay.archive)
        key = archive_key(stored, self._key)
        topic = archive_topic(stored.name)
        output = self.replay.to_topic or replay_topic(self.replay.bus)
        consumer = KafkaConsumer(**self._kafka.kafka_python(), group_id=None, enable_auto_commit=False,
                                 client_id="eventpipes-replay", max_poll_records=2000, auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                                 max_partition_fetch_bytes=8 * 1024 * 1024)
        producer: BatchProducer | None = None
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            out_parts = self._ensure_output(output, len(partitions) or 1)
            producer = BatchProducer(self._kafka, output, client_id="eventpipes-replay", max_request_bytes=BUS_MAX_MESSAGE_BYTES,
                                     timeout_seconds=self.store.settings.kafka_timeout_seconds)
            progress = self.replay.progress
            if not progress.stops:
                progress = self._window(consumer, partitions)
            else:
                progress = self._skip_written(consumer, output, progress)
            # Where this job's writes begin: a job killed before its first checkpoint is resumed from here.
            out_ends = consumer.end_offsets(out_parts) if out_parts else {}
            progress = replace(progress, output_offsets={tp.partition: out_ends[tp] for tp in out_parts})
            action: ReplayAction = "resume" if self.replay.state == ReplayState.RUNNING else "run"
            self.replay = replace(self.replay.moved(action, now_ms()), owner=self._owner, progress=progress,
                                  event_start_ms=self.replay.event_start_ms, state_reason=None)
            self.store.put_replay(self.replay)
            self._report()
            if watch.check():
                return self._finish("cancelled", "cancelled by request")
            self._copy(consumer, producer, partitions, key, stored.name, watch)
            if watch.check():
                return self._finish("cancelled", "cancelled by request")
            return self._finish("complete", None)
        finally:
            if producer is not None:
                producer.close()
            consumer.close()

    def _ensure_output(self, output: str, partitions: int) -> list[TopicPartition]:
        from eventpipes.kafka.topics import internal_topic_spec

        spec = internal_topic_spec(output, partitions) if self.replay.to_topic is None else TopicSpec(output, partitions)
        self.store.admin.ensure_topic(spec)
        return [TopicPartition(output, p) for p in self.store.admin.partitions_of(output)]

    def _window(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> Progress:
        begins, ends = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
        r = self.replay
        if r.event_start_ms is not None and r.event_end_ms is not None:
            firsts = consumer.offsets_for_times({tp: r.event_start_ms for tp in partitions})
            lasts = consumer.offsets_for_times({tp: r.event_end_ms + 1 + LATE_GRACE_MS for tp in partitions})
            starts = {tp.partition: firsts[tp].offset if firsts.get(tp) else ends[tp] for tp in partitions}
            stops = {tp.partition: lasts[tp].offset if lasts.get(tp) else ends[tp] for tp in partitions}
        else:
            # Partitions named in FromOffsets or ToOffsets are replayed, from their offset (else the
            # oldest record) to theirs (excluded; else the end); partitions named in neither are not.
            chosen = set(r.from_offsets or {}) | set(r.to_offsets or {})
            starts, stops = {}, {}
            for tp in partitions:
                begin, end = begins[tp], ends[tp]
                starts[tp.partition] = max(begin, (r.from_offsets or {}).get(tp.partition, begin))
                stops[tp.partition] = min(end, (r.to_offsets or {}).get(tp.partition, end)) if tp.partition in chosen else starts[tp.partition]
        stops = {p: max(stops[p], starts[p]) for p in starts}
        total = sum(stops[p] - starts[p] for p in starts)
        return Progress(positions=starts, stops=stops, records_total=total)

    def _skip_written(self, consumer: KafkaConsumer, output: str, progress: Progress) -> Progress:
        """After a crash: events written past the last checkpoint are on the output topic; skip them."""
        parts = [TopicPartition(output, p) for p in progress.output_offsets]
        if not parts:
            return progress
        positions = dict(progress.positions)
        found = 0
        name = self.replay.name.encode()
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, progress.output_offsets[tp.partition])
        ends = consumer.end_offsets(parts)
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    headers = dict(record.headers or [])
                    if headers.get(REPLAY_NAME_HEADER) == name and REPLAY_POSITION_HEADER in headers:
                        partition, offset = (int(x) for x in headers[REPLAY_POSITION_HEADER].decode().split(":"))
                        if offset >= positions.get(partition, 0):
                            positions[partition] = offset + 1
                            found += 1
        consumer.unsubscribe()
        read = sum(positions[p] - progress.positions[p] for p in positions)
        return replace(progress, positions=positions, records_read=progress.records_read + read,
                       events_replayed=progress.events_replayed + found)

    def _copy(self, consumer: KafkaConsumer, producer: BatchProducer, partitions: list[TopicPartition],
              key: bytes | None, archive: str, watch: CancelWatch) -> None:
        r = self.replay
        progress = r.progress
        positions, stops = dict(progress.positions), progress.stops
        live = [tp for tp in partitions if positions.get(tp.partition, 0) < stops.get(tp.partition, 0)]
        consumer.assign(live)
        for tp in live:
            consumer.seek(tp, positions[tp.partition])
        buffers: dict[int, deque[Any]] = {tp.partition: deque() for tp in live}
        by_number = {tp.partition: tp for tp in live}
        # A partition whose buffer is full is parked: taken out of the assignment, and put back
        # with a seek to its next offset. (pause/resume was tried first: kafka-python 3.0 can
        # lose the fetch it parks for a paused partition and never fetch that partition again.)
        parked: set[int] = set()
        fetch_next = {tp.partition: positions[tp.partition] for tp in live}
        heads: list[tuple[int, int, int]] = []  # (timestamp, partition, offset) of each buffer's first record
        name_bytes = r.name.encode()
        suffix = b',"replay-name":' + json.dumps(r.name).encode() + b"}"
        rules_header = [(REPLAY_RULES_HEADER, ",".join(r.filter_rules).encode())] if r.filter_rules and not r.to_topic else []
        out_of = {tp.partition: producer.partitions[tp.partition % len(producer.partitions)] for tp in live}
        keep_time = r.to_topic is not None
        window = (r.event_start_ms, r.event_end_ms) if r.event_start_ms is not None and r.event_end_ms is not None else None
        pacer = Pacer(r.rate_limit)
        read = replayed = 0
        last_time = r.event_last_replayed_ms
        next_checkpoint = time.monotonic() + self._checkpoint_seconds
        mark = time.monotonic()
        active = set(buffers)
        while active:
            # Fill: every unfinished partition needs a buffered record before the merge can choose.
            empty = [p for p in active if not buffers[p]]
            if empty:
                changed = False
                for p in empty:
                    if fetch_next[p] >= stops[p]:
                        active.discard(p)
                        changed = True
                for p in [p for p in parked if len(buffers[p]) < BUFFER_HIGH // 2]:
                    parked.discard(p)
                    changed = True
                if changed:
                    _reassign(consumer, [by_number[p] for p in active if p not in parked], fetch_next)
                if any(not buffers[p] for p in active):
                    full = False
                    for tp, records in consumer.poll(timeout_ms=200).items():
                        p = tp.partition
                        if p not in active or p in parked:
                            continue
                        buf = buffers[p]
                        was_empty = not buf
                        for record in records:
                            if record.offset < stops[p]:
                                buf.append(record)
                            fetch_next[p] = max(fetch_next[p], record.offset + 1)
                        if was_empty and buf:
                            heapq.heappush(heads, (buf[0].timestamp, p, buf[0].offset))
                        if len(buf) >= BUFFER_HIGH:
                            parked.add(p)
                            full = True
                    if full:
                        _reassign(consumer, [by_number[p] for p in active if p not in parked], fetch_next)
                    continue
            if not heads:
                continue
            _, p, _ = heapq.heappop(heads)
            buf = buffers[p]
            record = buf.popleft()
            if buf:
                heapq.heappush(heads, (buf[0].timestamp, p, buf[0].offset))
            positions[p] = record.offset + 1
            read += 1
            if window is None or window[0] <= record.timestamp <= window[1]:
                value = record.value or b""
                if key is not None:
                    value = crypto.decrypt(key, archive, value)
                headers = [h for h in record.headers if h[0] in ARCHIVED_CARRIED_HEADERS] if record.headers else []
                headers += [(REPLAY_NAME_HEADER, name_bytes), (REPLAY_POSITION_HEADER, f"{p}:{record.offset}".encode()), *rules_header]
                producer.append(out_of[p], record.key, _with_replay_name(value, suffix, r.name), record.timestamp if keep_time else None, headers)
                replayed += 1
                last_time = max(last_time or 0, record.timestamp)
                pacer.tick()
            if time.monotonic() >= next_checkpoint:
                now = time.monotonic()
                rate = read / max(now - mark, 1e-6)
                mark = now
                self._progress(producer, positions, read, replayed, last_time, rate)
                read = replayed = 0
                next_checkpoint = time.monotonic() + self._checkpoint_seconds
                if watch.check():
                    return
        self._progress(producer, positions, read, replayed, last_time, self.replay.progress.events_per_second)

    def _progress(self, producer: BatchProducer, positions: dict[int, int], read: int, replayed: int, last_time: int | None, rate: float) -> None:
        producer.flush()  # everything before the new positions is acknowledged
        p = self.replay.progress
        # The acknowledged ends of this job's writes, not a ListOffsets request: on the
        # consumer's connection that waited behind its fetches (a quarter of a 100,000-event replay's time).
        # Another writer's records past them are skipped by a resume like any others.
        progress = replace(p, positions=dict(positions), records_read=p.records_read + read, events_replayed=p.events_replayed + replayed,
                           output_offsets={**p.output_offsets, **producer.acked_ends}, events_per_second=rate)
        self.replay = replace(self.replay, progress=progress, event_last_replayed_ms=last_time, heartbeat_ms=now_ms())
        self.store.put_replay(self.replay)
        self._report()


def _reassign(consumer: KafkaConsumer, partitions: list[TopicPartition], fetch_next: dict[int, int]) -> None:
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, fetch_next[tp.partition])


def _with_replay_name(value: bytes, suffix: bytes, name: str) -> bytes:
    """The event plus top-level ``replay-name``: spliced before the closing brace (no re-encoding)."""
    trimmed = value.rstrip()
    if trimmed.endswith(b"}") and not trimmed.endswith(b"{}"):
        return trimmed[:-1] + suffix
    body = json.loads(value)
    body["replay-name"] = name
    return json.dumps(body, separators=(",", ":")).encode()


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


__all__ = ["ReplayJob", "ReplayRequest", "cancel_replay", "describe_replay", "list_replays", "resume_replay", "start_replay"]
