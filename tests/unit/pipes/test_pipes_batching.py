"""Batches close at BatchSize, at the payload limit, or when the window ends; lanes keep one batch in flight."""

from __future__ import annotations

import pytest

from eventpipes.pipes.batching import Batcher, BatchingPolicy
from eventpipes.pipes.lanes import PartitionLanes, lane_of
from eventpipes.pipes.offsets import OffsetTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_batch_closes_at_batch_size() -> None:
    batcher: Batcher[int] = Batcher(BatchingPolicy(3, 10), Clock(), size=lambda _: 1)
    assert [batcher.add(i) for i in range(3)] == [False, False, True]
    assert batcher.flush() == [0, 1, 2]
    assert batcher.until_next() is None


def test_window_opens_with_the_first_record() -> None:
    clock = Clock()
    batcher: Batcher[int] = Batcher(BatchingPolicy(100, 2), clock, size=lambda _: 1)
    assert batcher.add(1) is False
    clock.now += 1.5
    batcher.add(2)
    assert batcher.until_next() == 0.5
    clock.now += 0.5
    assert batcher.due() and batcher.flush() == [1, 2]


def test_window_zero_is_due_at_once() -> None:
    batcher: Batcher[int] = Batcher(BatchingPolicy(100, 0), Clock(), size=lambda _: 1)
    assert batcher.add(1) is True


def test_payload_limit_cuts_the_batch_and_reopens_the_window() -> None:
    clock = Clock()
    batcher: Batcher[int] = Batcher(BatchingPolicy(100, 5, max_bytes=10), clock, size=lambda n: n)
    batcher.add(4)
    batcher.add(4)
    assert batcher.add(4) is True  # 12 bytes buffered: over the limit
    clock.now += 1
    assert batcher.flush() == [4, 4]
    assert len(batcher) == 1 and batcher.until_next() == 5.0


def test_a_record_larger_than_the_limit_travels_alone() -> None:
    batcher: Batcher[int] = Batcher(BatchingPolicy(100, 5, max_bytes=10), Clock(), size=lambda n: n)
    assert batcher.add(50) is True
    assert batcher.flush() == [50]


def test_lanes_keep_a_key_in_one_lane_and_one_batch_in_flight() -> None:
    assert {lane_of(b"k", offset, 7) for offset in range(50)} == {lane_of(b"k", 0, 7)}
    lanes: PartitionLanes[tuple[bytes, int]] = PartitionLanes(
        1, BatchingPolicy(2, 0), Clock(), size=lambda _: 1, key=lambda r: r[0], offset=lambda r: r[1])
    for offset in range(4):
        lanes.add((b"k", offset))
    first = lanes.take_ready()
    assert [b.items for b in first] == [[(b"k", 0), (b"k", 1)]]
    assert lanes.take_ready() == []  # busy: no second batch while the first is in flight
    assert lanes.until_next() is None
    lanes.release(0)
    assert [b.items for b in lanes.take_ready()] == [[(b"k", 2), (b"k", 3)]]


def test_commit_point_is_the_end_of_the_first_run_of_finished_offsets() -> None:
    tracker = OffsetTracker(10)
    assert tracker.commit_point() == 10
    for offset in (10, 11, 12, 14, 15):  # 13 was compacted away
        tracker.read(offset)
    tracker.finish(11)
    tracker.finish(14)
    assert tracker.commit_point() == 10
    tracker.finish(10)
    assert tracker.take_commit() == 12
    assert tracker.take_commit() is None
    tracker.finish(15)
    tracker.finish(12)
    assert tracker.commit_point() == 16


def test_records_added_together_land_in_their_lanes_in_order() -> None:
    def lanes_of(factor: int) -> PartitionLanes[tuple[bytes | None, int]]:
        return PartitionLanes(factor, BatchingPolicy(1000, 0), Clock(), size=lambda _: 1,
                              key=lambda r: r[0], offset=lambda r: r[1])

    records = [(None if n % 7 == 0 else f"k{n % 5}".encode(), n) for n in range(60)]
    together, one_by_one = lanes_of(4), lanes_of(4)
    together.add_many(records)
    for record in records:
        one_by_one.add(record)
    batches = {b.lane: b.items for b in together.take_ready()}
    assert batches == {b.lane: b.items for b in one_by_one.take_ready()}
    assert all(items == sorted(items, key=lambda r: r[1]) for items in batches.values())
    assert all(lane_of(key, offset, 4) == lane for lane, items in batches.items() for key, offset in items)


def test_flush_takes_the_longest_prefix_within_the_byte_limit() -> None:
    batcher: Batcher[int] = Batcher(BatchingPolicy(4, 5, max_bytes=10), Clock(), size=lambda n: n)
    batcher.add_many([3, 3, 4, 1, 2, 2, 2, 2, 2, 9])
    assert [batcher.flush() for _ in range(4)] == [[3, 3, 4], [1, 2, 2, 2], [2, 2], [9]]
    assert len(batcher) == 0 and batcher.buffered_bytes == 0


def test_finishing_batches_in_any_order_moves_the_commit_point_past_compaction() -> None:
    tracker = OffsetTracker(0)
    tracker.read_many(list(range(3000)))
    tracker.finish_many(list(range(0, 1500)))  # the front: one step
    assert tracker.commit_point() == 1500
    tracker.finish_many(list(range(2000, 3000)))  # out of order: waits for 1500..1999
    assert tracker.commit_point() == 1500 and tracker.unfinished == 1500
    tracker.finish_many(list(range(1500, 2000)))
    assert tracker.commit_point() == 3000 and tracker.unfinished == 0
    tracker.read_many([3005, 3007])  # gaps (compaction) are fine; going back is not
    assert tracker.commit_point() == 3005
    with pytest.raises(ValueError):
        tracker.read_many([3006])
