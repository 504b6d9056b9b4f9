"""Folding progress records read back from Kafka: forward only, tombstones forget, junk is skipped."""

from __future__ import annotations

from datetime import datetime, timezone

from eventpipes.kafka.schedule_progress import apply_progress
from eventpipes.records import Record
from eventpipes.schedules import Progress


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def record(offset: int, key: bytes | None, value: bytes | None) -> Record:
    return Record("eventpipes.schedules.g", 0, offset, 0, key, value)


def test_an_older_record_read_late_does_not_move_progress_back() -> None:
    newer = Progress(at("2026-03-01 10:05"), at("2026-03-01 10:05"))
    progress = {"r": newer}  # the owner noted its own commit before reading it back
    apply_progress(progress, [record(0, b"r", Progress(at("2026-03-01 10:00"), at("2026-03-01 10:00")).to_json())])
    assert progress == {"r": newer}
    later = Progress(at("2026-03-01 10:10"), at("2026-03-01 10:10"))
    apply_progress(progress, [record(1, b"r", later.to_json())])
    assert progress == {"r": later}


def test_tombstones_forget_and_invalid_records_are_skipped() -> None:
    kept = Progress(at("2026-03-01 10:00"), None)
    progress = {"gone": kept, "kept": kept}
    apply_progress(progress, [record(0, b"gone", None), record(1, b"kept", b"not json"), record(2, None, b"{}"),
                              record(3, b"other", b'{"handled_through": 5}')])
    assert progress == {"kept": kept}
