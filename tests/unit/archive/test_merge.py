"""The replay's event-time merge, without Kafka: order, stops, parking, and a simulated consumer."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from eventpipes.archive.merge import EventTimeMerge


@dataclass(frozen=True)
class Rec:
    offset: int
    timestamp: int


def drain(merge: EventTimeMerge[Rec], logs: dict[int, list[Rec]], fetch: int = 3) -> tuple[list[tuple[int, Rec]], list[dict[int, int]]]:
    """Run the merge as the replay job does, against in-memory partition logs read ``fetch`` records at a time."""
    assignment = merge.assignment()
    assignments = [assignment]
    out: list[tuple[int, Rec]] = []
    for _ in range(100_000):
        if merge.done:
            return out, assignments
        if merge.starved():
            if merge.refresh():
                assignment = merge.assignment()
                assignments.append(assignment)
            if merge.starved():
                parked = False
                for p, offset in list(assignment.items()):
                    got = [r for r in logs[p] if r.offset >= offset][:fetch]
                    if got:
                        assignment[p] = got[-1].offset + 1
                        parked |= merge.add(p, got)
                if parked:
                    assignment = merge.assignment()
                    assignments.append(assignment)
            continue
        popped = merge.pop()
        assert popped is not None
        out.append(popped)
    raise AssertionError("the merge did not finish")


def log(*timestamps: int, first: int = 0) -> list[Rec]:
    return [Rec(first + i, t) for i, t in enumerate(timestamps)]


def test_records_come_out_in_event_time_order_across_partitions() -> None:
    logs = {0: log(1, 4, 9), 1: log(2, 3, 10), 2: log(5, 6, 7)}
    out, _ = drain(EventTimeMerge({0: 0, 1: 0, 2: 0}, {0: 3, 1: 3, 2: 3}), logs)
    assert [r.timestamp for _, r in out] == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert [p for p, r in out if r.timestamp == 7] == [2]


def test_equal_times_come_out_by_partition_then_offset() -> None:
    out, _ = drain(EventTimeMerge({0: 0, 1: 0}, {0: 2, 1: 2}), {0: log(5, 5), 1: log(5, 5)})
    assert [(p, r.offset) for p, r in out] == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_only_records_between_start_and_stop_are_given_out() -> None:
    logs = {0: log(1, 2, 3, 4, 5, 6), 1: log(1, 2, 3)}
    out, _ = drain(EventTimeMerge({0: 2, 1: 0}, {0: 4, 1: 0}), logs)  # partition 1: start == stop, not read
    assert [(p, r.offset) for p, r in out] == [(0, 2), (0, 3)]


def test_nothing_to_read_is_done_at_once() -> None:
    merge: EventTimeMerge[Rec] = EventTimeMerge({0: 5}, {0: 5})
    assert merge.done and merge.assignment() == {}


def test_a_record_waits_until_every_unfinished_partition_has_one_buffered() -> None:
    merge: EventTimeMerge[Rec] = EventTimeMerge({0: 0, 1: 0}, {0: 2, 1: 2})
    merge.add(0, log(9, 10))
    assert merge.starved()  # partition 1 might still hold something older than 9
    merge.add(1, log(1))
    assert not merge.starved()
    assert merge.pop() == (1, Rec(0, 1))


def test_a_full_partition_is_parked_and_read_again_from_its_next_offset_once_drained() -> None:
    merge: EventTimeMerge[Rec] = EventTimeMerge({0: 0, 1: 0}, {0: 10, 1: 10}, high=4)
    assert merge.add(0, log(1, 2, 3, 4)) is True  # full: leave it out of the assignment
    assert merge.assignment() == {1: 0}
    assert merge.add(0, log(5, first=4)) is False  # a fetch in flight for a parked partition is ignored
    merge.add(1, log(100))
    assert [merge.pop() for _ in range(2)] == [(0, Rec(0, 1)), (0, Rec(1, 2))]
    assert merge.refresh() is False  # 2 buffered: not yet below half of 4
    assert merge.pop() == (0, Rec(2, 3))
    assert merge.refresh() is True  # 1 buffered: read it again, from the offset after the last one taken
    assert merge.assignment() == {0: 4, 1: 1}


@settings(deadline=None)
@given(
    partitions=st.lists(st.lists(st.integers(0, 50), max_size=30).map(sorted), min_size=1, max_size=4),
    high=st.integers(2, 8),
    fetch=st.integers(1, 7),
)
def test_every_record_comes_out_once_in_time_order_whatever_the_fetch_and_buffer_sizes(
    partitions: list[list[int]], high: int, fetch: int
) -> None:
    """Each archive partition is in event-time order (one bus partition's events in put order)."""
    logs = {p: log(*times) for p, times in enumerate(partitions)}
    merge: EventTimeMerge[Rec] = EventTimeMerge({p: 0 for p in logs}, {p: len(r) for p, r in logs.items()}, high=high)
    out, assignments = drain(merge, logs, fetch)
    assert sorted((p, r.offset) for p, r in out) == sorted((p, r.offset) for p, rs in logs.items() for r in rs)
    assert [r.timestamp for _, r in out] == sorted(r.timestamp for rs in logs.values() for r in rs)
    assert all(len(a) <= len(logs) for a in assignments)
