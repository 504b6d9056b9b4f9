"""Archiving in the worker: each archive reads its bus as a consumer group of its own.

Why not in the router (where archiving was a tap): an archive that cannot be written,
its key missing from a worker's environment, must hold its position and catch up with
nothing missing once a worker has the key, and it must not hold back the bus's rules
meanwhile. A consumer group per archive (``eventpipes.archive.<name>``, see
``archive.model.archive_group``) gives it a committed position on the bus topic of its
own: the worker commits past a batch only after Kafka acknowledged its archive records
(``kafka.worker.PartitionWorker``), and an archive whose key is missing is not consumed
at all, so its position stays where archiving stopped. ``ArchiveStore.create_archive``
commits the group at the bus's end, so an archive holds every event put after it was
created, however late a worker picks it up. The cost: each archive reads and parses its
bus once more (the router's tap matched an event it had parsed already).

What describe shows: a worker that cannot write an archive publishes ``UPDATE_FAILED``
with a ``StateReason`` (a ``state/<name>`` record of the archive-definitions topic, see
``archive.store``); the worker that next writes it publishes ``ENABLED`` again. The bus's
retention still applies: events held back longer than the bus keeps them are lost, which
is why the state says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from eventpipes.archive import crypto
from eventpipes.archive.archiver import ArchiveRecord, Archiver, Send
from eventpipes.archive.errors import ArchiveKeyError
from eventpipes.archive.model import ArchiveStatus, StoredArchive, archive_group, status_key
from eventpipes.archive.store import now_ms, start_from_creation
from eventpipes.events.errors import InvalidEvent
from eventpipes.kafka.topics import ARCHIVES_TOPIC, bus_topic
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.worker import PartitionWorker
from eventpipes.records import Record

log = logging.getLogger(__name__)

Decode = Callable[[Record], tuple[dict[str, Any], bytes]]
"""A bus record as an envelope dict and JSON bytes (``bus.codec.BusDecoder.envelope``); raises InvalidEvent."""

#: After an archive's consumer failed (Kafka away, the registry away for an Avro bus), it
#: starts again from its committed position this long after.
RESTART_SECONDS = 5.0


@dataclass
class _Running:
    """One archive this worker writes: the definition it runs with, and the consumer running it."""

    stored: StoredArchive
    archiver: Archiver
    worker: PartitionWorker | None = None
    task: asyncio.Task[None] | None = None
    stopping: bool = False


class Archiving:
    """The archives of ``buses``: follows their definitions and runs one consumer per writable archive.

    Args:
        kafka: the cluster and how to reach it.
        buses: the buses this worker archives (a worker that routes nothing archives nothing).
        send: writes records and returns once Kafka acknowledged them (the worker's producer).
        decode: reads a bus record as an event.
        partition_count: partitions of a topic (archive records keep their bus partition's number).
        environ: where key variables are read (the process environment by default).
    """

    def __init__(self, kafka: KafkaClientConfig, buses: Collection[str], send: Send, decode: Decode, *,
                 partition_count: Callable[[str], int] | None = None, environ: Mapping[str, str] | None = None) -> None:
        self._kafka = kafka
        self._buses = frozenset(buses)
        self._send = send
        self._decode = decode
        self._partition_count = partition_count
        self._environ = environ
        self._running: dict[str, _Running] = {}
        self._statuses: dict[str, ArchiveStatus] = {}
        self._follower: asyncio.Task[None] | None = None
        self._table: dict[str, StoredArchive] = {}
        """The archive definitions as last read."""
        self._caught_up = False
        """Whether the definitions were read to where they ended when the follower started."""
        self._stopping = asyncio.Event()
        self._worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> None:
        """Start following the definitions (call from the worker's event loop)."""
        if self._buses:
            self._follower = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        """Stop every archive's consumer after the batches in flight are archived and committed."""
        self._stopping.set()
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        await asyncio.gather(*(self._stop_one(name) for name in list(self._running)))

    async def update_buses(self, buses: Collection[str]) -> None:
        """Archive these buses from now on (a worker's topology changed while it runs)."""
        self._buses = frozenset(buses)
        if self._follower is None and self._buses:
            self.start()
        elif self._caught_up:
            await self._reconcile(self._table)

    @property
    def archives(self) -> frozenset[str]:
        """Names of the archives this worker writes now."""
        return frozenset(self._running)

    # -- following the definitions --------------------------------------------------

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(**self._kafka.aiokafka(), enable_auto_commit=False, client_id="eventpipes-archive-follower")
        await consumer.start()
        tp = TopicPartition(ARCHIVES_TOPIC, 0)
        table = self._table
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            # Nothing starts before the table is read to its end as it was: a worker that started
            # an archive before reading its last state record would not know to clear an UPDATE_FAILED.
            end = (await consumer.end_offsets([tp]))[tp]
            self._caught_up, pending = end == 0, False
            while not self._stopping.is_set():
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for message in messages:
                        pending |= self._apply(table, message.key, message.value)
                self._caught_up = self._caught_up or await consumer.position(tp) >= end
                if pending and self._caught_up:
                    pending = False
                    await self._reconcile(table)
        except asyncio.CancelledError:
            raise
        except Exception:  # a dead follower must be visible in the log, not silent
            log.exception("the archive follower stopped; archive changes from now on need a worker restart")
        finally:
            await consumer.stop()

    def _apply(self, table: dict[str, StoredArchive], key: bytes | None, value: bytes | None) -> bool:
        if key is None:
            return False
        name = key.decode()
        archive = ArchiveStatus.archive_of(name)
        if archive is not None:
            if value is None:
                self._statuses.pop(archive, None)
            else:
                self._statuses[archive] = ArchiveStatus.from_json(value)
            return False
        if value is None:
            return table.pop(name, None) is not None
        try:
            table[name] = StoredArchive.from_json(value)
        except (ValueError, KeyError) as exc:
            log.error("ignoring an unreadable archive definition %s: %s", name, exc)
            return False
        return True

    async def _reconcile(self, table: dict[str, StoredArchive]) -> None:
        wanted = {name: s for name, s in table.items() if s.archive.event_bus_name in self._buses and s.archive.state == "ENABLED"}
        for name in [n for n in self._running if n not in wanted or wanted[n] != self._running[n].stored]:
            await self._stop_one(name)
        for name, stored in wanted.items():
            if name not in self._running:
                await self._start_one(stored)

    # -- one archive ----------------------------------------------------------------

    async def _start_one(self, stored: StoredArchive) -> None:
        try:
            self._check_key(stored)
        except ArchiveKeyError as error:
            # Not consumed: the group's committed position stays at the first event not archived.
            log.error("not archiving into %s until a worker has its key: %s", stored.name, error.reason)
            await self._publish(stored.name, ArchiveStatus(
                "UPDATE_FAILED", f"{error.reason}; events are not archived until a worker has the key, and are archived "
                                 f"then from where archiving stopped (while the bus still keeps them)", now_ms(), self._worker_id))
            return
        archiver = Archiver(stored.archive.event_bus_name, self._send, [stored], self._environ, self._partition_count)
        running = self._running[stored.name] = _Running(stored, archiver)
        running.task = asyncio.get_running_loop().create_task(self._run(running))

    def _check_key(self, stored: StoredArchive) -> None:
        variable = stored.archive.encryption_key_variable
        if variable:
            key = crypto.load_key(stored.name, variable, self._environ)
            if stored.key_check:
                crypto.check_key(stored.name, key, stored.key_check)

    async def _run(self, running: _Running) -> None:
        name, bus = running.stored.name, running.stored.archive.event_bus_name
        while not running.stopping:
            try:
                await asyncio.to_thread(start_from_creation, self._kafka, running.stored)
            except Exception:  # Kafka away: the consumer below waits for it too
                log.warning("archive %s: could not check its starting position", name, exc_info=True)
            if running.stopping:  # stopped while the position was checked: no worker to stop it yet
                return
            worker = running.worker = PartitionWorker(self._kafka, archive_group(name), {bus_topic(bus): self._handler(running.archiver)},
                                                       client_id="eventpipes-archiver")
            try:
                await worker.run(on_ready=lambda: self._ready(name))
                return
            except Exception as exc:  # the batch was not committed: archived again after the restart
                reason = f"archiving stopped: {getattr(exc, 'code', type(exc).__name__)}: {exc}"[:512]
                log.error("archive %s: %s; starting again in %.0f s", name, reason, RESTART_SECONDS)
                await self._publish(name, ArchiveStatus("UPDATE_FAILED", reason, now_ms(), self._worker_id))
            try:
                await asyncio.wait_for(self._stopping.wait(), RESTART_SECONDS)
            except asyncio.TimeoutError:
                pass
            if self._stopping.is_set():
                return

    def _ready(self, name: str) -> None:
        status = self._statuses.get(name)
        if status is not None and status.state != "ENABLED":
            asyncio.get_running_loop().create_task(self._publish(name, ArchiveStatus("ENABLED", None, now_ms(), self._worker_id)))

    def _handler(self, archiver: Archiver) -> Callable[[list[Record]], Awaitable[None]]:
        decode = self._decode

        async def archive(records: list[Record]) -> None:
            out: list[ArchiveRecord] = []
            for record in records:
                try:
                    body, value = decode(record)
                except InvalidEvent:
                    continue  # not an event: the router sets it aside on the bus's invalid-events topic
                out.extend(archiver.select(body, record if value is record.value else replace(record, value=value)))
            await archiver.write(out)

        return archive

    async def _stop_one(self, name: str) -> None:
        running = self._running.pop(name, None)
        if running is None:
            return
        running.stopping = True
        if running.worker is not None:
            running.worker.stop()
        if running.task is not None:
            await asyncio.gather(running.task, return_exceptions=True)

    async def _publish(self, name: str, status: ArchiveStatus) -> None:
        known = self._statuses.get(name)
        if known is not None and (known.state, known.reason) == (status.state, status.reason):
            return
        self._statuses[name] = status
        try:
            await self._send([ArchiveRecord(ARCHIVES_TOPIC, status_key(name).encode(), status.to_json(), status.time_ms, [], 0)])
        except Exception:  # the state is advice; archiving itself is held by the committed position
            log.warning("could not publish archive %s's state %s", name, status.state, exc_info=True)


__all__ = ["Archiving", "Decode", "RESTART_SECONDS"]
