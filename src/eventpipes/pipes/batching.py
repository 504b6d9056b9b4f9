"""When a batch closes: at ``BatchSize`` records, at the 6 MB payload limit, or when its window ends.

Pure: the clock is injected, so tests drive time by hand. The shape follows a batch
policy (``add`` says whether a flush is due, ``until_next`` says how long the caller may
sleep, ``flush`` takes the batch) and the window's life follows a producer's linger: it
opens when the first record arrives in an empty batcher, and a flush that leaves records
behind (the payload limit cut the batch short) opens a new window for them at once.

Window 0 (EventBridge's default) means "do not wait": whatever is buffered is due.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

from eventpipes.pipes.model import MAX_BATCH_PAYLOAD_BYTES

T = TypeVar("T")

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class BatchingPolicy:
    """EventBridge's three limits on a batch; whichever is reached first closes it."""

    max_records: int
    """``BatchSize``: 1..10000."""
    window_seconds: float
    """``MaximumBatchingWindowInSeconds``: 0..300."""
    max_bytes: int = MAX_BATCH_PAYLOAD_BYTES
    """The invocation payload limit, 6 MB; a single larger record still travels alone."""

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.window_seconds < 0 or self.max_bytes < 1:
            raise ValueError("BatchingPolicy needs max_records >= 1, window_seconds >= 0, max_bytes >= 1")


class Batcher(Generic[T]):
    """Collects records of one lane into batches under a :class:`BatchingPolicy`.

    Records and their sizes sit in two lists rather than one list of pairs, so that
    :meth:`add_many` and :meth:`flush` work a fetch or a batch at a time (list slices)
    instead of a Python step per record. Not thread-safe; one owner (the lane) calls it.
    """

    def __init__(self, policy: BatchingPolicy, clock: Clock, size: Callable[[T], int]) -> None:
        self._policy = policy
        self._clock = clock
        self._size = size
        self._items: list[T] = []
        self._sizes: list[int] = []
        self._bytes = 0
        self._opened_at: float | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def add(self, item: T) -> bool:
        """Buffer one record; True when a batch is due now (full, over the payload limit, or window 0)."""
        return self.add_many([item])

    def add_many(self, items: list[T]) -> bool:
        """Buffer records in order; True when a batch is due now."""
        if not items:
            return self.due()
        if not self._items:
            self._opened_at = self._clock()
        sizes = list(map(self._size, items))
        self._items.extend(items)
        self._sizes.extend(sizes)
        self._bytes += sum(sizes)
        return self.due()

    def due(self) -> bool:
        """Whether :meth:`flush` should be called now."""
        if not self._items:
            return False
        if len(self._items) >= self._policy.max_records or self._bytes >= self._policy.max_bytes:
            return True
        return self.until_next() == 0.0

    def until_next(self) -> float | None:
        """Seconds until the open window ends (0 when a batch is due); None when nothing is buffered."""
        if not self._items or self._opened_at is None:
            return None
        if len(self._items) >= self._policy.max_records or self._bytes >= self._policy.max_bytes:
            return 0.0
        return max(0.0, self._opened_at + self._policy.window_seconds - self._clock())

    def flush(self) -> list[T]:
        """Take the oldest batch: up to ``max_records`` records and at most ``max_bytes`` (at least one record).

        Records left behind start a new window now.
        """
        count = min(len(self._items), self._policy.max_records)
        if count == len(self._items) and self._bytes <= self._policy.max_bytes:
            taken = self._bytes  # everything buffered fits: no need to look at sizes
        else:
            count, taken = self._fitting(count)
        batch = self._items[:count]
        del self._items[:count]
        del self._sizes[:count]
        self._bytes -= taken
        self._opened_at = self._clock() if self._items else None
        return batch

    def _fitting(self, most: int) -> tuple[int, int]:
        """How many of the first ``most`` records fit in ``max_bytes`` (at least one), and their bytes."""
        # Running totals and a bisection (both in C) rather than a Python step per record.
        totals = list(accumulate(self._sizes[:most]))
        count = max(1, bisect_right(totals, self._policy.max_bytes))
        return count, totals[count - 1]
