"""``eventpipes run``: start a worker for a topology (several workers share the work)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eventpipes.errors import ConfigurationError, EventPipesError
from eventpipes.settings import Settings, get_settings
from eventpipes.topology import load_file
from eventpipes.topology.model import WORKER_ROLES as ROLES

if TYPE_CHECKING:
    from eventpipes.api import Endpoint
    from eventpipes.app import Worker
    from eventpipes.control import ControlPlane
    from eventpipes.topology.model import Topology

#: The consumer group of workers that follow the control plane's store (no FILE).
STORE_GROUP = "eventpipes.store"


#: The line a worker prints once it consumes (tests and demos wait for it).
READY = "eventpipes: worker ready"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--group", help="Consumer group shared by the topology's workers [default: eventpipes.<file stem>, "
                               "or eventpipes.store without FILE].")
@click.option("--web-port", type=click.IntRange(0, 65535), default=6066, show_default=True, help="Port of /metrics (0: none).")
@click.option("--web-host", metavar="ADDRESS",
              help="Address /metrics binds, unauthenticated: keep it loopback or firewalled [default: EVENTPIPES_METRICS_HOST, 127.0.0.1].")
@click.option("--loglevel", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="Run only this part of the topology (repeatable) [default: all of them].")
@click.option("--watch", is_flag=True,
              help="Apply changes to FILE while running (rules, targets, buses, pipes), without a restart.")
@click.option("--api-port", type=click.IntRange(1, 65535),
              help="Also serve the AWS-compatible endpoint on this port (as `eventpipes api` does) [default: none].")
@click.option("--api-host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="Address the endpoint binds; any other than loopback needs access keys (docs/aws-endpoint.md).")
def run(file: str | None, group: str | None, web_port: int, web_host: str | None, loglevel: str, roles: tuple[str, ...],
        watch: bool, api_port: int | None, api_host: str) -> None:
    """Run a worker for topology FILE, or for everything in the control plane's store without FILE.

    It routes every bus's events to the rules' targets and runs the pipes. Without FILE it
    follows the store: a resource created, changed or deleted (eventpipes put-rule, create-pipe,
    apply, the AWS endpoint ...) applies within a second or two, without a restart.

    Pipes whose DesiredState is RUNNING run in the worker (`eventpipes pipe stop NAME` stops one).

    \b
    Roles (--role, repeatable; workers of one group may take different roles):
      routing   match bus and replay events against the rules, archive them
      delivery  deliver the routed events to the targets (retries, dead letters)
      pipes     run the topology's pipes

    With --watch, an edit of FILE is applied within a couple of seconds: new and changed rules
    match events put after the change, a disabled or deleted rule stops, new targets start and
    removed ones stop, pipes start and stop. A file with problems is reported and ignored.

    SIGTERM or Ctrl-C stops it after the batches in flight finish and their offsets are committed.
    """
    from eventpipes.app import WorkerOptions, build, default_group, prepare

    logging.basicConfig(level=loglevel.upper(), format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    plane = None
    if file is None:
        from eventpipes.control import ControlPlane

        if watch:
            raise ConfigurationError("--watch watches a FILE; without one the worker follows the control plane's store")
        plane = ControlPlane(settings)
        topology = _with_default_bus(plane.snapshot())
    else:
        topology = _load(file)
    if web_host is not None:
        if not web_host.strip():
            raise ConfigurationError("--web-host: empty; give an address such as 127.0.0.1")
        settings = settings.model_copy(update={"metrics_host": web_host.strip()})
    options = WorkerOptions(group=group or (default_group(file) if file else STORE_GROUP), web_port=web_port or None,
                            definition=str(Path(file).resolve()) if file else None, roles=frozenset(roles or ROLES))
    endpoint = _endpoint(settings, api_host) if api_port else None  # refused before anything starts
    prepare(topology, settings, options)
    worker = build(topology, settings, options)
    if plane is None and not worker.routing and not worker.pipes.pipes:
        raise ConfigurationError(
            f"{file}: nothing to run as --role {' --role '.join(r for r in ROLES if r in options.roles)}: "
            "no buses to route, no targets to deliver to, no pipes declared RUNNING")
    rules = sum(1 for rule in topology.rules if rule.state == "ENABLED")
    targets = sum(len(rule.targets) for rule in topology.rules)
    pipes = ", ".join(p.name for p in worker.pipes.pipes) or "none"
    scheduled = len(topology.scheduled_rules())
    doing = [f"routing {rules} enabled rules{f' ({scheduled} scheduled)' if scheduled else ''} on {', '.join(topology.bus_names()) or 'no buses'}"
             if "routing" in options.roles else "not routing",
             f"delivering to {targets} targets" if "delivery" in options.roles else "not delivering",
             f"pipes running: {pipes}"]

    def ready() -> None:
        _tune_garbage_collector()
        click.echo(
            f"{READY}: {'; '.join(doing)}; group {options.group}"
            + (f"; metrics on http://{_url_host(settings.metrics_host)}:{web_port}/metrics" if web_port else "")
            + (f"; AWS endpoint on http://{_url_host(api_host)}:{api_port}" if api_port else ""),
            err=True,
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        if plane is not None:
            watcher: asyncio.Task[None] | None = asyncio.create_task(_follow(plane, worker))
        else:
            watcher = asyncio.create_task(_watch(Path(file), worker)) if watch and file else None
        serving = None
        if endpoint is not None and api_port is not None:
            from eventpipes.api import start

            serving, _ = await start(endpoint, api_host, api_port)
        try:
            await worker.run(on_ready=ready)
        finally:
            if watcher is not None:
                watcher.cancel()
            if plane is not None:
                plane.close()
            if serving is not None:
                await serving.cleanup()

    asyncio.run(main())


def _load(file: str) -> "Topology":
    """The topology in ``file``, which must hold its connections' secrets (an export keeps them in the store).

    Raises:
        TopologyError: the file is not valid.
        ConfigurationError: a secret reads ``<stored secret>``.
    """
    from eventpipes.control.requests import uses_stored_secrets
    from eventpipes.topology.model import STORED_SECRET

    topology = load_file(file)
    kept = uses_stored_secrets(topology)
    if kept:
        raise ConfigurationError(f"{file}: {kept[0]} is {STORED_SECRET!r} (as `eventpipes export` writes secrets): the secret is "
                                 "in the control plane's store, not in the file; write it, or run without FILE to follow the store")
    return topology


#: Container allocations between two young collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 10_000


def _tune_garbage_collector() -> None:
    """Once the worker has started: freeze what start-up made, and collect young objects less often.

    A router makes several containers per event (the parsed envelope, header lists, records),
    none of them in a cycle, so CPython's default threshold ran a young collection every
    few dozen events and a full one, over every object the worker holds, every few
    thousand. Start-up's objects (topology, models, clients) live as long as the process:
    frozen, no collection scans them again. Measured with 100 rules, one worker, 80,000
    events on a loaded shared machine: 7,415 / 5,240 events/s without, 8,077 / 8,270 with
    both (freezing alone: 7,400 / 5,041).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)


#: How often --watch looks at the file: a change applies within about this long, plus the change itself.
WATCH_INTERVAL_SECONDS = 0.5


async def _watch(path: Path, worker: "Worker") -> None:
    """Apply each saved change of ``path`` to the running worker; a file with problems is reported and skipped."""
    log = logging.getLogger("eventpipes.run")
    seen = path.stat().st_mtime_ns
    while True:
        await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        try:
            changed = path.stat().st_mtime_ns
        except OSError as exc:
            log.warning("cannot read %s (%s): running on with the last topology", path, exc.strerror)
            continue
        if changed == seen:
            continue
        seen = changed
        try:
            topology = _load(str(path))
            await worker.reconfigure(topology)
        except EventPipesError as error:
            log.error("not applied, running on with the last topology: %s", error)
            continue
        log.warning("applied the changes of %s", path)


async def _follow(plane: "ControlPlane", worker: "Worker") -> None:
    """Apply the store's changes to the running worker, the latest snapshot first when several queue up."""
    log = logging.getLogger("eventpipes.run")
    loop = asyncio.get_running_loop()
    latest: asyncio.Queue[Topology] = asyncio.Queue()

    def changed(topology: Topology) -> None:  # called in the follower's thread
        loop.call_soon_threadsafe(latest.put_nowait, _with_default_bus(topology))

    stop = plane.follow(changed)
    try:
        while True:
            topology = await latest.get()
            while not latest.empty():
                topology = latest.get_nowait()
            try:
                await worker.reconfigure(topology)
            except EventPipesError as error:
                log.error("a change in the store was not applied, running on with the last topology: %s", error)
                continue
            log.warning("applied the store's changes")
    finally:
        stop()


def _endpoint(settings: Settings, host: str) -> "Endpoint":
    """The AWS endpoint ``--api-port`` serves, with its access keys checked against ``host`` now.

    Raises:
        ConfigurationError: ``host`` is not loopback and no access key is configured.
    """
    from eventpipes.api import Endpoint, require_credentials
    from eventpipes.api.credentials import load_keys

    keys = load_keys(settings)
    require_credentials(host, keys)
    return Endpoint(settings, keys=keys)


def _with_default_bus(topology: "Topology") -> "Topology":
    """The store's topology with the ``default`` bus, which always exists: its router runs (and so the
    worker) even before anything else is created."""
    from eventpipes.arns import DEFAULT_BUS
    from eventpipes.topology.model import EventBus

    if any(bus.name == DEFAULT_BUS for bus in topology.event_buses):
        return topology
    return topology.model_copy(update={"event_buses": (EventBus(Name=DEFAULT_BUS), *topology.event_buses)})


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
