"""Topic administration against the configured cluster (kafka-python's admin client)."""

from __future__ import annotations

import threading
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError, UnknownTopicOrPartitionError

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.diagnose import unavailable
from eventpipes.kafka.errors import BrokerUnavailable, TopicError
from eventpipes.kafka.topics import TopicSpec

#: Creating a topic on a single node takes ~100 ms here; a busy cluster gets room.
CREATE_TIMEOUT_MS = 30_000


def cluster_answers(kafka: KafkaClientConfig, *, timeout_seconds: float) -> bool:
    """True when a broker at ``kafka.bootstrap`` answers a metadata request now."""
    try:
        admin = KafkaAdminClient(
            **kafka.kafka_python(),
            request_timeout_ms=int(timeout_seconds * 1000),
            bootstrap_timeout_ms=int(timeout_seconds * 1000),
            client_id="eventpipes-probe",
        )
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


class Admin:
    """One admin connection, reused, with the topics known to exist remembered."""

    def __init__(self, kafka: KafkaClientConfig, *, timeout_seconds: float = 10.0) -> None:
        self.kafka = kafka
        self.bootstrap = kafka.bootstrap
        self._timeout_ms = int(timeout_seconds * 1000)
        self._client: KafkaAdminClient | None = None
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def _admin(self) -> KafkaAdminClient:
        if self._client is None:
            try:
                self._client = KafkaAdminClient(
                    **self.kafka.kafka_python(),
                    request_timeout_ms=self._timeout_ms,
                    bootstrap_timeout_ms=self._timeout_ms,
                    client_id="eventpipes-admin",
                )
            except (KafkaError, OSError) as exc:
                raise unavailable(self.kafka, exc) from exc
        return self._client

    def ensure_topic(self, spec: TopicSpec) -> None:
        """Create the topic unless it exists; an existing topic is left as it is.

        Raises:
            BrokerUnavailable: the cluster did not answer.
            TopicError: the cluster refused to create it.
        """
        with self._lock:
            if spec.name in self._known:
                return
            admin = self._admin()
            request = {spec.name: {"num_partitions": spec.partitions, "replication_factor": -1, "configs": spec.config}}
            try:
                admin.create_topics(request, timeout_ms=CREATE_TIMEOUT_MS, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:
                if _is_unreachable(exc):
                    raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
                raise TopicError(f"cannot create topic {spec.name!r}: {exc}") from exc
            self._known.add(spec.name)

    def topic_exists(self, name: str) -> bool:
        try:
            return name in self._admin().list_topics()
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc

    def existing_topics(self, names: list[str]) -> set[str]:
        """Those of ``names`` that exist, in one metadata request for just them.

        kafka-python's admin asks with ``allow_auto_topic_creation=False``, so on a broker
        with ``auto.create.topics.enable=true`` asking does not create a missing topic
        (``list_topics`` would ask for all topics, costly on a large cluster).

        Raises:
            BrokerUnavailable: the cluster did not answer.
        """
        if not names:
            return set()
        try:
            described: list[dict[str, Any]] = self._admin().describe_topics(names)
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        return {t["name"] for t in described if t.get("name") in names and not t.get("error_code")}

    def partitions_of(self, name: str) -> list[int]:
        """Partition ids of a topic (empty when the topic does not exist)."""
        try:
            described: list[dict[str, Any]] = self._admin().describe_topics([name])
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        for topic in described:
            if topic.get("name") == name and not topic.get("error_code"):
                return sorted(p["partition_index"] for p in topic.get("partitions", []))
        return []

    def topics(self) -> set[str]:
        """Every topic name in the cluster."""
        try:
            return set(self._admin().list_topics())
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc

    def delete_topics(self, names: list[str], *, chunk: int = 200) -> None:
        """Delete topics, a chunk per request (a request naming thousands can time out).

        A topic already gone counts as deleted: a bus's topic, say, goes with DeleteEventBus,
        and whoever cleans up after it must not fail on it.
        """
        with self._lock:
            self._known.difference_update(names)
            for start in range(0, len(names), chunk):
                part = names[start:start + chunk]
                try:
                    self._admin().delete_topics(part, timeout_ms=CREATE_TIMEOUT_MS)
                except UnknownTopicOrPartitionError:  # one of them was gone: the others, one by one
                    for name in part:
                        self._delete_one(name)

    def delete_topic(self, name: str) -> None:
        """Delete one topic; one already gone counts as deleted."""
        with self._lock:
            self._known.discard(name)
            self._delete_one(name)

    def _delete_one(self, name: str) -> None:
        try:
            self._admin().delete_topics([name], timeout_ms=CREATE_TIMEOUT_MS)
        except UnknownTopicOrPartitionError:
            pass

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "Admin":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_unreachable(exc: KafkaError) -> bool:
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError

    return isinstance(exc, (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError))
