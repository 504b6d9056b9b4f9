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

from collections.abc import Sequence

#: Finished offsets are dropped from the front of the pending list once this many have
#: gathered there, so removal costs one list move per this many records.
_COMPACT_AT = 1024


class OffsetTracker:
    """Read and finished offsets of one partition.

    Pending offsets sit in a list with a moving front (``_head``) rather than a deque: a
    batch that finishes at the front (the usual case, and every case with one lane) moves
    the front past all its offsets with one slice comparison, not a step per record.
    """

    def __init__(self, start: int) -> None:
        """``start``: the partition's position when reading began (its committed offset)."""
        self._pending: list[int] = []
        self._head = 0
        self._finished: set[int] = set()
        self._next = start
        self._committed = start

    def read(self, offset: int) -> None:
        """A record was read (offsets arrive in increasing order)."""
        self.read_many([offset])

    def read_many(self, offsets: Sequence[int]) -> None:
        """Records were read, in increasing order (as one fetch of a partition returns them)."""
        if not offsets:
            return
        if offsets[0] < self._next:
            raise ValueError(f"offset {offsets[0]} read after {self._next - 1}; offsets must increase")
        self._pending.extend(offsets)
        self._next = offsets[-1] + 1

    def finish(self, offset: int) -> None:
        """A record's work is done."""
        self.finish_many([offset])

    def finish_many(self, offsets: Sequence[int]) -> None:
        """Records' work is done (``offsets`` increasing, as a batch holds them)."""
        pending, head, end = self._pending, self._head, self._head + len(offsets)
        if not self._finished and pending[head:end] == offsets:
            self._head = end  # the batch was the front of what is pending
        else:
            self._finished.update(offsets)
            finished = self._finished
            while head < len(pending) and pending[head] in finished:
                finished.discard(pending[head])
                head += 1
            self._head = head
        if self._head >= _COMPACT_AT:
            del self._pending[:self._head]
            self._head = 0

    def commit_point(self) -> int:
        """The offset to commit: the first not finished, or one past the last read."""
        return self._pending[self._head] if self._head < len(self._pending) else self._next

    def take_commit(self) -> int | None:
        """The commit point if it moved since the last ``take_commit``, else None."""
        point = self.commit_point()
        if point == self._committed:
            return None
        self._committed = point
        return point

    @property
    def unfinished(self) -> int:
        return len(self._pending) - self._head
