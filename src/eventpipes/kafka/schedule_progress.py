"""Scheduled rules' progress as Kafka holds it: reading it from any process, for status and tests.

Only committed transactions count (``read_committed``): a tick whose transaction was
aborted, or is still open in a worker that died, was not fired.
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import schedules_topic
from eventpipes.records import Record, record_from_message
from eventpipes.schedules.progress import Progress

log = logging.getLogger(__name__)


def apply_progress(progress: dict[str, Progress], records: list[Record]) -> None:
    """Fold progress records into ``progress``, never moving a rule's progress backwards.

    The owner records a tick in memory as soon as its transaction commits and reads the
    same record back later; only moving forward keeps an older record read late from
    making a fired tick look due again. A tombstone forgets the rule; a record that is
    not progress is logged and skipped.
    """
    for record in records:
        if record.key is None:
            continue
        name = record.key.decode()
        if record.value is None:
            progress.pop(name, None)
            continue
        try:
            read = Progress.from_json(record.value)
        except (ValueError, KeyError, TypeError):
            log.warning("schedule progress record %s is not valid; ignored", record.where)
            continue
        known = progress.get(name)
        if known is None or read.handled_through >= known.handled_through:
            progress[name] = read


def read_progress(kafka: KafkaClientConfig, group: str, *, timeout_seconds: float = 10.0) -> dict[str, Progress]:
    """Every scheduled rule's committed progress in worker group ``group`` (empty before the first tick).

    Raises:
        BrokerUnavailable: the cluster did not answer, or the topic could not be read to
            its end within ``timeout_seconds``.
    """
    topic = schedules_topic(group)
    try:
        consumer = KafkaConsumer(**kafka.kafka_python(), group_id=None, enable_auto_commit=False,
                                 isolation_level="read_committed", client_id="eventpipes-schedules-reader")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
    try:
        if not consumer.partitions_for_topic(topic):
            return {}
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]  # the last stable offset under read_committed
        progress: dict[str, Progress] = {}
        deadline = time.monotonic() + timeout_seconds
        while consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise BrokerUnavailable(kafka.bootstrap, f"{topic} not read to offset {end} within {timeout_seconds} s")
            batches = consumer.poll(timeout_ms=200)
            apply_progress(progress, [record_from_message(m) for m in batches.get(tp, [])])
        return progress
    except KafkaError as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
    finally:
        consumer.close()
