"""File targets: each payload appended to a local file as one line (tests, demos, audit trails on disk).

A record-shaped kind: a batch is appended in one write and flushed before it counts as
delivered. A payload holding newlines is written as it is (JSON payloads hold none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from eventpipes.retry import DlqErrorCode
from eventpipes.targets.base import Item, TargetContext, TargetFailed, TargetSpec


class FileTarget:
    """Appends to the file ``destination``."""

    def __init__(self, spec: TargetSpec, context: TargetContext | None = None) -> None:
        self._path = Path(spec.destination)

    async def write(self, items: Sequence[Item]) -> list[TargetFailed | None]:
        data = b"".join(item.payload + b"\n" for item in items)
        try:
            await asyncio.to_thread(self._append, data)
        except OSError as exc:
            failure = TargetFailed(f"cannot append to {self._path}: {exc.strerror}", code=DlqErrorCode.INTERNAL_ERROR)
            return [failure] * len(items)
        return [None] * len(items)

    def _append(self, data: bytes) -> None:
        with self._path.open("ab") as file:
            file.write(data)

    async def close(self) -> None:
        return None
