"""Event bus targets: the event is put on another bus, as EventBridge's cross-bus routing does.

Loop protection: each hop appends the bus it leaves to the ``eventpipes-path``
header; an event that would enter a bus it already passed through, or that has
made ``MAX_HOPS`` hops, is refused as non-retryable (and so dead-lettered), where
it would otherwise circle between buses for ever.
"""

from __future__ import annotations

from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, PATH_HEADER, TRACE_HEADER
from eventpipes.bus.targets.base import Delivery, DeliveryFailed
from eventpipes.records import OutRecord, RecordSink
from eventpipes.retry import DlqErrorCode
from eventpipes.kafka.topics import bus_topic


#: EventBridge allows a chain of buses; five hops is far past any sane topology.
MAX_HOPS = 5


class BusTarget:
    """Writes the event, unchanged in identity, to bus ``bus``."""

    def __init__(self, sink: RecordSink, source_bus: str, bus: str) -> None:
        self._sink = sink
        self._source_bus = source_bus
        self._bus = bus

    async def deliver(self, delivery: Delivery) -> None:
        failure = (await self.deliver_all([delivery]))[0]
        if failure is not None:
            raise failure

    async def deliver_all(self, deliveries: list[Delivery]) -> list[DeliveryFailed | None]:
        """Loops refused one by one; the rest in one produce (all failed if it fails)."""
        outcomes: list[DeliveryFailed | None] = [None] * len(deliveries)
        out: list[tuple[int, OutRecord]] = []
        for n, delivery in enumerate(deliveries):
            path = [p for p in _path(delivery.headers) + [self._source_bus] if p]
            if self._bus in path or len(path) > MAX_HOPS:
                outcomes[n] = DeliveryFailed(
                    f"event {delivery.event.get('id')} would loop: it already passed through {' -> '.join(path)}",
                    code=DlqErrorCode.INVALID_PARAMETER,
                    retryable=False,
                )
                continue
            headers = [(CONTENT_TYPE, CONTENT_TYPE_JSON), (PATH_HEADER, ",".join(path).encode())]
            headers += [(k, v) for k, v in delivery.headers if k == TRACE_HEADER]
            out.append((n, OutRecord(bus_topic(self._bus), delivery.event_id, delivery.payload, headers)))
        try:
            await self._sink.send_all([record for _, record in out])
        except Exception as exc:
            for n, _ in out:
                outcomes[n] = DeliveryFailed(f"could not put the event on bus {self._bus!r}: {exc!r}", code=DlqErrorCode.INTERNAL_ERROR)
                outcomes[n].__cause__ = exc  # type: ignore[union-attr]
        return outcomes

    async def close(self) -> None:
        return None


def _path(headers: tuple[tuple[str, bytes], ...]) -> list[str]:
    for key, value in headers:
        if key == PATH_HEADER:
            return value.decode(errors="replace").split(",")
    return []
