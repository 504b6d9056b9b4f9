"""The two ways targets are called: one event at a time (rules) and one batch at a time (pipes).

* :class:`EventSender`: a rule delivers each matched event on its own. A record target
  still takes a whole batch of events in one call (``deliver_all``); an invocation target
  is invoked once per event, with the event as the body.
* :class:`BatchSender`: a pipe hands over a batch. A record target writes one record per
  payload; an invocation target is invoked once, with the batch as a list, and its answer
  read as EventBridge's partial batch response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventpipes.errors import TargetFailed
from eventpipes.targets.base import InvocationTarget, Item, RecordTarget
from eventpipes.targets.results import BatchResult, result_from_response


class EventSender:
    """A target as a rule uses it."""

    def __init__(self, target: RecordTarget | InvocationTarget) -> None:
        self.target = target
        self.batched = isinstance(target, RecordTarget)
        """Whether a batch of events goes in one call (``deliver_all``) rather than one call each."""

    async def deliver(self, item: Item) -> None:
        """Returns once the target accepted the event.

        Raises:
            TargetFailed: it did not (``retryable`` says whether to try again).
        """
        if self.batched:
            failure = (await self.target.write([item]))[0]  # type: ignore[union-attr]
            if failure is not None:
                raise failure
            return
        await self.target.invoke(item)  # type: ignore[union-attr]

    async def deliver_all(self, items: Sequence[Item]) -> list[TargetFailed | None]:
        """One outcome per event, in order (record targets only: see ``batched``)."""
        assert self.batched
        try:
            return await self.target.write(items)  # type: ignore[union-attr]
        except TargetFailed as failure:
            return [failure] * len(items)

    async def close(self) -> None:
        await self.target.close()


class BatchSender:
    """A target (or an enrichment) as a pipe uses it."""

    def __init__(self, target: RecordTarget | InvocationTarget) -> None:
        self.target = target
        # Decided once: an isinstance check against a runtime-checkable Protocol cost 7.5 us per
        # batch, about 3% of a no-op pipe at BatchSize 100.
        self._records = isinstance(target, RecordTarget)

    async def send(self, values: list[Any], ids: list[str] | None, keys: Sequence[bytes | None] | None = None) -> BatchResult:
        """Deliver a batch of payloads; ``ids`` name them for partial failures (None when unknown).

        Never raises: a failure, typed or not, is a :class:`BatchResult` (an untyped one is retryable).
        """
        try:
            if self._records:
                items = [Item(value=v, key=keys[n] if keys else None) for n, v in enumerate(values)]
                return _records_result(await self.target.write(items), ids)  # type: ignore[union-attr]
            return result_from_response(await self.target.invoke(Item(value=values)), ids or [])  # type: ignore[union-attr]
        except TargetFailed as exc:
            return BatchResult.failure(exc.message, error_code=exc.code, retryable=exc.retryable)
        except Exception as exc:
            return BatchResult.failure(f"the target failed: {exc!r}")

    async def enrich(self, values: list[Any]) -> Any:
        """The enrichment's answer to the batch (what the target gets instead).

        Raises:
            TargetFailed: the enrichment failed; the batch is retried as a whole.
        """
        assert not isinstance(self.target, RecordTarget), "an enrichment is invoked"
        return await self.target.invoke(Item(value=values))

    async def close(self) -> None:
        await self.target.close()


def _records_result(outcomes: list[TargetFailed | None], ids: list[str] | None) -> BatchResult:
    """Written records succeeded; with ids known, the failed ones alone are retried."""
    failures = [(n, failure) for n, failure in enumerate(outcomes) if failure is not None]
    if not failures:
        return BatchResult.success()
    first = failures[0][1]
    if ids is not None and all(failure.retryable for _, failure in failures) and len(failures) < len(outcomes):
        return BatchResult.partial([ids[n] for n, _ in failures], first.message)
    return BatchResult.failure(first.message, error_code=first.code, retryable=first.retryable)
