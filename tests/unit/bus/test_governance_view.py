"""GovernanceView: the governed-bus table read from Kafka at most once per TTL, also by threads sharing a client."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from eventpipes.bus import governed
from eventpipes.bus.governed import GovernanceView
from eventpipes.settings import Settings


def test_threads_that_find_the_table_unread_read_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[float] = []

    def slow_read(settings: Settings, *, timeout_seconds: float | None = None) -> dict[str, Any]:
        reads.append(time.monotonic())
        time.sleep(0.2)  # a Kafka read: long enough for every thread to arrive meanwhile
        return {}

    monkeypatch.setattr(governed, "read_governance", slow_read)
    view = GovernanceView(Settings(), ttl_seconds=30)
    start = threading.Barrier(16)

    def caller() -> None:
        start.wait()
        assert view.get("orders") is None

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(reads) == 1
