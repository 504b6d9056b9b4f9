"""The archiver: selects and writes the archive records of a bus's events.

The worker runs one per archive, on the archive's own consumer group (``archive.running``),
and commits past a batch only after Kafka acknowledged its archive records: archives
get at-least-once (a second copy after a crash has the same key, the event id, and
compaction of the archive topic removes it).

Each archived record: key = event id, value = the bus record's bytes (AES-GCM
encrypted when the archive has a key), record timestamp = the event's ``time``, so
``offsets_for_times`` on the archive topic finds a replay window's start.

Replayed events (those with ``replay-name``) are never archived again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.headers import ARCHIVED_CARRIED_HEADERS, ENCRYPTION_HEADER
from eventpipes.archive import crypto
from eventpipes.archive.model import StoredArchive
from eventpipes.events.envelope import parse_time
from eventpipes.kafka.partitioning import SamePartition
from eventpipes.kafka.topics import archive_topic
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

    def __init__(self, bus: str, send: Send, archives: Iterable[StoredArchive] = (), environ: Mapping[str, str] | None = None,
                 partition_count: Callable[[str], int] | None = None) -> None:
        self.bus = bus
        self._partition = SamePartition(partition_count)
        self._send = send
        self._environ = environ
        self._matcher = _Matcher(Ruler(), frozenset(), {})
        self.update(archives)

    def update(self, archives: Iterable[StoredArchive]) -> None:
        """Archive into exactly these (those of other buses and disabled ones are ignored).

        Raises:
            ArchiveKeyError: an encrypted archive's key is missing or is not its key (nothing is
                skipped silently: the caller holds that archive's position and says why).
        """
        patterns: dict[str, Any] = {}
        every: set[str] = set()
        keys: dict[str, bytes] = {}
        for stored in archives:
            a = stored.archive
            if a.event_bus_name != self.bus or a.state != "ENABLED":
                continue
            if a.encryption_key_variable:
                keys[a.name] = crypto.load_key(a.name, a.encryption_key_variable, self._environ)
                if stored.key_check:
                    crypto.check_key(a.name, keys[a.name], stored.key_check)
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
