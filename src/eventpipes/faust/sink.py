"""Between Faust and eventpipes' router: Faust events as ``Record``s, and Faust's producer as a ``RecordSink``.

Only Faust's public API is used: ``Event.message`` (the record as read, raw key and value) and
``app.producer.send``, which returns the acknowledgement future without waiting for it.

Batched produce, the public way: ``send`` hands each record to aiokafka's accumulator, which
packs records of one partition into one produce batch per partition (up to the app's
``producer_max_batch_size``) and sends one request per broker; ``send_all`` then awaits every
acknowledgement at once. eventpipes' own worker builds those batches itself
(``AIOKafkaProducer.create_batch``/``send_batch``, ``eventpipes.kafka.sink``); Faust keeps its
aiokafka producer in a private attribute (``Producer._producer``), so that route is not taken here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from eventpipes.records import OutRecord, Record


def record_of(event: Any) -> Record:
    """The bus record a Faust event was read from, as eventpipes' router reads it.

    Faust gives the record timestamp in seconds (a float of aiokafka's milliseconds);
    rounding gives back the milliseconds exactly, so the ingestion-time header the
    router writes is the one eventpipes' worker writes for the same record.
    """
    message = event.message
    return Record(message.topic, message.partition, message.offset, round(message.timestamp * 1000),
                  message.key, message.value, _headers(message.headers))


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    if not headers:
        return ()
    kind = type(headers)
    items = headers if kind is list or kind is tuple else headers.items() if isinstance(headers, Mapping) else headers
    out = tuple(items)
    for _, value in out:
        if type(value) is not bytes:  # a null header value, or a view: rare, so only then rebuilt
            return tuple((key, value if type(value) is bytes else bytes(value or b"")) for key, value in out)
    return out


class FaustSink:
    """A ``RecordSink`` over a Faust app's producer: returns once Kafka acknowledged every record.

    Records are handed to the producer in the order given, one caller after another (aiokafka
    keeps one batch in flight per partition, so a partition's records land in that order), then
    their acknowledgements are awaited together, outside the lock, so batches overlap there.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        # Batches in flight enter the producer one call after another, so a partition's records
        # keep the order of the calls (``send`` may wait for room in the producer's buffer).
        self._enqueuing = asyncio.Lock()

    async def send_all(self, records: Iterable[OutRecord]) -> None:
        producer = self._app.producer
        async with self._enqueuing:
            pending = [
                await producer.send(r.topic, r.key, r.value, r.partition,
                                    None if r.timestamp_ms is None else r.timestamp_ms / 1000, r.headers)
                for r in records
            ]
        await asyncio.gather(*pending)
