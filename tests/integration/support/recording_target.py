"""Python callable targets for the routing tests; the worker subprocess imports them.

Each appends what it received as a JSON line to the file named by
EVENTPIPES_TEST_RECORD_FILE, so the test process can read what the worker delivered.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from eventpipes.errors import NonRetryableError


def _append(kind: str, payload: Any) -> None:
    with open(os.environ["EVENTPIPES_TEST_RECORD_FILE"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"kind": kind, "payload": payload}) + "\n")


def record(payload: Any) -> None:
    _append("sync", payload)


async def arecord(payload: Any) -> None:
    await asyncio.sleep(0)
    _append("async", payload)


def refuse(payload: Any) -> None:
    raise NonRetryableError("this event can never be accepted")


def flaky(payload: Any) -> None:
    """Fails the first two attempts for each event, then records it."""
    marker = f"{os.environ['EVENTPIPES_TEST_RECORD_FILE']}.{payload['id']}.attempts"
    attempts = int(open(marker).read()) if os.path.exists(marker) else 0
    with open(marker, "w") as handle:
        handle.write(str(attempts + 1))
    if attempts < 2:
        raise RuntimeError(f"attempt {attempts + 1} fails on purpose")
    _append("flaky", payload)


def slow_record(payload: Any) -> None:
    """Takes a little time per event, so a kill lands while deliveries are in flight."""
    import time

    time.sleep(0.02)
    _append("slow", payload)
