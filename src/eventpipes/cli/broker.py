"""``eventpipes broker start|stop|status``: the local single-node KRaft broker."""

from __future__ import annotations

import time
from pathlib import Path

import click

from eventpipes.broker import process
from eventpipes.cli.output import print_json
from eventpipes.settings import get_settings


@click.group()
def broker() -> None:
    """Run a local single-node Apache Kafka (KRaft) for development and tests."""


@broker.command()
@click.option("--secure", is_flag=True, default=None,
              help="Add a SASL_SSL listener (SCRAM-SHA-512/256 and PLAIN, a CA of its own) on the client port + 2, "
                   "and write a client properties file for it (EVENTPIPES_BROKER_SECURE=true does the same).")
def start(secure: bool | None) -> None:
    """Start the local broker (or find it running) and print its bootstrap address."""
    settings = get_settings()
    if secure:
        settings = settings.model_copy(update={"broker_secure": True})
    began = time.monotonic()
    already = process.status(settings)
    status = process.start(settings)
    if status.external:
        click.echo(f"KAFKA_BOOTSTRAP_SERVERS is set: using {status.bootstrap}, starting nothing", err=True)
    elif already.running:
        click.echo(f"Kafka {status.kafka_version} already running (pid {status.pid}, log {status.log})", err=True)
    else:
        click.echo(f"Kafka {status.kafka_version} ready in {time.monotonic() - began:.1f} s (pid {status.pid}, log {status.log})", err=True)
    if status.client_properties:
        click.echo(f"SASL_SSL listener on {status.secure_bootstrap}; client properties (user, password, CA) in "
                   f"{status.client_properties}:\n  export KAFKA_CLIENT_PROPERTIES={status.client_properties} "
                   f"KAFKA_BOOTSTRAP_SERVERS=SASL_SSL://{status.secure_bootstrap}\n"
                   f"mTLS listener: {Path(status.client_properties).with_name('client-mtls.properties')}", err=True)
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
