"""The archiver: the router's tap that copies a bus's events into its archives' topics.

Why in the router: it already reads every event of the bus once, parses it and
matches it, and its offsets are committed only after everything it produced for a
batch is acknowledged. Archiving there costs one more match per event and gives
archives the router's at-least-once guarantee (a second copy after a crash has the
same key, the event id, and compaction of the archive topic removes it).

Each archived record: key = event id, value = the bus record's bytes (AES-GCM
encrypted when the archive has a key), record timestamp = the event's ``time``, so
``offsets_for_times`` on the archive topic finds a replay window's start.

Replayed events (those with ``replay-name``) are never archived again.

Archives created with ``eventpipes archive create`` while a worker runs are picked up
by :class:`ArchiveFollower`, which follows the archive-definitions topic and swaps each
archiver's matcher (a new ``Ruler`` published with one reference assignment; the
router reads it once per event, so no lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.headers import ARCHIVED_CARRIED_HEADERS, ENCRYPTION_HEADER
from eventpipes.archive import crypto
from eventpipes.archive.errors import ArchiveKeyError
from eventpipes.archive.model import StoredArchive
from eventpipes.events.envelope import parse_time
from eventpipes.kafka.partitioning import SamePartition
from eventpipes.kafka.topics import ARCHIVES_TOPIC, archive_topic
from eventpipes.patterns import Ruler
from eventpipes.records import Record

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One record for an archive topic."""

    topic: str
    key: bytes | None
    value: bytes
    timestamp_ms: int
    headers: list[tuple[str, bytes]]
    partition: int | None = None
    """The bus record's partition (modulo the archive's partitions), when a ``partition_count`` is
    given (the worker gives one): a bus partition's events then land in one archive partition,
    in put order (the worker's sink takes its callers' records one call after another)."""


Send = Callable[[list[ArchiveRecord]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Matcher:
    ruler: Ruler
    every: frozenset[str]
    """Archives without a pattern: every event."""
    keys: dict[str, bytes]
    """Keys of encrypted archives."""


class Archiver:
    """Selects and writes the archive records of one bus's events."""

    def __init__(self, bus: str, send: Send, archives: Iterable[StoredArchive] = (), environ: dict[str, str] | None = None,
                 partition_count: Callable[[str], int] | None = None) -> None:
        self.bus = bus
        self._partition = SamePartition(partition_count)
        self._send = send
        self._environ = environ
        self._matcher = _Matcher(Ruler(), frozenset(), {})
        self.update(archives)

    def update(self, archives: Iterable[StoredArchive]) -> None:
        """Archive into exactly these (those of other buses and disabled ones are ignored)."""
        patterns: dict[str, Any] = {}
        every: set[str] = set()
        keys: dict[str, bytes] = {}
        for stored in archives:
            a = stored.archive
            if a.event_bus_name != self.bus or a.state != "ENABLED":
                continue
            if a.encryption_key_variable:
                try:
                    keys[a.name] = crypto.load_key(a.name, a.encryption_key_variable, self._environ)
                    if stored.key_check:
                        crypto.check_key(a.name, keys[a.name], stored.key_check)
                except ArchiveKeyError as error:
                    log.error("not archiving into %s: %s", a.name, error)
                    continue
            if a.event_pattern is None:
                every.add(a.name)
            else:
                patterns[a.name] = a.event_pattern
        self._matcher = _Matcher(Ruler(patterns), frozenset(every), keys)

    @property
    def archives(self) -> frozenset[str]:
        """Names of the archives this archiver writes to now."""
        m = self._matcher
        return m.every | frozenset(m.ruler.names())

    def select(self, event: dict[str, Any], record: Record) -> list[ArchiveRecord]:
        """The archive records for one bus event, given as its envelope dict (none for a replayed event)."""
        if event.get("replay-name") is not None:
            return []
        matcher = self._matcher
        names = matcher.every | matcher.ruler.matches(event) if len(matcher.ruler) else matcher.every
        if not names:
            return []
        timestamp = _event_time_ms(event, record.timestamp_ms)
        headers = [(k, v) for k, v in record.headers if k in ARCHIVED_CARRIED_HEADERS]
        value = record.value or b""
        out = []
        for name in sorted(names):
            partition = self._partition(archive_topic(name), record.partition)
            key = matcher.keys.get(name)
            if key is None:
                out.append(ArchiveRecord(archive_topic(name), event["id"].encode(), value, timestamp, headers, partition))
            else:
                out.append(ArchiveRecord(archive_topic(name), event["id"].encode(), crypto.encrypt(key, name, value), timestamp,
                                         [*headers, (ENCRYPTION_HEADER, crypto.ALGORITHM)], partition))
        return out

    async def write(self, records: list[Any]) -> None:
        """Write, returning once Kafka acknowledged every record."""
        if records:
            await self._send(records)


def _event_time_ms(event: dict[str, Any], default: int) -> int:
    try:
        return int(parse_time(event["time"].replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return default


class ArchiveFollower:
    """A daemon thread following the archive-definitions topic and updating the archivers."""

    def __init__(self, kafka: KafkaClientConfig, archivers: dict[str, Archiver]) -> None:
        self._kafka = kafka
        self._archivers = archivers
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="archive-follower", daemon=True)

    def start(self) -> None:
        if self._archivers:  # a worker without routers (``--role delivery``) archives nothing
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        from kafka import KafkaConsumer, TopicPartition

        table: dict[str, StoredArchive] = {}
        consumer = KafkaConsumer(**self._kafka.kafka_python(), group_id=None, enable_auto_commit=False, client_id="eventpipes-archive-follower")
        tp = TopicPartition(ARCHIVES_TOPIC, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        try:
            while not self._stop.is_set():
                changed = False
                for records in consumer.poll(timeout_ms=500).values():
                    for r in records:
                        if r.key is None:
                            continue
                        name = r.key.decode()
                        if r.value is None:
                            table.pop(name, None)
                        else:
                            try:
                                table[name] = StoredArchive.from_json(r.value)
                            except (ValueError, KeyError) as exc:
                                log.error("ignoring an unreadable archive definition %s: %s", name, exc)
                                continue
                        changed = True
                if changed:
                    for archiver in self._archivers.values():
                        archiver.update(table.values())
        except Exception:  # a dead follower must be visible in the log, not silent
            log.exception("the archive follower stopped; archives created from now on need a worker restart")
        finally:
            consumer.close()
