"""Every Kafka client the control plane uses, made here and nowhere else.

One small place, so that when clients take a configuration object (TLS, SASL, a properties
file) rather than a bootstrap string, this is the module that changes.
"""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.producer import make_producer
from eventpipes.settings import Settings

#: A fetch waits at most this long for new records; the broker answers sooner when any arrive,
#: so a change is seen within milliseconds and an idle follower costs one request per 100 ms.
FETCH_MAX_WAIT_MS = 100


def producer(settings: Settings) -> KafkaProducer:
    """acks=all: a request the store accepted survives the loss of a broker."""
    return make_producer(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds)


def consumer(settings: Settings) -> KafkaConsumer:
    """A group-less consumer: every reader reads the whole log itself."""
    timeout_ms = int(settings.kafka_timeout_seconds * 1000)
    try:
        return KafkaConsumer(
            **client_config(settings).kafka_python(),
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            request_timeout_ms=max(timeout_ms, 2 * FETCH_MAX_WAIT_MS + 1000),
            client_id="eventpipes-control",
        )
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, repr(exc)) from exc


def admin(settings: Settings) -> Admin:
    return Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds)
