"""Our murmur2 places keys exactly where Kafka's default partitioner (aiokafka's) does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner, murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from eventpipes.kafka.partitioning import murmur2, partition_for_key


@given(st.binary(max_size=200))
def test_same_hash_as_aiokafka(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_same_partition_as_the_default_partitioner(key: bytes, partitions: int) -> None:
    everything = list(range(partitions))
    assert partition_for_key(key, partitions) == DefaultPartitioner()(key, everything, everything)


def test_known_values_from_the_java_client() -> None:
    # Values the Java client's Utils.murmur2 gives (its unit tests), as unsigned 32-bit.
    assert murmur2(b"21") & 0xFFFFFFFF == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"abc") & 0xFFFFFFFF == 479470107
