"""A batch's outcome, as a pipe's target reports it.

:class:`BatchResult` is shaped like a batch error that marks failed items: nothing marked
means the whole batch failed, anything marked means the rest succeeded. It is what a
pipe target returns; :func:`result_from_response` reads EventBridge's partial batch
response (``{"batchItemFailures": [{"itemIdentifier": ...}]}``) with its exact rules:

============================================================  ================
response                                                      outcome
============================================================  ================
``null`` / empty / ``{}``                                     complete success
``batchItemFailures`` missing, ``null`` or ``[]``              complete success
an ``itemIdentifier`` that is ``""``, ``null`` or missing     complete failure
(a wrongly spelt key)
an ``itemIdentifier`` not in the batch                        complete failure
valid identifiers                                             partial failure:
                                                              retry from the
                                                              lowest failed record
============================================================  ================

(The row "not in the batch" is eventpipes' reading: EventBridge does not document it, and
retrying everything is the choice that loses nothing.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventpipes.retry import DlqErrorCode


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What became of one invocation of a batch."""

    failed: tuple[str, ...] | None = ()
    """``()``: every record succeeded. ``None``: the whole batch failed. Otherwise the
    ``itemIdentifier`` of each failed record; the others succeeded."""
    error_code: str = DlqErrorCode.ERROR_FROM_TARGET.value
    """For a failure: EventBridge's DLQ ``ERROR_CODE``."""
    message: str = ""
    """For a failure: what went wrong."""
    retryable: bool = True
    """For a failure: whether another attempt may succeed."""

    @classmethod
    def success(cls) -> "BatchResult":
        return cls(())

    @classmethod
    def failure(cls, message: str, *, error_code: str = DlqErrorCode.ERROR_FROM_TARGET.value,
                retryable: bool = True) -> "BatchResult":
        return cls(None, error_code, message, retryable)

    @classmethod
    def partial(cls, identifiers: Sequence[str], message: str = "partial batch failure") -> "BatchResult":
        return cls(tuple(identifiers), DlqErrorCode.ERROR_FROM_TARGET.value, message, True)

    @property
    def ok(self) -> bool:
        return self.failed == ()


def result_from_response(response: Any, batch_ids: Sequence[str]) -> BatchResult:
    """Read a target's response under EventBridge's partial batch failure rules (see the module table).

    Args:
        response: the decoded response (``None`` for an empty body); anything that is not an
            object with ``batchItemFailures`` is a success, as EventBridge treats it.
        batch_ids: the ``itemIdentifier`` (``eventID``) of every record the target was given.
    """
    if not isinstance(response, dict) or not response:
        return BatchResult.success()
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return BatchResult.success()
    if not isinstance(failures, list):
        return BatchResult.failure("batchItemFailures is not a list")
    known = set(batch_ids)
    identifiers: list[str] = []
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or identifier == "":
            return BatchResult.failure(f"invalid batchItemFailures entry {entry!r}: the whole batch failed")
        if identifier not in known:
            return BatchResult.failure(f"itemIdentifier {identifier!r} is not in the batch: the whole batch failed")
        identifiers.append(identifier)
    return BatchResult.partial(identifiers)
