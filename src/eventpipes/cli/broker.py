"""``eventpipes broker start|stop|status``: the local single-node KRaft broker."""

from __future__ import annotations

import time

import click

from eventpipes.broker import process
from eventpipes.cli.output import print_json
from eventpipes.settings import get_settings


@click.group()
def broker() -> None:
    """Run a local single-node Apache Kafka (KRaft) for development and tests."""


@broker.command()
def start() -> None:
    """Start the local broker (or find it running) and print its bootstrap address."""
    settings = get_settings()
    began = time.monotonic()
    already = process.status(settings)
    status = process.start(settings)
    if status.external:
        click.echo(f"KAFKA_BOOTSTRAP_SERVERS is set: using {status.bootstrap}, starting nothing", err=True)
    elif already.running:
        click.echo(f"Kafka {status.kafka_version} already running (pid {status.pid}, log {status.log})", err=True)
    else:
        click.echo(f"Kafka {status.kafka_version} ready in {time.monotonic() - began:.1f} s (pid {status.pid}, log {status.log})", err=True)
    click.echo(status.bootstrap)


@broker.command()
def stop() -> None:
    """Stop the local broker (SIGTERM, then SIGKILL after 30 s)."""
    status = process.stop(get_settings())
    click.echo("stopped" if not status.external else f"external cluster {status.bootstrap}: nothing to stop", err=True)


@broker.command()
def status() -> None:
    """Report whether the broker eventpipes uses is running."""
    status = process.status(get_settings())
    print_json(status.to_dict())
    if not status.running:
        raise SystemExit(1)
