"""Python callable targets and enrichments (``module:function``), eventpipes' counterpart of Lambda.

The function receives the body as a value: a rule's event (decoded from JSON, or the text
its input transformation made), or a pipe's batch as a list. A coroutine function is
awaited; a plain one runs in a worker thread so it cannot stall the event loop. Raising
:class:`~eventpipes.errors.NonRetryableError` is a failure retrying cannot fix (dead-lettered
without retries); any other exception is retried under the target's retry policy. What the
function returns is the response (a pipe reads it as a partial batch response or an
enrichment's result; a rule ignores it).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from typing import Any

from eventpipes.errors import ConfigurationError, NonRetryableError
from eventpipes.retry import DlqErrorCode
from eventpipes.targets.base import Item, TargetContext, TargetFailed, TargetSpec


def load_function(spec: str) -> Callable[..., Any]:
    """Import ``module:function``.

    Raises:
        ConfigurationError: the module or the function cannot be found, or is not callable.
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
    """Calls a Python function with each body."""

    def __init__(self, spec: TargetSpec, context: TargetContext | None = None) -> None:
        self._spec = spec.destination
        self._function = load_function(self._spec)
        # Looked up once: inspect's check cost ~2% of a no-op pipe when made per batch.
        self._is_async = inspect.iscoroutinefunction(self._function)

    async def invoke(self, body: Item) -> Any:
        try:
            if self._is_async:
                return await self._function(body.value)
            return await asyncio.to_thread(self._function, body.value)
        except NonRetryableError as exc:
            raise TargetFailed(f"{self._spec} refused it: {exc.message}", code=DlqErrorCode.ERROR_FROM_TARGET,
                               retryable=False) from exc
        except TargetFailed:
            raise
        except Exception as exc:
            raise TargetFailed(f"{self._spec} raised {exc!r}", code=DlqErrorCode.ERROR_FROM_TARGET) from exc

    async def close(self) -> None:
        return None
