"""The event-time merge of a replay: archive partitions read in order, events given out oldest first.

Pure: no Kafka. The replay job (``archive.job``) owns the consumer; this object decides
which partitions the consumer should read and from where, takes what a fetch returned,
and gives records out one at a time in ``(timestamp, partition, offset)`` order, a k-way
merge. A record is given out only while every unfinished partition has a buffered record,
so nothing older can still arrive from a partition not yet read (each archive partition
holds one bus partition's events in put order; see ``archive.archiver``).

Memory is bounded: a partition whose buffer reaches ``high`` records is *parked* (left out
of the assignment) until its buffer drains below half of that, then read again from its
next offset. (The consumer's pause/resume was tried first: kafka-python 3.0 can lose the
fetch it holds for a paused partition and never fetch that partition again.)

Number line of one partition::

    start ... [given out] ... [buffered] next_fetch ... stop
                                         ^ read from here when (re)assigned
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Generic, Protocol, TypeVar


class TimedRecord(Protocol):
    """What the merge needs of a record: its offset and its timestamp (the event's time, ms)."""

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int: ...


R = TypeVar("R", bound=TimedRecord)

#: A partition whose buffer holds this many records is parked until it drains to half.
BUFFER_HIGH = 5_000


class EventTimeMerge(Generic[R]):
    """Merges partitions ``[starts[p], stops[p])`` by record timestamp.

    Use: assign :meth:`assignment`; while not :attr:`done`: if :meth:`starved`, call
    :meth:`refresh` (re-assign when it says so), then fetch and :meth:`add` what came
    (re-assign when ``add`` says so); otherwise :meth:`pop`.
    """

    def __init__(self, starts: Mapping[int, int], stops: Mapping[int, int], *, high: int = BUFFER_HIGH) -> None:
        self._stops = dict(stops)
        self._next = {p: start for p, start in starts.items() if start < self._stops.get(p, 0)}
        self._buffers: dict[int, deque[R]] = {p: deque() for p in self._next}
        self._active = set(self._next)
        self._parked: set[int] = set()
        self._heads: list[tuple[int, int, int]] = []  # (timestamp, partition, offset) of each buffer's first record
        self._high = high

    @property
    def done(self) -> bool:
        """Every partition read to its stop and every record given out."""
        return not self._active

    def assignment(self) -> dict[int, int]:
        """The partitions to read now, each with the offset to read from."""
        return {p: self._next[p] for p in sorted(self._active - self._parked)}

    def starved(self) -> bool:
        """True when some unfinished partition has nothing buffered: read before popping."""
        return any(not self._buffers[p] for p in self._active)

    def refresh(self) -> bool:
        """Drop partitions read to their stop and unpark drained ones; True when the assignment changed."""
        changed = False
        for p in [p for p in self._active if not self._buffers[p] and self._next[p] >= self._stops[p]]:
            self._active.discard(p)
            changed = True
        for p in [p for p in self._parked if len(self._buffers[p]) < self._high // 2]:
            self._parked.discard(p)
            changed = True
        return changed

    def add(self, partition: int, records: Iterable[R]) -> bool:
        """Take records fetched from ``partition`` (those at or past its stop are dropped).

        Returns:
            True when the partition is now parked (its buffer is full): re-assign.
        """
        if partition not in self._active or partition in self._parked:
            return False  # a fetch that was in flight when the assignment changed
        buf = self._buffers[partition]
        was_empty = not buf
        stop = self._stops[partition]
        for record in records:
            if record.offset < stop:
                buf.append(record)
            self._next[partition] = max(self._next[partition], record.offset + 1)
        if was_empty and buf:
            heapq.heappush(self._heads, (buf[0].timestamp, partition, buf[0].offset))
        if len(buf) >= self._high:
            self._parked.add(partition)
            return True
        return False

    def pop(self) -> tuple[int, R] | None:
        """The oldest buffered record and its partition; None when nothing is buffered.

        Call only when not :meth:`starved`, or a partition not yet read may hold an older record.
        """
        if not self._heads:
            return None
        _, partition, _ = heapq.heappop(self._heads)
        buf = self._buffers[partition]
        record = buf.popleft()
        if buf:
            heapq.heappush(self._heads, (buf[0].timestamp, partition, buf[0].offset))
        return partition, record
