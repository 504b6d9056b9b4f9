"""The contracts of a pipe's enrichment and target, as Protocols the runner calls.

Kinds: ``function:<module>:<callable>`` (a Python callable, eventpipes' Lambda) and
``http(s)://`` endpoints for both; ``topic:<name>`` and ``bus:<name>`` for targets.
"""

from __future__ import annotations

from typing import Any, Protocol

from eventpipes.pipes.failures import BatchResult


class Enrichment(Protocol):
    """Receives the batch as a JSON array and returns what the target gets instead.

    Contract:
        * The result may be shorter or longer than the batch; a single object counts as a
          one-element batch.
        * ``""``, ``{}``, ``[]`` or nothing (``None``) means the target is not invoked: the
          batch is done, successfully.
        * Raising :class:`~eventpipes.pipes.errors.InvocationFailed` (or any exception)
          fails the whole batch; it is retried under the pipe's retry policy. Partial
          failures of an enrichment are not supported (as EventBridge).
    """

    async def enrich(self, batch: list[Any]) -> Any: ...

    async def close(self) -> None: ...


class Target(Protocol):
    """Receives one batch of payloads (the input template already applied per record).

    Contract:
        * ``payloads`` are in offset order; ``ids`` are the ``eventID`` of the source records
          they came from when the batch was not reshaped by an enrichment (else ``None``).
        * Returns a :class:`~eventpipes.pipes.failures.BatchResult`: success, a partial
          failure naming ``itemIdentifier`` values (the records from the lowest one on are
          retried), or a complete failure. A raised exception is a complete, retryable failure.
    """

    async def invoke(self, payloads: list[Any], ids: list[str] | None) -> BatchResult: ...

    async def close(self) -> None: ...
