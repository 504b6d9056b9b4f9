"""Callables the shared target suite invokes as Function targets and enrichments."""

from __future__ import annotations

from typing import Any

from eventpipes.errors import NonRetryableError

received: list[Any] = []


async def accept(body: Any) -> None:
    received.append(body)


def refuse(body: Any) -> None:
    raise NonRetryableError("not this one")


def crash(body: Any) -> None:
    raise RuntimeError("boom")
