"""When a batch closes: at ``BatchSize`` records, at the 6 MB payload limit, or when its window ends.

Pure: the clock is injected, so tests drive time by hand. The shape follows a batch
policy (``add`` says whether a flush is due, ``until_next`` says how long the caller may
sleep, ``flush`` takes the batch) and the window's life follows a producer's linger: it
opens when the first record arrives in an empty batcher, and a flush that leaves records
behind (the payload limit cut the batch short) opens a new window for them at once.

Window 0 (EventBridge's default) means "do not wait": whatever is buffered is due.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
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

    Not thread-safe; one owner (the lane) calls it.
    """

    def __init__(self, policy: BatchingPolicy, clock: Clock, size: Callable[[T], int]) -> None:
        self._policy = policy
        self._clock = clock
        self._size = size
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._opened_at: float | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def add(self, item: T) -> bool:
        """Buffer one record; True when a batch is due now (full, over the payload limit, or window 0)."""
        size = self._size(item)
        if not self._items:
            self._opened_at = self._clock()
        self._items.append((item, size))
        self._bytes += size
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
        batch: list[T] = []
        taken = 0
        while self._items and len(batch) < self._policy.max_records:
            item, size = self._items[0]
            if batch and taken + size > self._policy.max_bytes:
                break
            self._items.popleft()
            batch.append(item)
            taken += size
        self._bytes -= taken
        self._opened_at = self._clock() if self._items else None
        return batch
