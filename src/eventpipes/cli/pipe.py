"""``eventpipes pipe start|stop|describe|list``: run and inspect EventBridge Pipes."""

from __future__ import annotations

import time
from pathlib import Path

import click

from eventpipes.cli.output import print_json
from eventpipes.pipes.errors import PipeNotFound, PipeStateConflict
from eventpipes.pipes.model import Pipe
from eventpipes.settings import get_settings
from eventpipes.topology import load_file

#: The line a started pipe prints to stderr once its consumer runs (tests and the demo wait for it).
READY = "eventpipes: pipe running"


def _select(file: str, names: tuple[str, ...]) -> list[Pipe]:
    topology = load_file(file)
    if not names:
        return [p for p in topology.pipes if p.desired_state == "RUNNING"]
    chosen = []
    for name in names:
        found = [p for p in topology.pipes if p.name == name]
        if not found:
            raise PipeNotFound(name, file)
        chosen.append(found[0])
    return chosen


@click.group()
def pipe() -> None:
    """EventBridge Pipes: source topic -> filter -> enrichment -> target."""


@pipe.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--name", "names", multiple=True, help="Pipe(s) to start [default: every pipe whose DesiredState is RUNNING].")
@click.option("--detach", is_flag=True, help="Run in the background; stop with `eventpipes pipe stop NAME`.")
@click.option("--loglevel", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def start(file: str, names: tuple[str, ...], detach: bool, loglevel: str) -> None:
    """Start the pipes of FILE (a topology or pipes/*.yaml) and run them until stopped."""
    from eventpipes.pipes import state
    from eventpipes.pipes.describe import current_state

    settings = get_settings()
    pipes = _select(file, names)
    for chosen in pipes:
        current, _ = current_state(settings, chosen.name)
        if current in ("STARTING", "RUNNING", "STOPPING"):
            raise PipeStateConflict(chosen.name, current, f"Pipe {chosen.name} is already {current}.")
    for chosen in pipes:
        state.write_desired(settings, chosen.name, "RUNNING", definition=str(Path(file).resolve()))
    if detach:
        _start_detached(file, pipes, loglevel)
        return
    _run_foreground(pipes, loglevel)


def _run_foreground(pipes: list[Pipe], loglevel: str) -> None:
    import asyncio
    import logging
    import signal

    from eventpipes.bus.put_events import AsyncPutEvents
    from eventpipes.pipes.runner import run_pipes

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        click.echo(f"{READY}: {', '.join(p.name for p in pipes)} (pid {__import__('os').getpid()})", err=True)
        put_events = AsyncPutEvents(settings)
        try:
            await run_pipes(pipes, settings, stop=stop, put_events=put_events)
        finally:
            put_events.close()

    asyncio.run(main())


def _start_detached(file: str, pipes: list[Pipe], loglevel: str) -> None:
    import os
    import subprocess
    import sys

    from eventpipes.pipes import state
    from eventpipes.pipes.describe import current_state

    settings = get_settings()
    results = []
    for chosen in pipes:
        log_path = state.pipes_dir(settings) / f"{chosen.name}.log"
        with open(log_path, "ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "eventpipes", "pipe", "start", file, "--name", chosen.name, "--loglevel", loglevel],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy(),
            )
        deadline = time.monotonic() + 60
        current = "STARTING"
        while time.monotonic() < deadline:
            current, _ = current_state(settings, chosen.name)
            status = state.read_status(settings, chosen.name) or {}
            if current == "RUNNING" and status.get("CurrentState") == "RUNNING":
                break
            time.sleep(0.2)
        results.append({"Name": chosen.name, "DesiredState": "RUNNING", "CurrentState": current, "Log": str(log_path)})
    print_json(results[0] if len(results) == 1 else {"Pipes": results})


@pipe.command()
@click.argument("name")
@click.option("--wait", "wait_seconds", type=float, default=30.0, show_default=True, help="Seconds to wait for the pipe to stop.")
def stop(name: str, wait_seconds: float) -> None:
    """Stop pipe NAME: it finishes the batches in flight, commits, and exits."""
    from eventpipes.pipes import state
    from eventpipes.pipes.describe import current_state

    settings = get_settings()
    if state.read_desired(settings, name) is None and state.read_status(settings, name) is None:
        raise PipeNotFound(name, str(state.pipes_dir(settings)))
    state.write_desired(settings, name, "STOPPED")
    deadline = time.monotonic() + wait_seconds
    current, _ = current_state(settings, name)
    while current != "STOPPED" and time.monotonic() < deadline:
        time.sleep(0.2)
        current, _ = current_state(settings, name)
    print_json({"Name": name, "DesiredState": "STOPPED", "CurrentState": current})


@pipe.command()
@click.argument("name")
@click.option("--file", type=click.Path(dir_okay=False, exists=True), help="The pipe's definition, for a pipe never started here.")
def describe(name: str, file: str | None) -> None:
    """Show pipe NAME: state, per-partition committed offset and lag, counters."""
    from eventpipes.pipes.describe import describe as describe_pipe

    definition = _select(file, (name,))[0] if file else None
    print_json(describe_pipe(get_settings(), name, definition))


@pipe.command(name="list")
def list_() -> None:
    """List the pipes started from this state directory, with their states."""
    from eventpipes.pipes.describe import list_pipes

    print_json(list_pipes(get_settings()))
