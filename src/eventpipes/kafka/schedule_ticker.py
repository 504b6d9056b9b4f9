"""Fires scheduled rules: each tick exactly once across every worker of a group.

How (see docs/scheduled-rules.md):

* Ownership. Every worker's ticker joins consumer group ``eventpipes.schedules.<group>``
  on the one-partition topic of the same name; the member assigned partition 0 owns every
  schedule. A rebalance (a worker joins, leaves or dies) moves ownership.
* Fencing. The owner writes with the transactional id ``eventpipes.schedules.<group>``.
  Starting that producer bumps the id's epoch: an earlier owner that has not yet noticed it
  lost the partition can commit nothing more, and its open transaction is aborted.
* Progress. Each tick's output records and the rule's progress record (the instant handled
  through, keyed by the rule's name) go in ONE transaction. The new owner reads the topic
  with ``read_committed`` to its end before it fires anything, so a tick is either
  committed with its outputs (and not fired again) or not at all (and fired by the next
  owner): a kill at any moment neither skips nor duplicates a tick. Readers of the outputs
  must read with ``read_committed`` too.
* Timing. The owner sleeps until the earliest due tick (a heap of next-due instants), not
  polling; on an idle worker a tick is written within milliseconds of its instant.
* Catch-up. Ticks that fell due while no owner ran: only the latest fires (``progress``).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced

from eventpipes.errors import EventPipesError
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.schedule_progress import apply_progress
from eventpipes.kafka.topics import schedules_topic, schedules_topic_spec
from eventpipes.records import OutRecord, record_from_message
from eventpipes.schedules.progress import Progress, ScheduledRule, Tick, after_firing, anchor_of, baseline, due_tick, next_due

log = logging.getLogger(__name__)

#: What a tick puts: the records to write (to the rule's delivery topics), in the tick's transaction.
TickOutputs = Callable[[Tick], Sequence[OutRecord] | Awaitable[Sequence[OutRecord]]]

#: A dead owner's schedules move to another worker after this long (ms), as the worker's own group.
SESSION_TIMEOUT_MS = 10_000

#: The owner re-reads the clock at least this often (s) even with nothing due, so a wall-clock
#: step (NTP) delays a tick by at most this much beyond the 2 s precision.
MAX_SLEEP_SECONDS = 30.0

#: Pause before retrying a transaction Kafka refused (s); the tick keeps its instant.
RETRY_SECONDS = 1.0

#: How long a revoked owner may take to finish the transaction in flight before it is cancelled (s).
RELINQUISH_SECONDS = 30.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class TickerFailed(EventPipesError):
    """The outputs callback raised: the ticker stopped without firing that tick (a restart fires it)."""

    code = "SchedulerStopped"


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A scheduled rule's last and next fire times, as the owner knows them."""

    last_fired: datetime | None
    """The instant of the last tick fired (None before the first)."""
    next_fire: datetime | None
    """The next tick's instant (None: the expression never fires again)."""


class _LostOwnership(Exception):
    """Another worker's producer fenced ours: it owns the schedules now."""


class ScheduleTicker:
    """Runs beside a worker; fires ``rules`` while this worker owns the group's schedules.

    Args:
        kafka: the cluster and how to connect to it.
        group: the worker group (the name the worker's own consumer group is built from);
            progress topic, ownership group and transactional id are ``schedules_topic(group)``.
        rules: the scheduled rules, each with a stable anchor (``ScheduledRule``).
        outputs: gives the records a tick puts; called once per fired tick, before its
            transaction. It may be a coroutine function. Raising stops the ticker
            (``TickerFailed``) with the tick unfired.
        now: the clock (tests may shift it); sleeping uses the event loop's timer.
        session_timeout_ms: how soon a dead owner's schedules move on.
        on_owner_change: called with True once this ticker owns the schedules and has read
            their progress, with False when it gives them up.
    """

    def __init__(
        self,
        kafka: KafkaClientConfig,
        group: str,
        rules: Sequence[ScheduledRule],
        outputs: TickOutputs,
        *,
        now: Callable[[], datetime] = utc_now,
        session_timeout_ms: int = SESSION_TIMEOUT_MS,
        client_id: str = "eventpipes-schedules",
        on_owner_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = schedules_topic(group)
        self._tp = TopicPartition(self._topic, 0)
        self._rules = _by_name(rules)
        self._outputs = outputs
        self._now = now
        self._session_timeout_ms = session_timeout_ms
        self._client_id = client_id
        self._on_owner_change = on_owner_change
        self._progress: dict[str, Progress] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._owner_task: asyncio.Task[None] | None = None
        self._owning = False
        self._stopping = asyncio.Event()
        self._relinquishing = asyncio.Event()
        self._wake = asyncio.Event()
        self._fetched = asyncio.Event()
        self._rules_changed = False

    @property
    def is_owner(self) -> bool:
        """Whether this ticker fires the schedules now (it owns them and has read their progress)."""
        return self._owning

    def update_rules(self, rules: Sequence[ScheduledRule]) -> None:
        """Replace the scheduled rules (a rule's progress is kept by name); takes effect at once.

        Like ``stop``, call it on the ticker's event loop (``loop.call_soon_threadsafe`` from elsewhere).
        """
        self._rules = _by_name(rules)
        self._rules_changed = True
        self._wake.set()

    def status(self) -> dict[str, RuleStatus]:
        """Each rule's last and next fire times; only the owner knows ``last_fired`` (elsewhere use
        ``schedule_progress.read_progress``)."""
        now = self._now()
        return {
            name: RuleStatus(self._progress[name].last_fired if name in self._progress else None,
                             next_due(rule, self._progress.get(name), now))
            for name, rule in self._rules.items()
        }

    def stop(self) -> None:
        """Stop after the transaction in flight, if any."""
        self._stopping.set()
        self._relinquishing.set()
        self._wake.set()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Take part in the group until ``stop()``; re-raise the owner's failure as ``TickerFailed``.

        Creates the progress topic if it is missing. ``on_ready`` is called once the
        consumer has started (ownership may come later: see ``on_owner_change``).
        """
        await asyncio.to_thread(_ensure_topic, self._kafka, self._group)
        consumer = AIOKafkaConsumer(
            **self._kafka.aiokafka(),
            group_id=self._topic,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._session_timeout_ms // 3,
            fetch_max_wait_ms=100,
        )
        consumer.subscribe([self._topic], listener=_Ownership(self))
        self._consumer = consumer  # before start(): the first assignment may come during it
        await consumer.start()
        if on_ready:
            on_ready()
        try:
            await self._consume(consumer)
        finally:
            await self._relinquish()
            await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        """Read progress records (committed ones) and keep the group membership alive."""
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                apply_progress(self._progress, [record_from_message(m) for m in messages])
            self._fetched.set()
            task = self._owner_task
            if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
                error = task.exception()
                raise TickerFailed(str(error)) from error

    async def _take_ownership(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        await self._relinquish()  # an assignment without a revocation first: never two owner tasks
        self._progress.clear()
        await consumer.seek_to_beginning(self._tp)
        self._relinquishing.clear()
        self._owner_task = asyncio.create_task(self._own(consumer))

    async def _relinquish(self) -> None:
        task, self._owner_task = self._owner_task, None
        if task is None:
            return
        self._relinquishing.set()
        self._wake.set()
        done, _ = await asyncio.wait([task], timeout=RELINQUISH_SECONDS)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif not task.cancelled() and task.exception() is not None and not self._stopping.is_set():
            self._owner_task = task  # keep the failure for _consume to raise

    async def _own(self, consumer: AIOKafkaConsumer) -> None:
        """Own the schedules until relinquished: one producer incarnation after another.

        Each incarnation fences the one before and re-reads the progress: a transaction whose
        commit the previous one could not confirm is thereby settled one way or the other.
        """
        while not self._relinquishing.is_set():
            producer = AIOKafkaProducer(**self._kafka.aiokafka(), transactional_id=self._topic,
                                        acks="all", client_id=self._client_id)
            try:
                await producer.start()
                await self._fence(producer)
                await self._catch_up(consumer)
                self._set_owning(True)
                await self._tick(producer)
            except _LostOwnership:
                # Another worker started the producer after ours: it believes it owns the partition.
                # One of the two is about to be revoked; until then, starting again fences it, and
                # as each incarnation re-reads the progress first, no tick fires twice meanwhile.
                log.warning("another worker fenced this ticker's producer; taking ownership again unless revoked")
                await self._pause(RETRY_SECONDS)
            except KafkaError:
                log.warning("schedule ticker's producer failed; starting a new one", exc_info=True)
                await self._pause(RETRY_SECONDS)
            finally:
                self._set_owning(False)
                await producer.stop()

    async def _fence(self, producer: AIOKafkaProducer) -> None:
        """Take the transactional id's new epoch: an earlier owner is fenced, its open transaction aborted."""
        try:
            await producer.begin_transaction()  # waits for the producer id, i.e. for InitProducerId
            await producer.commit_transaction()
        except ProducerFenced as exc:
            raise _LostOwnership() from exc

    async def _catch_up(self, consumer: AIOKafkaConsumer) -> None:
        """Wait until every progress record committed before our epoch began has been read."""
        end = (await consumer.end_offsets([self._tp]))[self._tp]  # the last stable offset (read_committed)
        while await consumer.position(self._tp) < end and not self._relinquishing.is_set():
            self._fetched.clear()
            await self._fetched.wait()

    async def _tick(self, producer: AIOKafkaProducer) -> None:
        """Fire what is due, sleep until the next due instant, again, until relinquished."""
        heap: list[tuple[datetime, str]] | None = None
        while not self._relinquishing.is_set():
            if heap is None or self._rules_changed:
                self._rules_changed = False
                await self._baseline(producer)
                heap = self._plan()
            now = self._now()
            due: list[Tick] = []
            while heap and heap[0][0] <= now:
                _, name = heapq.heappop(heap)
                rule = self._rules.get(name)
                tick = due_tick(rule, self._progress.get(name), now) if rule else None
                if tick is not None:
                    due.append(tick)
                elif rule is not None:
                    self._push(heap, rule, now)
            if due:
                await self._fire(producer, due)
                for tick in due:
                    self._push(heap, tick.rule, now)
            wait = MAX_SLEEP_SECONDS if not heap else (heap[0][0] - self._now()).total_seconds()
            await self._pause(min(max(wait, 0.0), MAX_SLEEP_SECONDS))

    def _plan(self) -> list[tuple[datetime, str]]:
        heap: list[tuple[datetime, str]] = []
        now = self._now()
        for rule in self._rules.values():
            self._push(heap, rule, now)
        return heap

    def _push(self, heap: list[tuple[datetime, str]], rule: ScheduledRule, now: datetime) -> None:
        progress = self._progress.get(rule.name)
        # A tick already due (missed while no owner ran) is due now; otherwise the next one.
        when = now if due_tick(rule, progress, now) is not None else next_due(rule, progress, now)
        if when is not None:
            heapq.heappush(heap, (when, rule.name))

    async def _fire(self, producer: AIOKafkaProducer, ticks: list[Tick]) -> None:
        """Write every due tick's outputs and progress in one transaction, retrying what Kafka refuses."""
        records: list[OutRecord] = []
        for tick in ticks:
            try:
                result = self._outputs(tick)
                records.extend(await result if inspect.isawaitable(result) else result)
            except Exception as exc:
                raise TickerFailed(f"outputs of rule {tick.rule.name!r} at {tick.instant.isoformat()} failed: {exc!r}") from exc
        updates = {tick.rule.name: after_firing(tick, self._progress.get(tick.rule.name)) for tick in ticks}
        if await self._commit(producer, records, updates):
            late = (self._now() - max(t.instant for t in ticks)).total_seconds()
            log.info("fired %d scheduled tick(s), %.3f s after the latest's instant", len(ticks), late)

    async def _baseline(self, producer: AIOKafkaProducer) -> None:
        """Anchor the rules given without an anchor at now, recorded in their progress."""
        now = self._now()
        updates = {name: baseline(self._progress.get(name), now) for name, rule in self._rules.items()
                   if anchor_of(rule, self._progress.get(name)) is None}
        if updates:
            await self._commit(producer, [], updates)

    async def _commit(self, producer: AIOKafkaProducer, records: list[OutRecord], updates: dict[str, Progress]) -> bool:
        """Write ``records`` and ``updates`` in one transaction, retrying what Kafka refuses.

        Returns False when relinquished before it succeeded (nothing was written).
        """
        while True:
            try:
                await self._transaction(producer, records, updates)
                break
            except ProducerFenced as exc:
                raise _LostOwnership() from exc
            except KafkaError:
                log.warning("schedule transaction failed; aborting and retrying", exc_info=True)
                await producer.abort_transaction()  # a failure here starts a new producer (_own)
                await self._pause(RETRY_SECONDS)
                if self._relinquishing.is_set():
                    return False
        self._progress.update(updates)
        return True

    async def _transaction(self, producer: AIOKafkaProducer, records: list[OutRecord], updates: dict[str, Progress]) -> None:
        await producer.begin_transaction()
        for r in records:
            await producer.send(r.topic, r.value, key=r.key, partition=r.partition, timestamp_ms=r.timestamp_ms,
                                headers=list(r.headers))
        for name, progress in updates.items():
            await producer.send(self._topic, progress.to_json(), key=name.encode(), partition=0)
        await producer.commit_transaction()  # flushes every send first

    async def _pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early for ``stop``, a revocation or new rules."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    def _set_owning(self, owning: bool) -> None:
        if owning != self._owning:
            self._owning = owning
            if self._on_owner_change:
                self._on_owner_change(owning)


class _Ownership(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, ticker: ScheduleTicker) -> None:
        self._ticker = ticker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if self._ticker._tp in revoked:
            await self._ticker._relinquish()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self._ticker._tp in assigned and not self._ticker._stopping.is_set():
            await self._ticker._take_ownership()


def _by_name(rules: Sequence[ScheduledRule]) -> dict[str, ScheduledRule]:
    by_name = {rule.name: rule for rule in rules}
    if len(by_name) != len(rules):
        raise ValueError("scheduled rules' names must be unique: a name keys the rule's progress")
    return by_name


def _ensure_topic(kafka: KafkaClientConfig, group: str) -> None:
    with Admin(kafka) as admin:
        admin.ensure_topic(schedules_topic_spec(group))
