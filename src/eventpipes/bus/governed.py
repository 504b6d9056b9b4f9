"""Schema-governed buses at the edge: where their governance is kept, and how PutEvents
checks and encodes a governed entry.

Where: ``eventpipes run`` (``app.prepare``) writes each declared bus's ``SchemaGovernance``
to the compacted one-partition topic ``eventpipes.buses`` (key: the bus name; a declared bus
without governance gets a tombstone), so ``EventBusClient`` and ``eventpipes put-events`` know
a bus is governed without the topology. ``GovernanceView`` reads that table and keeps it
for ``TTL_SECONDS``.

How: ``DetailEncoder.encode`` finds the subject of the entry's ``(source, detail-type)``,
fetches its schema (latest, or the pinned version) from the registry at
``SCHEMA_REGISTRY_URL``, checks the detail field by field (``schemas.avro_json``) and returns
the value and headers of the bus record (see ``schemas.codec``), or raises the entry's error.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import fastavro
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_AVRO, ENVELOPE_HEADER
from eventpipes.schemas.codec import envelope_header
from eventpipes.events.envelope import Event
from eventpipes.events.errors import InternalFailure
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import BUSES_TOPIC, state_topic_spec
from eventpipes.schemas import wire
from eventpipes.schemas.avro_json import to_datum
from eventpipes.schemas.client import RegisteredSchema, RegistryClient
from eventpipes.schemas.errors import RegistryUnavailable
from eventpipes.schemas.governance import DetailDoesNotFitSchema, NoSchemaForEventType, SchemaGovernance
from eventpipes.schemas.registry.errors import RegistryError, SchemaNotFound, SubjectNotFound, VersionNotFound
from eventpipes.schemas.serde import parse_schema
from eventpipes.settings import Settings

#: How long PutEvents trusts what it read of ``eventpipes.buses`` and of a subject's latest
#: version: a bus governed (or a schema version registered) while a client runs is seen
#: within this time, without reading Kafka or the registry on every call.
TTL_SECONDS = 30.0


def publish_governance(settings: Settings, buses: dict[str, SchemaGovernance | None]) -> None:
    """Write each bus's governance (``None``: a tombstone, the bus is not governed).

    Raises:
        BrokerUnavailable: Kafka did not answer.
    """
    with Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds) as admin:
        admin.ensure_topic(state_topic_spec(BUSES_TOPIC))
    producer = make_producer(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds)
    try:
        futures = [producer.send(BUSES_TOPIC, key=name.encode(), value=g.to_json() if g else None) for name, g in sorted(buses.items())]
        producer.flush(timeout=settings.kafka_timeout_seconds)
        for future in futures:
            future.get(timeout=settings.kafka_timeout_seconds)
    except KafkaError as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, repr(exc)) from exc
    finally:
        producer.close(timeout=5)


def read_governance(settings: Settings, *, timeout_seconds: float | None = None) -> dict[str, SchemaGovernance]:
    """The governed buses, as ``eventpipes.buses`` holds them now (empty if the topic is missing).

    Raises:
        BrokerUnavailable: Kafka did not answer within ``timeout_seconds`` (default: the settings').
    """
    table: dict[str, SchemaGovernance] = {}
    timeout = settings.kafka_timeout_seconds if timeout_seconds is None else max(timeout_seconds, 0.001)
    try:
        timeout_ms = int(timeout * 1000)
        consumer = KafkaConsumer(**client_config(settings).kafka_python(), group_id=None, enable_auto_commit=False,
                                 client_id="eventpipes-buses-reader", bootstrap_timeout_ms=timeout_ms,
                                 request_timeout_ms=max(timeout_ms, 1000))
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(settings.bootstrap_servers, repr(exc)) from exc
    try:
        if not consumer.partitions_for_topic(BUSES_TOPIC):
            return table
        tp = TopicPartition(BUSES_TOPIC, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + timeout
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    name = r.key.decode() if r.key is not None else ""
                    if r.value is None:
                        table.pop(name, None)
                    else:
                        table[name] = SchemaGovernance.from_json(r.value)
    finally:
        consumer.close()
    return table


class GovernanceView:
    """The governed buses, read from Kafka at most once per ``TTL_SECONDS``."""

    def __init__(self, settings: Settings, *, ttl_seconds: float = TTL_SECONDS) -> None:
        self.settings = settings
        self._ttl = ttl_seconds
        self._table: dict[str, SchemaGovernance] = {}
        self._read_at: float | None = None
        self._refreshing = threading.Lock()

    def get(self, bus: str, *, timeout_seconds: float | None = None) -> SchemaGovernance | None:
        """The bus's governance, or ``None`` when it is not governed.

        A refresh that finds Kafka away keeps what was read before (and tries again after
        another TTL): a long-lived client goes on with the last known governance rather
        than failing every call of an outage on it.

        Raises:
            BrokerUnavailable: Kafka did not answer and nothing was ever read.
        """
        if self._read_at is None or time.monotonic() - self._read_at > self._ttl:
            with self._refreshing:  # threads sharing a client read the table once, not once each
                if self._read_at is None or time.monotonic() - self._read_at > self._ttl:
                    try:
                        self._table = read_governance(self.settings, timeout_seconds=timeout_seconds)
                    except BrokerUnavailable:
                        if self._read_at is None:
                            raise
                    self._read_at = time.monotonic()
        return self._table.get(bus)


@dataclass(frozen=True, slots=True)
class _Schema:
    registered: RegisteredSchema
    parsed: Any
    header: bytes
    fetched_at: float


class Versions(Protocol):
    """What the encoder needs of a registry client (``client.RegistryClient`` has it)."""

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema: ...

    def close(self) -> None: ...


class DetailEncoder:
    """Checks and encodes governed entries' details; schemas cached (latest ones for ``TTL_SECONDS``).

    Args:
        registry_url: the registry (``SCHEMA_REGISTRY_URL`` by default); connected on first use.
        registry: a client to use instead (tests).
    """

    def __init__(self, registry_url: str | None = None, *, registry: Versions | None = None, ttl_seconds: float = TTL_SECONDS) -> None:
        self._url = registry_url
        self._client: Versions | None = registry
        self._ttl = ttl_seconds
        self._schemas: dict[tuple[str, int | None], _Schema] = {}
        self._lock = threading.Lock()

    def encode(self, bus: str, governance: SchemaGovernance, event: Event) -> tuple[bytes, list[tuple[str, bytes]]] | None:
        """The bus record's value and headers for a governed event (``None``: store it as JSON).

        Raises:
            DetailDoesNotFitSchema: the detail does not fit (every field named).
            NoSchemaForEventType: no schema for the event type and ``OnMissingSubject: REJECT``.
            InternalFailure: the registry did not answer (retryable).
        """
        subject, version = governance.subject_for(bus, event.source, event.detail_type)
        schema = self._schema(subject, version)
        if schema is None:
            if governance.on_missing_subject == "ALLOW_JSON":
                return None
            raise NoSchemaForEventType(bus, subject, version)
        datum, problems = to_datum(schema.parsed, event.detail)
        if problems:
            raise DetailDoesNotFitSchema(subject, schema.registered.version, problems)
        out = io.BytesIO()
        out.write(schema.header)
        try:
            fastavro.schemaless_writer(out, schema.parsed, datum)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise DetailDoesNotFitSchema(subject, schema.registered.version, [f"detail: {exc}"]) from exc
        headers = [(CONTENT_TYPE, CONTENT_TYPE_AVRO), (ENVELOPE_HEADER, envelope_header(event))]
        return out.getvalue(), headers

    def _schema(self, subject: str, version: int | None) -> _Schema | None:
        key = (subject, version)
        with self._lock:
            cached = self._schemas.get(key)
        if cached is not None and (version is not None or time.monotonic() - cached.fetched_at < self._ttl):
            return cached
        try:
            registered = self._registry().version(subject, version if version is not None else "latest")
        except (SubjectNotFound, VersionNotFound, SchemaNotFound):
            return None  # not cached: a schema registered next is seen by the next call
        except (RegistryUnavailable, RegistryError) as exc:
            raise InternalFailure(f"the schema registry did not answer for subject {subject!r}: {exc.message}") from exc
        schema = _Schema(registered, parse_schema(registered.schema), wire.header(registered.schema_id), time.monotonic())
        with self._lock:
            self._schemas[key] = schema
        return schema

    def _registry(self) -> Versions:
        if self._client is None:
            self._client = RegistryClient(self._url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


__all__ = ["DetailEncoder", "GovernanceView", "publish_governance", "read_governance"]
