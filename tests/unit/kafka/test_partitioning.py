"""Our murmur2 places keys exactly where Kafka's default partitioner (aiokafka's) does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from eventpipes.kafka import partitioning
from eventpipes.kafka.partitioning import SamePartition, murmur2, murmur2_py, partition_for_key, partition_for_key_py


def test_the_c_partitioner_was_built() -> None:
    assert partitioning._murmur is not None, "the C extension was not built (setup.py)"
    assert murmur2 is not murmur2_py and partition_for_key is not partition_for_key_py


@given(st.binary(max_size=200))
def test_same_hash_as_aiokafka(key: bytes) -> None:
    assert murmur2(key) == murmur2_py(key) == aiokafka_murmur2(key)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(key: bytes, partitions: int) -> None:
    everything = list(range(partitions))
    expected = DefaultPartitioner()(key, everything, everything)
    assert partition_for_key(key, partitions) == partition_for_key_py(key, partitions) == expected


def test_known_values_from_the_java_client() -> None:
    # Values the Java client's Utils.murmur2 gives (its unit tests), as unsigned 32-bit.
    for hash_of in (murmur2, murmur2_py):
        assert hash_of(b"21") & 0xFFFFFFFF == (-973932308) & 0xFFFFFFFF
        assert hash_of(b"abc") & 0xFFFFFFFF == 479470107


def test_same_partition_follows_the_source_partition_modulo_the_topics_count() -> None:
    asked: list[str] = []
    counts = {"delivery": 3, "archive": 2}

    def count(topic: str) -> int:
        asked.append(topic)
        return counts.get(topic, 0)

    same = SamePartition(count)
    assert [same("delivery", p) for p in range(4)] == [0, 1, 2, 0]
    assert [same("archive", p) for p in range(4)] == [0, 1, 0, 1]
    assert asked == ["delivery", "archive"]  # counts are asked once per topic
    assert same("new", 1) is None and same("new", 1) is None  # unknown yet: the key chooses, and it is asked again
    assert asked.count("new") == 2
    assert SamePartition(None)("delivery", 1) is None
