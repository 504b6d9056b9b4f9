"""``eventpipes put-events`` and ``eventpipes tail``: events onto a bus and off it."""

from __future__ import annotations

import json

import click

from eventpipes.schemas.codec import BusDecoder, is_avro
from eventpipes.bus.put_events import EventBusClient
from eventpipes.cli.output import print_json, read_argument
from eventpipes.errors import ValidationException
from eventpipes.arns import DEFAULT_BUS
from eventpipes.events.entries import bus_name_of
from eventpipes.events.envelope import parse_time
from eventpipes.events.errors import EntryError, InvalidEvent
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.topics import bus_topic, bus_topic_spec
from eventpipes.settings import get_settings


@click.command("put-events")
@click.option("--entries", required=True, help="Entries as the AWS CLI takes them: JSON, file://path, a path, or - for stdin.")
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="Bus for entries without EventBusName.")
def put_events(entries: str, bus: str) -> None:
    """PutEvents: put up to 10 entries on a bus and print the per-entry results."""
    text = read_argument(entries)
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise ValidationException(f"--entries is not valid JSON: {exc}") from exc
    with EventBusClient() as client:
        result = client.put_events(parsed, bus=_bus(bus))
    print_json(result.to_dict())


@click.command()
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="The bus to read.")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest event the bus topic holds.")
@click.option("--since", "since", metavar="TIME", help="Start at the first event put at or after TIME (RFC 3339 or epoch ms).")
@click.option("--max-events", type=click.IntRange(min=1), help="Exit after printing this many events.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Exit after this many seconds.")
def tail(bus: str, from_beginning: bool, since: str | None, max_events: int | None, timeout: float | None) -> None:
    """Print a bus's events as JSON lines as they arrive (a schema-governed bus's Avro events too)."""
    if from_beginning and since:
        raise ValidationException("--from-beginning and --since cannot be used together")
    start = StartAt("beginning") if from_beginning else StartAt("timestamp", _epoch_ms(since)) if since else StartAt("end")
    settings = get_settings()
    name = _bus(bus)
    with Admin(settings.bootstrap_servers) as admin:
        admin.ensure_topic(bus_topic_spec(name, settings.bus_partitions))
    click.echo(f"tailing {bus_topic(name)}", err=True)
    decoder = BusDecoder()
    for record in read_topic(settings.bootstrap_servers, bus_topic(name), start, max_records=max_events, timeout_seconds=timeout):
        if is_avro(record):
            try:
                click.echo(decoder.decode(record).to_json().decode())
            except InvalidEvent as exc:
                click.echo(f"{record.where}: {exc.message}, skipped", err=True)
            continue
        try:
            click.echo(json.dumps(json.loads(record.value or b""), ensure_ascii=False, separators=(",", ":")))
        except ValueError:
            click.echo(f"{record.where}: not a JSON event ({len(record.value or b'')} bytes), skipped", err=True)


def _bus(name: str) -> str:
    try:
        return bus_name_of(name)
    except EntryError as exc:
        raise ValidationException(f"--bus: {exc.message}") from exc


def _epoch_ms(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return int(parse_time(text).timestamp() * 1000)
    except ValueError as exc:
        raise ValidationException(f"--since {text!r} is neither RFC 3339 nor epoch milliseconds") from exc


