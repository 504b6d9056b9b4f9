"""Kafka's default partitioner for keyed records, fast enough to run per record in Python.

Java clients, librdkafka's ``murmur2_random`` and aiokafka all place a keyed record at
``(murmur2(key) & 0x7fffffff) % partitions``; eventpipes does the same, so its records
share partitions with any other producer's records of the same key. aiokafka's own
``murmur2`` reads the key byte by byte (about 5 µs for an event id); this one reads
4-byte words at once, which lets the worker pack keyed records into one batch per
partition instead of a ``send`` per record.
"""

from __future__ import annotations

import struct

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2(key: bytes) -> int:
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


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
