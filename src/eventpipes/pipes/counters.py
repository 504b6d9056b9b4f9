"""What a running pipe has done so far, as ``pipe describe`` shows it.

One :class:`Counters` per runner, shared by its parts: the runner counts what it reads, the
batch processor what it filters, delivers and invokes, the dead-letter writer what it
dead-letters or discards. Plain integers bumped in place: the runner's tasks share one
event loop, so no two bumps interleave.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Counters:
    """What ``pipe describe`` shows of a running pipe."""

    records_read: int = 0
    records_filtered: int = 0
    records_delivered: int = 0
    records_dead_lettered: int = 0
    records_discarded: int = 0
    batches: int = 0
    invocations: int = 0
    failed_invocations: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "RecordsRead": self.records_read, "RecordsFilteredOut": self.records_filtered,
            "RecordsDelivered": self.records_delivered, "RecordsDeadLettered": self.records_dead_lettered,
            "RecordsDiscarded": self.records_discarded, "Batches": self.batches,
            "TargetInvocations": self.invocations, "FailedInvocations": self.failed_invocations,
        }
