"""A Kafka record in the shape EventBridge Pipes gives self-managed Kafka records.

``topic``, ``partition``, ``offset``, ``timestamp`` (ms), ``timestampType``, ``key`` and
``value`` in base64 (each left out when the record has none, as EventBridge does),
``headers`` as a list of one-key objects whose value is the header's bytes as a list of
numbers, plus ``eventSource``, ``bootstrapServers``, ``eventSourceKey`` (``<topic>-<partition>``)
and eventpipes' ``eventID``.

For filtering and templates the ``value`` is decoded (:func:`decoded_view`), as EventBridge
does: JSON is parsed; a UTF-8 string that is not JSON stays a string (a pattern such as
``{"value": [{"prefix": "err"}]}`` applies to it); a value that is not UTF-8 matches no
pattern that names ``value``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from eventpipes.pipes.sources import stable_event_id
from eventpipes.records import Record

EVENT_SOURCE = "SelfManagedKafka"
TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}


def kafka_event(record: Record, *, bootstrap_servers: str, timestamp_type: int = 0) -> dict[str, Any]:
    """The record as a pipe sees it."""
    event: dict[str, Any] = {
        "eventSource": EVENT_SOURCE,
        "bootstrapServers": bootstrap_servers,
        "eventSourceKey": f"{record.topic}-{record.partition}",
        "eventID": stable_event_id(record.topic, record.partition, record.offset),
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp_ms,
        "timestampType": TIMESTAMP_TYPES.get(timestamp_type, "CREATE_TIME"),
    }
    if record.key is not None:
        event["key"] = base64.b64encode(record.key).decode()
    if record.value is not None:
        event["value"] = base64.b64encode(record.value).decode()
    event["headers"] = [{name: list(value or b"")} for name, value in record.headers]
    return event


_UNDECODABLE = object()


def decode_payload(data: bytes) -> Any:
    """JSON when the bytes are JSON, the text when they are UTF-8, else a marker that matches nothing."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _UNDECODABLE
    try:
        return json.loads(text)
    except ValueError:
        return text


def decoded_view(event: dict[str, Any]) -> dict[str, Any]:
    """The event with ``value`` decoded from base64 and parsed (see the module docstring).

    A value that is not UTF-8 is removed, so a pattern naming ``value`` cannot match it.
    """
    encoded = event.get("value")
    if not isinstance(encoded, str):
        return event
    try:
        decoded = decode_payload(base64.b64decode(encoded, validate=True))
    except ValueError:
        return event
    view = dict(event)
    if decoded is _UNDECODABLE:
        del view["value"]
    else:
        view["value"] = decoded
    return view
