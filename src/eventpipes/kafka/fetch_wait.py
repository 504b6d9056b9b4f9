"""How long the broker may hold an empty fetch: short while records flow, long once a consumer is idle.

Why: an aiokafka consumer keeps one fetch per broker in flight, and a partition that becomes
fetchable meanwhile (resumed after a pause, or its buffered records just consumed) waits for
that fetch to come back. The worker therefore fetches with a 10 ms wait (``worker.FETCH_MAX_WAIT_MS``):
Kafka's 500 ms default added up to half a second per batch. But an idle worker then sends 100
empty fetches a second per consumer, and decoding their answers in Python was most of its
idle cost: a worker on ``topologies/orders.yaml`` (two consumers) used 6-7% of a core with no
traffic, 1.0-1.3% with 500 ms waits (benchmarks/idle.py).

So the wait follows the traffic: once no record came for :data:`IDLE_AFTER_SECONDS`, fetches
wait up to :data:`IDLE_FETCH_MAX_WAIT_MS`; the first record switches back. An idle consumer
loses no latency by it: every partition is in the fetch in flight (nothing is paused or
buffered), and the broker answers that fetch as soon as a record arrives. The cost is at most
one long fetch after the switch back, for partitions left out of it (records arriving on the
partition that just woke the worker, while nothing else does).

aiokafka reads the wait from its fetcher for each fetch it builds (``Fetcher._fetch_max_wait_ms``,
a private attribute): :func:`fetcher_of` checks it is there, and a consumer without it keeps
its configured wait (tests/unit/kafka/test_fetch_wait.py fails on an aiokafka that renamed it).
"""

from __future__ import annotations

from typing import Any

#: Fetches wait this long once the consumer is idle: Kafka's default ``fetch.max.wait.ms``.
IDLE_FETCH_MAX_WAIT_MS = 500

#: A consumer is idle after this long without a record: short enough that an idle worker
#: soon costs little, long enough that steady traffic (even 10 events a second) never switches.
IDLE_AFTER_SECONDS = 2.0


def fetcher_of(consumer: Any) -> Any | None:
    """The aiokafka fetcher whose ``_fetch_max_wait_ms`` sets each fetch's wait, or None (not started, or another aiokafka)."""
    fetcher = getattr(consumer, "_fetcher", None)
    return fetcher if isinstance(getattr(fetcher, "_fetch_max_wait_ms", None), int) else None


class FetchWait:
    """Switches a consumer's fetch wait between ``busy_ms`` and ``idle_ms`` as records come and stop.

    Call :meth:`saw` after each poll with whether it returned records, and the time now.
    """

    def __init__(self, busy_ms: int, *, idle_ms: int | None = None, idle_after: float | None = None) -> None:
        self.busy_ms = busy_ms
        self.idle_ms = IDLE_FETCH_MAX_WAIT_MS if idle_ms is None else idle_ms
        self._idle_after = IDLE_AFTER_SECONDS if idle_after is None else idle_after
        self._last_record: float | None = None
        self.idle = False

    def saw(self, consumer: Any, records: bool, now: float) -> None:
        if records or self._last_record is None:
            self._last_record = now
            if self.idle:
                self._set(consumer, self.busy_ms)
                self.idle = False
        elif not self.idle and now - self._last_record >= self._idle_after:
            self._set(consumer, self.idle_ms)
            self.idle = True

    @staticmethod
    def _set(consumer: Any, wait_ms: int) -> None:
        fetcher = fetcher_of(consumer)
        if fetcher is not None:
            fetcher._fetch_max_wait_ms = wait_ms
