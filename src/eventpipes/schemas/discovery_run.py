"""Discovery over a real bus: read its topic, infer (``discovery.py``), optionally register."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from eventpipes.schemas.codec import BusDecoder, is_avro
from eventpipes.events.errors import InvalidEvent
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.topics import bus_topic
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.discovery import DiscoveredSchema, discover
from eventpipes.schemas.registry.errors import RegistryError
from eventpipes.settings import get_settings


def bus_events(bus: str, *, timeout_seconds: float) -> Iterator[dict[str, Any]]:
    """The envelopes on a bus now, JSON or Avro (records that are not events are skipped)."""
    settings = get_settings()
    start = StartAt("beginning")
    decoder = BusDecoder()
    for record in read_topic(client_config(settings), bus_topic(bus), start, timeout_seconds=timeout_seconds, stop_at_end=True):
        if is_avro(record):
            try:
                yield decoder.decode(record).to_dict()
            except InvalidEvent:
                pass
            continue
        try:
            event = json.loads(record.value or b"")
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def discover_bus(bus: str, *, register: bool = False, registry_url: str | None = None, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """``{"Schemas": [...]}`` in EventBridge's words, registered when asked.

    A schema the registry refuses (e.g. a type change breaking BACKWARD) gets an ``Error``
    entry instead of a version; the others are still registered.

    Raises:
        BrokerUnavailable, TopicError: the bus cannot be read.
        RegistryUnavailable: ``register`` and the registry does not answer.
    """
    found = discover(bus_events(bus, timeout_seconds=timeout_seconds))
    if not register:
        return {"Schemas": [_entry(s) for s in found]}
    with RegistryClient(registry_url) as client:
        return {"Schemas": [_registered(client, s) for s in found]}


def _entry(schema: DiscoveredSchema) -> dict[str, Any]:
    return {
        "SchemaName": schema.subject,
        "Source": schema.source,
        "DetailType": schema.detail_type,
        "EventCount": schema.event_count,
        "JSONSchemaDraft4": schema.json_schema,
        "Avro": schema.avro,
    }


def _registered(client: RegistryClient, schema: DiscoveredSchema) -> dict[str, Any]:
    entry = _entry(schema)
    text = json.dumps(schema.avro)
    try:
        entry["SchemaId"] = client.register(schema.subject, text)
        entry["SchemaVersion"] = client.lookup(schema.subject, text).version
    except RegistryError as exc:
        entry["Error"] = {"ErrorCode": exc.error_code, "Message": exc.message}
    return entry
