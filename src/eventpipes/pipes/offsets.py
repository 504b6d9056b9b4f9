"""The offset a partition may commit: the end of the first run of finished records.

Lanes finish out of order; Kafka's committed offset means "everything before this is
done". So the commit point is the lowest offset read but not finished, or one past the
last offset read when all are finished::

    read:      10 11 12 13 14 15
    finished:   x  x     x  x
    commit:          ^ 12        (12 is in flight or failed: never commit past it)

Offsets read need not be contiguous (compaction, transaction markers); only offsets
actually read count. A record is finished when it was delivered, filtered out, or
dead-lettered. Pure.
"""

from __future__ import annotations

from collections import deque


class OffsetTracker:
    """Read and finished offsets of one partition."""

    def __init__(self, start: int) -> None:
        """``start``: the partition's position when reading began (its committed offset)."""
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._next = start
        self._committed = start

    def read(self, offset: int) -> None:
        """A record was read (offsets arrive in increasing order)."""
        if offset < self._next:
            raise ValueError(f"offset {offset} read after {self._next - 1}; offsets must increase")
        self._pending.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        """A record's work is done."""
        self._finished.add(offset)
        while self._pending and self._pending[0] in self._finished:
            self._finished.discard(self._pending.popleft())

    def commit_point(self) -> int:
        """The offset to commit: the first not finished, or one past the last read."""
        return self._pending[0] if self._pending else self._next

    def take_commit(self) -> int | None:
        """The commit point if it moved since the last ``take_commit``, else None."""
        point = self.commit_point()
        if point == self._committed:
            return None
        self._committed = point
        return point

    @property
    def unfinished(self) -> int:
        return len(self._pending)
