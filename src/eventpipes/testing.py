"""Test helpers shared by eventpipes' own tests and by users testing their topologies.

A ``KafkaCluster`` is either the cluster named by ``KAFKA_BOOTSTRAP_SERVERS`` or the
local broker, started through the same code as ``eventpipes broker start``; the
helpers (``producer``, ``admin``, ``create_topic``, ``seed_topic``, ``read``) are the
same either way. Names come from ``unique_name`` so tests never share data.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kafka import KafkaProducer

from eventpipes.broker import process
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import TopicSpec
from eventpipes.records import Record
from eventpipes.settings import Settings

T = TypeVar("T")


def unique_name(prefix: str = "t") -> str:
    """A name no other test uses: ``prefix`` plus 10 random hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Raises:
        TimeoutError: ``timeout`` seconds passed first; the message names ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


@dataclass
class KafkaCluster:
    """A reachable Kafka cluster and helpers to use it."""

    settings: Settings
    started_here: bool = False
    admin: Admin = field(init=False)
    _producer: KafkaProducer | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.admin = Admin(self.bootstrap)

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap_servers

    def producer(self) -> KafkaProducer:
        """A shared producer (acks=all)."""
        if self._producer is None:
            self._producer = make_producer(self.bootstrap)
        return self._producer

    def create_topic(self, name: str | None = None, *, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        """Create a topic (a unique name unless given) and return its name."""
        topic = name or unique_name("topic")
        self.admin.ensure_topic(TopicSpec(topic, partitions, config or {}))
        return topic

    def seed_topic(self, topic: str, values: Iterable[Any], *, key: Callable[[Any], bytes | None] | None = None) -> None:
        """Produce ``values`` (JSON-encoded unless bytes) and wait until all are acknowledged."""
        producer = self.producer()
        futures = []
        for value in values:
            data = value if isinstance(value, bytes) else json.dumps(value).encode()
            futures.append(producer.send(topic, value=data, key=key(value) if key else None))
        producer.flush()
        for future in futures:
            future.get(timeout=30)

    def read(self, topic: str, count: int, *, timeout: float = 30.0, start: StartAt | None = None) -> list[Record]:
        """Read up to ``count`` records from the beginning (or ``start``), waiting at most ``timeout`` s."""
        return list(read_topic(self.bootstrap, topic, start or StartAt("beginning"), max_records=count, timeout_seconds=timeout))

    def read_all(self, topic: str, *, timeout: float = 30.0) -> list[Record]:
        """Every record the topic holds now (whatever was acknowledged before the call)."""
        return list(read_topic(self.bootstrap, topic, StartAt("beginning"), timeout_seconds=timeout, stop_at_end=True))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
        self.admin.close()


def connect(settings: Settings) -> KafkaCluster:
    """The external cluster if ``KAFKA_BOOTSTRAP_SERVERS`` is set, else the local broker (started if needed)."""
    if settings.kafka_bootstrap_servers:
        return KafkaCluster(settings)
    already = process.status(settings).running
    process.start(settings)
    return KafkaCluster(settings, started_here=not already)
