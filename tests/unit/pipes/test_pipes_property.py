"""Per-key order, no loss and commit correctness of the pure pipe objects, under random load.

A simulated clock drives lanes (``PartitionLanes``), batching windows, ``BatchRetry`` and
``OffsetTracker`` as the runner does: records arrive at random times with random keys,
every invocation takes a random time and fails, partially fails or succeeds at random, at
ParallelizationFactor 1..10. Checked: every record ends delivered or dead-lettered; the
records of one key finish in offset order; a commit point never passes a record that
is not finished; at the end everything is committed.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from eventpipes.pipes.batching import BatchingPolicy
from eventpipes.pipes.failures import BatchResult, BatchRetry
from eventpipes.pipes.lanes import LaneBatch, PartitionLanes
from eventpipes.pipes.offsets import OffsetTracker
from eventpipes.retry import Backoff, RetryPolicy


@dataclass(frozen=True)
class Rec:
    offset: int
    key: bytes | None
    timestamp_ms: int

    @property
    def event_id(self) -> str:
        return str(self.offset)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=60, deadline=None)
@given(
    factor=st.integers(1, 10),
    count=st.integers(1, 150),
    keys=st.integers(1, 12),
    batch_size=st.integers(1, 15),
    window=st.sampled_from([0.0, 0.5, 2.0]),
    failure_rate=st.sampled_from([0.0, 0.2, 0.5]),
    retries=st.integers(0, 3),
    bisect=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_order_no_loss_and_commits(factor: int, count: int, keys: int, batch_size: int, window: float,
                                   failure_rate: float, retries: int, bisect: bool, seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    lanes: PartitionLanes[Rec] = PartitionLanes(factor, BatchingPolicy(batch_size, window), clock,
                                                size=lambda r: 100, key=lambda r: r.key, offset=lambda r: r.offset)
    tracker = OffsetTracker(0)
    policy = RetryPolicy.for_pipe(maximum_retry_attempts=retries, backoff=Backoff(base_seconds=0.1, cap_seconds=1.0, random=rng.random))
    arrivals = []
    t = 0.0
    for offset in range(count):
        t += rng.expovariate(20.0)
        key = None if rng.random() < 0.1 else f"k{rng.randrange(keys)}".encode()
        arrivals.append((t, Rec(offset, key, 0)))
    finished_order: dict[bytes | None, list[int]] = {}
    finished: set[int] = set()
    # (time, batch id, 0): completions of the invocations in flight
    events: list[tuple[float, int, int]] = []
    running: dict[int, tuple[LaneBatch[Rec], BatchRetry[Rec], int]] = {}
    sequence = 0
    next_arrival = 0

    def start_ready() -> None:
        nonlocal sequence
        for batch in lanes.take_ready():
            retry = BatchRetry(batch.items, policy=policy, bisect=bisect, clock=clock)
            sequence += 1
            running[sequence] = (batch, retry, 0)
            schedule(sequence)

    def schedule(ident: int) -> None:
        _, retry, _ = running[ident]
        attempt = retry.next_attempt()
        assert attempt is not None
        heapq.heappush(events, (max(clock.now, attempt.not_before) + rng.uniform(0.001, 0.3), ident, 0))

    def complete(ident: int) -> None:
        batch, retry, seen = running[ident]
        attempt = retry.next_attempt()
        assert attempt is not None
        roll = rng.random()
        if roll < failure_rate / 2:
            result = BatchResult.failure("down")
        elif roll < failure_rate:
            failed = rng.sample([r.event_id for r in attempt.items], k=rng.randint(1, len(attempt.items)))
            result = BatchResult.partial(failed)
        else:
            result = BatchResult.success()
        retry.report(result)
        if retry.finished:
            tracker.finish_many([record.offset for record in batch.items])
            lanes.release(batch.lane)
            del running[ident]
        else:
            schedule(ident)

    steps = 0
    while next_arrival < count or running or lanes.buffered:
        steps += 1
        assert steps < 100_000
        candidates = []
        if next_arrival < count:
            candidates.append(arrivals[next_arrival][0])
        if events:
            candidates.append(events[0][0])
        wait = lanes.until_next()
        if wait is not None:
            candidates.append(clock.now + wait)
        clock.now = max(clock.now, min(candidates))
        fetched = []  # what arrived by now comes in one fetch, as the runner takes it
        while next_arrival < count and arrivals[next_arrival][0] <= clock.now:
            fetched.append(arrivals[next_arrival][1])
            next_arrival += 1
        tracker.read_many([record.offset for record in fetched])
        lanes.add_many(fetched)
        while events and events[0][0] <= clock.now:
            _, ident, _ = heapq.heappop(events)
            batch, retry, _ = running[ident]
            complete(ident)
            for record in [*retry.succeeded, *(d.item for d in retry.dead_letters)]:
                if record.offset not in finished:
                    finished.add(record.offset)
                    finished_order.setdefault(record.key, []).append(record.offset)
        start_ready()
        point = tracker.commit_point()
        assert all(offset in finished for offset in range(point)), "committed past an unfinished record"

    assert finished == set(range(count)), "a record was lost"
    for key, offsets in finished_order.items():
        if key is not None:
            assert offsets == sorted(offsets), f"key {key!r} finished out of order: {offsets}"
    assert tracker.commit_point() == count
