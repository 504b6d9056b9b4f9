"""Bus records in both of their forms, and the one function that reads either as an ``Event``.

A bus record is either

- JSON (the default): the whole envelope as UTF-8 JSON, header ``content-type: application/json``;
- Avro (schema-governed buses): the value is the ``detail`` alone, in Confluent's wire format
  (magic byte 0, the 4-byte schema id, the Avro body), so any Confluent ``AvroDeserializer``
  reads the detail; the rest of the envelope is JSON in the ``eventpipes-envelope`` header, and
  ``content-type`` is ``application/vnd.eventpipes.avro``.

``BusDecoder.decode`` reads both. The router, ``eventpipes tail``, ``schemas discover`` and pipes
(``as_json_record``) read bus records through it; the router writes the decoded event as JSON to delivery topics, so
targets, archives and replays only ever see JSON envelopes. A record that cannot be decoded
(bad magic byte, truncated, unknown schema id, no envelope header) raises ``InvalidEvent``
naming the topic, partition and offset, which the router sets aside on
``eventpipes.invalid.<bus>``; a registry that does not answer raises ``RegistryUnavailable``
(retryable: the worker stops without committing rather than set good events aside).

It lives with the schemas rather than in ``bus``: the bus writes and routes these records,
but pipes and ``schemas discover`` read them too, and bus, pipes and archive never import
each other (import-linter's independence contract); what they share sits below them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_AVRO, CONTENT_TYPE_JSON, ENVELOPE_HEADER
from eventpipes.events import jsonread
from eventpipes.events.envelope import REQUIRED_FIELDS, Event
from eventpipes.events.errors import InvalidEvent
from eventpipes.records import Record
from eventpipes.schemas.avro_json import from_datum
from eventpipes.schemas.errors import UndecodableRecord
from eventpipes.schemas.serde import AvroDeserializer, SchemaRegistry



def envelope_header(event: Event) -> bytes:
    """The ``eventpipes-envelope`` header of an event stored as Avro."""
    body = event.to_dict()
    del body["detail"]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def is_avro(record: Record) -> bool:
    """Whether a bus record holds its detail as Avro (by its ``content-type`` header)."""
    return has_avro_header(record.headers)


def has_avro_header(headers: Sequence[tuple[str, bytes]]) -> bool:
    """Whether these record headers mark an Avro detail (``content-type``)."""
    for key, value in headers:  # a loop, not any(genexpr): the router asks this of every bus record
        if key == CONTENT_TYPE and value == CONTENT_TYPE_AVRO:
            return True
    return False


class BusDecoder:
    """Reads bus records as events; connects to the registry only when an Avro record comes.

    Args:
        registry: a registry client; by default one for ``registry_url`` (``SCHEMA_REGISTRY_URL``
            when not given), made on the first Avro record. Writer schemas are cached by id (an id's schema never changes),
            so the registry is asked once per schema, not per record.
    """

    def __init__(self, registry: SchemaRegistry | None = None, *, registry_url: str | None = None) -> None:
        self._registry = registry
        self._url = registry_url
        self._deserializer: AvroDeserializer | None = None
        self._lock = threading.Lock()

    def _avro(self) -> AvroDeserializer:
        with self._lock:
            if self._deserializer is None:
                if self._registry is None:
                    from eventpipes.schemas.client import RegistryClient

                    self._registry = RegistryClient(self._url)
                self._deserializer = AvroDeserializer(self._registry)
            return self._deserializer

    def decode(self, record: Record) -> Event:
        """The event a bus record holds.

        Raises:
            InvalidEvent: not an event (its message names where the record is).
            RegistryUnavailable: an Avro record and the registry did not answer.
        """
        if not is_avro(record):
            return Event.from_json(record.value or b"")
        envelope = _envelope(record)
        avro = self._avro()
        try:
            datum = avro.deserialize_record(record)
        except UndecodableRecord as error:
            raise InvalidEvent(error.message, field="detail") from error
        schema_id = _schema_id(record)
        detail = from_datum(avro.writer_schema(schema_id), datum) if schema_id is not None else datum
        return Event.from_dict({**envelope, "detail": detail})

    def envelope(self, record: Record) -> tuple[dict[str, Any], bytes]:
        """The record's event as an envelope dict (EventBridge's fields only) and as JSON bytes.

        For a JSON record this is the parsed value itself and the value as stored, without
        building an ``Event``: the router's per-event path.

        Raises:
            InvalidEvent: not an event.
            RegistryUnavailable: an Avro record and the registry did not answer.
        """
        if not is_avro(record):
            value = record.value or b""
            try:
                body = jsonread.loads(value)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidEvent(f"event is not valid JSON: {exc}") from exc
            Event.check(body)
            if len(body) == len(REQUIRED_FIELDS) + ("replay-name" in body):
                return body, value
            return Event.from_dict(body).to_dict(), value  # fields EventBridge does not have are not matched on
        event = self.decode(record)
        return event.to_dict(), event.to_json()

    def to_json(self, record: Record) -> bytes:
        """The record's event as the JSON envelope (a JSON record's value as it is)."""
        if not is_avro(record):
            return record.value or b""
        return self.decode(record).to_json()


def as_json_record(record: Record, decoder: BusDecoder) -> Record:
    """A governed bus record as a JSON one (value: the envelope; ``content-type: application/json``),
    for readers of bus topics that expect JSON (pipes); any other record as it is, and an Avro
    record that cannot be decoded as it is too (its reader deals with it as with any bad value).

    Raises:
        RegistryUnavailable: the registry did not answer.
    """
    if not is_avro(record):
        return record
    try:
        value = decoder.decode(record).to_json()
    except InvalidEvent:
        return record
    headers = tuple((k, v) for k, v in record.headers if k not in (CONTENT_TYPE, ENVELOPE_HEADER))
    return replace(record, value=value, headers=((CONTENT_TYPE, CONTENT_TYPE_JSON), *headers))


def _envelope(record: Record) -> dict[str, Any]:
    for key, value in record.headers:
        if key == ENVELOPE_HEADER:
            try:
                body = json.loads(value)
            except ValueError as exc:
                raise InvalidEvent(f"cannot decode {record.where}: header {ENVELOPE_HEADER} is not JSON ({exc})") from exc
            if not isinstance(body, dict):
                raise InvalidEvent(f"cannot decode {record.where}: header {ENVELOPE_HEADER} is not a JSON object")
            return body
    raise InvalidEvent(f"cannot decode {record.where}: an Avro bus record without the {ENVELOPE_HEADER} header")


def _schema_id(record: Record) -> int | None:
    value = record.value or b""
    return int.from_bytes(value[1:5], "big") if len(value) >= 5 else None
