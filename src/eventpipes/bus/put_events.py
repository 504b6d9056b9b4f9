"""PutEvents onto bus topics: check each entry, write the good ones, report each outcome.

A bad entry fails alone with EventBridge's code; the good ones in the same call are
still written. An entry counts as put only once Kafka acknowledged it (acks=all). An
entry for a bus that does not exist (its topic does not, ``bus.existing``) fails with
``ResourceNotFoundException``: PutEvents never creates a bus.

A call as a whole lasts at most ``EVENTPIPES_KAFKA_TIMEOUT`` (plus at most one second of a
blocked send): every step takes what remains of that budget, and an entry Kafka has not
acknowledged by then fails with ``InternalFailure``. A call that met a Kafka failure drops
its producer, so a long-lived client starts afresh on the next call: kafka-python's
producer was seen stuck for minutes after a broker restart while a new one worked at once.

On a schema-governed bus (``eventpipes.bus.governed``) each entry's detail is also checked
against its subject's schema; one that does not fit fails alone with ``InvalidArgument``
naming the fields, and the others are written as Confluent-framed Avro (``schemas.codec``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from eventpipes.kafka.client_config import client_config
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
from eventpipes.bus.existing import KnownBuses
from eventpipes.events.errors import EntryError, EventBusNotFound, InternalFailure
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.producer import MAX_BLOCK_SECONDS, delivery_timeout_seconds, make_producer
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings, get_settings


#: A governed entry's bus record: Avro value and headers (``eventpipes.schemas.codec``).
_Encoded = tuple[bytes, list[tuple[str, bytes]]]


class EventBusClient:
    """PutEvents against the configured cluster; reuses its connections across calls."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._admin = Admin(client_config(self.settings), timeout_seconds=self.settings.kafka_timeout_seconds)
        self._producer: KafkaProducer | None = None
        # Which buses exist (their topics do): entries for any other fail, and no topic is made.
        self._buses = KnownBuses(self._admin, partitions=self.settings.bus_partitions)
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
        deadline = time.monotonic() + self.settings.kafka_timeout_seconds
        check_entry_list(list(entries) if isinstance(entries, tuple) else entries)
        default_bus = bus_name_of(bus)
        now = datetime.now(timezone.utc)
        outcomes: list[PreparedEntry | EntryError] = [self._prepare(entry, default_bus, now) for entry in entries]
        outcomes = self._existing(outcomes)
        encoded: dict[int, _Encoded] = {}
        outcomes = [self._govern(index, outcome, encoded, deadline) for index, outcome in enumerate(outcomes)]
        return PutEventsResult(tuple(self._send_all(outcomes, encoded, deadline)))

    def _existing(self, outcomes: list[PreparedEntry | EntryError]) -> list[PreparedEntry | EntryError]:
        """Each entry for a bus that does not exist failed (``ResourceNotFoundException``); no topic is created."""
        missing = self._buses.missing({o.bus for o in outcomes if isinstance(o, PreparedEntry)})
        return [EventBusNotFound(o.bus) if isinstance(o, PreparedEntry) and o.bus in missing else o for o in outcomes]

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

    def _govern(self, index: int, outcome: PreparedEntry | EntryError, encoded: dict[int, _Encoded],
                deadline: float) -> PreparedEntry | EntryError:
        """On a schema-governed bus: the entry's detail checked and encoded, or the entry's error."""
        if isinstance(outcome, EntryError):
            return outcome
        governance = self._governance.get(outcome.bus, timeout_seconds=deadline - time.monotonic())
        if governance is None:
            return outcome
        try:
            record = self._encoder.encode(outcome.bus, governance, outcome.event)
        except EntryError as error:
            return error
        if record is not None:
            encoded[index] = record
        return outcome

    def _send_all(self, outcomes: list[PreparedEntry | EntryError], encoded: dict[int, _Encoded],
                  deadline: float) -> list[PutEventsResultEntry]:
        producer = self._get_producer(deadline)
        pending: list[Any] = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, EntryError):
                pending.append(outcome)
            elif pending and any(isinstance(p, InternalFailure) for p in pending):
                pending.append(InternalFailure("Kafka did not accept the event: not sent, Kafka failed an earlier entry of the call"))
            else:
                pending.append(self._send(producer, outcome, encoded.get(index), deadline))
        try:
            producer.flush(timeout=max(deadline - time.monotonic(), 0.0))
        except KafkaError:
            pass  # each entry's own future below says whether it was acknowledged
        results = []
        for outcome, sent in zip(outcomes, pending):
            if isinstance(sent, EntryError):
                results.append(PutEventsResultEntry.failed(sent))
            else:
                assert isinstance(outcome, PreparedEntry)
                results.append(self._acknowledged(sent, outcome, deadline))
        if any(r.error_code == InternalFailure.code for r in results):
            self._drop_producer()
        return results

    def _send(self, producer: KafkaProducer, prepared: PreparedEntry, encoded: _Encoded | None, deadline: float) -> Any:
        value, headers = encoded if encoded is not None else (prepared.event.to_json(), [(CONTENT_TYPE, CONTENT_TYPE_JSON)])
        headers = list(headers)
        if prepared.trace_header is not None:
            headers.append((TRACE_HEADER, prepared.trace_header.encode()))
        while True:  # a send blocks at most MAX_BLOCK_SECONDS for metadata; try again while the call has time
            try:
                return producer.send(bus_topic(prepared.bus), key=prepared.event.id.encode(), value=value, headers=headers)
            except KafkaTimeoutError as exc:
                if time.monotonic() >= deadline:
                    return _internal_failure(exc)
            except KafkaError as exc:
                return _internal_failure(exc)

    def _acknowledged(self, future: Any, prepared: PreparedEntry, deadline: float) -> PutEventsResultEntry:
        try:
            future.get(timeout=max(deadline - time.monotonic(), 0.001))
        except KafkaError as exc:
            return PutEventsResultEntry.failed(_internal_failure(exc))
        return PutEventsResultEntry(event_id=prepared.event.id)

    def _get_producer(self, deadline: float) -> KafkaProducer:
        """The client's producer, made now if the last call dropped it (within what remains of the call).

        Raises:
            BrokerUnavailable: no broker answered in time; no entry was put.
        """
        if self._producer is None:
            timeout = self.settings.kafka_timeout_seconds
            self._producer = make_producer(client_config(self.settings), timeout_seconds=timeout,
                                           bootstrap_seconds=deadline - time.monotonic(),
                                           max_block_seconds=min(MAX_BLOCK_SECONDS, timeout))
        return self._producer

    def _drop_producer(self) -> None:
        """Start afresh on the next call; the old producer closes in the background (closing can block)."""
        old, self._producer = self._producer, None
        if old is not None:
            # kafka-python's close() first flushes, and raises if the flush times out (leaving the
            # sender thread running): give it the records' delivery timeout, by which each is settled.
            grace = delivery_timeout_seconds(self.settings.kafka_timeout_seconds) + 1
            threading.Thread(target=_close_quietly, args=(old, grace), name="eventpipes-producer-close", daemon=True).start()

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


def _close_quietly(producer: KafkaProducer, grace: float) -> None:
    """Close a dropped producer away from the caller; what it still held was already reported failed."""
    try:
        producer.close(timeout=grace)
    except KafkaError:
        pass


def _internal_failure(exc: Exception) -> InternalFailure:
    return InternalFailure(f"Kafka did not accept the event: {exc!r}")


def put_events(entries: Sequence[Any], *, bus: str = DEFAULT_BUS, settings: Settings | None = None) -> PutEventsResult:
    """PutEvents in one call, with a client opened and closed around it."""
    with EventBusClient(settings) as client:
        return client.put_events(entries, bus=bus)


class AsyncPutEvents:
    """PutEvents as the targets family calls it (``eventpipes.targets.base.PutEvents``): a pipe's bus target.

    One client, opened on first use and shared by every call; each call runs in a worker
    thread (the client is kafka-python's, synchronous). Returns, per entry, None when put,
    else ``"<ErrorCode>: <ErrorMessage>"``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: EventBusClient | None = None

    async def __call__(self, entries: list[dict[str, Any]], bus: str) -> list[str | None]:
        if self._client is None:
            self._client = EventBusClient(self._settings)
        result = await asyncio.to_thread(self._client.put_events, entries, bus=bus)
        return [f"{e['ErrorCode']}: {e.get('ErrorMessage', '')}" if "ErrorCode" in e else None
                for e in result.to_dict()["Entries"]]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
