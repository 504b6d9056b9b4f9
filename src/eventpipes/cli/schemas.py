"""``eventpipes schema-registry`` (serve the registry) and ``eventpipes schemas`` (discovery)."""

from __future__ import annotations

import click

from eventpipes.kafka.topics import SCHEMAS_TOPIC
from eventpipes.settings import get_settings


@click.command("schema-registry")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--topic", default=SCHEMAS_TOPIC, show_default=True, help="The Kafka topic that stores the schemas.")
def schema_registry(host: str, port: int, topic: str) -> None:
    """Serve a Confluent-compatible schema registry (Avro) stored in a compacted Kafka topic.

    Runs until interrupted. Several registries on the same topic agree with each other.
    """
    from eventpipes.schemas.registry.server import run
    from eventpipes.schemas.registry.store import SchemaStore

    settings = get_settings()
    click.echo(f"schema registry on http://{host}:{port}, topic {topic} on {settings.bootstrap_servers}", err=True)
    run(SchemaStore(settings.bootstrap_servers, topic, timeout_seconds=settings.kafka_timeout_seconds), host, port)
