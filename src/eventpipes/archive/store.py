"""Archive definitions and replay state, kept in compacted Kafka topics.

``eventpipes.archives`` holds one record per archive (key: its name; a tombstone deletes
it) and what workers last said about writing it (key: ``state/<name>``, see
``model.ArchiveStatus``); ``eventpipes.replays`` one record per replay (key: its name) and one per cancel
request (key: ``cancel/<name>``; ``/`` is outside the name charset, so no clash).
Both have one partition, so every reader sees the same order, and compaction keeps
the latest record of each key for ever: a restarted worker, a second shell and
``describe`` all read the same truth from Kafka. Nothing is kept on local disk.

A replay record has one writer at a time: the job that holds its lease (see
``archive.replay``). A cancel is a separate record, so it never races the job's
progress writes; the job reads it and writes the final CANCELLED state.

Names are unique without a server: before it creates anything, ``create`` claims the name
in ``eventpipes.archives.claims`` (``eventpipes.kafka.claims``); of two creates racing for
one name, the first claim in log order wins and the other gets
``ResourceAlreadyExistsException``. The claim is confirmed once the definition is written
and released when the archive is deleted. The definitions topic keeps its format: readers
of ``eventpipes.archives`` see nothing of the claims.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from eventpipes.archive import crypto
from eventpipes.archive.errors import (
    ArchiveKeyError, IllegalStatusException, ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException,
)
from eventpipes.archive.model import (
    Archive, ArchiveStatus, Replay, StoredArchive, archive_group, check_name, check_pattern, status_key,
)
from eventpipes.arns import archive_arn, bus_arn
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.claims import NameClaims
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import (
    ARCHIVE_CLAIMS_TOPIC, ARCHIVES_TOPIC, REPLAYS_TOPIC, archive_topic, archive_topic_spec, bus_topic, replay_topic, state_topic_spec,
)
from eventpipes.kafka.topics import internal_topic_spec
from eventpipes.settings import Settings

CANCEL_PREFIX = "cancel/"

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


class ArchiveStore:
    """Reads and writes archive definitions and replay state; creates and configures archive topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kafka = client_config(settings)
        self.bootstrap = self.kafka.bootstrap
        self.admin = Admin(self.kafka, timeout_seconds=settings.kafka_timeout_seconds)
        for name in (ARCHIVES_TOPIC, REPLAYS_TOPIC):
            self.admin.ensure_topic(state_topic_spec(name))
        self._producer: Any = None
        self._claims: NameClaims | None = None

    def _name_claims(self) -> NameClaims:
        if self._claims is None:
            self._claims = NameClaims(self.kafka, ARCHIVE_CLAIMS_TOPIC, timeout_seconds=self.settings.kafka_timeout_seconds)
        return self._claims

    # -- plumbing ---------------------------------------------------------------

    def _write(self, topic: str, key: str, value: bytes | None) -> None:
        if self._producer is None:
            self._producer = make_producer(self.kafka, timeout_seconds=self.settings.kafka_timeout_seconds)
        self._producer.send(topic, key=key.encode(), value=value).get(timeout=30)

    def read_table(self, topic: str) -> dict[str, bytes]:
        """The latest value of every key in a one-partition state topic (tombstoned keys left out)."""
        table: dict[str, bytes] = {}
        for key, value in _read_all(self.kafka, topic):
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
        return table

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
        if self._claims is not None:
            self._claims.close()
            self._claims = None
        self.admin.close()

    def __enter__(self) -> "ArchiveStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- archives ---------------------------------------------------------------

    def archives(self) -> dict[str, StoredArchive]:
        return self._archives_and_statuses()[0]

    def _archives_and_statuses(self) -> tuple[dict[str, StoredArchive], dict[str, ArchiveStatus]]:
        archives: dict[str, StoredArchive] = {}
        statuses: dict[str, ArchiveStatus] = {}
        for key, value in self.read_table(ARCHIVES_TOPIC).items():
            about = ArchiveStatus.archive_of(key)
            if about is None:
                archives[key] = StoredArchive.from_json(value)
            else:
                statuses[about] = ArchiveStatus.from_json(value)
        return archives, statuses

    def get_archive(self, name: str) -> StoredArchive:
        """Raises ResourceNotFoundException."""
        found = self.archives().get(name)
        if found is None:
            raise ResourceNotFoundException("Archive", name)
        return found

    def create_archive(self, archive: Archive, *, topic_overrides: dict[str, str] | None = None) -> StoredArchive:
        """CreateArchive: the archive topic, then the definition.

        Args:
            archive: the definition.
            topic_overrides: extra topic configs (tests use a tiny ``retention.ms``; RetentionDays stays in days).

        Raises:
            ResourceAlreadyExistsException: an archive of that name exists.
            ArchiveKeyError: encrypted, and its key variable is unset or not a key.
        """
        check_name("Archive", archive.name)
        if archive.name in self.archives():
            raise ResourceAlreadyExistsException("Archive", archive.name)
        key_check = None
        if archive.encryption_key_variable:
            key_check = crypto.key_check(crypto.load_key(archive.name, archive.encryption_key_variable))
        claim = self._name_claims().claim(archive.name)
        if claim is None:  # another create of this name came first in the claims log
            raise ResourceAlreadyExistsException("Archive", archive.name)
        partitions = self.admin.partitions_of(bus_topic(archive.event_bus_name))
        spec = archive_topic_spec(archive.name, len(partitions) or self.settings.bus_partitions, archive.retention_ms, topic_overrides)
        self.admin.ensure_topic(spec)
        self.admin.ensure_topic(internal_topic_spec(replay_topic(archive.event_bus_name), len(partitions) or self.settings.bus_partitions))
        # The archive's position on its bus (archive.running): every event put from now on is archived,
        # however late a worker reads the definition. A bus created later is read from its beginning.
        self._start_at_end(archive_group(archive.name), bus_topic(archive.event_bus_name))
        stored = StoredArchive(archive, now_ms(), key_check)
        self._write(ARCHIVES_TOPIC, archive.name, stored.to_json())
        self._name_claims().confirm(archive.name, claim)
        return stored

    def ensure_archive(self, archive: Archive) -> StoredArchive:
        """A topology's archive: created if missing, updated where the topology changed it.

        Raises:
            ResourceAlreadyExistsException: an archive of that name reads another bus (the source bus is fixed).
        """
        existing = self.archives().get(archive.name)
        if existing is None:
            try:
                return self.create_archive(archive)
            except ResourceAlreadyExistsException:  # another worker creating it from the same topology won
                existing = self._wait_for_definition(archive.name)
        if existing.archive.event_bus_name != archive.event_bus_name:
            raise ResourceAlreadyExistsException("Archive", f"{archive.name} (on bus {existing.archive.event_bus_name}; the source bus of an archive cannot change)")
        if existing.archive == archive:
            return existing
        return self._replace(existing, archive)

    def _wait_for_definition(self, name: str) -> StoredArchive:
        """The definition the winner of a create race writes (it claims before creating topics).

        Raises:
            ResourceAlreadyExistsException: it did not appear within two Kafka timeouts.
        """
        deadline = time.monotonic() + 2 * self.settings.kafka_timeout_seconds
        while time.monotonic() < deadline:
            found = self.archives().get(name)
            if found is not None:
                return found
            time.sleep(0.2)
        raise ResourceAlreadyExistsException("Archive", name)

    def update_archive(self, name: str, **changes: Any) -> StoredArchive:
        """UpdateArchive: ``description``, ``event_pattern``, ``retention_days``, ``state``,
        ``encryption_key_variable`` (None leaves a field).

        Raises:
            ResourceNotFoundException, InvalidEventPatternException.
            ValidationException: a value is not valid, or the key would change (see ``_replace``).
            ArchiveKeyError: the new key variable is unset or not a key.
        """
        from pydantic import ValidationError

        existing = self.get_archive(name)
        values = {k: v for k, v in changes.items() if v is not None}
        if "event_pattern" in values:
            values["event_pattern"] = check_pattern(values["event_pattern"])
        try:
            updated = Archive.model_validate({**existing.archive.model_dump(), **values})
        except ValidationError as exc:
            error = exc.errors()[0]
            raise ValidationException(".".join(str(p) for p in error["loc"]), str(error["msg"])) from exc
        return self._replace(existing, updated)

    def _replace(self, existing: StoredArchive, archive: Archive) -> StoredArchive:
        key_check = existing.key_check
        if archive.encryption_key_variable != existing.archive.encryption_key_variable:
            key_check = crypto.key_check(crypto.load_key(archive.name, archive.encryption_key_variable)) if archive.encryption_key_variable else None
            if key_check != existing.key_check:
                # Replays read an archive with one key, checked against the definition's key check:
                # records written with another key (or none) could never be read again.
                was = "encrypted with another key" if existing.key_check else "not encrypted"
                raise ValidationException("EncryptionKeyVariable", f"the archive's events are {was}; changing the key would leave "
                                          "them unreadable by replays (a new variable holding the same key is accepted; "
                                          "for another key, create a new archive)")
        if archive.retention_ms != existing.archive.retention_ms:
            self._alter_topic(archive_topic(archive.name), {"retention.ms": str(archive.retention_ms)})
        if existing.archive.state == "DISABLED" and archive.state == "ENABLED":
            # A disabled archive archives nothing: enabled again, it starts with the events put from now on.
            self._start_at_end(archive_group(archive.name), bus_topic(archive.event_bus_name))
        stored = StoredArchive(archive, existing.creation_time_ms, key_check)
        self._write(ARCHIVES_TOPIC, archive.name, stored.to_json())
        return stored

    def delete_archive(self, name: str) -> None:
        """DeleteArchive: the definition (tombstone) and the archive topic with its events."""
        self.get_archive(name)
        # Released first: a crash between the two leaves the definition, which a retry deletes;
        # the other order could leave a name claimed for ever with nothing to delete.
        self._name_claims().release(name)
        self._write(ARCHIVES_TOPIC, name, None)
        self._write(ARCHIVES_TOPIC, status_key(name), None)
        self.admin.delete_topic(archive_topic(name))
        self._delete_group(archive_group(name))

    def describe_archive(self, name: str) -> dict[str, Any]:
        """DescribeArchive's response: EventCount and SizeBytes are read from Kafka now.

        ``State`` is ``UPDATE_FAILED``, with a ``StateReason``, while a worker cannot write the archive.
        """
        archives, statuses = self._archives_and_statuses()
        if name not in archives:
            raise ResourceNotFoundException("Archive", name)
        count, size = self._count_and_size(archive_topic(name))
        return self._describe(archives[name], count, size, statuses.get(name))

    def list_archives(self, prefix: str | None = None, bus: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """ListArchives: filtered by name prefix, source bus and state."""
        out: list[dict[str, Any]] = []
        archives, statuses = self._archives_and_statuses()
        for stored in sorted(archives.values(), key=lambda s: s.name):
            a = stored.archive
            status = statuses.get(a.name)
            if (prefix and not a.name.startswith(prefix)) or (bus and a.event_bus_name != bus) or (state and _state(stored, status) != state):
                continue
            count, size = self._count_and_size(archive_topic(a.name))
            body = self._describe(stored, count, size, status)
            keys: tuple[str, ...] = ("ArchiveName", "EventSourceArn", "State", "StateReason", "RetentionDays", "SizeBytes", "EventCount",
                                     "CreationTime")
            out.append({k: body[k] for k in keys if k in body})
        return out

    def _describe(self, stored: StoredArchive, count: int, size: int, status: ArchiveStatus | None = None) -> dict[str, Any]:
        from eventpipes.archive.model import format_ms

        a, s = stored.archive, self.settings
        body: dict[str, Any] = {
            "ArchiveArn": archive_arn(s.region, s.account, a.name),
            "ArchiveName": a.name,
            "EventSourceArn": bus_arn(s.region, s.account, a.event_bus_name),
            "Description": a.description,
            "EventPattern": None if a.event_pattern is None else _json(a.event_pattern),
            "State": _state(stored, status),
            "StateReason": status.reason if _state(stored, status) == "UPDATE_FAILED" and status is not None else None,
            "RetentionDays": a.retention_days,
            "SizeBytes": size,
            "EventCount": count,
            "CreationTime": format_ms(stored.creation_time_ms),
            "EncryptionKeyVariable": a.encryption_key_variable,
            "Topic": archive_topic(a.name),
        }
        return {k: v for k, v in body.items() if v is not None}

    def _count_and_size(self, topic: str) -> tuple[int, int]:
        consumer = _consumer(self.kafka)
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                return 0, 0
            begin, end = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
            count = sum(end[tp] - begin[tp] for tp in partitions)
        finally:
            consumer.close()
        return count, self._size(topic)

    def _size(self, topic: str) -> int:
        try:
            dirs = self._admin_client().describe_log_dirs(topic_partitions=[topic])
        except (KafkaError, TypeError, ValueError):
            return 0
        return sum(
            p.get("partition_size", 0)
            for broker in dirs for log_dir in broker.get("log_dirs", [])
            for t in log_dir.get("topics", []) if t.get("name") == topic for p in t.get("partitions", [])
        )

    def _start_at_end(self, group: str, topic: str) -> None:
        """Commit ``group``'s offsets at the end of every partition of ``topic`` (none when it does not exist)."""
        try:
            consumer = KafkaConsumer(**self.kafka.kafka_python(), group_id=group, enable_auto_commit=False, client_id="eventpipes-archive")
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if partitions:
                ends = consumer.end_offsets(partitions)
                consumer.assign(partitions)
                consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in partitions})
        except CommitFailedError as exc:
            # The group still has a member: a worker that has not yet read that the archive was
            # disabled or deleted. It goes on from its own position, which misses nothing.
            log.warning("archive position of %s not moved (the group is in use): %r", group, exc)
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        finally:
            consumer.close()

    def _delete_group(self, group: str) -> None:
        """Delete a consumer group; one still in use (a worker not yet told) is left (it has no archive to write)."""
        try:
            self._admin_client().delete_groups([group])
        except (KafkaError, ValueError) as exc:
            log.info("consumer group %s not deleted: %r", group, exc)

    def _admin_client(self) -> KafkaAdminClient:
        return self.admin._admin()  # one connection for the store's life

    def _alter_topic(self, topic: str, configs: dict[str, str]) -> None:
        try:
            self._admin_client().alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)], incremental=True)
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc

    # -- replays ----------------------------------------------------------------

    def replays(self) -> tuple[dict[str, Replay], set[str]]:
        """Every replay, and the names of those with a cancel request."""
        replays: dict[str, Replay] = {}
        cancels: set[str] = set()
        for key, value in self.read_table(REPLAYS_TOPIC).items():
            if key.startswith(CANCEL_PREFIX):
                cancels.add(key[len(CANCEL_PREFIX):])
            else:
                replays[key] = Replay.from_json(value)
        return replays, cancels

    def get_replay(self, name: str) -> tuple[Replay, bool]:
        """The replay and whether a cancel was requested.

        Raises:
            ResourceNotFoundException.
        """
        replays, cancels = self.replays()
        if name not in replays:
            raise ResourceNotFoundException("Replay", name)
        return replays[name], name in cancels

    def put_replay(self, replay: Replay) -> None:
        self._write(REPLAYS_TOPIC, replay.name, replay.to_json())

    def request_cancel(self, name: str) -> None:
        self._write(REPLAYS_TOPIC, CANCEL_PREFIX + name, b"1")

    def delete_replay(self, name: str) -> None:
        """Forget a finished replay (its record and any cancel request); what it replayed stays where it went.

        EventBridge keeps replays and has no call for this; eventpipes' own tests and demo use it
        to leave a user's ``replay list`` as they found it.

        Raises:
            ResourceNotFoundException: no such replay.
            IllegalStatusException: the replay is still running (cancel it first).
        """
        replay, requested = self.get_replay(name)
        if replay.active and not replay.lease_expired(now_ms()):
            raise IllegalStatusException(name, replay.state.value, "delete")
        self._write(REPLAYS_TOPIC, name, None)
        if requested:
            self._write(REPLAYS_TOPIC, CANCEL_PREFIX + name, None)


class CancelWatch:
    """Follows the replays topic from now on, to notice a cancel request for one replay cheaply."""

    def __init__(self, kafka: KafkaClientConfig, name: str) -> None:
        self._key = (CANCEL_PREFIX + name).encode()
        self._consumer = _consumer(kafka)
        tp = TopicPartition(REPLAYS_TOPIC, 0)
        self._consumer.assign([tp])
        self._consumer.seek_to_end(tp)
        self._consumer.position(tp)
        self.requested = False

    def check(self) -> bool:
        """True once a cancel request was written (checks without waiting)."""
        if not self.requested:
            for records in self._consumer.poll(timeout_ms=0).values():
                if any(r.key == self._key and r.value for r in records):
                    self.requested = True
        return self.requested

    def close(self) -> None:
        self._consumer.close()


def start_from_creation(kafka: KafkaClientConfig, stored: StoredArchive) -> None:
    """Give the archive's group a position on bus partitions it has none for: the first event put after its creation.

    ``create_archive`` commits the bus's end; this covers partitions that did not exist then
    (a bus created or grown later: read from their first record put since) and archives
    created before archives had a position of their own. Bus records carry the time they
    were put (the producer's clock), which ``offsets_for_times`` searches. Best effort: a
    group already in use keeps what it has, and a partition with no position is read from its beginning.
    """
    group, topic = archive_group(stored.name), bus_topic(stored.archive.event_bus_name)
    consumer = KafkaConsumer(**kafka.kafka_python(), group_id=group, enable_auto_commit=False, client_id="eventpipes-archive")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        missing = [tp for tp in partitions if consumer.committed(tp) is None]
        if not missing:
            return
        found = consumer.offsets_for_times({tp: stored.creation_time_ms for tp in missing})
        ends = consumer.end_offsets(missing)
        consumer.assign(missing)
        consumer.commit({tp: OffsetAndMetadata(found[tp].offset if found.get(tp) else ends[tp], "", -1) for tp in missing})
    except KafkaError as exc:
        log.warning("archive %s: no starting position committed (%r); new partitions are read from their beginning", stored.name, exc)
    finally:
        consumer.close()


def _state(stored: StoredArchive, status: ArchiveStatus | None) -> str:
    """The archive's state as describe shows it: UPDATE_FAILED while an ENABLED archive cannot be written."""
    if stored.archive.state == "ENABLED" and status is not None and status.state == "UPDATE_FAILED":
        return "UPDATE_FAILED"
    return stored.archive.state


def _consumer(kafka: KafkaClientConfig) -> KafkaConsumer:
    try:
        return KafkaConsumer(**kafka.kafka_python(), group_id=None, enable_auto_commit=False, client_id="eventpipes-archive")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc


def _read_all(kafka: KafkaClientConfig, topic: str) -> Iterator[tuple[str, bytes | None]]:
    consumer = _consumer(kafka)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        while consumer.position(tp) < end:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.key is not None:
                        yield r.key.decode(), r.value
    finally:
        consumer.close()


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


__all__ = ["ArchiveKeyError", "ArchiveStore", "CancelWatch", "now_ms"]
