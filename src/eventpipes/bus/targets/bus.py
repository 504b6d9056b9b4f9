"""Event bus targets: the event is put on another bus, as EventBridge's cross-bus routing does.

Loop protection: each hop appends the bus it leaves to the ``eventpipes-path``
header; an event that would enter a bus it already passed through, or that has
made ``MAX_HOPS`` hops, is refused as non-retryable (and so dead-lettered), where
it would otherwise circle between buses for ever.
"""

from __future__ import annotations

from eventpipes.bus.targets.base import Delivery, DeliveryFailed
from eventpipes.records import OutRecord, RecordSink
from eventpipes.retry import DlqErrorCode
from eventpipes.kafka.topics import bus_topic

PATH_HEADER = "eventpipes-path"

#: EventBridge allows a chain of buses; five hops is far past any sane topology.
MAX_HOPS = 5


class BusTarget:
    """Writes the event, unchanged in identity, to bus ``bus``."""

    def __init__(self, sink: RecordSink, source_bus: str, bus: str) -> None:
        self._sink = sink
        self._source_bus = source_bus
        self._bus = bus

    async def deliver(self, delivery: Delivery) -> None:
        path = [p for p in _path(delivery.headers) + [self._source_bus] if p]
        if self._bus in path or len(path) > MAX_HOPS:
            raise DeliveryFailed(
                f"event {delivery.event.get('id')} would loop: it already passed through {' -> '.join(path)}",
                code=DlqErrorCode.INVALID_PARAMETER,
                retryable=False,
            )
        headers = [("content-type", b"application/json"), (PATH_HEADER, ",".join(path).encode())]
        headers += [(k, v) for k, v in delivery.headers if k == "trace-header"]
        try:
            await self._sink.send_all([OutRecord(bus_topic(self._bus), str(delivery.event.get("id", "")).encode(), delivery.payload, headers)])
        except Exception as exc:
            raise DeliveryFailed(f"could not put the event on bus {self._bus!r}: {exc!r}", code=DlqErrorCode.INTERNAL_ERROR) from exc

    async def close(self) -> None:
        return None


def _path(headers: tuple[tuple[str, bytes], ...]) -> list[str]:
    for key, value in headers:
        if key == PATH_HEADER:
            return value.decode(errors="replace").split(",")
    return []
