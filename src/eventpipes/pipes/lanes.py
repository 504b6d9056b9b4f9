"""``ParallelizationFactor`` on one partition: up to N batches at once, one key always in one lane.

A record's lane is ``crc32(key) % N``; a record without a key takes ``offset % N`` (no
key, no order to keep between such records). Each lane holds its own :class:`Batcher`
and at most one batch in flight: a lane starts no new batch while one is in flight, so
records of one key are delivered one batch after another, in offset order, whatever the
other lanes do. CRC-32 rather than Python's ``hash``: ``hash(bytes)`` is salted per
process, and a key should keep its lane across restarts so logs read the same.

Pure: the clock is injected through the batchers.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from eventpipes.pipes.batching import Batcher, BatchingPolicy, Clock

T = TypeVar("T")


def lane_of(key: bytes | None, offset: int, factor: int) -> int:
    """The lane a record belongs to, out of ``factor`` lanes."""
    if factor == 1:
        return 0
    if key is None:
        return offset % factor
    return zlib.crc32(key) % factor


@dataclass(frozen=True, slots=True)
class LaneBatch(Generic[T]):
    """A batch handed out for processing, and the lane it must be returned to."""

    lane: int
    items: list[T]


class PartitionLanes(Generic[T]):
    """The lanes of one partition.

    ``add`` buffers a record in its lane; ``take_ready`` hands out every batch that may
    start now (its lane idle, its batch due); ``release`` frees a lane once its batch
    is finished.
    """

    def __init__(self, factor: int, policy: BatchingPolicy, clock: Clock, size: Callable[[T], int],
                 key: Callable[[T], bytes | None], offset: Callable[[T], int]) -> None:
        if not 1 <= factor <= 10:
            raise ValueError("ParallelizationFactor is 1..10")
        self.factor = factor
        self._batchers = [Batcher(policy, clock, size) for _ in range(factor)]
        self._busy = [False] * factor
        self._key = key
        self._offset = offset

    def add(self, item: T) -> int:
        """Buffer a record in its lane; returns the lane."""
        lane = lane_of(self._key(item), self._offset(item), self.factor)
        self._batchers[lane].add(item)
        return lane

    def add_many(self, items: list[T]) -> None:
        """Buffer records (in offset order) in their lanes, each lane's share in one step."""
        factor = self.factor
        if factor == 1:
            self._batchers[0].add_many(items)
            return
        shares: list[list[T]] = [[] for _ in range(factor)]
        key_of, offset_of, crc32 = self._key, self._offset, zlib.crc32
        for item in items:
            key = key_of(item)
            # lane_of inlined: a call per record is measurable on this path
            shares[crc32(key) % factor if key is not None else offset_of(item) % factor].append(item)
        for batcher, share in zip(self._batchers, shares):
            if share:
                batcher.add_many(share)

    def take_ready(self) -> list[LaneBatch[T]]:
        """Every batch that may start now; their lanes become busy."""
        ready = []
        for lane, batcher in enumerate(self._batchers):
            if not self._busy[lane] and batcher.due():
                self._busy[lane] = True
                ready.append(LaneBatch(lane, batcher.flush()))
        return ready

    def take_next(self, lane: int) -> LaneBatch[T] | None:
        """The next batch of a busy lane whose batch just finished, if it is due now.

        The lane stays busy either way: its owner goes on with this batch, or ``release``s it.
        """
        batcher = self._batchers[lane]
        return LaneBatch(lane, batcher.flush()) if batcher.due() else None

    def release(self, lane: int) -> None:
        """The lane's batch is finished (delivered, filtered or dead-lettered)."""
        self._busy[lane] = False

    def until_next(self) -> float | None:
        """Seconds until an idle lane's batch is due; None when no idle lane holds records."""
        waits = [b.until_next() for lane, b in enumerate(self._batchers) if not self._busy[lane]]
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    @property
    def buffered(self) -> int:
        """Records waiting in the lanes (not yet handed out)."""
        return sum(len(b) for b in self._batchers)

    @property
    def in_flight(self) -> int:
        return sum(self._busy)
