"""Kafka topic targets: each payload becomes one record of the topic.

Keys: a rule's record is keyed by ``PartitionKeyPath`` into the event (as Kinesis
targets are), or by its ``MessageGroupId`` (as SQS FIFO queues group messages: one key,
one partition, one order), else by the event id; a pipe's by its source record's key, so a key keeps
its partition from source to target. A rule's records carry ``content-type``, the rule's
name and the trace header; a pipe's carry none (its payload may be plain text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from eventpipes.kafka.headers import CONTENT_TYPE, CONTENT_TYPE_JSON, RULE_HEADER, TRACE_HEADER
from eventpipes.records import OutRecord
from eventpipes.retry import DlqErrorCode
from eventpipes.targets.base import Item, TargetContext, TargetFailed, TargetSpec
from eventpipes.transform import MISSING, parse_path


class TopicTarget:
    """Writes each item to one topic; one produce for the whole batch."""

    def __init__(self, spec: TargetSpec, context: TargetContext) -> None:
        self._sink = context.sink
        self._topic = spec.destination
        self._rule = spec.name.encode() if spec.origin == "rule" else None
        self._rule_headers = [(CONTENT_TYPE, CONTENT_TYPE_JSON), (RULE_HEADER, self._rule)] if self._rule is not None else []
        path = spec.partition_key_path
        self._key_path = parse_path(path, field="PartitionKeyPath") if path else None
        self._group = spec.message_group_id.encode() if spec.message_group_id else None
        if spec.origin == "pipe" and context.ensure_topic is not None:
            context.ensure_topic(self._topic)

    async def write(self, items: Sequence[Item]) -> list[TargetFailed | None]:
        """All in one produce; if it fails, every item failed."""
        try:
            await self._sink.send_all([OutRecord(self._topic, self._key(i), i.payload, self._headers(i)) for i in items])
        except Exception as exc:  # the producer's own errors: a broker away, a timeout
            failure = TargetFailed(f"could not write to topic {self._topic!r}: {exc!r}", code=DlqErrorCode.INTERNAL_ERROR)
            failure.__cause__ = exc
            return [failure] * len(items)
        return [None] * len(items)

    def _key(self, item: Item) -> bytes | None:
        if self._rule is None:
            return item.key
        if self._group is not None:
            return self._group
        if self._key_path is None:
            return item.event_id
        value = self._key_path.find(item.event)
        if value is MISSING or value is None:
            return item.event_id
        return (value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))).encode()

    def _headers(self, item: Item) -> list[tuple[str, bytes]]:
        if self._rule is None:
            return []
        headers = self._rule_headers.copy()
        for header in item.headers:
            if header[0] == TRACE_HEADER:
                headers.append(header)
        return headers

    async def close(self) -> None:
        return None
