"""``eventpipes run``: start a worker for a topology (several workers share the work)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from eventpipes.errors import ConfigurationError
from eventpipes.settings import get_settings
from eventpipes.topology import load_file
from eventpipes.topology.model import WORKER_ROLES as ROLES


#: The line a worker prints once it consumes (tests and demos wait for it).
READY = "eventpipes: worker ready"


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--group", help="Consumer group shared by the topology's workers [default: eventpipes.<file stem>].")
@click.option("--web-port", type=click.IntRange(0, 65535), default=6066, show_default=True, help="Port of /metrics (0: none).")
@click.option("--web-host", metavar="ADDRESS",
              help="Address /metrics binds, unauthenticated: keep it loopback or firewalled [default: EVENTPIPES_METRICS_HOST, 127.0.0.1].")
@click.option("--loglevel", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="Run only this part of the topology (repeatable) [default: all of them].")
def run(file: str, group: str | None, web_port: int, web_host: str | None, loglevel: str, roles: tuple[str, ...]) -> None:
    """Run a worker for topology FILE: route every bus's events to the rules' targets, run its pipes.

    Pipes whose DesiredState is RUNNING run in the worker (`eventpipes pipe stop NAME` stops one).

    \b
    Roles (--role, repeatable; workers of one group may take different roles):
      routing   match bus and replay events against the rules, archive them
      delivery  deliver the routed events to the targets (retries, dead letters)
      pipes     run the topology's pipes

    SIGTERM or Ctrl-C stops it after the batches in flight finish and their offsets are committed.
    """
    from eventpipes.app import WorkerOptions, build, default_group, prepare

    logging.basicConfig(level=loglevel.upper(), format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
    topology = load_file(file)
    settings = get_settings()
    if web_host is not None:
        if not web_host.strip():
            raise ConfigurationError("--web-host: empty; give an address such as 127.0.0.1")
        settings = settings.model_copy(update={"metrics_host": web_host.strip()})
    options = WorkerOptions(group=group or default_group(file), web_port=web_port or None,
                            definition=str(Path(file).resolve()), roles=frozenset(roles or ROLES))
    prepare(topology, settings, options)
    worker = build(topology, settings, options)
    if not worker.routing and not worker.pipes.pipes:
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
        click.echo(
            f"{READY}: {'; '.join(doing)}; group {options.group}"
            + (f"; metrics on http://{_url_host(settings.metrics_host)}:{web_port}/metrics" if web_port else ""),
            err=True,
        )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run(on_ready=ready)

    asyncio.run(main())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
