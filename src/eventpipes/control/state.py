"""The control plane's state and the deterministic rules that change it, one request at a time.

Every reader (each ``ControlPlane``, each worker) applies the same request records in the
same (log) order with these rules, so all reach the same state without a leader: the
first ``CreateEventBus`` of a name applied creates it, and the second, whoever wrote it,
fails with ``ResourceAlreadyExistsException``. Nothing here may depend on the clock,
randomness or the reader's settings: times come from the record (the writer's clock),
limits from the request body the writer prepared.

The state holds each resource in the AWS shape it is described in (times in epoch
milliseconds, secrets encrypted), so describing is reading and ``snapshot`` maps it
onto the topology model. Pure: no Kafka.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from eventpipes.arns import DEFAULT_BUS
from eventpipes.control.operation import Body

#: The version of the request record format; records of another version are skipped.
RECORD_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Request:
    """One change, as written to the log: its id (the record key), operation, prepared body and time."""

    request_id: str
    operation: str
    body: Body
    time_ms: int

    def encode(self) -> bytes:
        record = {"v": RECORD_VERSION, "id": self.request_id, "op": self.operation, "body": self.body, "time": self.time_ms}
        return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> "Request | None":
        """The request in ``data``, or None for a record this version does not understand."""
        try:
            record = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(record, dict) or record.get("v") != RECORD_VERSION:
            return None
        request_id, operation, body, time_ms = record.get("id"), record.get("op"), record.get("body"), record.get("time")
        if not (isinstance(request_id, str) and isinstance(operation, str) and isinstance(body, dict) and isinstance(time_ms, int)):
            return None
        return cls(request_id, operation, body, time_ms)


@dataclass
class ControlState:
    """Every resource, as applied from the log so far. Changed only by ``operations.apply``."""

    buses: dict[str, Body] = field(default_factory=lambda: {DEFAULT_BUS: {"Name": DEFAULT_BUS}})
    rules: dict[tuple[str, str], Body] = field(default_factory=dict)
    """``(bus, rule)`` → the rule, its targets under ``Targets`` (a list, in the order put)."""
    connections: dict[str, Body] = field(default_factory=dict)
    api_destinations: dict[str, Body] = field(default_factory=dict)
    pipes: dict[str, Body] = field(default_factory=dict)
    applied: int = 0
    """Records applied (including refused ones): the position in the log, for readers to compare."""

    def rules_on(self, bus: str) -> list[Body]:
        """The rules of one bus, sorted by name."""
        return [self.rules[key] for key in sorted(k for k in self.rules if k[0] == bus)]


__all__ = ["ControlState", "Request"]
