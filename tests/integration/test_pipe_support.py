"""Functions the pipe tests use as targets and enrichments (``function:test_pipe_support:<name>``).

In-process tests read ``CALLS``; the crash test's subprocess appends to the file named by
``PIPE_TEST_LOG``. Each behaviour is keyed by a marker in the record value so tests sharing
this module never see each other's records.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from typing import Any

CALLS: dict[str, list[list[Any]]] = {}
_LOCK = threading.Lock()


def _values(batch: list[Any]) -> list[Any]:
    out = []
    for item in batch:
        if isinstance(item, dict) and "value" in item and isinstance(item["value"], str):
            out.append(json.loads(base64.b64decode(item["value"])))
        else:
            out.append(item)
    return out


def _record(batch: list[Any]) -> str:
    values = [v["dynamodb"].get("NewImage", {}).get("test", {"S": None}) if isinstance(v, dict) and "dynamodb" in v else v
              for v in _values(batch)]
    values = [{"test": v["S"]} if isinstance(v, dict) and "S" in v else v for v in values]
    test = next((v.get("test") for v in values if isinstance(v, dict) and "test" in v), None) or "?"
    with _LOCK:
        CALLS.setdefault(test, []).append(batch)
    return test


def record_batch(batch: list[Any]) -> None:
    """Accepts every batch."""
    _record(batch)


def poison_partial(batch: list[Any]) -> dict[str, Any] | None:
    """Reports every record whose value has ``poison: true`` as failed (partial batch response)."""
    _record(batch)
    failed = [item["eventID"] for item, value in zip(batch, _values(batch)) if value.get("poison")]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]} if failed else None


def poison_raises(batch: list[Any]) -> None:
    """Fails the whole batch when any record is poison (bisect must isolate it)."""
    _record(batch)
    if any(v.get("poison") for v in _values(batch)):
        raise RuntimeError("poison in batch")


def enrich_skip_or_double(batch: list[Any]) -> Any:
    """``[]`` for a batch holding a ``skip`` record (target not invoked), else each record twice, reshaped."""
    values = _values(batch)
    if any(v.get("skip") for v in values):
        return []
    return [{"test": v["test"], "n": v["n"], "copy": c} for v in values for c in (1, 2)]


def slow_logging_target(batch: list[Any]) -> None:
    """20 ms per batch, then one line per record in PIPE_TEST_LOG: pid, key, n."""
    time.sleep(0.02)
    lines = []
    for value in _values(batch):
        lines.append(json.dumps({"pid": os.getpid(), "key": value["key"], "n": value["n"]}))
    with open(os.environ["PIPE_TEST_LOG"], "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
