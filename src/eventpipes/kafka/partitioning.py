"""Kafka's default partitioner for keyed records, fast enough to run per record in Python.

Java clients, librdkafka's ``murmur2_random`` and aiokafka all place a keyed record at
``(murmur2(key) & 0x7fffffff) % partitions``; eventpipes does the same, so its records
share partitions with any other producer's records of the same key. aiokafka's own
``murmur2`` reads the key byte by byte (about 5 µs for an event id); the Python one here
reads 4-byte words at once (2.5-5 µs), which lets the worker pack keyed records into one
batch per partition instead of a ``send`` per record. ``eventpipes.kafka._murmur`` does it
in C (~0.1 µs), built by setup.py where a C compiler is found; without one the Python
functions run instead, held equal to it by a property test.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2_py(key: bytes) -> int:
    """Kafka's murmur2 hash of ``key`` (unsigned 32 bits, as aiokafka returns it)."""
    length = len(key)
    h = (_SEED ^ length) & _MASK
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", key) if words else ():
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        rest = words * 4
        if tail >= 3:
            h ^= key[rest + 2] << 16
        if tail >= 2:
            h ^= key[rest + 1] << 8
        h = ((h ^ key[rest]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for_key_py(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (murmur2_py(key) & 0x7FFFFFFF) % partitions


murmur2: Callable[[bytes], int]
partition_for_key: Callable[[bytes, int], int]
try:
    # Imported as an attribute of the package, as eventpipes.pipes.sources.kafka does (import-linter).
    from eventpipes.kafka import _murmur  # type: ignore[attr-defined]
    murmur2, partition_for_key = _murmur.murmur2, _murmur.partition_for_key
except ImportError:  # pragma: no cover - depends on the build machine
    _murmur = None
    murmur2, partition_for_key = murmur2_py, partition_for_key_py


class SamePartition:
    """Where a record made from another goes: the other's partition number, modulo the topic's count.

    Routed, archived and replayed records follow their bus record's partition this way, so
    one bus partition's events stay in one partition downstream, in put order, and cost no
    key hashing. ``partition_count`` answers 0 for a topic it does not know yet; such
    records get None (the key chooses) and the topic is asked again next time. Without
    ``partition_count`` every record gets None.
    """

    def __init__(self, partition_count: Callable[[str], int] | None) -> None:
        self._partition_count = partition_count
        self._counts: dict[str, int] = {}

    def __call__(self, topic: str, partition: int) -> int | None:
        if self._partition_count is None:
            return None
        count = self._counts.get(topic)
        if count is None:
            count = self._partition_count(topic)
            if not count:
                return None
            self._counts[topic] = count
        return partition % count
