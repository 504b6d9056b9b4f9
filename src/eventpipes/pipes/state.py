"""Where a pipe's lifecycle lives: two small JSON files per pipe in the state directory.

``<state dir>/pipes/<pipe>.desired.json`` holds ``DesiredState`` (written by ``pipe start``
and ``pipe stop``); ``<state dir>/pipes/<pipe>.status.json`` holds what the running pipe
reports (``CurrentState``, pid, host, start time, counters, committed offsets), rewritten
about twice a second by the runner alone. Two files so that neither writer can overwrite
the other's field. The runner polls the desired state and stops itself, committing what it
finished, when it reads ``STOPPED``: stopping works the same for a foreground and a
detached pipe, without signals. Writes go through a temporary file and a rename, so a
reader never sees half a file.

The state directory rather than a Kafka topic: a pipe's process is local (its pid is only
meaningful on this host), and offsets, the state that matters across hosts, are in Kafka.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eventpipes.settings import Settings


def pipes_dir(settings: Settings) -> Path:
    path = settings.state_dir / "pipes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, body: dict[str, Any]) -> None:
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(body, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def write_desired(settings: Settings, name: str, state: str, *, definition: str | None = None) -> None:
    body: dict[str, Any] = {"Name": name, "DesiredState": state}
    previous = read_desired(settings, name) or {}
    if definition is not None or "Definition" in previous:
        body["Definition"] = definition or previous["Definition"]
    _write(pipes_dir(settings) / f"{name}.desired.json", body)


def read_desired(settings: Settings, name: str) -> dict[str, Any] | None:
    return _read(pipes_dir(settings) / f"{name}.desired.json")


def write_status(settings: Settings, name: str, body: dict[str, Any]) -> None:
    _write(pipes_dir(settings) / f"{name}.status.json", body)


def read_status(settings: Settings, name: str) -> dict[str, Any] | None:
    return _read(pipes_dir(settings) / f"{name}.status.json")


def known_pipes(settings: Settings) -> list[str]:
    """Every pipe that was ever started from this state directory."""
    names = set()
    for path in pipes_dir(settings).glob("*.json"):
        for suffix in (".desired.json", ".status.json"):
            if path.name.endswith(suffix):
                names.add(path.name[: -len(suffix)])
    return sorted(names)


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
