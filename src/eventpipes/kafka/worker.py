"""The worker runtime: one consumer group, each partition's batches handled in order, partitions in parallel.

Why not Faust agents (the chosen stack) here: measured on this machine, a Faust app
with a router and 100 delivery agents routed 183 events/s against 44,000 events/s for a
plain aiokafka consume-and-produce loop, and Faust's per-event path cost ~200 µs even
with one rule. The runtime below keeps what the Faust agents gave (a consumer group,
at-least-once, per-partition order) in ~150 lines whose behaviour is easy to state:

* A fetched batch of one partition is handed to that topic's handler as a task; up to
  ``MAX_IN_FLIGHT`` batches of a partition run at once (the partition is paused beyond
  that), while other partitions (other buses, other targets) go on. Neither routing nor
  delivery promises order (EventBridge does not), so overlapping batches of a partition
  is allowed; it hides the acknowledgement round trip that otherwise idles a partition.
* A handler returns only when every record's work is finished (routed, delivered,
  dead-lettered). The committed offset of a partition advances only past batches whose
  handlers returned and all batches before them: the end of the first run of finished batches.
* A handler that raises stops the worker without committing that batch, so a restart
  processes it again (at-least-once) instead of skipping it.
* On a rebalance, revoked partitions finish their batch in flight and commit first.
* ``update_handlers`` changes the topics and their handlers while the worker runs (a live
  change of the topology): batches already started finish with the handler they started
  with; records of a topic no longer handled are left uncommitted for whoever handles it next.
  When the topics change, every batch in flight finishes and is committed *before* the
  consumer subscribes anew: aiokafka's revoke callback runs after the new subscription has
  replaced the old assignment, when a commit of the revoked partitions is no longer possible,
  so committing there only would have every uncommitted record handled again (duplicates).
* Records are read ``read_committed``: a scheduled rule's tick is written to the delivery
  topics in a transaction, and an aborted one must not be delivered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from eventpipes.errors import EventPipesError
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.fetch_wait import FetchWait
from eventpipes.records import Record, record_from_message

log = logging.getLogger(__name__)

Handler = Callable[[list[Record]], Awaitable[None]]

#: Offsets are committed at least this often while work finishes (seconds).
COMMIT_INTERVAL = 1.0

#: A crashed worker's partitions move to the survivors after this long (ms); Kafka's default is 45 s.
SESSION_TIMEOUT_MS = 10_000

#: Records per partition per batch at most. A router batch fans out to every target's
#: delivery partition, so its size sets the delivery batches' size too: with 100 targets,
#: 500 gave ~5 records per delivery batch and the router (one worker) 23% of raw
#: throughput, 2,000 gives ~20 and 31-35% (benchmarks/routing.py, 80,000 events); 5,000
#: was worse (7,000-10,000 events/s; not investigated).
#: Latency is unaffected: under light load batches stay small.
MAX_BATCH = 2000

#: Batches of one partition handled at once. One left a partition idle during each
#: batch's acknowledgement wait (router: 5,500 events/s with 3 partitions here).
MAX_IN_FLIGHT = 4

#: How long the broker may hold a fetch open when there is nothing new (ms). A resumed
#: partition waits for the fetch in flight, so Kafka's 500 ms default added up to half a
#: second to every batch here (p50 latency 1 s at 1,000 events/s); 10 ms costs a few idle
#: fetches a second instead.
FETCH_MAX_WAIT_MS = 10


#: How long one poll waits for records when there are none; it only bounds how soon the loop
#: sees ``stop()`` (records end a poll at once). 100 ms woke an idle worker 10 times a second.
POLL_TIMEOUT_MS = 500


class HandlerFailed(EventPipesError):
    """A handler raised: the worker stopped without committing the batch it was handling."""

    code = "WorkerStopped"


class PartitionWorker:
    """Consumes ``handlers``' topics as consumer group ``group`` until ``stop()``."""

    def __init__(self, kafka: KafkaClientConfig, group: str, handlers: dict[str, Handler], *, client_id: str = "eventpipes-worker") -> None:
        self._kafka = kafka
        self._group = group
        self._handlers = handlers
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._in_flight: dict[TopicPartition, list[_Batch]] = {}
        self._done: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        self._failure: BaseException | None = None
        self._subscribed: set[str] = set()
        # Held while a batch is fetched and started, and while the subscription changes: no
        # batch starts between update_handlers' last commit and its subscribe.
        self._fetching = asyncio.Lock()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Consume until ``stop()`` or a handler failure (re-raised as ``HandlerFailed``)."""
        consumer = AIOKafkaConsumer(
            **self._kafka.aiokafka(),
            group_id=self._group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Scheduled rules' ticks reach delivery topics in Kafka transactions
            # (kafka/schedule_ticker.py): an aborted tick must never be delivered. Records
            # written without a transaction (everything else) are visible at once.
            isolation_level="read_committed",
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3,
            max_poll_records=MAX_BATCH,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        consumer.subscribe(list(self._handlers), listener=_Rebalance(self))
        self._subscribed = set(self._handlers)
        await consumer.start()
        self._consumer = consumer
        if on_ready:
            on_ready()
        committer = asyncio.create_task(self._commit_periodically())
        fetch_wait = FetchWait(FETCH_MAX_WAIT_MS)  # long fetches once idle (kafka/fetch_wait.py)
        try:
            while not self._stopping.is_set():
                async with self._fetching:
                    batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=MAX_BATCH)
                    fetch_wait.saw(consumer, bool(batches), time.monotonic())
                    for tp, messages in batches.items():
                        handler = self._handlers.get(tp.topic)
                        if messages and handler is not None:
                            self._start(consumer, tp, handler, [record_from_message(m) for m in messages])
            await self._drain(list(self._in_flight))
            await self._commit()
        finally:
            committer.cancel()
            await consumer.stop()
        if self._failure is not None:
            raise HandlerFailed(str(self._failure)) from self._failure

    def stop(self) -> None:
        self._stopping.set()

    async def update_handlers(self, handlers: dict[str, Handler]) -> None:
        """Handle ``handlers``' topics from now on; subscribes anew if the topics changed (a rebalance).

        Call it on the worker's event loop, with the new topics' starting offsets committed first.
        Before subscribing anew it finishes and commits every batch in flight (see the module's
        docstring), so a live change costs the time the slowest batch in flight takes.
        """
        self._handlers = dict(handlers)
        consumer = self._consumer
        if consumer is None or set(handlers) == self._subscribed:
            return
        async with self._fetching:
            await self._drain(list(self._in_flight))
            await self._commit()
            consumer.subscribe(list(handlers), listener=_Rebalance(self))
            self._subscribed = set(handlers)

    def _start(self, consumer: AIOKafkaConsumer, tp: TopicPartition, handler: Handler, records: list[Record]) -> None:
        batch = _Batch(records[-1].offset + 1)
        batches = self._in_flight.setdefault(tp, [])
        batches.append(batch)
        if len(batches) >= MAX_IN_FLIGHT:
            consumer.pause(tp)
        batch.task = asyncio.create_task(self._handle(tp, batch, handler, records))

    async def _handle(self, tp: TopicPartition, batch: "_Batch", handler: Handler, records: list[Record]) -> None:
        try:
            await handler(records)
        except Exception as exc:  # stop without committing: the batch is processed again after a restart
            log.exception("handler for %s[%d] failed at offset %d; stopping", tp.topic, tp.partition, records[0].offset)
            self._failure = exc
            self._stopping.set()
            return
        batch.finished = True
        batches = self._in_flight.get(tp, [])
        while batches and batches[0].finished:  # the first run of finished batches may be committed
            self._done[tp] = batches.pop(0).end_offset
        consumer = self._consumer
        if not batches:
            self._in_flight.pop(tp, None)
            if consumer is not None and tp in consumer.assignment():
                await self._past_skipped(consumer, tp)
        if consumer is not None and tp in consumer.assignment() and len(batches) < MAX_IN_FLIGHT:
            consumer.resume(tp)

    async def _past_skipped(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        """With every record read from ``tp`` handled, commit up to the consumer's position.

        A transaction's commit marker (a scheduled tick's, kafka/schedule_ticker.py) and the
        records of an aborted transaction take offsets that no handler sees; committing only
        past the last record handled would leave them as lag for ever. Nothing is in flight
        for ``tp``, and every record ``getmany`` returned is started at once, so all before
        the position is finished. ``position`` does not yield while the position is valid.
        """
        position = await consumer.position(tp)
        if tp not in self._in_flight and position > self._done.get(tp, position):
            self._done[tp] = position

    async def _drain(self, partitions: list[TopicPartition]) -> None:
        tasks = [b.task for tp in partitions for b in self._in_flight.get(tp, []) if b.task is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def _commit(self, partitions: list[TopicPartition] | None = None) -> None:
        consumer = self._consumer
        if consumer is None or self._failure is not None:
            return
        assigned = consumer.assignment()
        for tp in [tp for tp in self._done if tp not in assigned]:
            # No longer ours (a topic dropped by a live change, or taken by another member while
            # the revoke waited): Kafka refuses the commit, and whoever holds it now reads on.
            del self._done[tp]
        chosen = {tp: offset for tp, offset in self._done.items() if partitions is None or tp in partitions}
        if not chosen:
            return
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in chosen.items()})
        for tp, offset in chosen.items():
            if self._done.get(tp) == offset:
                del self._done[tp]

    async def _commit_periodically(self) -> None:
        while True:
            await asyncio.sleep(COMMIT_INTERVAL)
            try:
                await self._commit()
            except Exception:  # a commit that fails is retried on the next round; offsets only move forward
                log.warning("offset commit failed; will retry", exc_info=True)


class _Batch:
    """One batch in flight: where the partition may be committed to once it (and all before it) finished."""

    __slots__ = ("end_offset", "finished", "task")

    def __init__(self, end_offset: int) -> None:
        self.end_offset = end_offset
        self.finished = False
        self.task: asyncio.Task[None] | None = None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: PartitionWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Finish and commit what is in flight before another member takes these partitions.
        await self._worker._drain(list(revoked))
        await self._worker._commit(list(revoked))
        for tp in revoked:
            self._worker._done.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None
