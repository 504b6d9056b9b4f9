"""Committed offsets of consumer groups: reading them, and giving a new group its starting point."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from eventpipes.kafka.errors import BrokerUnavailable


def commit_end_offsets_if_new(bootstrap: str, group: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Commit the current end offset for every partition of ``topics`` that ``group`` has no offset for.

    Returns what was committed. Partitions the group already has offsets for keep them.
    """
    if not topics:
        return {}
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, client_id="eventpipes-offsets")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(bootstrap, repr(exc)) from exc
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        committed = {tp: consumer.committed(tp) for tp in partitions}
        missing = [tp for tp, offset in committed.items() if offset is None]
        if not missing:
            return {}
        ends = consumer.end_offsets(missing)
        consumer.assign(missing)
        consumer.commit({tp: OffsetAndMetadata(ends[tp], "", -1) for tp in missing})
        return {tp: ends[tp] for tp in missing}
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition of ``topic`` (None where it has none)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, client_id="eventpipes-offsets")
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in sorted(consumer.partitions_for_topic(topic) or ())}
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset (next offset to be written) of each partition of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="eventpipes-offsets")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
