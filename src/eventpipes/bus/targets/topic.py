"""Kafka topic targets: the transformed event becomes a record of the target topic."""

from __future__ import annotations

import json

from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, RULE_HEADER, TRACE_HEADER
from eventpipes.bus.targets.base import Delivery, DeliveryFailed
from eventpipes.records import OutRecord, RecordSink
from eventpipes.retry import DlqErrorCode
from eventpipes.transform import MISSING, parse_path


class TopicTarget:
    """Writes each payload to ``topic``, keyed by ``PartitionKeyPath`` (or by event id)."""

    def __init__(self, sink: RecordSink, topic: str, partition_key_path: str | None = None) -> None:
        self._sink = sink
        self._topic = topic
        self._key_path = parse_path(partition_key_path, field="PartitionKeyPath") if partition_key_path else None

    async def deliver(self, delivery: Delivery) -> None:
        failure = (await self.deliver_all([delivery]))[0]
        if failure is not None:
            raise failure

    async def deliver_all(self, deliveries: list[Delivery]) -> list[DeliveryFailed | None]:
        """All in one produce; if it fails, every delivery failed (each is then retried alone)."""
        try:
            await self._sink.send_all([OutRecord(self._topic, self._key(d), d.payload, _passed_on(d)) for d in deliveries])
        except Exception as exc:  # the producer's own errors: a broker away, a timeout
            failure = DeliveryFailed(f"could not write to topic {self._topic!r}: {exc!r}", code=DlqErrorCode.INTERNAL_ERROR)
            failure.__cause__ = exc
            return [failure] * len(deliveries)
        return [None] * len(deliveries)

    def _key(self, delivery: Delivery) -> bytes:
        if self._key_path is None:
            return delivery.event_id
        value = self._key_path.find(delivery.event)
        if value is MISSING or value is None:
            return delivery.event_id
        return (value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))).encode()

    async def close(self) -> None:
        return None


def _passed_on(delivery: Delivery) -> list[tuple[str, bytes]]:
    headers = [(CONTENT_TYPE, CONTENT_TYPE_JSON), (RULE_HEADER, delivery.rule.encode())]
    headers += [(k, v) for k, v in delivery.headers if k == TRACE_HEADER]
    return headers
