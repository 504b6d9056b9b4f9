"""Committed offsets of consumer groups: reading them, and giving a new group its starting point."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.errors import BrokerUnavailable


def commit_end_offsets_if_new(kafka: KafkaClientConfig, group: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Commit the current end offset for every partition of ``topics`` that ``group`` has no offset for.

    Returns what was committed. Partitions the group already has offsets for keep them.
    """
    if not topics:
        return {}
    try:
        consumer = KafkaConsumer(**kafka.kafka_python(), group_id=group, enable_auto_commit=False, client_id="eventpipes-offsets")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
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


def committed_offsets(kafka: KafkaClientConfig, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition of ``topic`` (None where it has none)."""
    consumer = KafkaConsumer(**kafka.kafka_python(), group_id=group, enable_auto_commit=False, client_id="eventpipes-offsets")
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in sorted(consumer.partitions_for_topic(topic) or ())}
    finally:
        consumer.close()


def end_offsets(kafka: KafkaClientConfig, topic: str) -> dict[int, int]:
    """The end offset (next offset to be written) of each partition of ``topic``."""
    consumer = KafkaConsumer(**kafka.kafka_python(), enable_auto_commit=False, client_id="eventpipes-offsets")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def group_position(kafka: KafkaClientConfig, group: str, topic: str) -> dict[str, object]:
    """Where ``group`` stands on ``topic``, summed over its partitions: what Kafka keeps across restarts.

    ``Committed`` counts the records the group has finished (a partition without a committed
    offset counts as 0), ``End`` the records written, ``Lag`` the difference.

    Raises:
        BrokerUnavailable: Kafka did not answer.
    """
    try:
        consumer = KafkaConsumer(**kafka.kafka_python(), group_id=group, enable_auto_commit=False, client_id="eventpipes-offsets")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        committed = sum(consumer.committed(tp) or 0 for tp in partitions)
        end = sum(ends.values())
        return {"Topic": topic, "Committed": committed, "End": end, "Lag": end - committed}
    finally:
        consumer.close()


def records_in(kafka: KafkaClientConfig, topic: str) -> int:
    """How many records ``topic`` holds now (end minus beginning offsets; 0 if it does not exist)."""
    try:
        consumer = KafkaConsumer(**kafka.kafka_python(), enable_auto_commit=False, client_id="eventpipes-offsets")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return 0
        ends, starts = consumer.end_offsets(partitions), consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        consumer.close()
