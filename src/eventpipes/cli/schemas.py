"""``eventpipes schema-registry`` (serve the registry) and ``eventpipes schemas`` (discovery)."""

from __future__ import annotations

from pathlib import Path

import click

from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.topics import SCHEMAS_TOPIC
from eventpipes.settings import get_settings


@click.command("schema-registry")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--topic", default=SCHEMAS_TOPIC, show_default=True, help="The Kafka topic that stores the schemas.")
@click.option("--users-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTTP Basic users, one user:password per line [default: EVENTPIPES_REGISTRY_USERS_FILE].")
def schema_registry(host: str, port: int, topic: str, users_file: Path | None) -> None:
    """Serve a Confluent-compatible schema registry (Avro) stored in a compacted Kafka topic.

    Runs until interrupted. Several registries on the same topic agree with each other.

    \b
    Authentication (HTTP Basic, as Confluent's registry; clients set basic.auth.user.info):
      on whenever users are configured (--users-file, EVENTPIPES_REGISTRY_USERS_FILE,
      EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO); required on any --host other than loopback.
    """
    from eventpipes.schemas.registry import auth as registry_auth
    from eventpipes.schemas.registry.server import run
    from eventpipes.schemas.registry.store import SchemaStore

    settings = get_settings()
    user_info = settings.registry_basic_auth_user_info
    auth = registry_auth.load(users_file or settings.registry_users_file, user_info.get_secret_value() if user_info else None)
    registry_auth.require_credentials(host, auth)  # before anything is printed or connected
    access = f"HTTP Basic authentication, {len(auth.users)} user(s)" if auth else "no authentication (loopback only)"
    click.echo(f"schema registry on http://{host}:{port}, topic {topic} on {settings.bootstrap_servers}, {access}", err=True)
    run(SchemaStore(client_config(settings), topic, timeout_seconds=settings.kafka_timeout_seconds), host, port, auth)


@click.group("schemas")
def schemas() -> None:
    """Schema discovery (the registry itself is `eventpipes schema-registry`)."""


@schemas.command("discover")
@click.option("--bus", required=True, help="The bus whose events to read (topic eventpipes.bus.<bus>), from the beginning.")
@click.option("--register", is_flag=True, help="Register each schema's Avro form under its subject (<source>@<detail-type>).")
@click.option("--registry-url", default=None, help="The registry to register with (default: SCHEMA_REGISTRY_URL).")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0.1), help="Stop reading after this many seconds.")
def discover(bus: str, register: bool, registry_url: str | None, timeout: float) -> None:
    """Infer a schema per (source, detail-type) from the events on a bus; print them as JSON.

    Each schema is given as JSON Schema Draft 4 (the envelope) and Avro (the detail). With
    --register, a changed shape becomes a new version of its subject; an unchanged one keeps
    its version.
    """
    from eventpipes.cli.output import print_json
    from eventpipes.schemas.discovery_run import discover_bus

    print_json(discover_bus(bus, register=register, registry_url=registry_url, timeout_seconds=timeout))
