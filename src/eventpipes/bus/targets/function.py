"""Python callable targets (``module:function``), eventpipes' counterpart of a Lambda target.

The function receives the payload decoded from JSON (or the text, if the input
transformation made plain text). A coroutine function is awaited; a plain one runs
in a worker thread so it cannot stall the event loop. Raising
``eventpipes.errors.NonRetryableError`` sends the event straight to the dead-letter
topic; any other exception is retried under the target's retry policy.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable
from typing import Any

from eventpipes.bus.targets.base import Delivery, DeliveryFailed
from eventpipes.errors import ConfigurationError, NonRetryableError
from eventpipes.retry import DlqErrorCode


def load_function(spec: str) -> Callable[..., Any]:
    """Import ``module:function``.

    Raises:
        ConfigurationError: the module or the function cannot be found.
    """
    module_name, _, name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"cannot load target function {spec!r}: {exc}") from exc
    if not callable(function):
        raise ConfigurationError(f"target function {spec!r} is not callable")
    return function  # type: ignore[no-any-return]


class FunctionTarget:
    """Calls a Python function with each payload."""

    def __init__(self, spec: str) -> None:
        self._spec = spec
        self._function = load_function(spec)

    async def deliver(self, delivery: Delivery) -> None:
        argument = _decode(delivery.payload)
        try:
            if inspect.iscoroutinefunction(self._function):
                await self._function(argument)
            else:
                await asyncio.to_thread(self._function, argument)
        except NonRetryableError as exc:
            raise DeliveryFailed(f"{self._spec} refused the event: {exc.message}", code=DlqErrorCode.ERROR_FROM_TARGET, retryable=False) from exc
        except Exception as exc:
            raise DeliveryFailed(f"{self._spec} raised {exc!r}", code=DlqErrorCode.ERROR_FROM_TARGET) from exc

    async def close(self) -> None:
        return None


def _decode(payload: bytes) -> Any:
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
