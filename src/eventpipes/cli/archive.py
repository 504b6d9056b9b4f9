"""``eventpipes archive ...`` and ``eventpipes replay ...``: EventBridge's archive and replay calls.

Each command prints the AWS response shape as JSON. ``replay start`` runs the replay
in this process with a progress bar (``rich``) unless ``--detach``; its state is in
Kafka, so ``describe``, ``list`` and ``cancel`` work from any other shell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import click

from eventpipes.archive.errors import ValidationException
from eventpipes.archive.model import Archive, Replay, parse_offsets
from eventpipes.cli.output import print_json, read_argument
from eventpipes.settings import get_settings

#: `replay start`'s default rate: leaves a 2-core worker room for live traffic. 0 turns the limit off.
DEFAULT_RATE = 1000.0


def _store() -> Any:
    from eventpipes.archive.store import ArchiveStore

    return ArchiveStore(get_settings())


@click.group()
def archive() -> None:
    """Archives: copies of a bus's events, kept for replays."""


@archive.command("create")
@click.option("--name", "name", required=True, help="ArchiveName (1..48 of A-Za-z0-9._-).")
@click.option("--bus", default="default", show_default=True, help="The source bus (EventSourceArn); fixed once created.")
@click.option("--event-pattern", help="Only events matching it are archived: JSON, file://path or a path.")
@click.option("--retention-days", type=click.IntRange(min=0), default=0, show_default=True, help="0 keeps events for ever.")
@click.option("--description")
@click.option("--encryption-key-variable", help="Environment variable holding a base64 AES key; events are encrypted with it.")
def create(name: str, bus: str, event_pattern: str | None, retention_days: int, description: str | None,
           encryption_key_variable: str | None) -> None:
    """CreateArchive."""
    from pydantic import ValidationError

    from eventpipes.archive.model import check_name, check_pattern

    check_name("Archive", name)
    pattern = check_pattern(read_argument(event_pattern)) if event_pattern else None
    try:
        definition = Archive(ArchiveName=name, EventBusName=bus, EventPattern=pattern, RetentionDays=retention_days,
                             Description=description, EncryptionKeyVariable=encryption_key_variable)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValidationException(".".join(str(p) for p in error["loc"]), str(error["msg"])) from exc
    with _store() as store:
        store.create_archive(definition)
        body = store.describe_archive(name)
    print_json({k: body[k] for k in ("ArchiveArn", "State", "CreationTime") if k in body})


@archive.command("describe")
@click.argument("name")
def describe(name: str) -> None:
    """DescribeArchive: with EventCount and SizeBytes read from Kafka now."""
    with _store() as store:
        print_json(store.describe_archive(name))


@archive.command("list")
@click.option("--name-prefix")
@click.option("--bus", help="Only archives of this source bus.")
@click.option("--state", type=click.Choice(["ENABLED", "DISABLED"]))
def list_(name_prefix: str | None, bus: str | None, state: str | None) -> None:
    """ListArchives."""
    with _store() as store:
        print_json({"Archives": store.list_archives(name_prefix, bus, state)})


@archive.command("update")
@click.argument("name")
@click.option("--event-pattern", help="New pattern (JSON, file://path or a path).")
@click.option("--retention-days", type=click.IntRange(min=0))
@click.option("--description")
@click.option("--state", type=click.Choice(["ENABLED", "DISABLED"]))
@click.option("--encryption-key-variable", help="Another variable holding the same key (a different key is refused).")
def update(name: str, event_pattern: str | None, retention_days: int | None, description: str | None, state: str | None,
           encryption_key_variable: str | None) -> None:
    """UpdateArchive (the source bus cannot change, nor the key its events are encrypted with)."""
    with _store() as store:
        store.update_archive(name, event_pattern=read_argument(event_pattern) if event_pattern else None,
                             retention_days=retention_days, description=description, state=state,
                             encryption_key_variable=encryption_key_variable)
        body = store.describe_archive(name)
    print_json({k: body[k] for k in ("ArchiveArn", "State", "CreationTime") if k in body})


@archive.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """DeleteArchive: the definition and the archive topic with its events."""
    with _store() as store:
        store.delete_archive(name)
    print_json({})


@click.group()
def replay() -> None:
    """Replays: re-publish an archive's events to its bus's rules."""


@replay.command("start")
@click.option("--name", required=True, help="ReplayName (1..64 of A-Za-z0-9._-), never reused.")
@click.option("--archive", "archive_name", required=True, help="The archive to replay from (EventSourceArn).")
@click.option("--start", "start", metavar="TIME",
              help="EventStartTime: epoch seconds (`date +%s`) or ISO 8601 (no offset: UTC), as the AWS CLI reads times.")
@click.option("--end", "end", metavar="TIME", help="EventEndTime (included): epoch seconds or ISO 8601, as --start.")
@click.option("--rules", help="Comma-separated rule names or ARNs (FilterArns); default: every rule of the bus.")
@click.option("--destination", help="Destination.Arn; must be the archive's bus (its name or ARN).")
@click.option("--description")
@click.option("--from-offsets", help="Instead of times: PARTITION:OFFSET,... of the archive topic (included).")
@click.option("--to-offsets", help="PARTITION:OFFSET,... (excluded).")
@click.option("--to-topic", help="Replay into this plain Kafka topic instead of the rules (for inspection).")
@click.option("--rate", type=click.FloatRange(min=0), default=DEFAULT_RATE, show_default=True, help="Events per second; 0: no limit.")
@click.option("--detach", is_flag=True, help="Run the replay in a background process and return at once.")
@click.option("--quiet", is_flag=True, help="No progress bar; print only the final DescribeReplay.")
def start(name: str, archive_name: str, start: str | None, end: str | None, rules: str | None, destination: str | None,
          description: str | None, from_offsets: str | None, to_offsets: str | None, to_topic: str | None, rate: float,
          detach: bool, quiet: bool) -> None:
    """StartReplay, then run it here with a progress bar (or in the background with --detach)."""
    from eventpipes.archive.replay import ReplayRequest, start_replay

    request = ReplayRequest(
        name=name, archive=archive_name, start_ms=_time_ms(start, "EventStartTime"), end_ms=_time_ms(end, "EventEndTime"),
        destination=destination, filter_arns=tuple(r.strip() for r in (rules or "").split(",") if r.strip()),
        description=description, from_offsets=parse_offsets(from_offsets, "FromOffsets") if from_offsets else None,
        to_offsets=parse_offsets(to_offsets, "ToOffsets") if to_offsets else None, to_topic=to_topic, rate_limit=rate or None,
    )
    with _store() as store:
        started = start_replay(store, request)
        if detach:
            _spawn_resume(name)
            print_json(_start_response(store, started))
            return
        _run(store, started, quiet)  # prints one document: DescribeReplay once the job ends


@replay.command("resume")
@click.argument("name")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def resume(name: str, quiet: bool) -> None:
    """Continue a replay whose job stopped (killed), from its last committed position."""
    from eventpipes.archive.replay import resume_replay

    with _store() as store:
        if quiet:
            final = resume_replay(store, name)
        else:
            with _Bar() as bar:
                final = resume_replay(store, name, on_progress=bar.update)
        _finish(store, final)


@replay.command("describe")
@click.argument("name")
def describe_(name: str) -> None:
    """DescribeReplay, with Progress (records read of the window's total, rate, ETA)."""
    from eventpipes.archive.replay import describe_replay

    with _store() as store:
        print_json(describe_replay(store, name))


@replay.command("list")
@click.option("--name-prefix")
@click.option("--state", type=click.Choice(["STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED"]))
@click.option("--archive", "archive_name")
def list_replays_(name_prefix: str | None, state: str | None, archive_name: str | None) -> None:
    """ListReplays."""
    from eventpipes.archive.replay import list_replays

    with _store() as store:
        print_json({"Replays": list_replays(store, prefix=name_prefix, state=state, archive=archive_name)})


@replay.command("cancel")
@click.argument("name")
def cancel(name: str) -> None:
    """CancelReplay: only while STARTING or RUNNING; a cancelled replay cannot resume."""
    from eventpipes.archive.replay import cancel_replay

    with _store() as store:
        print_json(cancel_replay(store, name))


def _run(store: Any, started: Replay, quiet: bool) -> None:
    from eventpipes.archive.replay import ReplayJob

    if quiet:
        final = ReplayJob(store, started).run()
    else:
        with _Bar() as bar:
            final = ReplayJob(store, started, on_progress=bar.update).run()
    _finish(store, final)


def _finish(store: Any, final: Replay) -> None:
    from eventpipes.archive.replay import describe_replay

    print_json(describe_replay(store, final.name))
    if final.state.value == "FAILED":
        sys.exit(1)


def _start_response(store: Any, replay: Replay) -> dict[str, Any]:
    # StartReplay's response, plus the window as resolved (ISO 8601 UTC), so a typed time's reading shows.
    body = replay.describe(store.settings.region, store.settings.account, now_ms=replay.replay_start_ms)
    keys = ("ReplayArn", "State", "StateReason", "ReplayStartTime", "EventStartTime", "EventEndTime")
    return {k: body[k] for k in keys if k in body}


def _spawn_resume(name: str) -> None:
    subprocess.Popen([sys.executable, "-m", "eventpipes", "replay", "resume", name, "--quiet"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ))


class _Bar:
    """A rich progress bar fed by the job's checkpoints: records read of the window's total, rate, ETA."""

    def __enter__(self) -> "_Bar":
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[rate]:>9.0f} ev/s"), TextColumn("{task.fields[replayed]} replayed"),
                                  TimeRemainingColumn(), console=Console(stderr=True), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("replay", total=None, rate=0.0, replayed=0)
        return self

    def update(self, replay: Replay) -> None:
        p = replay.progress
        self._progress.update(self._task, description=f"{replay.name} {replay.state.value}", total=p.records_total or None,
                              completed=p.records_read, rate=p.events_per_second, replayed=p.events_replayed)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _time_ms(text: str | None, parameter: str) -> int | None:
    """An EventStartTime/EventEndTime as the AWS CLI reads it (``eventpipes.timestamps``)."""
    from eventpipes.timestamps import parse_timestamp

    return None if text is None else parse_timestamp(text, parameter).epoch_ms


__all__ = ["archive", "json", "replay"]
