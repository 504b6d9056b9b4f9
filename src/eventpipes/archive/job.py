"""The replay job: reads an archive's window merged in event time and writes it to the bus's replay topic.

The control calls that record, cancel and resume replays are in ``archive.replays``; the
event-time merge is the pure ``archive.merge.EventTimeMerge``. What a job does:

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

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from eventpipes.archive import crypto
from eventpipes.archive.merge import BUFFER_HIGH, EventTimeMerge
from eventpipes.archive.model import Progress, Replay, ReplayAction, ReplayState, StoredArchive
from eventpipes.archive.store import ArchiveStore, CancelWatch, now_ms
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

        # A --to-topic gets each event's own time as record timestamp, usually older than any
        # time-based retention: with the broker's default (7 days) Kafka's next retention check
        # deleted everything replayed so far (a replay of 2025 events lost its first 500-1,500
        # records in 1 run of 5). A topic created here keeps its records until it is deleted; an
        # existing topic keeps its own retention.
        spec = internal_topic_spec(output, partitions) if self.replay.to_topic is None else TopicSpec(output, partitions, {"retention.ms": "-1"})
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
        progress = self.replay.progress
        positions = dict(progress.positions)
        merge: EventTimeMerge[Any] = EventTimeMerge(positions, progress.stops)
        topic = partitions[0].topic if partitions else archive_topic(archive)
        _assign(consumer, topic, merge.assignment())
        out = _Output.of(self.replay, key, archive, {tp.partition: producer.partitions[tp.partition % len(producer.partitions)] for tp in partitions})
        pacer = Pacer(self.replay.rate_limit)
        read = replayed = 0
        last_time = self.replay.event_last_replayed_ms
        next_checkpoint = mark = time.monotonic()
        next_checkpoint += self._checkpoint_seconds
        while not merge.done:
            if merge.starved():  # every unfinished partition needs a buffered record before the merge can choose
                if merge.refresh():
                    _assign(consumer, topic, merge.assignment())
                if merge.starved():
                    parked = [merge.add(tp.partition, records) for tp, records in consumer.poll(timeout_ms=200).items()]
                    if any(parked):
                        _assign(consumer, topic, merge.assignment())
                continue
            popped = merge.pop()
            if popped is None:
                continue
            p, record = popped
            positions[p] = record.offset + 1
            read += 1
            if out.write(producer, p, record):
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


def _assign(consumer: KafkaConsumer, topic: str, offsets: dict[int, int]) -> None:
    """Read exactly these partitions of ``topic``, each from its offset."""
    partitions = [TopicPartition(topic, p) for p in offsets]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, offsets[tp.partition])


@dataclass(frozen=True, slots=True)
class _Output:
    """How one replay writes an archived record: window filter, decryption, headers, output partition."""

    name: str
    key: bytes | None
    """The archive's key when it is encrypted."""
    archive: str
    window: tuple[int, int] | None
    """EventStartTime and EventEndTime (ms, both included); None for a replay by offsets."""
    keep_time: bool
    """Write the event time as record timestamp (to a plain topic); the bus's replay topic gets the write time."""
    out_of: dict[int, int]
    """Archive partition -> output partition."""
    extra_headers: tuple[tuple[str, bytes], ...]
    """``replay-name`` and, when limited to some rules, ``eventpipes-replay-rules``."""
    suffix: bytes
    """What ``_with_replay_name`` splices before an event's closing brace."""

    @classmethod
    def of(cls, r: Replay, key: bytes | None, archive: str, out_of: dict[int, int]) -> "_Output":
        rules = [(REPLAY_RULES_HEADER, ",".join(r.filter_rules).encode())] if r.filter_rules and not r.to_topic else []
        window = (r.event_start_ms, r.event_end_ms) if r.event_start_ms is not None and r.event_end_ms is not None else None
        return cls(r.name, key, archive, window, r.to_topic is not None, out_of, ((REPLAY_NAME_HEADER, r.name.encode()), *rules),
                   b',"replay-name":' + json.dumps(r.name).encode() + b"}")

    def write(self, producer: BatchProducer, partition: int, record: Any) -> bool:
        """Append the replayed event to the producer's batch; False when its time is outside the window.

        Raises:
            ArchiveKeyError: the record does not decrypt with the key.
        """
        if self.window is not None and not self.window[0] <= record.timestamp <= self.window[1]:
            return False
        value = record.value or b""
        if self.key is not None:
            value = crypto.decrypt(self.key, self.archive, value)
        headers = [h for h in record.headers if h[0] in ARCHIVED_CARRIED_HEADERS] if record.headers else []
        headers += [self.extra_headers[0], (REPLAY_POSITION_HEADER, f"{partition}:{record.offset}".encode()), *self.extra_headers[1:]]
        producer.append(self.out_of[partition], record.key, _with_replay_name(value, self.suffix, self.name),
                        record.timestamp if self.keep_time else None, headers)
        return True


def _with_replay_name(value: bytes, suffix: bytes, name: str) -> bytes:
    """The event plus top-level ``replay-name``: spliced before the closing brace (no re-encoding)."""
    trimmed = value.rstrip()
    if trimmed.endswith(b"}") and not trimmed.endswith(b"{}"):
        return trimmed[:-1] + suffix
    body = json.loads(value)
    body["replay-name"] = name
    return json.dumps(body, separators=(",", ":")).encode()


__all__ = ["BUFFER_HIGH", "CHECKPOINT_SECONDS", "LATE_GRACE_MS", "Pacer", "ReplayJob", "archive_key"]
