"""The worker's producer: what the router, the targets and dead-lettering write through."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from eventpipes.records import OutRecord


class WorkerSink:
    """The worker's own aiokafka producer (acks=all); ``send_all`` returns once every record is acknowledged.

    Rejected alternative: Faust's ``Topic.send``. Its per-record path (sensors, futures,
    callbacks) cost ~200 µs a record here, capping the router at ~3,000 events/s.
    """

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    acks="all",
                    linger_ms=2,
                    max_request_size=4 * 1024 * 1024,
                    client_id="eventpipes-worker",
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def warm_up(self, topics: list[str]) -> None:
        """Fetch metadata for every topic the worker writes to, in one request.

        Without it the first record to each topic waits for its own metadata request:
        with 100 targets, the first batch took seconds.
        """
        producer = await self._get()
        await producer.client.set_topics(topics)

    async def send_all(self, records: list[OutRecord]) -> None:
        # Buffer all first (in order), then wait for all acknowledgements: one round trip per batch.
        producer = await self._get()
        pending = [
            await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers), timestamp_ms=r.timestamp_ms, partition=r.partition)
            for r in records
        ]
        await asyncio.gather(*pending)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
