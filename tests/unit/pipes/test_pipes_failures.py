"""EventBridge's partial batch failure rules (table-driven), retry from the lowest failure, bisect, limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from eventpipes.pipes.failures import BatchResult, BatchRetry, result_from_response
from eventpipes.retry import Backoff, RetryPolicy

IDS = ["a", "b", "c", "d"]

#: The documented success/failure table (plus eventpipes' row for an unknown identifier).
TABLE: list[tuple[str, Any, tuple[str, ...] | None]] = [
    ("null response", None, ()),
    ("empty response", "", ()),
    ("empty object", {}, ()),
    ("null batchItemFailures", {"batchItemFailures": None}, ()),
    ("empty batchItemFailures", {"batchItemFailures": []}, ()),
    ("response without the key", {"other": 1}, ()),
    ("empty-string itemIdentifier", {"batchItemFailures": [{"itemIdentifier": ""}]}, None),
    ("null itemIdentifier", {"batchItemFailures": [{"itemIdentifier": None}]}, None),
    ("wrongly keyed itemIdentifier", {"batchItemFailures": [{"itemId": "b"}]}, None),
    ("one bad among good", {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": ""}]}, None),
    ("identifier not in the batch", {"batchItemFailures": [{"itemIdentifier": "zz"}]}, None),
    ("valid identifiers", {"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "b"}]}, ("c", "b")),
]


@pytest.mark.parametrize(("case", "response", "failed"), TABLE, ids=[row[0] for row in TABLE])
def test_partial_batch_response_table(case: str, response: Any, failed: tuple[str, ...] | None) -> None:
    result = result_from_response(response, IDS)
    assert result.failed == failed
    assert result.ok is (failed == ())


@dataclass(frozen=True)
class Item:
    event_id: str
    timestamp_ms: int = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def run(retry: BatchRetry[Item], respond: Any) -> list[list[str]]:
    calls = []
    while (attempt := retry.next_attempt()) is not None:
        ids = [i.event_id for i in attempt.items]
        calls.append(ids)
        retry.report(respond(ids))
        assert len(calls) < 200
    return calls


def policy(attempts: int = -1, age: int = -1) -> RetryPolicy:
    return RetryPolicy.for_pipe(maximum_retry_attempts=attempts, maximum_record_age_in_seconds=age,
                                backoff=Backoff(random=lambda: 0.5))


def test_partial_failure_retries_from_the_lowest_failed_record() -> None:
    failures = {"c": 1}

    def respond(ids: list[str]) -> BatchResult:
        failing = [i for i in ids if failures.get(i, 0) > 0]
        for i in failing:
            failures[i] -= 1
        return BatchResult.partial(failing) if failing else BatchResult.success()

    retry = BatchRetry([Item(i) for i in IDS], policy=policy(), bisect=False, clock=Clock())
    assert run(retry, respond) == [["a", "b", "c", "d"], ["c", "d"]]
    assert [i.event_id for i in retry.succeeded] == IDS


def test_bisect_isolates_the_poison_record() -> None:
    ids = [str(n) for n in range(8)]

    def respond(batch: list[str]) -> BatchResult:
        return BatchResult.failure("boom") if "5" in batch else BatchResult.success()

    retry = BatchRetry([Item(i) for i in ids], policy=policy(attempts=2), bisect=True, clock=Clock())
    run(retry, respond)
    assert [d.item.event_id for d in retry.dead_letters] == ["5"]
    assert sorted(i.event_id for i in retry.succeeded) == sorted(set(ids) - {"5"})
    assert retry.dead_letters[0].info.exhausted_retry_condition == "MaximumRetryAttempts"
    assert retry.dead_letters[0].info.retry_attempts == 2


def test_without_bisect_the_whole_remainder_is_dead_lettered_after_the_retries() -> None:
    retry = BatchRetry([Item(i) for i in IDS], policy=policy(attempts=3), bisect=False, clock=Clock())
    calls = run(retry, lambda ids: BatchResult.failure("down"))
    assert len(calls) == 4  # the first attempt and 3 retries
    assert [d.item.event_id for d in retry.dead_letters] == IDS
    assert all(d.attempts == 4 for d in retry.dead_letters)


def test_backoff_grows_between_attempts() -> None:
    clock = Clock()
    retry = BatchRetry([Item("a")], policy=policy(attempts=3), bisect=False, clock=clock)
    waits = []
    while (attempt := retry.next_attempt()) is not None:
        waits.append(attempt.not_before - clock.now)
        clock.now = max(clock.now, attempt.not_before)
        retry.report(BatchResult.failure("down"))
    assert waits == [0.0, 0.5, 1.0, 2.0]


def test_too_old_records_are_dead_lettered_with_the_age_condition() -> None:
    clock = Clock()
    retry = BatchRetry([Item("a", timestamp_ms=0), Item("b", timestamp_ms=0)], policy=policy(age=60),
                       bisect=True, clock=clock)
    clock.now = 1_000.0  # records are 1000 s old
    run(retry, lambda ids: BatchResult.failure("down"))
    assert [d.item.event_id for d in retry.dead_letters] == ["a", "b"]
    assert retry.dead_letters[0].info.exhausted_retry_condition == "MaximumRecordAgeInSeconds"


def test_non_retryable_failure_is_dead_lettered_at_once() -> None:
    retry = BatchRetry([Item("a")], policy=policy(), bisect=False, clock=Clock())
    calls = run(retry, lambda ids: BatchResult.failure("no", retryable=False))
    assert len(calls) == 1 and retry.dead_letters[0].info.exhausted_retry_condition is None
