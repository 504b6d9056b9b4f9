"""PutEvents onto bus topics: check each entry, write the good ones, report each outcome.

A bad entry fails alone with EventBridge's code; the good ones in the same call are
still written. An entry counts as put only once Kafka acknowledged it (acks=all). An
entry for a bus that does not exist (its topic does not, ``bus.existing``) fails with
``ResourceNotFoundException``: PutEvents never creates a bus.

A call as a whole lasts at most ``EVENTPIPES_KAFKA_TIMEOUT`` (plus at most one second of a
blocked send): every step takes what remains of that budget, and an entry Kafka has not
acknowledged by then fails with ``InternalFailure``. A call that met a Kafka failure drops
its producer, so a long-lived client starts afresh on the next call (kafka-python's
producer, used before, was seen stuck for minutes after a broker restart while a new one
worked at once); calls still waiting on the dropped one get their own outcomes from it.

Threads may share a client: the entries of calls made at the same time are written together,
in one batch per partition (``kafka.shared_producer``), and each call still waits for, and
reports, its own entries alone. A lone caller's entries are sent at once, without lingering.

On a schema-governed bus (``eventpipes.bus.governed``) each entry's detail is also checked
against its subject's schema; one that does not fit fails alone with ``InvalidArgument``
naming the fields, and the others are written as Confluent-framed Avro (``schemas.codec``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import Any

from aiokafka.errors import KafkaTimeoutError

from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, TRACE_HEADER
from eventpipes.events.entries import (
    DEFAULT_BUS,
    PreparedEntry,
    PutEventsResult,
    PutEventsResultEntry,
    bus_name_of,
    check_entry_list,
    new_event_ids,
    prepare_entry,
)
from eventpipes.bus.governed import DetailEncoder, GovernanceView
from eventpipes.bus.existing import KnownBuses
from eventpipes.events.errors import EntryError, EventBusNotFound, InternalFailure
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.producer import delivery_timeout_seconds
from eventpipes.kafka.shared_producer import Outgoing, SharedProducer
from eventpipes.kafka.topics import BUS_MAX_MESSAGE_BYTES, bus_topic
from eventpipes.settings import Settings, get_settings


#: A governed entry's bus record: Avro value and headers (``eventpipes.schemas.codec``).
_Encoded = tuple[bytes, list[tuple[str, bytes]]]

_JSON_HEADERS = [(CONTENT_TYPE, CONTENT_TYPE_JSON)]


class EventBusClient:
    """PutEvents against the configured cluster; reuses its connections across calls."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._admin = Admin(client_config(self.settings), timeout_seconds=self.settings.kafka_timeout_seconds)
        self._producer: SharedProducer | None = None
        self._producer_lock = threading.Lock()
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
        ids = new_event_ids(len(entries))
        outcomes: list[PreparedEntry | EntryError] = [self._prepare(entry, default_bus, now, event_id) for entry, event_id in zip(entries, ids)]
        outcomes = self._existing(outcomes)
        encoded: dict[int, _Encoded] = {}
        outcomes = [self._govern(index, outcome, encoded, deadline) for index, outcome in enumerate(outcomes)]
        return PutEventsResult(tuple(self._send_all(outcomes, encoded, deadline)))

    def _existing(self, outcomes: list[PreparedEntry | EntryError]) -> list[PreparedEntry | EntryError]:
        """Each entry for a bus that does not exist failed (``ResourceNotFoundException``); no topic is created."""
        missing = self._buses.missing({o.bus for o in outcomes if isinstance(o, PreparedEntry)})
        return [EventBusNotFound(o.bus) if isinstance(o, PreparedEntry) and o.bus in missing else o for o in outcomes]

    def _prepare(self, entry: Any, default_bus: str, now: datetime, event_id: str) -> PreparedEntry | EntryError:
        try:
            return prepare_entry(
                entry,
                default_bus=default_bus,
                account=self.settings.account,
                region=self.settings.region,
                max_entry_bytes=self.settings.max_entry_bytes,
                now=now,
                event_id=event_id,
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
        """Hand the call's good entries to the shared producer and wait, until the deadline, for their acknowledgements."""
        to_send = [(index, o) for index, o in enumerate(outcomes) if isinstance(o, PreparedEntry)]
        sent: list[BaseException | None] = []
        if to_send:
            producer = self._get_producer(deadline)
            future = producer.submit([_outgoing(prepared, encoded.get(index)) for index, prepared in to_send])
            try:
                sent = future.result(timeout=max(deadline - time.monotonic(), 0.001))
            except FutureTimeout:
                # Cancelled before its round took it: never sent. Otherwise it may still be put
                # (and be reported failed: InternalFailure is retryable, PutEvents is at-least-once).
                late = "not sent" if future.cancel() else "not acknowledged"
                sent = [KafkaTimeoutError(f"{late} within EVENTPIPES_KAFKA_TIMEOUT")] * len(to_send)
            if any(error is not None for error in sent):
                self._drop_producer(producer)
        errors = dict(zip((index for index, _ in to_send), sent))
        results = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, EntryError):
                results.append(PutEventsResultEntry.failed(outcome))
            elif (error := errors[index]) is not None:
                results.append(PutEventsResultEntry.failed(_internal_failure(error)))
            else:
                results.append(PutEventsResultEntry(event_id=outcome.event.id))
        return results

    def _get_producer(self, deadline: float) -> SharedProducer:
        """The client's producer, made now if none is open (within what remains of the call).

        Raises:
            BrokerUnavailable: no broker answered in time; no entry was put.
        """
        with self._producer_lock:
            if self._producer is None:
                self._producer = SharedProducer(client_config(self.settings), client_id="eventpipes-producer",
                                                request_timeout_seconds=self.settings.kafka_timeout_seconds,
                                                start_seconds=max(deadline - time.monotonic(), 0.001),
                                                max_request_bytes=BUS_MAX_MESSAGE_BYTES)
            return self._producer

    def _drop_producer(self, producer: SharedProducer) -> None:
        """Start afresh on the next call; the old producer closes in the background (closing can block).

        The calls sharing it that are still waiting get their own outcomes from it.
        """
        with self._producer_lock:
            if self._producer is not producer:
                return  # another call dropped it already
            self._producer = None
        grace = delivery_timeout_seconds(self.settings.kafka_timeout_seconds) + 1
        threading.Thread(target=producer.close, args=(grace,), name="eventpipes-producer-close", daemon=True).start()

    def close(self) -> None:
        with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)
        self._encoder.close()
        self._admin.close()

    def __enter__(self) -> "EventBusClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _outgoing(prepared: PreparedEntry, encoded: _Encoded | None) -> Outgoing:
    """The bus record of an entry: its envelope as JSON, or a governed bus's Avro value and headers."""
    value, headers = encoded if encoded is not None else (prepared.to_json(), _JSON_HEADERS)
    if prepared.trace_header is not None:
        headers = [*headers, (TRACE_HEADER, prepared.trace_header.encode())]
    return Outgoing(bus_topic(prepared.bus), prepared.event.id.encode(), value, tuple(headers))


def _internal_failure(exc: BaseException) -> InternalFailure:
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
