"""PutEvents onto bus topics: check each entry, write the good ones, report each outcome.

A bad entry fails alone with EventBridge's code; the good ones in the same call are
still written. An entry counts as put only once Kafka acknowledged it (acks=all).

On a schema-governed bus (``eventpipes.bus.governed``) each entry's detail is also checked
against its subject's schema; one that does not fit fails alone with ``InvalidArgument``
naming the fields, and the others are written as Confluent-framed Avro (``schemas.codec``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, TRACE_HEADER
from eventpipes.events.entries import (
    DEFAULT_BUS,
    PreparedEntry,
    PutEventsResult,
    PutEventsResultEntry,
    bus_name_of,
    check_entry_list,
    prepare_entry,
)
from eventpipes.bus.governed import DetailEncoder, GovernanceView
from eventpipes.events.errors import EntryError, InternalFailure
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.producer import delivery_timeout_seconds, make_producer
from eventpipes.kafka.topics import bus_topic, bus_topic_spec
from eventpipes.settings import Settings, get_settings


#: A governed entry's bus record: Avro value and headers (``eventpipes.schemas.codec``).
_Encoded = tuple[bytes, list[tuple[str, bytes]]]


class EventBusClient:
    """PutEvents against the configured cluster; reuses its connections across calls."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._admin = Admin(self.settings.bootstrap_servers, timeout_seconds=self.settings.kafka_timeout_seconds)
        self._producer: KafkaProducer | None = None
        self._delivery_timeout = delivery_timeout_seconds(self.settings.kafka_timeout_seconds)
        # Schema-governed buses (eventpipes.bus.governed): which buses are governed, read from
        # the eventpipes.buses topic; their details checked and Avro-encoded per entry.
        self._governance = GovernanceView(self.settings)
        self._encoder = DetailEncoder(self.settings.schema_registry_url)

    def put_events(self, entries: Sequence[Any], *, bus: str = DEFAULT_BUS) -> PutEventsResult:
        """Put 1 to 10 entries in the AWS shape (``Source``, ``DetailType``, ``Detail``, ...).

        Args:
            entries: PutEvents entries; an entry's ``EventBusName`` overrides ``bus``.
            bus: the bus for entries that name none.

        Returns:
            One result per entry, in order: an ``EventId``, or ``ErrorCode``/``ErrorMessage``.

        Raises:
            ValidationException: the request as a whole is invalid (not 1..10 entries).
            BrokerUnavailable: Kafka did not answer; no entry was put.
        """
        check_entry_list(list(entries) if isinstance(entries, tuple) else entries)
        default_bus = bus_name_of(bus)
        now = datetime.now(timezone.utc)
        outcomes: list[PreparedEntry | EntryError] = [self._prepare(entry, default_bus, now) for entry in entries]
        for name in sorted({o.bus for o in outcomes if isinstance(o, PreparedEntry)}):
            self._admin.ensure_topic(bus_topic_spec(name, self.settings.bus_partitions))
        encoded: dict[int, _Encoded] = {}
        outcomes = [self._govern(index, outcome, encoded) for index, outcome in enumerate(outcomes)]
        return PutEventsResult(tuple(self._send_all(outcomes, encoded)))

    def _prepare(self, entry: Any, default_bus: str, now: datetime) -> PreparedEntry | EntryError:
        try:
            return prepare_entry(
                entry,
                default_bus=default_bus,
                account=self.settings.account,
                region=self.settings.region,
                max_entry_bytes=self.settings.max_entry_bytes,
                now=now,
            )
        except EntryError as error:
            return error

    def _govern(self, index: int, outcome: PreparedEntry | EntryError, encoded: dict[int, _Encoded]) -> PreparedEntry | EntryError:
        """On a schema-governed bus: the entry's detail checked and encoded, or the entry's error."""
        if isinstance(outcome, EntryError):
            return outcome
        governance = self._governance.get(outcome.bus)
        if governance is None:
            return outcome
        try:
            record = self._encoder.encode(outcome.bus, governance, outcome.event)
        except EntryError as error:
            return error
        if record is not None:
            encoded[index] = record
        return outcome

    def _send_all(self, outcomes: list[PreparedEntry | EntryError], encoded: dict[int, _Encoded]) -> list[PutEventsResultEntry]:
        producer = self._get_producer()
        pending = [self._send(producer, o, encoded.get(i)) if isinstance(o, PreparedEntry) else o for i, o in enumerate(outcomes)]
        try:
            producer.flush(timeout=self._delivery_timeout)
        except KafkaError:
            pass  # each entry's own future below says whether it was acknowledged
        results = []
        for outcome, sent in zip(outcomes, pending):
            if isinstance(sent, EntryError):
                results.append(PutEventsResultEntry.failed(sent))
            else:
                assert isinstance(outcome, PreparedEntry)
                results.append(self._acknowledged(sent, outcome))
        return results

    def _send(self, producer: KafkaProducer, prepared: PreparedEntry, encoded: _Encoded | None) -> Any:
        value, headers = encoded if encoded is not None else (prepared.event.to_json(), [(CONTENT_TYPE, CONTENT_TYPE_JSON)])
        headers = list(headers)
        if prepared.trace_header is not None:
            headers.append((TRACE_HEADER, prepared.trace_header.encode()))
        try:
            return producer.send(
                bus_topic(prepared.bus),
                key=prepared.event.id.encode(),
                value=value,
                headers=headers,
            )
        except KafkaError as exc:
            return _internal_failure(exc)

    def _acknowledged(self, future: Any, prepared: PreparedEntry) -> PutEventsResultEntry:
        try:
            future.get(timeout=self._delivery_timeout)
        except KafkaError as exc:
            return PutEventsResultEntry.failed(_internal_failure(exc))
        return PutEventsResultEntry(event_id=prepared.event.id)

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self.settings.bootstrap_servers, timeout_seconds=self.settings.kafka_timeout_seconds)
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
        self._encoder.close()
        self._admin.close()

    def __enter__(self) -> "EventBusClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _internal_failure(exc: Exception) -> InternalFailure:
    return InternalFailure(f"Kafka did not accept the event: {exc!r}")


def put_events(entries: Sequence[Any], *, bus: str = DEFAULT_BUS, settings: Settings | None = None) -> PutEventsResult:
    """PutEvents in one call, with a client opened and closed around it."""
    with EventBusClient(settings) as client:
        return client.put_events(entries, bus=bus)
