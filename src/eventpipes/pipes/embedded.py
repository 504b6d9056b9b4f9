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
from dataclasses import dataclass

from eventpipes.pipes import state
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.runner import PipeRunner
from eventpipes.settings import Settings
from eventpipes.targets.base import PutEvents

log = logging.getLogger(__name__)


def pipes_to_run(pipes: Sequence[Pipe]) -> tuple[Pipe, ...]:
    """The pipes ``eventpipes run`` starts: those whose ``DesiredState`` is RUNNING."""
    return tuple(pipe for pipe in pipes if pipe.desired_state == "RUNNING")


class TopologyPipes:
    """Runs a topology's pipes in the worker, one task each, and follows changes to them.

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
        self._running: dict[str, _Running] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._idle = asyncio.Event()

    def start(self, on_end: Callable[[BaseException | None], None]) -> None:
        """Start the pipes as tasks of the running loop.

        Args:
            on_end: called when a pipe stops on an error, with that error; the worker stops
                itself then, as it does when a router fails.
        """
        self._on_end = on_end
        for pipe in self.pipes:
            self._launch(pipe)
        self._check_idle()

    def update(self, pipes: Sequence[Pipe]) -> None:
        """Run ``pipes`` from now on: new ones start, removed or changed ones stop (and restart if changed).

        A stopping pipe finishes its batches in flight and commits them, as on ``pipe stop``.
        """
        wanted = {pipe.name: pipe for pipe in pipes}
        for name, running in list(self._running.items()):
            if wanted.get(name) != running.pipe:
                running.stop.set()
                del self._running[name]
        self.pipes = tuple(pipes)
        for pipe in pipes:
            if pipe.name not in self._running:
                self._launch(pipe)
        self._check_idle()

    def _launch(self, pipe: Pipe) -> None:
        state.write_desired(self._settings, pipe.name, "RUNNING", definition=self._definition)
        stop = asyncio.Event()
        runner = PipeRunner(pipe, self._settings, put_events=self._put_events)
        task = asyncio.create_task(runner.run(stop), name=f"pipe {pipe.name}")
        running = _Running(pipe, stop, task)
        self._running[pipe.name] = running
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._ended(running, done))

    def _ended(self, running: _Running, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._running.get(running.pipe.name) is running:
            del self._running[running.pipe.name]
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("pipe %s stopped on an error: %r", running.pipe.name, error)
            self._failure = error
            self._on_end(error)
        self._check_idle()

    def _check_idle(self) -> None:
        if self._tasks:
            self._idle.clear()
        else:
            self._idle.set()

    def request_stop(self) -> None:
        for running in self._running.values():
            running.stop.set()

    async def wait(self) -> None:
        """Until every pipe has stopped; re-raises a pipe's error."""
        await self._idle.wait()
        if self._failure is not None:
            raise self._failure

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


@dataclass
class _Running:
    pipe: Pipe
    stop: asyncio.Event
    task: asyncio.Task[None]
