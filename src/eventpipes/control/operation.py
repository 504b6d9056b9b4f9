"""What one control-plane operation is: how it checks a request, and how it reads or changes state.

Each operation module (``buses``, ``rules``, ``connections``, ``pipes``) declares its
operations as rows of ``Operation``; ``state.OPERATIONS`` gathers them. A new operation is
one row. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventpipes.control.state import ControlState

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    """What the process answering a request knows of itself: the names in its ARNs, its limits, its key.

    Used to check and prepare a request before it is written and to shape its response; never
    to decide what the state becomes (every reader must reach the same state, whatever its
    settings): what the rules need, such as the rule limit, travels in the written request.
    """

    region: str
    account: str
    rules_per_bus: int = 300
    """The most rules one bus may hold (EventBridge's default quota is 300)."""
    key: bytes | None = None
    """The AES key secrets are encrypted with (``EVENTPIPES_CONTROL_KEY``), if this process has it."""
    functions: Mapping[str, str] = field(default_factory=dict)
    """Lambda function names registered to Python callables (``EVENTPIPES_FUNCTIONS``): what a Lambda ARN runs here."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One AWS operation.

    ``prepare`` runs where the request arrives, before anything is written: it checks the
    request against AWS's constraints and returns the body to store (normalised, secrets
    encrypted), or raises. Then either ``read`` answers from the state (a read changes
    nothing and is never written), or ``apply`` runs on every reader in log order: it
    changes the state and returns the response, or raises and changes nothing.
    """

    name: str
    prepare: Callable[[Body, Context], Body]
    apply: Callable[["ControlState", Body, int, Context], Body] | None = None
    """``(state, body, time_ms, context)``: ``time_ms`` is the writer's clock, carried in the record."""
    read: Callable[["ControlState", Body, Context], Body] | None = None

    @property
    def writes(self) -> bool:
        return self.apply is not None


def epoch_seconds(time_ms: int | None) -> float | None:
    """A stored time as AWS's JSON protocols send timestamps: seconds since the epoch."""
    return None if time_ms is None else time_ms / 1000


def without_none(body: dict[str, Any]) -> dict[str, Any]:
    """The members that have a value (AWS leaves absent members out of responses)."""
    return {k: v for k, v in body.items() if v is not None}
