"""kafka-python producers for the synchronous writes (PutEvents, control-plane stores, helpers).

The asyncio worker (``kafka.sink``) and the pipe runner produce through aiokafka producers
of their own instead.
"""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.errors import KafkaError

from eventpipes.kafka import autocreate
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.diagnose import unavailable
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES

#: Records wait this long to be batched together; PutEvents sends up to 10 at once.
LINGER_MS = 5

#: Longest a ``send()`` blocks for metadata before it raises: short, so that a caller with a
#: deadline (PutEvents) can try again while time remains instead of being held a whole timeout.
MAX_BLOCK_SECONDS = 1.0


def delivery_timeout_seconds(timeout_seconds: float) -> float:
    """How long a record may take to be acknowledged before its entry fails (InternalFailure).

    Two request timeouts: one retry on a slow or restarting broker, then give up.
    """
    return 2 * timeout_seconds + LINGER_MS / 1000


def make_producer(kafka: KafkaClientConfig, *, timeout_seconds: float = 10.0, bootstrap_seconds: float | None = None,
                  max_block_seconds: float | None = None) -> KafkaProducer:
    """A producer that waits for every in-sync replica (acks=all): an accepted event is durable.

    Args:
        kafka: the cluster and how to connect to it (TLS, SASL).
        timeout_seconds: how long one request may take, and by default the first connection
            and a blocked ``send()`` (no metadata, full buffer).
        bootstrap_seconds: how long the first connection may take, if not ``timeout_seconds``.
        max_block_seconds: how long a ``send()`` may block, if not ``timeout_seconds``.

    Raises:
        BrokerUnavailable: no broker answered.
        ClientSecurityError: a broker answered but refused the security settings (eventpipes.kafka.diagnose).
    """
    try:
        producer = KafkaProducer(
            **kafka.kafka_python(),
            acks="all",
            linger_ms=LINGER_MS,
            max_request_size=BUS_MAX_MESSAGE_BYTES,
            max_block_ms=int((max_block_seconds if max_block_seconds is not None else timeout_seconds) * 1000),
            request_timeout_ms=int(timeout_seconds * 1000),
            delivery_timeout_ms=int(delivery_timeout_seconds(timeout_seconds) * 1000),
            client_id="eventpipes-producer",
            # Its metadata requests must not create a topic on a broker with auto.create.topics.enable=true:
            # eventpipes creates every topic it writes (a bus only by CreateEventBus or a topology file),
            # and a record for a topic deleted meanwhile (DeleteEventBus) fails rather than re-making it.
            allow_auto_create_topics=False,
            bootstrap_timeout_ms=max(1, int((bootstrap_seconds if bootstrap_seconds is not None else timeout_seconds) * 1000)),
        )
    except (KafkaError, OSError) as exc:
        raise unavailable(kafka, exc) from exc
    autocreate.refuse(producer._metadata)  # kafka-python 3.0 does not pass the setting on (kafka.autocreate)
    return producer
