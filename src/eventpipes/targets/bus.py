"""Event bus targets: a rule forwards the matched event to another bus; a pipe puts its payloads as events.

A rule's event keeps its identity (EventBridge's cross-bus routing). Loop protection: each
hop appends the bus it leaves to the ``eventpipes-path`` header; an event that would enter
a bus it already passed through, or that has made ``MAX_HOPS`` hops, is refused as
non-retryable (and so dead-lettered), where it would otherwise circle between buses for ever.

A pipe's payload becomes the ``Detail`` of a new event through PutEvents (so a governed bus
checks it), ``Source`` ``Pipe <pipe>`` and ``DetailType`` ``Event from <source>`` unless
``EventBridgeEventBusParameters`` say otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from eventpipes.errors import ConfigurationError
from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, PATH_HEADER, TRACE_HEADER
from eventpipes.kafka.topics import bus_topic
from eventpipes.records import OutRecord
from eventpipes.retry import DlqErrorCode
from eventpipes.targets.base import Item, PutEvents, TargetContext, TargetFailed, TargetSpec

#: EventBridge allows a chain of buses; five hops is far past any sane topology.
MAX_HOPS = 5

#: PutEvents takes at most 10 entries per call.
PUT_EVENTS_MAX = 10


class BusTarget:
    """Writes to bus ``destination``."""

    def __init__(self, spec: TargetSpec, context: TargetContext) -> None:
        self._bus = spec.destination
        self._context = context
        self._source_bus = context.source_bus or ""
        params = spec.bus_parameters
        self._detail_type = (params.detail_type if params else None) or f"Event from {spec.source_label}"
        self._source = (params.source if params else None) or f"Pipe {spec.name}"
        self._forward = spec.origin == "rule"
        if not self._forward and context.put_events is None:
            raise ConfigurationError(f"pipe {spec.name}: an EventBus target needs PutEvents, and this runner was given none")

    async def write(self, items: Sequence[Item]) -> list[TargetFailed | None]:
        if self._forward:
            return await self._forward_events(items)
        assert self._context.put_events is not None  # checked when made
        return await self._put(items, self._context.put_events)

    async def _forward_events(self, items: Sequence[Item]) -> list[TargetFailed | None]:
        """Loops refused one by one; the rest in one produce (all failed if it fails)."""
        outcomes: list[TargetFailed | None] = [None] * len(items)
        out: list[tuple[int, OutRecord]] = []
        for n, item in enumerate(items):
            path = [p for p in _path(item.headers) + [self._source_bus] if p]
            if self._bus in path or len(path) > MAX_HOPS:
                outcomes[n] = TargetFailed(
                    f"event {item.event.get('id')} would loop: it already passed through {' -> '.join(path)}",
                    code=DlqErrorCode.INVALID_PARAMETER, retryable=False,
                )
                continue
            headers = [(CONTENT_TYPE, CONTENT_TYPE_JSON), (PATH_HEADER, ",".join(path).encode())]
            headers += [(k, v) for k, v in item.headers if k == TRACE_HEADER]
            out.append((n, OutRecord(bus_topic(self._bus), item.event_id, item.payload, headers)))
        try:
            await self._context.sink.send_all([record for _, record in out])
        except Exception as exc:
            for n, _ in out:
                failure = TargetFailed(f"could not put the event on bus {self._bus!r}: {exc!r}", code=DlqErrorCode.INTERNAL_ERROR)
                failure.__cause__ = exc
                outcomes[n] = failure
        return outcomes

    async def _put(self, items: Sequence[Item], put_events: PutEvents) -> list[TargetFailed | None]:
        """Each payload (a JSON object) as the detail of a new event, 10 entries per PutEvents call."""
        if any(not isinstance(item.value, dict) for item in items):  # the whole batch is refused, none of it put
            refused = TargetFailed("a bus target needs each payload to be a JSON object (the event's detail)",
                                   code=DlqErrorCode.INVALID_JSON, retryable=False)
            return [refused] * len(items)
        outcomes: list[TargetFailed | None] = [None] * len(items)
        for start in range(0, len(items), PUT_EVENTS_MAX):
            chunk = range(start, min(start + PUT_EVENTS_MAX, len(items)))
            entries = [{"Source": self._source, "DetailType": self._detail_type, "Detail": json.dumps(items[n].value)}
                       for n in chunk]
            for n, error in zip(chunk, await put_events(entries, self._bus)):
                if error is not None:
                    outcomes[n] = TargetFailed(f"PutEvents on bus {self._bus} failed: {error}", code=DlqErrorCode.ERROR_FROM_TARGET)
        return outcomes

    async def close(self) -> None:
        return None


def _path(headers: tuple[tuple[str, bytes], ...]) -> list[str]:
    for key, value in headers:
        if key == PATH_HEADER:
            return value.decode(errors="replace").split(",")
    return []
