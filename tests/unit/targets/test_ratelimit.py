from __future__ import annotations

import asyncio

from eventpipes.targets.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_calls_are_spaced_one_over_the_rate_apart() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4, clock=clock)
    assert bucket.wait_time() == 0
    asyncio.run(bucket.acquire())
    assert bucket.wait_time() == 0.25
    clock.now += 0.1
    assert abs(bucket.wait_time() - 0.15) < 1e-9
    clock.now += 10  # a long quiet spell earns no burst
    asyncio.run(bucket.acquire())
    assert bucket.wait_time() == 0.25


def test_acquire_waits_for_the_next_token() -> None:
    async def three_calls() -> float:
        bucket = TokenBucket(50)
        loop = asyncio.get_running_loop()
        began = loop.time()
        for _ in range(3):
            await bucket.acquire()
        return loop.time() - began

    assert asyncio.run(three_calls()) >= 2 / 50 * 0.9
