"""A token bucket for API destinations' ``InvocationRateLimitPerSecond``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` acquisitions per second: one token, refilled every ``1/rate`` seconds.

    A bucket of one token (no burst) keeps every one-second window at ``rate`` calls
    or fewer (give or take the one at the window's edge); a bucket of ``rate`` tokens
    would let a quiet destination take twice its limit in its first second.

    One bucket per API destination, shared by every target using it, as
    EventBridge applies the limit per destination.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = 1.0
        self._tokens = 1.0
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        """Acquisitions per second."""
        return self._rate

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def wait_time(self) -> float:
        """Seconds until a token is free (0 when one is free now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    async def acquire(self) -> None:
        async with self._lock:
            while (delay := self.wait_time()) > 0:
                await asyncio.sleep(delay)
            self._tokens -= 1
