"""Producing Avro records to any topic, with the schema registered under the right subject.

The schema is registered (or only looked up) the first time a topic is produced to, so the
registry's compatibility level is enforced before any record is written: an incompatible
schema raises ``IncompatibleSchema`` (409, with the reasons) and nothing is produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.producer import make_producer
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.compat import CompatibilityLevel
from eventpipes.schemas.naming import SubjectNameStrategy, topic_name_strategy
from eventpipes.schemas.serde import AvroSerializer
from eventpipes.settings import get_settings


class AvroProducer:
    """Produces values of one Avro schema, in Confluent's wire format.

    Args:
        schema: the writer schema (JSON text or value).
        registry: registry client (default: ``SCHEMA_REGISTRY_URL``).
        kafka: Kafka client configuration (default: the configured one); ignored with ``producer``.
        subject_strategy: topic -> subject; Confluent's TopicNameStrategy by default.
        compatibility: if given, set as the subject's own level before registering.
        auto_register: register the schema; with ``False`` it must be registered already.
        producer: a kafka-python producer to reuse (not closed by :meth:`close`).
    """

    def __init__(
        self,
        schema: str | Mapping[str, Any],
        *,
        registry: RegistryClient | None = None,
        kafka: KafkaClientConfig | None = None,
        subject_strategy: SubjectNameStrategy = topic_name_strategy,
        compatibility: CompatibilityLevel | None = None,
        auto_register: bool = True,
        producer: KafkaProducer | None = None,
    ) -> None:
        self.registry = registry or RegistryClient()
        self._owns_registry = registry is None
        self.serializer = AvroSerializer(self.registry, schema, subject_strategy=subject_strategy, auto_register=auto_register)
        self._compatibility = compatibility
        self._configured: set[str] = set()
        self._owns_producer = producer is None
        self._producer = producer or make_producer(kafka or client_config(get_settings()))

    def register(self, topic: str) -> int:
        """Register (or look up) the schema for ``topic`` now and return its id.

        Raises:
            IncompatibleSchema: the subject's compatibility level refuses the schema.
        """
        subject = self.serializer.subject(topic)
        if self._compatibility is not None and subject not in self._configured:
            self.registry.set_compatibility(self._compatibility.value, subject)
            self._configured.add(subject)
        return self.serializer.schema_id(topic)

    def produce(
        self, topic: str, value: Any, *, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> FutureRecordMetadata:
        """Send one value; the returned future resolves once Kafka acknowledged it.

        Raises:
            IncompatibleSchema: on the first value for ``topic``, if the schema is refused.
            SerializationFailed: the value does not fit the schema.
        """
        self.register(topic)
        data = self.serializer.serialize(value, topic)
        return self._producer.send(topic, value=data, key=key, headers=list(headers))

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        if self._owns_producer:
            self._producer.close(timeout=5)
        if self._owns_registry:
            self.registry.close()

    def __enter__(self) -> "AvroProducer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
