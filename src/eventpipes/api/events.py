"""EventBridge operations that need no resource store: PutEvents and TestEventPattern.

PutEvents runs through the same client as ``eventpipes put-events`` (``bus.put_events``):
the same per-entry checks and errors, answered with HTTP 200 and ``FailedEntryCount``. The
request as a whole is checked first as AWS's endpoint checks it: 1 to 10 entries, and their
total size within the limit ("Total size of the entries in the request is over the limit.").
The ``account`` of each event is the account of the key that signed the request.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from eventpipes.api import params
from eventpipes.api.errors import ApiError, missing
from eventpipes.bus.put_events import EventBusClient
from eventpipes.events.entries import DEFAULT_BUS, check_entry_list, check_request_size
from eventpipes.patterns.tester import evaluate_test_event
from eventpipes.settings import Settings

#: Clients kept per account: concurrent PutEvents calls each take one, so a slow
#: acknowledgement does not hold the others back (kafka-python's producer is thread-safe,
#: but the client's drop-and-recreate after a Kafka failure is per call).
POOL_SIZE = 4


class PutEventsOperation:
    """PutEvents, with a small pool of ``EventBusClient`` per account."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pools: dict[str, queue.LifoQueue[EventBusClient]] = {}
        self._made: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any], account: str) -> dict[str, Any]:
        if body.get("EndpointId") is not None:
            raise ApiError("ValidationException", "EndpointId (global endpoints) is not supported by eventpipes.")
        entries = body.get("Entries")
        if entries is None:
            raise missing("Entries")
        check_entry_list(entries)
        check_request_size(entries, self._settings.max_entry_bytes)
        client = self._take(account)
        try:
            return client.put_events(entries, bus=DEFAULT_BUS).to_dict()
        finally:
            self._pools[account].put(client)

    def _take(self, account: str) -> EventBusClient:
        with self._lock:
            pool = self._pools.setdefault(account, queue.LifoQueue())
            try:
                return pool.get_nowait()
            except queue.Empty:
                if self._made.get(account, 0) < POOL_SIZE:
                    self._made[account] = self._made.get(account, 0) + 1
                    return EventBusClient(self._settings.model_copy(update={"account": account}))
        return pool.get()

    def close(self) -> None:
        for pool in self._pools.values():
            while not pool.empty():
                pool.get_nowait().close()


def test_event_pattern(body: dict[str, Any]) -> dict[str, Any]:
    """TestEventPattern: ``{"Result": bool}``; the pattern is checked before the event, as EventBridge does."""
    pattern = params.required_string(body, "EventPattern")
    event = params.required_string(body, "Event")
    return {"Result": evaluate_test_event(pattern, event)}
