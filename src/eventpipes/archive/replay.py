"""Replays: start (validate and record), run (the job), cancel, resume.

Where a replay runs: in the process that starts it (``eventpipes replay start`` in the
foreground with a progress bar, or ``--detach`` for a background process; or the
Python API). Its state lives in Kafka (``archive.store``), so ``describe``, ``list``
and ``cancel`` work from any shell.

The parts: ``archive.replays`` holds the control calls (start, describe, list, cancel,
resume), ``archive.job`` the job that copies a window to the bus, and ``archive.merge``
the pure event-time merge the job reads with. This module gathers their public names,
which the CLI and the Python API import from here.
"""

from __future__ import annotations

from eventpipes.archive.job import CHECKPOINT_SECONDS, LATE_GRACE_MS, Pacer, ReplayJob, _with_replay_name, archive_key
from eventpipes.archive.merge import BUFFER_HIGH, EventTimeMerge
from eventpipes.archive.replays import ReplayRequest, cancel_replay, describe_replay, list_replays, resume_replay, start_replay

__all__ = [
    "BUFFER_HIGH", "CHECKPOINT_SECONDS", "LATE_GRACE_MS", "EventTimeMerge", "Pacer", "ReplayJob", "ReplayRequest", "_with_replay_name",
    "archive_key", "cancel_replay", "describe_replay", "list_replays", "resume_replay", "start_replay",
]
