"""A batch's outcome and what follows from it: retry from the lowest failure, bisect, or dead-letter.

:class:`~eventpipes.targets.results.BatchResult` (what a target returns, read from EventBridge's
partial batch response there) is re-exported here.

:class:`BatchRetry` runs one batch to its end. Records before the lowest failed one
succeeded; the rest are retried after a backoff drawn from the pipe's
:class:`~eventpipes.retry.RetryPolicy`. With ``AUTOMATIC_BISECT`` a failing part of more
than one record is halved and the halves tried in order, first half first, so the poison
record ends up alone and only it is dead-lettered; halving does not use up retries (as
EventBridge). Once a record is too old (``MaximumRecordAgeInSeconds``) or a lone part's
retries are spent (``MaximumRetryAttempts``), its part is dead-lettered and the batch moves on.

Pure: the clock is injected; the caller sleeps until :attr:`Attempt.not_before`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from eventpipes.retry import DeadLetterInfo, DlqErrorCode, RetryPolicy
from eventpipes.targets.results import BatchResult, result_from_response

__all__ = ["Attempt", "BatchResult", "BatchRetry", "DeadLetter", "result_from_response"]

Clock = Callable[[], float]


class Identified(Protocol):
    """What :class:`BatchRetry` needs of a record."""

    @property
    def event_id(self) -> str: ...

    @property
    def timestamp_ms(self) -> int: ...


T = TypeVar("T", bound=Identified)


@dataclass(frozen=True, slots=True)
class Attempt(Generic[T]):
    """The next part of the batch to invoke."""

    items: tuple[T, ...]
    """The records, in offset order."""
    number: int
    """Which attempt this is for these records (1 for the first)."""
    not_before: float
    """Clock time before which it must not start (the backoff)."""


@dataclass(frozen=True, slots=True)
class DeadLetter(Generic[T]):
    """A record retrying gave up on, and why."""

    item: T
    info: DeadLetterInfo
    attempts: int
    """Invocations made that included this record."""


@dataclass
class _Part(Generic[T]):
    items: tuple[T, ...]
    tries: int
    """Invocations that included these records, as parts of larger batches too."""
    not_before: float
    own: int = 0
    """Invocations of exactly this part: what ``MaximumRetryAttempts`` counts (halving is free)."""


@dataclass
class BatchRetry(Generic[T]):
    """Runs one batch to its end: every record succeeds or is dead-lettered.

    Use::

        retry = BatchRetry(records, policy=policy, bisect=True, clock=clock, pipe_arn=..., target_arn=...)
        while (attempt := retry.next_attempt()) is not None:
            await sleep_until(attempt.not_before)
            retry.report(await invoke(attempt.items))
        retry.succeeded, retry.dead_letters
    """

    items: Sequence[T]
    policy: RetryPolicy
    bisect: bool
    clock: Clock
    pipe_arn: str = ""
    target_arn: str = ""
    succeeded: list[T] = field(default_factory=list)
    dead_letters: list[DeadLetter[T]] = field(default_factory=list)
    invocations: int = 0
    _parts: deque[_Part[T]] = field(default_factory=deque, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.items:
            self._parts.append(_Part(tuple(self.items), 0, self.clock()))

    def next_attempt(self) -> Attempt[T] | None:
        """The part to invoke next, or None when the batch is finished."""
        if not self._parts:
            return None
        part = self._parts[0]
        return Attempt(part.items, part.tries + 1, part.not_before)

    def report(self, result: BatchResult) -> None:
        """The outcome of invoking the part :meth:`next_attempt` returned."""
        part = self._parts.popleft()
        part.tries += 1
        part.own += 1
        self.invocations += 1
        if result.ok:
            self.succeeded.extend(part.items)
            return
        failing = part.items
        if result.failed:
            ids = [item.event_id for item in part.items]
            lowest = min(ids.index(identifier) for identifier in result.failed if identifier in ids)
            self.succeeded.extend(part.items[:lowest])
            failing = part.items[lowest:]
        self._failed(_Part(failing, part.tries, 0.0, part.own), result)

    def _failed(self, part: _Part[T], result: BatchResult) -> None:
        now = self.clock()
        oldest_ms = min(item.timestamp_ms for item in part.items)
        age = max(0.0, now - oldest_ms / 1000.0)
        decision = self.policy.decide(attempts_made=part.own, event_age_seconds=age, retryable=result.retryable)
        too_old = decision.exhausted_condition is not None and decision.exhausted_condition.value == "MaximumEventAgeInSeconds"
        if self.bisect and len(part.items) > 1 and not too_old:
            middle = len(part.items) // 2
            delay = decision.delay_seconds if decision.retry else 0.0
            self._parts.appendleft(_Part(part.items[middle:], part.tries, now + delay))
            self._parts.appendleft(_Part(part.items[:middle], part.tries, now + delay))
            return
        if decision.retry:
            self._parts.appendleft(_Part(part.items, part.tries, now + decision.delay_seconds, part.own))
            return
        condition = decision.exhausted_condition
        condition_name: str | None
        if condition is not None and condition.value == "MaximumEventAgeInSeconds":
            condition_name = "MaximumRecordAgeInSeconds"  # Pipes' name for the limit
        else:
            condition_name = condition.value if condition is not None else None
        info = DeadLetterInfo(result.error_code, result.message or "the target failed", condition_name,
                              decision.retry_attempts, self.pipe_arn, self.target_arn)
        self.dead_letters.extend(DeadLetter(item, info, part.tries) for item in part.items)

    @property
    def finished(self) -> bool:
        return not self._parts
