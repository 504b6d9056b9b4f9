"""``eventpipes put-events`` and ``eventpipes tail``: events onto a bus and off it."""

from __future__ import annotations

from typing import Any

import click

from eventpipes.schemas.codec import BusDecoder, is_avro
from eventpipes.bus.existing import KnownBuses
from eventpipes.bus.put_events import EventBusClient
from eventpipes.cli.output import print_json, read_argument
from eventpipes.errors import ValidationException
from eventpipes.arns import DEFAULT_BUS
from eventpipes.events import jsontext
from eventpipes.events.entries import bus_name_of
from eventpipes.events.errors import EntryError, EventBusNotFound, InvalidEvent
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import get_settings
from eventpipes.timestamps import parse_timestamp


@click.command("put-events")
@click.option("--entries", required=True, help="Entries as the AWS CLI takes them: JSON, file://path, a path, or - for stdin.")
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="Bus for entries without EventBusName.")
def put_events(entries: str, bus: str) -> None:
    """PutEvents: put up to 10 entries on a bus and print the per-entry results."""
    parsed = _entries(entries)
    with EventBusClient() as client:
        result = client.put_events(parsed, bus=_bus(bus))
    print_json(result.to_dict())


@click.command()
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="The bus to read.")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest event the bus topic holds.")
@click.option("--since", "since", metavar="TIME", help="Start at the first event put at or after TIME: epoch seconds (`date +%s`) or ISO 8601 (no offset: UTC).")
@click.option("--max-events", type=click.IntRange(min=1), help="Exit after printing this many events.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Exit after this many seconds.")
def tail(bus: str, from_beginning: bool, since: str | None, max_events: int | None, timeout: float | None) -> None:
    """Print a bus's events as JSON lines as they arrive (a schema-governed bus's Avro events too)."""
    if from_beginning and since:
        raise ValidationException("--from-beginning and --since cannot be used together")
    since_at = parse_timestamp(since, "--since") if since is not None else None
    start = StartAt("beginning") if from_beginning else StartAt("timestamp", since_at.epoch_ms) if since_at else StartAt("end")
    settings = get_settings()
    name = _bus(bus)
    with Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds) as admin:
        if KnownBuses(admin, partitions=settings.bus_partitions).missing([name]):
            raise EventBusNotFound(name)  # never created: tailing it must not create it either
    # The resolved start, in UTC, so a misread time shows before any event does.
    where = f" from {since_at.iso}" if since_at else " from the beginning" if from_beginning else ""
    click.echo(f"tailing {bus_topic(name)}{where}", err=True)
    decoder = BusDecoder()
    for record in read_topic(client_config(settings), bus_topic(name), start, max_records=max_events, timeout_seconds=timeout):
        if is_avro(record):
            try:
                click.echo(decoder.decode(record).to_json().decode())
            except InvalidEvent as exc:
                click.echo(f"{record.where}: {exc.message}, skipped", err=True)
            continue
        try:
            value = jsontext.loads(record.value or b"", limit=jsontext.MAX_EVENT_DEPTH)
            click.echo(jsontext.dumps(value, ensure_ascii=False, separators=(",", ":")))
        except ValueError:
            click.echo(f"{record.where}: not a JSON event ({len(record.value or b'')} bytes), skipped", err=True)


def _entries(argument: str) -> Any:
    """The ``--entries`` document, or a one-line ``ValidationException`` saying where it is wrong.

    It is refused before any parsing if nested deeper than PutEvents processes JSON
    (``jsontext.MAX_DETAIL_DEPTH``; entries themselves are 3 levels deep).
    """
    try:
        text = read_argument(argument)
    except UnicodeDecodeError as exc:
        raise ValidationException(f"--entries is not UTF-8: {_where(exc)}") from exc
    try:
        return jsontext.loads(text, limit=jsontext.MAX_DETAIL_DEPTH)
    except jsontext.JsonTooDeep as exc:
        line, column = _line_column(text, exc.position)
        raise ValidationException(
            f"--entries is nested more than {exc.limit} levels deep (line {line} column {column}); "
            f"PutEvents processes JSON up to {jsontext.MAX_DETAIL_DEPTH} levels") from exc
    except ValueError as exc:
        raise ValidationException(f"--entries is not valid JSON: {exc}") from exc


def _where(error: UnicodeDecodeError) -> str:
    data = bytes(error.object)
    line, column = _line_column(data, error.start)
    return f"byte 0x{data[error.start]:02x} at line {line} column {column} ({error.reason})"


def _line_column(text: str | bytes, offset: int) -> tuple[int, int]:
    before = text[:offset]
    newline = "\n" if isinstance(before, str) else b"\n"
    return before.count(newline) + 1, offset - (before.rfind(newline) + 1) + 1  # type: ignore[arg-type]


def _bus(name: str) -> str:
    try:
        return bus_name_of(name)
    except EntryError as exc:
        raise ValidationException(f"--bus: {exc.message}") from exc
