"""BatchProducer on the real broker: order per partition, acknowledged ends, errors reach the caller."""

from __future__ import annotations

import time

import pytest
from aiokafka.errors import KafkaError

from eventpipes.kafka.batches import BatchProducer
from eventpipes.testing import KafkaCluster


def test_records_land_in_their_partitions_in_append_order_with_their_headers_and_times(kafka: KafkaCluster) -> None:
    topic = kafka.create_topic(partitions=3)
    # Batches of ~4 KB: 300 records of 100 bytes fill many batches per partition, so the
    # order across batches (one sender task, FIFO) is what is checked.
    producer = BatchProducer(kafka.client, topic, client_id="test-batches", max_request_bytes=1024 * 1024, max_batch_bytes=4096)
    try:
        assert producer.partitions == [0, 1, 2]
        before = int(time.time() * 1000)
        for i in range(300):
            producer.append(i % 3, f"k{i}".encode(), b"v" * 90 + str(i).encode(), 1_000 + i if i % 2 else None, [("n", str(i).encode())])
        producer.flush()
        assert producer.acked_ends == {0: 100, 1: 100, 2: 100}
    finally:
        producer.close()
    records = kafka.read_all(topic)
    assert len(records) == 300
    for partition in range(3):
        got = [r for r in records if r.partition == partition]
        numbers = [int(dict(r.headers)["n"]) for r in sorted(got, key=lambda r: r.offset)]
        assert numbers == list(range(partition, 300, 3))
    for r in records:
        i = int(dict(r.headers)["n"])
        assert r.key == f"k{i}".encode() and r.value == b"v" * 90 + str(i).encode()
        assert r.timestamp_ms == 1_000 + i if i % 2 else r.timestamp_ms >= before


def test_a_batch_the_topic_refuses_fails_flush(kafka: KafkaCluster) -> None:
    topic = kafka.create_topic(config={"max.message.bytes": "2000"})
    producer = BatchProducer(kafka.client, topic, client_id="test-batches", max_request_bytes=1024 * 1024, timeout_seconds=10)
    try:
        producer.append(0, None, b"x" * 10_000, None, [])
        with pytest.raises(KafkaError):
            producer.flush()
    finally:
        producer.close()
    assert kafka.read_all(topic, timeout=5) == []
