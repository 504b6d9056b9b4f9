"""Runs one pipe: reads its source topic as consumer group ``eventpipes.pipe.<pipe>``, batches
per lane, hands each batch to the pipe's batch processor, commits what is finished.

The runner answers for the consumer: its lifecycle (start, the status file and desired
state, stop), rebalances, the loop, backpressure and commits. What happens to one batch
(filter, enrichment, target, retries, bisection) is
:class:`~eventpipes.pipes.processing.BatchProcessor`'s; writing dead letters is
:class:`~eventpipes.pipes.dead_letters.DeadLetterWriter`'s; the shape of a source's
records is its kind's (:mod:`eventpipes.pipes.sources.kinds`).

Why the runner owns its aiokafka consumer: eventpipes' runtime is its own asyncio code on
aiokafka, as the rule worker's is (``kafka.worker``); Faust is not a dependency and is
planned only as an optional integration surface. A stream library that acknowledges
records as its stream yields them and commits those offsets itself (as Faust agents do)
would not fit: a pipe must commit only up to the lowest record not yet finished while up to
ten lanes of one partition finish in any order, must pause a partition whose lanes are
full, and must seek a new group to ``AT_TIMESTAMP``. Owning the consumer gives manual
commits of :class:`~eventpipes.pipes.offsets.OffsetTracker`'s commit point,
``pause``/``resume`` for backpressure, and a rebalance listener for starting positions.

The loop: fetch records (one fetch outstanding at a time, at most
:func:`fetch_records`), shape a partition's fetched records for its source (a Kafka
source's in one pass, see :class:`~eventpipes.pipes.sources.kafka.KafkaShaper`), add them
to the partition's :class:`~eventpipes.pipes.lanes.PartitionLanes` and
:class:`~eventpipes.pipes.offsets.OffsetTracker` a fetch at a time, start every batch
that may start (its lane idle, its batch due), and commit the partitions whose commit
point moved, at most every :data:`COMMIT_INTERVAL` seconds. A batch runs as its own
task, which hands it to the batch processor and then goes on with its lane's next due
batch; when the processor returns, every record of the batch is delivered, filtered out
or dead-lettered, and only then are its offsets finished.

At-least-once: a crash loses nothing that was not committed, and nothing is committed
before its work returned; records after the commit point are read again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES, internal_topic_spec
from eventpipes.pipes import state
from eventpipes.pipes.batching import BatchingPolicy
from eventpipes.pipes.counters import Counters
from eventpipes.pipes.dead_letters import DeadLetterWriter
from eventpipes.pipes.events import PipeArns
from eventpipes.pipes.lanes import LaneBatch, PartitionLanes
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.offsets import OffsetTracker
from eventpipes.pipes.processing import BatchProcessor
from eventpipes.pipes.record import BATCH_ITEMS_MAX_BYTES, PipeRecord
from eventpipes.pipes.sources.kinds import source_shape
from eventpipes.pipes.sources.shape import Conversion, PartitionShaper, SourceContext
from eventpipes.records import Record
from eventpipes.retry import DeadLetterConfig
from eventpipes.schemas.codec import BusDecoder, as_json_record, has_avro_header
from eventpipes.settings import Settings
from eventpipes.targets.base import PutEvents

__all__ = ["Counters", "PipeRunner", "buffer_limit", "fetch_records", "run_pipes"]

log = logging.getLogger(__name__)

#: Commit at most this often: a commit is a broker round trip; 200 ms bounds what a crash
#: re-delivers without costing throughput.
COMMIT_INTERVAL = 0.2
#: Status file refresh and desired-state poll period.
STATUS_INTERVAL = 0.5
#: A fetch waits this long for records when nothing else is due.
FETCH_TIMEOUT_MS = 200
#: Records taken from the consumer per fetch at least (see :func:`fetch_records`). aiokafka
#: decodes a partition's fetched bytes into records only as they are asked for, so taking
#: a few at a time makes records shortly before their batch starts, and most die before the
#: collector's youngest generation fills (700 container allocations). Taking a whole fetch
#: at once (thousands of records) held them through young collections into the oldest
#: generation, whose full collections (30-50 ms each over a worker's ~85,000 long-lived
#: objects) were a fifth of a no-op pipe's time (BatchSize 100: 150-180 ms of collections
#: per 300,000 records, ~0 at 100-300 per fetch, back at 500; see benchmarks/README.md).
FETCH_MIN_RECORDS = 200
#: In-flight batches get this long to finish on stop before they are cancelled (their
#: records are not committed and are read again on the next start).
STOP_GRACE_SECONDS = 10.0


_SIZE = attrgetter("size")
_KEY = attrgetter("key")
_OFFSET = attrgetter("offset")


def fetch_records(pipe: Pipe) -> int:
    """Records to take per fetch: a full batch for every lane, and :data:`FETCH_MIN_RECORDS` at least.

    Not fewer than a batch per lane: with a backlog and no batching window, a fetch too
    small for that would start each idle lane's batch short of ``BatchSize``.
    """
    return max(FETCH_MIN_RECORDS, pipe.stream.batch_size * pipe.stream.parallelization_factor)


def buffer_limit(pipe: Pipe) -> int:
    """Records a partition may hold in its lanes before it is paused: two full batches per lane."""
    return max(1000, 2 * pipe.stream.batch_size * pipe.stream.parallelization_factor)


@dataclass
class _Partition:
    lanes: PartitionLanes[PipeRecord]
    offsets: OffsetTracker
    shaper: PartitionShaper
    """Shapes the partition's records a fetch at a time, in the pipe's source shape."""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    paused: bool = False
    revoked: bool = False


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: "PipeRunner") -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._runner._revoke(list(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._runner._assigned(list(assigned))


class PipeRunner:
    """One pipe's consumer, lanes and commits; its batches run through a :class:`BatchProcessor`.

    Args:
        pipe: the validated pipe.
        settings: cluster, account, region, state dir.
        report_status: whether to keep ``<state dir>/pipes/<pipe>.status.json`` and obey
            the desired state file (the CLI does; embedded uses may not).
    """

    def __init__(self, pipe: Pipe, settings: Settings, *, report_status: bool = True,
                 put_events: PutEvents | None = None) -> None:
        self.pipe = pipe
        self.settings = settings
        self.counters = Counters()
        self._report = report_status
        self._put_events = put_events
        self._stream = pipe.stream
        self._policy = BatchingPolicy(self._stream.batch_size, float(self._stream.maximum_batching_window_in_seconds),
                                      BATCH_ITEMS_MAX_BYTES)
        self._bus_decoder = BusDecoder(registry_url=settings.schema_registry_url)
        self._source = source_shape(pipe)
        self._where = SourceContext(settings.bootstrap_servers, settings.region, settings.account)
        self._conversion = Conversion(has_avro_header, self._as_json)
        self._arns = PipeArns.of(pipe, region=settings.region, account=settings.account)
        self._dlq: DeadLetterConfig | None = self._stream.dead_letter_config
        self._buffer_limit = buffer_limit(pipe)  # read every loop pass: the model's attributes cost ~1%
        self._fetch_records = fetch_records(pipe)
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._state = "STARTING"
        self._started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._last_commit = 0.0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set, the desired state turns ``STOPPED``, or the task is cancelled."""
        stop = stop or asyncio.Event()
        self._prepare_topics()
        self._producer = AIOKafkaProducer(**client_config(self.settings).aiokafka(), acks="all",
                                          linger_ms=5, max_request_size=BUS_MAX_MESSAGE_BYTES,
                                          client_id=f"eventpipes-pipe-{self.pipe.name}")
        await self._producer.start()
        dead_letters = DeadLetterWriter(self.pipe.name, self._dlq, self._producer, self._arns, self.counters)
        self._processor = BatchProcessor.for_pipe(self.pipe, self.settings, self._producer, self._put_events,
                                                  arns=self._arns, dead_letters=dead_letters, counters=self.counters)
        self._consumer = self._make_consumer()
        self._consumer.subscribe([self.pipe.source_topic], listener=_Listener(self))
        await self._consumer.start()
        status_task = asyncio.create_task(self._status_loop(stop))
        try:
            self._state = "RUNNING"
            await self._loop(stop)
        finally:
            self._state = "STOPPING"
            status_task.cancel()
            await self._shutdown()
            self._state = "STOPPED"
            self._write_status()

    def _make_consumer(self) -> AIOKafkaConsumer:
        reset = "earliest" if self._stream.starting_position == "TRIM_HORIZON" else "latest"
        # No max_poll_records: aiokafka sends a partition's next fetch only once the last one is
        # fully taken, so taking all of it lets the next fetch travel while this one is shaped
        # (taking 500 at a time held it back until the last 500). Lanes then hold at most one
        # fetch (max_partition_fetch_bytes, 1 MB) beyond buffer_limit before the pause.
        return AIOKafkaConsumer(
            **client_config(self.settings).aiokafka(), group_id=self.pipe.consumer_group,
            enable_auto_commit=False, auto_offset_reset=reset, client_id=f"eventpipes-pipe-{self.pipe.name}",
            isolation_level="read_committed",
        )

    def _prepare_topics(self) -> None:
        with Admin(client_config(self.settings), timeout_seconds=self.settings.kafka_timeout_seconds) as admin:
            if self._dlq is not None:
                admin.ensure_topic(internal_topic_spec(self._dlq.topic, 1))

    async def _shutdown(self) -> None:
        self._stopping = True  # lanes finish the batch in hand and take no more
        tasks = [t for p in self._partitions.values() for t in p.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in tasks:
                task.cancel()
        await self._commit(force=True)
        if self._consumer is not None:
            await self._consumer.stop()
        await self._processor.close()
        if self._producer is not None:
            await self._producer.stop()

    async def _status_loop(self, stop: asyncio.Event) -> None:
        while True:
            if self._report:
                desired = state.read_desired(self.settings, self.pipe.name)
                if desired is not None and desired.get("DesiredState") == "STOPPED":
                    self._stopping = True
                    self._wake_up()
                self._write_status()
            await asyncio.sleep(STATUS_INTERVAL)

    def _write_status(self) -> None:
        if not self._report:
            return
        offsets = {str(tp.partition): p.offsets.commit_point() for tp, p in self._partitions.items()}
        state.write_status(self.settings, self.pipe.name, {
            "Name": self.pipe.name, "CurrentState": self._state, "Pid": os.getpid(), "Host": socket.gethostname(),
            "StartedAt": self._started_at, "UpdatedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ConsumerGroup": self.pipe.consumer_group, "Source": self.pipe.source_topic,
            "Counters": self.counters.to_dict(), "LocalCommitPoints": offsets,
        })

    # -- rebalancing -----------------------------------------------------------------

    async def _assigned(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        if self._stream.starting_position != "AT_TIMESTAMP":
            return
        fresh = [tp for tp in assigned if await self._consumer.committed(tp) is None]
        if not fresh:
            return
        assert self._stream.starting_position_timestamp is not None
        at_ms = int(self._stream.starting_position_timestamp * 1000)
        found = await self._consumer.offsets_for_times({tp: at_ms for tp in fresh})
        ends = await self._consumer.end_offsets(fresh)
        for tp in fresh:
            hit = found.get(tp)
            self._consumer.seek(tp, hit.offset if hit is not None else ends[tp])

    async def _revoke(self, revoked: list[TopicPartition]) -> None:
        """Let in-flight batches of revoked partitions finish, commit them, forget the partitions."""
        tasks: list[asyncio.Task[None]] = []
        for tp in revoked:
            partition = self._partitions.get(tp)
            if partition is not None:
                partition.revoked = True
                tasks.extend(partition.tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
        await self._commit(force=True, only=revoked)
        for tp in revoked:
            self._partitions.pop(tp, None)

    # -- the loop --------------------------------------------------------------------

    async def _loop(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        # One event wakes the loop: a fetch returned, a batch finished, stop was asked for, or
        # a window ended (a timer). Waiting on it costs a future per pass; ``asyncio.wait``
        # over fresh tasks for the three cost two tasks and their callbacks per pass, and
        # the loop makes a pass per finished batch.
        watch = asyncio.create_task(stop.wait())
        watch.add_done_callback(self._wake_up)
        fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] | None = None
        try:
            while not stop.is_set() and not self._stopping:
                if fetch is None:
                    fetch = asyncio.create_task(
                        self._consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=self._fetch_records))
                    fetch.add_done_callback(self._wake_up)
                await self._sleep(self._until_next())
                if fetch.done():
                    batches = fetch.result()
                    fetch = None
                    for tp, messages in batches.items():
                        self._take(tp, messages)
                self._start_ready()
                self._backpressure()
                await self._commit()
        finally:
            watch.cancel()
            if fetch is not None:
                fetch.cancel()
                try:
                    await fetch
                except (asyncio.CancelledError, Exception):
                    pass

    def _wake_up(self, _: object = None) -> None:
        self._wake.set()

    async def _sleep(self, timeout: float | None) -> None:
        """Until something wakes the loop or ``timeout`` seconds (None: no limit) pass."""
        if not self._wake.is_set() and (timeout is None or timeout > 0):
            timer = asyncio.get_running_loop().call_later(timeout, self._wake_up) if timeout is not None else None
            await self._wake.wait()
            if timer is not None:
                timer.cancel()
        self._wake.clear()

    def _until_next(self) -> float | None:
        waits = [w for p in self._partitions.values() if (w := p.lanes.until_next()) is not None]
        return min(waits) if waits else None

    def _partition(self, tp: TopicPartition, first_offset: int) -> _Partition:
        partition = self._partitions.get(tp)
        if partition is None:
            lanes: PartitionLanes[PipeRecord] = PartitionLanes(
                self._stream.parallelization_factor, self._policy, time.monotonic, size=_SIZE, key=_KEY, offset=_OFFSET)
            shaper = self._source.partition(tp.topic, tp.partition, self.pipe, self._where, self._conversion)
            partition = self._partitions[tp] = _Partition(lanes, OffsetTracker(first_offset), shaper)
        return partition

    def _take(self, tp: TopicPartition, messages: list[ConsumerRecord[bytes, bytes]]) -> None:
        if not messages:
            return
        partition = self._partition(tp, messages[0].offset)
        if partition.revoked:
            return
        items = partition.shaper.shape(messages)
        partition.offsets.read_many(list(map(_OFFSET, messages)))
        partition.lanes.add_many(items)
        self.counters.records_read += len(messages)

    def _as_json(self, record: Record) -> Record:
        return as_json_record(record, self._bus_decoder)  # a schema-governed bus's Avro event as JSON

    def _start_ready(self) -> None:
        for tp, partition in self._partitions.items():
            if partition.revoked:
                continue
            for batch in partition.lanes.take_ready():
                task = asyncio.create_task(self._run_batch(tp, partition, batch))
                partition.tasks.add(task)
                task.add_done_callback(partition.tasks.discard)

    def _backpressure(self) -> None:
        assert self._consumer is not None
        limit = self._buffer_limit
        for tp, partition in self._partitions.items():
            buffered = partition.lanes.buffered
            if not partition.paused and buffered >= limit:
                self._consumer.pause(tp)
                partition.paused = True
            elif partition.paused and buffered < limit // 2:
                self._consumer.resume(tp)
                partition.paused = False

    async def _commit(self, *, force: bool = False, only: list[TopicPartition] | None = None) -> None:
        now = time.monotonic()
        if self._consumer is None or (not force and now - self._last_commit < COMMIT_INTERVAL):
            return
        self._last_commit = now
        offsets = {}
        for tp, partition in self._partitions.items():
            if only is not None and tp not in only:
                continue
            point = partition.offsets.take_commit()
            if point is not None:
                offsets[tp] = point
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except Exception as exc:  # a rebalance in progress: the next owner reads these again
            log.warning("pipe %s: commit of %s failed: %r", self.pipe.name, offsets, exc)

    # -- one batch -------------------------------------------------------------------

    async def _run_batch(self, tp: TopicPartition, partition: _Partition, batch: LaneBatch[PipeRecord]) -> None:
        """Process the batch, then the lane's next batches while they are due, then free the lane.

        Going on with the lane's next batch here, rather than waking the loop to start it
        as a new task, saves a task and a loop pass per batch (a no-op pipe ran ~4% faster
        in A/B runs, about the run-to-run noise). The loop is still woken when the
        partition may be resumed, and when the lane goes idle.
        """
        lanes, half, process = partition.lanes, self._buffer_limit // 2, self._processor.process
        next_batch: LaneBatch[PipeRecord] | None = batch
        try:
            while next_batch is not None:
                await process(next_batch.items)
                partition.offsets.finish_many(list(map(_OFFSET, next_batch.items)))
                if self._stopping or partition.revoked:
                    break
                if partition.paused and lanes.buffered < half:
                    self._wake_up()  # for _backpressure to resume the partition
                await asyncio.sleep(0)  # a target that never suspends must not starve fetches and other lanes
                next_batch = lanes.take_next(batch.lane)
        finally:
            lanes.release(batch.lane)
            self._wake_up()


async def run_pipes(pipes: list[Pipe], settings: Settings, *, stop: asyncio.Event | None = None,
                    on_started: Callable[[list[PipeRunner]], None] | None = None,
                    put_events: PutEvents | None = None) -> None:
    """Run several pipes in this process until ``stop`` is set or each is stopped."""
    stop = stop or asyncio.Event()
    runners = [PipeRunner(pipe, settings, put_events=put_events) for pipe in pipes]
    if on_started is not None:
        on_started(runners)
    await asyncio.gather(*(runner.run(stop) for runner in runners))

