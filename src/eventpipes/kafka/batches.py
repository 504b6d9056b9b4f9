"""Writing many records to one topic from synchronous code, a whole record batch at a time.

Why not kafka-python's ``KafkaProducer``: its ``send`` builds every record in Python
(partitioner, accumulator, varints, futures): ~15 µs a record, most of a replay's time
once the consumer's CRC check runs in C. aiokafka's ``BatchBuilder`` appends a record
in C (~1 µs) and ``send_batch`` hands over a whole batch at once. aiokafka is
asyncio-only, so its producer runs on a private event loop in a daemon thread; the
caller appends from its own thread and crosses to the loop once per batch, not per record.

The caller chooses each record's partition (no murmur2 in Python, ~5 µs a record).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.producer.message_accumulator import BatchBuilder

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.errors import BrokerUnavailable

T = TypeVar("T")

#: A batch is sent once it holds this much; 512 KB (~450 events of 1 KB) makes the
#: loop-thread crossing and the produce request rare per record, and stays under the
#: 1 MB ``max.message.bytes`` a plain topic has by default, even with one 256 KB event on top.
MAX_BATCH_BYTES = 512 * 1024
#: The appending thread waits when this many batches (4 MB at most) are not acknowledged:
#: enough to keep every partition's next batch ready while one request is on the wire.
MAX_BATCHES_IN_FLIGHT = 8


class BatchProducer:
    """Appends records to per-partition batches of one topic; ``flush`` returns once Kafka acknowledged all (acks=all).

    Full batches go to one sender task on the loop, in the order they filled, so each
    partition's records reach Kafka in append order. The appending thread waits only when
    :data:`MAX_BATCHES_IN_FLIGHT` batches are unacknowledged, and in ``flush``.
    Not thread-safe: one thread appends and flushes.
    """

    def __init__(self, kafka: KafkaClientConfig, topic: str, *, client_id: str, max_request_bytes: int,
                 max_batch_bytes: int = MAX_BATCH_BYTES, timeout_seconds: float = 30.0) -> None:
        self.topic = topic
        self._timeout = timeout_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"{client_id}-loop", daemon=True)
        self._thread.start()
        self._open: dict[int, BatchBuilder] = {}
        self._room = threading.BoundedSemaphore(MAX_BATCHES_IN_FLIGHT)
        self._error: BaseException | None = None
        self.acked_ends: dict[int, int] = {}
        """Per partition: the offset after the last record of this producer that Kafka acknowledged."""
        self._producer: AIOKafkaProducer | None = None
        try:
            self._producer = self._call(_started(kafka, client_id, max_batch_bytes, max_request_bytes, timeout_seconds))
            self.partitions: list[int] = sorted(self._call(self._producer.partitions_for(topic)))
            self._queue: asyncio.Queue[tuple[BatchBuilder, int]] = self._call(_queue())
            self._acks: set[asyncio.Future[Any]] = set()
            self._sender = asyncio.run_coroutine_threadsafe(self._send_in_order(), self._loop)
        except (KafkaError, OSError) as exc:
            self.close()
            raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=self._timeout * 2)

    def append(self, partition: int, key: bytes | None, value: bytes, timestamp_ms: int | None,
               headers: Sequence[tuple[str, bytes]]) -> None:
        """Add a record to ``partition``'s open batch (``timestamp_ms`` None: now); a full batch is sent first.

        Raises:
            KafkaError: an earlier batch was not accepted (too large, timed out, topic gone).
        """
        builder = self._open.get(partition)
        if builder is None:
            builder = self._open[partition] = self._new_batch()
        if builder.append(timestamp=timestamp_ms, key=key, value=value, headers=headers) is None:
            self._send(partition)
            builder = self._open[partition] = self._new_batch()
            builder.append(timestamp=timestamp_ms, key=key, value=value, headers=headers)  # an empty batch takes any record

    def _new_batch(self) -> BatchBuilder:
        assert self._producer is not None
        return self._producer.create_batch()

    def _send(self, partition: int) -> None:
        builder = self._open.pop(partition)
        if not builder.record_count():
            return
        if not self._room.acquire(timeout=self._timeout * 2):
            raise KafkaTimeoutError(f"no batch to {self.topic} acknowledged in {self._timeout * 2:.0f} s")
        self._raise_error()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (builder, partition))

    async def _send_in_order(self) -> None:
        assert self._producer is not None
        while True:
            builder, partition = await self._queue.get()
            count = builder.record_count()
            try:
                ack = await self._producer.send_batch(builder, self.topic, partition=partition)
            except Exception as exc:  # noqa: BLE001 - handed to the appending thread, raised there
                self._error = self._error or exc
                self._room.release()
            else:
                self._acks.add(ack)
                ack.add_done_callback(lambda done, count=count: self._acked(done, count))
            finally:
                self._queue.task_done()

    def _acked(self, ack: asyncio.Future[Any], count: int) -> None:
        self._acks.discard(ack)
        if ack.cancelled() or ack.exception() is not None:
            self._error = self._error or ack.exception() or KafkaError("batch cancelled")
        else:
            meta = ack.result()  # a batch's metadata carries its first record's offset
            self.acked_ends[meta.partition] = max(self.acked_ends.get(meta.partition, 0), meta.offset + count)
        self._room.release()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        """Send every open batch and wait until Kafka acknowledged every record appended so far.

        Raises:
            KafkaError: a batch was not accepted (too large, timed out, topic gone).
        """
        for partition in list(self._open):
            self._send(partition)
        self._call(self._drain())
        self._raise_error()

    async def _drain(self) -> None:
        await self._queue.join()
        await asyncio.gather(*self._acks, return_exceptions=True)

    def close(self) -> None:
        """Stop the producer (unsent batches are dropped: call ``flush`` first) and its loop thread."""
        try:
            if self._producer is not None and self._loop.is_running():
                if hasattr(self, "_sender"):
                    self._sender.cancel()
                self._call(self._producer.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=self._timeout)
            if not self._thread.is_alive():
                self._loop.close()


async def _started(kafka: KafkaClientConfig, client_id: str, max_batch_bytes: int, max_request_bytes: int, timeout_seconds: float) -> AIOKafkaProducer:
    # aiokafka binds a producer to the loop it is created on: create it on the private loop.
    producer = AIOKafkaProducer(**kafka.aiokafka(), acks="all", max_batch_size=max_batch_bytes, max_request_size=max_request_bytes,
                                request_timeout_ms=int(timeout_seconds * 1000), client_id=client_id)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


async def _queue() -> asyncio.Queue[tuple[BatchBuilder, int]]:
    return asyncio.Queue()

