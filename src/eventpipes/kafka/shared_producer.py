"""One producer for many threads' small writes: each caller's records, gathered with the others' into one batch per topic.

What it answers for: PutEvents callers (any number of threads sharing an ``EventBusClient``)
hand over up to 10 records each and wait until Kafka acknowledged *their* records (acks=all).

Why not kafka-python's ``KafkaProducer``, which PutEvents used before: every ``send`` builds
its record in Python (~60 µs a record here; a raw loop ran at 17,000 records/s where aiokafka's
batch builder ran at 400,000), and ``flush`` waits for every thread's records, not the
caller's, so threads sharing a client held each other up. Here one sender task, on a private
asyncio loop in a daemon thread, takes everything handed over since its last round, packs
it into one batch per topic with aiokafka's C ``BatchBuilder`` (~1 µs a record), sends the
batches together and, once each is acknowledged, settles every caller's records. While a
round is on the wire the next one gathers: a lone caller is sent at once (no linger), and
many callers share one request.

Rounds do not overlap: aiokafka keeps one produce request per broker in flight anyway, and
a round waiting for its acknowledgements is what lets the next one grow.

A batch Kafka refuses as too large (a topic with a smaller ``max.message.bytes`` than
the record needs) is sent again one record per batch, so only the records that are too large
fail, not the other callers' records that shared their batch. Any other failure of a batch
(broker away, timeout, topic deleted) fails the records of that batch: the callers it
touched, not the others.

Partitions: a round's records for a topic all go to one of its partitions, the next one in
turn each round, as Kafka's sticky partitioner places records without a key. The records do
carry keys (PutEvents: the event id), but random, unique ones: hashing them (murmur2 in
Python, ~1.5 µs a record, 14% of the samples with 32 threads) would spread them just as
evenly, while one batch per topic per round costs less to build, and a call's entries stay
together, in order, in one partition.
"""

from __future__ import annotations

import asyncio
import threading
from random import randrange
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, ProducerClosed, RecordListTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.diagnose import unavailable

T = TypeVar("T")

#: A batch is closed once it holds this much (a fresh batch takes one record of any size):
#: a round of 8 callers' 10 events of ~600 bytes is ~50 KB, so a batch rarely fills, and one
#: that does stays under the 1 MB ``max.message.bytes`` of a topic made with Kafka's defaults.
MAX_BATCH_BYTES = 512 * 1024

#: Failures of a whole batch that one record alone can cause: the batch is split and sent again.
_SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to write."""

    topic: str
    """Where it goes."""
    key: bytes
    """Its key (not used to choose its partition: see the module's docstring)."""
    value: bytes
    """Its value."""
    headers: tuple[tuple[str, bytes], ...] = ()
    """Its headers."""


_NOT_SENT = KafkaError("the record was not sent")

#: Per record of a submission, in order: None when Kafka acknowledged it, else why not.
Outcomes = list[BaseException | None]


@dataclass(slots=True)
class _Submission:
    records: Sequence[Outgoing]
    future: Future[Outcomes]
    outcomes: Outcomes


@dataclass(slots=True)
class _Batch:
    topic: str
    partition: int
    builder: BatchBuilder
    members: list[tuple[_Submission, int]]
    """Whose records the batch holds: (submission, index of the record in it)."""


class SharedProducer:
    """Thread-safe: ``submit`` from any thread; each submission's future settles once its records are.

    ``failed`` turns true once any record met a Kafka failure: the owner replaces the
    producer (``eventpipes.bus.put_events`` does, as it did with kafka-python's).
    """

    def __init__(self, kafka: KafkaClientConfig, *, client_id: str, request_timeout_seconds: float,
                 start_seconds: float, max_request_bytes: int) -> None:
        """Start the loop thread and connect.

        Raises:
            BrokerUnavailable: no broker answered within ``start_seconds``.
            ClientSecurityError: a broker answered but refused the security settings.
        """
        self._lock = threading.Lock()
        self._pending: list[_Submission] = []
        self._closed = False
        self.failed = False
        self._last_partition: dict[str, int] = {}
        self._sender_idle = True
        """Whether the sender waits for a wake-up (no round on the wire, nothing pending); under ``_lock``."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{client_id}-loop", daemon=True)
        self._thread.start()
        self._producer: AIOKafkaProducer | None = None
        try:
            self._wake: asyncio.Event = self._call(_event(), timeout=max(start_seconds, 1.0))
            self._producer = self._call(_started(kafka, client_id, request_timeout_seconds, max_request_bytes, start_seconds),
                                        timeout=start_seconds + 1.0)
        except (KafkaError, OSError, TimeoutError) as exc:
            self._stop_loop()
            raise unavailable(kafka, exc) from exc
        self._rounds = asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=timeout)

    def submit(self, records: Sequence[Outgoing]) -> Future[Outcomes]:
        """Hand ``records`` to the next round; the future settles with one outcome per record.

        Cancelling the future before its round takes it keeps its records from being sent
        (``Future.cancel`` returns True then); after that, they are on their way.
        """
        # Until its round settles it, a record counts as not acknowledged: a path that missed
        # it reports a failure, never a put.
        submission = _Submission(records, Future(), [_NOT_SENT] * len(records))
        with self._lock:
            if self._closed:
                submission.future.set_result([ProducerClosed()] * len(records))
                return submission.future
            self._pending.append(submission)
            wake, self._sender_idle = self._sender_idle, False
        # Only an idle sender needs waking (a write to the loop's self-pipe, which lets other
        # threads take the GIL: 11% of samples with 32 threads when every call woke it); a
        # busy one takes what is pending when its round ends.
        if wake:
            self._loop.call_soon_threadsafe(self._wake.set)
        return submission.future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:  # rounds back to back while submissions keep coming
                with self._lock:
                    taken, self._pending = self._pending, []
                    self._sender_idle = not taken
                if not taken:
                    break
                await self._take(taken)
            if self._closed:
                return

    async def _take(self, taken: list[_Submission]) -> None:
        """One round for the submissions ``taken`` that were not cancelled; settles each."""
        live = [s for s in taken if s.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            await self._round(live)
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave callers waiting for their deadline
            self.failed = True
            for submission in live:
                submission.outcomes = [exc if o is _NOT_SENT else o for o in submission.outcomes]
        for submission in live:
            submission.future.set_result(submission.outcomes)

    async def _round(self, submissions: list[_Submission]) -> None:
        """Send every record of ``submissions``, one batch per topic, and record each one's outcome."""
        batches = await self._pack(submissions)
        refused = await self._send(batches)
        if refused:  # each record of a batch refused as too large, alone, so only the too-large ones fail
            await self._send([self._alone(batch.topic, batch.partition, member) for batch in refused for member in batch.members])

    async def _pack(self, submissions: list[_Submission]) -> list[_Batch]:
        """One batch per topic (a new one whenever it fills), on the topic's partition for this round."""
        partitions: dict[str, int | BaseException] = {}
        open_batches: dict[str, _Batch] = {}
        full: list[_Batch] = []
        for submission in submissions:
            for index, record in enumerate(submission.records):
                partition = partitions.get(record.topic)
                if partition is None:
                    partition = partitions[record.topic] = await self._next_partition(record.topic)
                if isinstance(partition, BaseException):
                    self._settle(submission, index, partition)
                    continue
                batch = open_batches.get(record.topic)
                if batch is None:
                    batch = open_batches[record.topic] = self._new_batch(record.topic, partition)
                if batch.builder.append(timestamp=None, key=record.key, value=record.value, headers=list(record.headers)) is None:
                    full.append(batch)
                    batch = open_batches[record.topic] = self._new_batch(record.topic, partition)
                    batch.builder.append(timestamp=None, key=record.key, value=record.value, headers=list(record.headers))
                batch.members.append((submission, index))
        return full + list(open_batches.values())

    async def _next_partition(self, topic: str) -> int | BaseException:
        """The partition after the one ``topic``'s last round went to (the first: a random one)."""
        assert self._producer is not None
        try:
            count = len(await self._producer.partitions_for(topic))
        except KafkaError as exc:
            return exc
        last = self._last_partition.get(topic)
        partition = self._last_partition[topic] = randrange(count) if last is None else (last + 1) % count
        return partition

    def _new_batch(self, topic: str, partition: int) -> _Batch:
        assert self._producer is not None
        return _Batch(topic, partition, self._producer.create_batch(), [])

    def _alone(self, topic: str, partition: int, member: tuple[_Submission, int]) -> _Batch:
        submission, index = member
        record = submission.records[index]
        batch = self._new_batch(topic, partition)
        batch.builder.append(timestamp=None, key=record.key, value=record.value, headers=list(record.headers))
        batch.members.append(member)
        return batch

    async def _send(self, batches: list[_Batch]) -> list[_Batch]:
        """Send ``batches`` and settle their records; returns the batches of several records refused as too large."""
        assert self._producer is not None
        acks: list[asyncio.Future[Any] | BaseException] = []
        for batch in batches:
            try:
                acks.append(await self._producer.send_batch(batch.builder, batch.topic, partition=batch.partition))
            except KafkaError as exc:
                acks.append(exc)
        answers = await asyncio.gather(*(_settled(ack) for ack in acks))
        refused = []
        for batch, answer in zip(batches, answers):
            if isinstance(answer, _SIZE_ERRORS) and len(batch.members) > 1:
                refused.append(batch)
                continue
            for submission, index in batch.members:
                self._settle(submission, index, answer)
        return refused

    def _settle(self, submission: _Submission, index: int, error: BaseException | None) -> None:
        submission.outcomes[index] = error
        if error is not None:
            self.failed = True

    def close(self, timeout: float = 5.0) -> None:
        """Refuse new submissions, let the round on the wire finish (within ``timeout``), and stop (within ``timeout`` more)."""
        with self._lock:
            self._closed = True
            left, self._pending = self._pending, []
        for submission in left:
            if submission.future.set_running_or_notify_cancel():
                submission.future.set_result([ProducerClosed()] * len(submission.records))
        try:
            self._call(self._shut(timeout), timeout=2 * timeout + 1.0)  # the round on the wire, then the stop
        except (KafkaError, OSError, TimeoutError):
            pass  # what was still on the wire was reported to its callers, or their deadline passed
        finally:
            self._stop_loop()

    async def _shut(self, timeout: float) -> None:
        rounds = asyncio.wrap_future(self._rounds)
        self._wake.set()
        await asyncio.wait([rounds], timeout=timeout)  # the round on the wire settles its callers
        rounds.cancel()
        if self._producer is not None:
            await asyncio.wait_for(self._producer.stop(), timeout)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


async def _settled(ack: asyncio.Future[Any] | BaseException) -> BaseException | None:
    """None once Kafka acknowledged the batch, else why it did not."""
    if isinstance(ack, BaseException):
        return ack
    try:
        await ack
    except KafkaError as exc:
        return exc
    except asyncio.CancelledError:
        return ProducerClosed()
    return None


async def _event() -> asyncio.Event:
    return asyncio.Event()


async def _started(kafka: KafkaClientConfig, client_id: str, request_timeout_seconds: float, max_request_bytes: int,
                   start_seconds: float) -> AIOKafkaProducer:
    # aiokafka binds a producer to the loop it is created on: create it on the private loop.
    producer = AIOKafkaProducer(**kafka.aiokafka(), acks="all", max_batch_size=MAX_BATCH_BYTES, max_request_size=max_request_bytes,
                                request_timeout_ms=int(request_timeout_seconds * 1000), client_id=client_id)
    try:
        await asyncio.wait_for(producer.start(), start_seconds)
    except BaseException:
        await producer.stop()
        raise
    return producer
