"""The pipes a topology declares, run by ``eventpipes run`` next to its routers.

Each pipe whose ``DesiredState`` is RUNNING runs in the worker's process as it would under
``eventpipes pipe start``: its own consumer group (``eventpipes.pipe.<pipe>``), its status
file, and its desired-state file, set to RUNNING when the worker starts (so a STOPPED left
by an earlier ``pipe stop`` does not stop it at once) and obeyed while it runs, so
``eventpipes pipe stop NAME`` stops that pipe and leaves the routers running. Pipes
declared STOPPED are not started. The worker's stop stops them: batches in flight finish
and their offsets are committed, as for ``pipe stop``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from eventpipes.pipes import state
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.runner import run_pipes
from eventpipes.settings import Settings
from eventpipes.targets.base import PutEvents

log = logging.getLogger(__name__)


def pipes_to_run(pipes: Sequence[Pipe]) -> tuple[Pipe, ...]:
    """The pipes ``eventpipes run`` starts: those whose ``DesiredState`` is RUNNING."""
    return tuple(pipe for pipe in pipes if pipe.desired_state == "RUNNING")


class TopologyPipes:
    """Runs a topology's pipes as one task of the worker.

    Args:
        pipes: the pipes to run (see :func:`pipes_to_run`).
        definition: the topology file, recorded in each pipe's desired-state file as
            ``pipe start`` records it.
        put_events: PutEvents, for pipes whose target is a bus.
    """

    def __init__(self, pipes: Sequence[Pipe], settings: Settings, *, definition: str | None,
                 put_events: PutEvents | None = None) -> None:
        self.pipes = tuple(pipes)
        self._put_events = put_events
        self._settings = settings
        self._definition = definition
        self._on_end: Callable[[BaseException | None], None] = lambda error: None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, on_end: Callable[[BaseException | None], None]) -> None:
        """Start the pipes as a task of the running loop.

        Args:
            on_end: called once that task ends, with its exception (None when every pipe
                stopped normally); the worker stops itself on an exception.
        """
        if not self.pipes:
            return
        self._on_end = on_end
        for pipe in self.pipes:
            state.write_desired(self._settings, pipe.name, "RUNNING", definition=self._definition)
        self._task = asyncio.create_task(run_pipes(list(self.pipes), self._settings, stop=self._stop,
                                                   put_events=self._put_events))
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("pipes %s stopped on an error: %r", ", ".join(p.name for p in self.pipes), error)
        self._on_end(error)

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        """Until every pipe has stopped; re-raises a pipe's error."""
        if self._task is not None:
            await self._task

    async def stop(self) -> BaseException | None:
        """Stop the pipes (in-flight batches finish and are committed) and wait for them.

        Returns:
            The error a pipe stopped on, if any (returned, not raised, so that the worker
            still closes everything else before it raises it).
        """
        self.request_stop()
        try:
            await self.wait()
        except Exception as error:
            return error
        return None
