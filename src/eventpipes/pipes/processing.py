"""One batch through a pipe: filter → enrichment → target → retry or bisect → dead letters.

:meth:`BatchProcessor.process` takes the records of one lane's batch and returns when each
one is delivered, filtered out or dead-lettered; only then does the runner finish their
offsets. In order:

1. A record that could not be given the source's shape is dead-lettered at once
   (``INVALID_JSON``); a record that is no event (a Debezium tombstone) is done.
2. ``FilterCriteria``: a record that passes no pattern is done (filtered out).
3. :class:`~eventpipes.pipes.failures.BatchRetry` plans the invocations: the whole batch,
   then under the pipe's retry policy what failed (from the lowest failed item, or halves
   of it with ``OnPartialBatchItemFailure: AUTOMATIC_BISECT``), each after its backoff.
4. An invocation renders the enrichment's input template per record, calls the enrichment
   (an empty result ends the batch, successfully, as EventBridge does), renders the
   target's input template, and invokes the target; a raised error is a failed invocation.
5. What retrying gave up on goes to the :class:`~eventpipes.pipes.dead_letters.DeadLetterWriter`.

The processor holds no Kafka consumer and no offsets: the runner owns those.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from aiokafka import AIOKafkaProducer

from eventpipes.pipes import wiring
from eventpipes.pipes.counters import Counters
from eventpipes.pipes.dead_letters import DeadLetterWriter
from eventpipes.pipes.events import PipeArns, PipeTemplate, RecordFilter, reserved_values
from eventpipes.pipes.failures import BatchResult, BatchRetry
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.record import PipeRecord
from eventpipes.retry import DlqErrorCode
from eventpipes.settings import Settings
from eventpipes.targets.adapters import BatchSender
from eventpipes.targets.base import PutEvents, TargetFailed

_EVENT = attrgetter("event")
_EVENT_ID = attrgetter("event_id")


class BatchProcessor:
    """Runs batches of one pipe through its stages (see the module docstring).

    Args:
        pipe: the validated pipe (filters, templates, retry policy, bisect).
        target: the pipe's target.
        enrichment: the pipe's enrichment, if it has one.
        arns: the names dead letters and the ``aws.pipes.*`` variables carry.
        dead_letters: where records go that retrying gave up on.
        counters: the runner's counters (batches, filtered, delivered, invocations).
    """

    def __init__(self, pipe: Pipe, *, target: BatchSender, enrichment: BatchSender | None, arns: PipeArns,
                 dead_letters: DeadLetterWriter, counters: Counters) -> None:
        self.pipe = pipe
        self.counters = counters
        self._stream = pipe.stream
        self._retry = self._stream.retry_policy()
        self._filter = RecordFilter(pipe.filters)
        self._arns = arns
        self._target = target
        self._enrichment = enrichment
        self._dead_letters = dead_letters
        template = pipe.target_parameters.input_template
        self._target_template = PipeTemplate(template) if template else None
        enrichment_template = pipe.enrichment_parameters.input_template if pipe.enrichment_parameters else None
        self._enrichment_template = PipeTemplate(enrichment_template) if enrichment_template else None

    @classmethod
    def for_pipe(cls, pipe: Pipe, settings: Settings, producer: AIOKafkaProducer, put_events: PutEvents | None, *,
                 arns: PipeArns, dead_letters: DeadLetterWriter, counters: Counters) -> "BatchProcessor":
        """The processor with the pipe's own target and enrichment (a topic target writes with ``producer``)."""
        target, enrichment = wiring.make_senders(pipe, wiring.context(settings, producer, put_events))
        return cls(pipe, target=target, enrichment=enrichment, arns=arns, dead_letters=dead_letters, counters=counters)

    async def close(self) -> None:
        """Close the enrichment and the target (their HTTP sessions, ...)."""
        if self._enrichment is not None:
            await self._enrichment.close()
        await self._target.close()

    async def process(self, items: list[PipeRecord]) -> None:
        """Deliver, filter out or dead-letter every record of the batch; return when all are done."""
        self.counters.batches += 1
        # map over attrgetters rather than comprehensions: these run for every record of every batch
        events = items if None not in map(_EVENT, items) else [item for item in items if item.event is not None]
        unusable = [item for item in items if item.error is not None] if len(events) < len(items) else []
        for item in unusable:
            assert item.error is not None
            await self._dead_letters.write_now(item, DlqErrorCode.INVALID_JSON.value, item.error.message)
        passing = events
        if not self._filter.passes_all:
            passing = [item for item in events if item.event is not None and self._filter.passes(item.event)]
        self.counters.records_filtered += len(items) - len(unusable) - len(passing)
        if not passing:
            return
        retry = BatchRetry(passing, policy=self._retry, bisect=self._stream.on_partial_batch_item_failure is not None,
                           clock=time.time, pipe_arn=self._arns.pipe, target_arn=self._arns.target)
        while (attempt := retry.next_attempt()) is not None:
            delay = attempt.not_before - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            result = await self._invoke(attempt.items)
            self.counters.invocations += 1
            if not result.ok:
                self.counters.failed_invocations += 1
            retry.report(result)
        self.counters.records_delivered += len(retry.succeeded)
        for dead in retry.dead_letters:
            await self._dead_letters.write(dead)

    async def _invoke(self, items: Sequence[PipeRecord]) -> BatchResult:
        events: list[Any] = list(map(_EVENT, items))
        ids: list[str] | None = list(map(_EVENT_ID, items))
        sources: Sequence[PipeRecord | None] = items
        try:
            if self._enrichment is not None:
                given = self._render_all(self._enrichment_template, events, sources)
                enriched = await self._enrichment.enrich(given)
                if enriched in (None, "", {}, []):
                    return BatchResult.success()  # EventBridge: the target is not invoked
                events = enriched if isinstance(enriched, list) else [enriched]
                if len(events) != len(items):
                    ids, sources = None, [None] * len(events)
            payloads = self._render_all(self._target_template, events, sources)
            return await self._target.send(payloads, ids, [s.key if s is not None else None for s in sources])
        except TargetFailed as exc:
            return BatchResult.failure(exc.message, error_code=exc.code, retryable=exc.retryable)
        except Exception as exc:
            return BatchResult.failure(f"{self.pipe.target} failed: {exc!r}")

    def _render_all(self, template: PipeTemplate | None, events: list[Any],
                    sources: Sequence[PipeRecord | None]) -> list[Any]:
        if template is None:
            return events
        return [self._render(template, e, s) for e, s in zip(events, sources)]

    def _render(self, template: PipeTemplate, event: Any, source: PipeRecord | None) -> Any:
        text = template.render(event, reserved_values(self.pipe, self._arns, source))
        if template.is_json:
            return json.loads(text)
        return text
