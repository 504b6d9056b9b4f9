"""Producers for eventpipes' own writes (PutEvents, helpers); Faust agents use their own."""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.errors import KafkaError

from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES

#: send() blocks at most this long for metadata or buffer space before failing the entry.
MAX_BLOCK_MS = 10_000

#: A record not acknowledged within this fails its entry (InternalFailure, retryable).
DELIVERY_TIMEOUT_MS = 30_000


def make_producer(bootstrap: str, *, timeout_seconds: float = 10.0) -> KafkaProducer:
    """A producer that waits for every in-sync replica (acks=all): an accepted event is durable.

    Raises:
        BrokerUnavailable: no broker answered.
    """
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=5,
            max_request_size=BUS_MAX_MESSAGE_BYTES,
            max_block_ms=MAX_BLOCK_MS,
            request_timeout_ms=DELIVERY_TIMEOUT_MS // 2,
            delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
            client_id="eventpipes-producer",
            bootstrap_timeout_ms=int(timeout_seconds * 1000),
        )
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(bootstrap, repr(exc)) from exc
