"""The control plane's rules without Kafka: prepare, then read or apply, on one in-memory state."""

from __future__ import annotations

import copy
from typing import Any

from eventpipes.control.operation import Context
from eventpipes.control.operations import apply, operation_named, prepare
from eventpipes.control.state import ControlState, Request

REGION, ACCOUNT = "us-east-1", "123456789012"


class Local:
    """``invoke`` as ``ControlPlane`` does it, with a clock the test moves."""

    def __init__(self, *, rules_per_bus: int = 300, key: bytes | None = None, functions: dict[str, str] | None = None) -> None:
        self.context = Context(region=REGION, account=ACCOUNT, rules_per_bus=rules_per_bus, key=key, functions=functions or {})
        self.state = ControlState()
        self.time_ms = 1_700_000_000_000
        self.count = 0

    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        found = operation_named(operation)
        body = prepare(found, copy.deepcopy(request), self.context)
        if found.read is not None:
            return copy.deepcopy(found.read(self.state, body, self.context))
        self.count += 1
        self.time_ms += 1000
        record = Request(f"r{self.count}", operation, body, self.time_ms)
        decoded = Request.decode(record.encode())  # what every reader gets from the log
        assert decoded == record
        return copy.deepcopy(apply(self.state, decoded, self.context))
