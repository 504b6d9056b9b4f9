"""Archives and replays over the endpoint: EventBridge's shapes onto the existing stores.

The archive store and replay functions of ``eventpipes.archive`` do the work; this module
reads AWS's request members, applies AWS's error precedence and messages where they differ
from the CLI's (an unknown archive in StartReplay is a ``ValidationException`` naming
``EventSourceArn``; a replay to another bus is "Cross event bus replay is not permitted."),
answers timestamps as epoch seconds, and pages lists with ``NextToken``/``Limit``.

A replay started here runs in this process, on a thread of its own, as ``eventpipes replay
start --detach`` runs it in a process of its own: its state is in Kafka, so any endpoint
describes or cancels it, and one whose process stopped is continued by ``eventpipes replay
resume NAME``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from eventpipes.api import params
from eventpipes.api.errors import ApiError, validation
from eventpipes.archive.errors import ResourceNotFoundException
from eventpipes.archive.model import ARCHIVE_NAME_MAX, REPLAY_NAME_MAX, Archive, Replay, format_ms
from eventpipes.archive.replay import ReplayJob, ReplayRequest, cancel_replay, describe_replay, list_replays, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.arns import archive_of_arn, bus_of_arn, replay_arn
from eventpipes.settings import Settings

log = logging.getLogger(__name__)

#: Members of the answers that are timestamps (the store writes RFC 3339; JSON protocols send epoch seconds).
TIMESTAMPS = frozenset({"CreationTime", "EventStartTime", "EventEndTime", "EventLastReplayedTime", "ReplayStartTime",
                        "ReplayEndTime"})
#: ListArchives and ListReplays take a Limit of 1 to 100.
MAX_LIMIT = 100


def epoch_seconds(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its timestamp members as epoch seconds."""
    return {k: _seconds(v) if k in TIMESTAMPS and isinstance(v, str) else v for k, v in body.items()}


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ArchiveOperations:
    """CreateArchive ... CancelReplay against one archive store (its calls serialised: it is not thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store: ArchiveStore | None = None
        self._lock = threading.Lock()

    def _open(self) -> ArchiveStore:
        if self._store is None:
            self._store = ArchiveStore(self._settings)
        return self._store

    def handlers(self) -> dict[str, Any]:
        """Operation name to handler ``(body) -> answer``."""
        return {
            "CreateArchive": self.create_archive, "DescribeArchive": self.describe_archive,
            "ListArchives": self.list_archives, "UpdateArchive": self.update_archive,
            "DeleteArchive": self.delete_archive, "StartReplay": self.start_replay,
            "DescribeReplay": self.describe_replay, "ListReplays": self.list_replays, "CancelReplay": self.cancel_replay,
        }

    # -- archives -------------------------------------------------------------------

    def create_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.name(body, "ArchiveName", ARCHIVE_NAME_MAX)
        source = params.required_string(body, "EventSourceArn")
        bus = bus_of_arn(source)
        if bus is None:
            raise validation("EventSourceArn", "Provided Arn is not in correct format.")
        _no_kms(body)
        try:
            archive = Archive.model_validate({
                "ArchiveName": name, "EventBusName": bus, "Description": params.string(body, "Description"),
                "EventPattern": params.string(body, "EventPattern"),
                "RetentionDays": params.integer(body, "RetentionDays", low=0) or 0})
        except ValidationError as exc:
            raise _invalid(exc) from None
        with self._lock:
            store = self._open()
            store.create_archive(archive)
            return _short_archive(store.describe_archive(name))

    def describe_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.required_string(body, "ArchiveName")
        with self._lock:
            return epoch_seconds(self._open().describe_archive(name))

    def list_archives(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix, source = params.string(body, "NamePrefix"), params.string(body, "EventSourceArn")
        state = params.string(body, "State")
        limit = params.integer(body, "Limit", low=1, high=MAX_LIMIT)
        bus = None
        if source is not None:
            bus = bus_of_arn(source)
            if bus is None:
                raise validation("EventSourceArn", "Provided Arn is not in correct format.")
        with self._lock:
            found = self._open().list_archives(prefix, bus, state)
        chosen, token = params.page(found, lambda a: str(a["ArchiveName"]), limit, params.string(body, "NextToken"))
        return _with_token({"Archives": [epoch_seconds(a) for a in chosen]}, token)

    def update_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.required_string(body, "ArchiveName")
        _no_kms(body)
        changes = {"description": params.string(body, "Description"), "event_pattern": params.string(body, "EventPattern"),
                   "retention_days": params.integer(body, "RetentionDays", low=0)}
        with self._lock:
            store = self._open()
            try:
                store.update_archive(name, **changes)
            except ValidationError as exc:
                raise _invalid(exc) from None
            return _short_archive(store.describe_archive(name))

    def delete_archive(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.required_string(body, "ArchiveName")
        with self._lock:
            self._open().delete_archive(name)
        return {}

    # -- replays ----------------------------------------------------------------------

    def start_replay(self, body: dict[str, Any]) -> dict[str, Any]:
        """StartReplay in AWS's order: name, archive (a ValidationException if unknown), window, destination."""
        name = params.name(body, "ReplayName", REPLAY_NAME_MAX)
        source = params.required_string(body, "EventSourceArn")
        start_ms, end_ms = params.epoch_ms(body, "EventStartTime"), params.epoch_ms(body, "EventEndTime")
        destination = params.obj(body, "Destination")
        if start_ms is None:
            raise params.missing("EventStartTime")
        if end_ms is None:
            raise params.missing("EventEndTime")
        if destination is None:
            raise params.missing("Destination")
        target = params.required_string(destination, "Arn")
        filters = params.strings(destination, "FilterArns")
        archive = archive_of_arn(source)
        if archive is None:
            raise validation("EventSourceArn", "Provided Arn is not in correct format.")
        with self._lock:
            store = self._open()
            try:
                stored = store.get_archive(archive)
            except ResourceNotFoundException:
                raise validation("EventSourceArn", f"Archive {archive} does not exist.") from None
            if end_ms <= start_ms:
                raise validation("EventEndTime", "EventStartTime must be before EventEndTime.")
            bus = bus_of_arn(target)
            if bus is None:
                raise validation("Destination.Arn", "Provided Arn is not in correct format.")
            if bus != stored.archive.event_bus_name:
                raise validation("Destination.Arn", "Cross event bus replay is not permitted.")
            replay = start_replay(store, ReplayRequest(name=name, archive=archive, start_ms=start_ms, end_ms=end_ms,
                                                       filter_arns=tuple(filters), description=params.string(body, "Description")))
        self._run(replay)
        return epoch_seconds({"ReplayArn": replay_arn(self._settings.region, self._settings.account, name),
                              "State": replay.state.value,
                              "ReplayStartTime": _iso(replay.replay_start_ms)})

    def _run(self, replay: Replay) -> None:
        def job() -> None:
            try:
                with ArchiveStore(self._settings) as store:
                    ReplayJob(store, replay).run()
            except Exception:  # recorded as FAILED by the job itself; here only logged
                log.exception("replay %s failed", replay.name)

        # A daemon thread: an endpoint stopping mid-replay leaves it RUNNING with a heartbeat that
        # stops, which `eventpipes replay resume` continues, as after a killed `replay start`.
        threading.Thread(target=job, name=f"eventpipes-replay-{replay.name}", daemon=True).start()

    def describe_replay(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.required_string(body, "ReplayName")
        with self._lock:
            return epoch_seconds(describe_replay(self._open(), name))

    def list_replays(self, body: dict[str, Any]) -> dict[str, Any]:
        prefix, state = params.string(body, "NamePrefix"), params.string(body, "State")
        source = params.string(body, "EventSourceArn")
        limit = params.integer(body, "Limit", low=1, high=MAX_LIMIT)
        archive = None
        if source is not None:
            archive = archive_of_arn(source)
            if archive is None:
                raise validation("EventSourceArn", "Provided Arn is not in correct format.")
        with self._lock:
            found = list_replays(self._open(), prefix=prefix, state=state, archive=archive)
        # Ordered by start time, then name: a key that only grows, so pages hold as replays are added.
        chosen, token = params.page(found, lambda r: f"{r['ReplayStartTime']} {r['ReplayName']}", limit,
                                    params.string(body, "NextToken"))
        return _with_token({"Replays": [epoch_seconds(r) for r in chosen]}, token)

    def cancel_replay(self, body: dict[str, Any]) -> dict[str, Any]:
        name = params.required_string(body, "ReplayName")
        with self._lock:
            return cancel_replay(self._open(), name)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def _iso(epoch_ms: int) -> str:
    text = format_ms(epoch_ms)
    assert text is not None
    return text


def _short_archive(body: dict[str, Any]) -> dict[str, Any]:
    """CreateArchive's and UpdateArchive's answer."""
    return epoch_seconds({k: body[k] for k in ("ArchiveArn", "State", "StateReason", "CreationTime") if k in body})


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    return {**body, "NextToken": token} if token else body


def _no_kms(body: dict[str, Any]) -> None:
    if body.get("KmsKeyIdentifier") is not None:
        raise validation("KmsKeyIdentifier", "KMS keys are not supported by eventpipes; encrypt an archive with "
                         "`eventpipes archive create --encryption-key-variable` (an AES key in an environment variable).")


def _invalid(exc: ValidationError) -> ApiError:
    error = exc.errors()[0]
    member = ".".join(str(p) for p in error["loc"]) or "request"
    if member == "EventPattern":
        return ApiError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {error['msg']}")
    return validation(member, f"{error['msg']}.")
