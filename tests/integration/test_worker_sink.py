"""The worker's producer on the real broker: keyed records where Kafka's default partitioner puts them, order kept."""

from __future__ import annotations

import asyncio

from eventpipes.kafka.sink import WorkerSink
from eventpipes.records import OutRecord
from eventpipes.testing import KafkaCluster


def test_keyed_records_share_partitions_with_any_other_producer_and_keep_their_order(kafka: KafkaCluster) -> None:
    ours, theirs = kafka.create_topic(partitions=5), kafka.create_topic(partitions=5)
    keys = [f"event-{n % 40}".encode() for n in range(400)]
    for n, key in enumerate(keys):  # kafka-python's producer: its own murmur2 default partitioner
        kafka.producer().send(theirs, key=key, value=str(n).encode())
    kafka.producer().flush()

    async def send() -> None:
        sink = WorkerSink(kafka.client)
        await sink.warm_up([ours])
        try:
            await sink.send_all([OutRecord(ours, key, str(n).encode(), [("n", str(n).encode())]) for n, key in enumerate(keys)])
        finally:
            await sink.stop()

    asyncio.run(send())
    placed = {(r.key, r.partition) for r in kafka.read_all(ours)}
    assert placed == {(r.key, r.partition) for r in kafka.read_all(theirs)}
    assert len({p for _, p in placed}) > 1
    by_partition: dict[int, list[int]] = {}
    for record in sorted(kafka.read_all(ours), key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(int(record.value or b""))
    assert all(values == sorted(values) for values in by_partition.values())
    assert sum(len(v) for v in by_partition.values()) == 400


def test_records_larger_than_a_batch_unkeyed_records_and_a_topic_not_yet_known(kafka: KafkaCluster) -> None:
    known, unknown = kafka.create_topic(partitions=2), kafka.create_topic(partitions=2)
    big = b"x" * 200_000  # far over the 16 KB batch size: a batch of its own

    async def send() -> None:
        sink = WorkerSink(kafka.client)
        await sink.warm_up([known])
        try:
            await sink.send_all([OutRecord(known, b"k1", big), OutRecord(known, b"k1", b"small"), OutRecord(known, None, b"no key"),
                                 OutRecord(unknown, b"k2", b"first write"), OutRecord(known, b"k3", big, partition=1)])
        finally:
            await sink.stop()

    asyncio.run(send())
    got = kafka.read_all(known)
    assert sorted(len(r.value or b"") for r in got) == sorted([len(big), 5, 6, len(big)])
    k1 = [r.value for r in sorted(got, key=lambda r: r.offset) if r.key == b"k1"]
    assert k1 == [big, b"small"]
    assert [r.partition for r in got if r.key == b"k3"] == [1]
    assert [r.value for r in kafka.read_all(unknown)] == [b"first write"]
