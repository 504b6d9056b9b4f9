"""Where the local broker keeps its files, and what is known of a running one."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BrokerPaths:
    """The files of one local broker, all under the per-user state directory."""

    root: Path

    @classmethod
    def under(cls, state_dir: Path) -> "BrokerPaths":
        return cls(state_dir / "broker")

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    @property
    def console_log(self) -> Path:
        return self.logs / "console.log"

    @property
    def config(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.root / "log4j.properties"

    @property
    def pid_file(self) -> Path:
        return self.root / "broker.json"

    @property
    def formatted_marker(self) -> Path:
        # Written by Kafka's StorageTool when it formats the KRaft log directory.
        return self.data / "meta.properties"


@dataclass(frozen=True, slots=True)
class RunningBroker:
    """What ``broker start`` recorded of the process it started."""

    pid: int
    bootstrap: str
    kafka_version: str
    started_at: float
    secure: bool = False
    """Started with the SASL_SSL listener (``broker start --secure``)."""

    def save(self, paths: BrokerPaths) -> None:
        paths.pid_file.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, paths: BrokerPaths) -> "RunningBroker | None":
        """The recorded broker if its process is still alive, else None (and forget it)."""
        try:
            record = cls(**json.loads(paths.pid_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        if not _is_our_broker(record.pid, paths):
            paths.pid_file.unlink(missing_ok=True)
            return None
        return record


def _is_our_broker(pid: int, paths: BrokerPaths) -> bool:
    """True when ``pid`` is alive and is a Kafka server run on our config file.

    Checking the command line, not just the pid, guards against a pid reused by
    another program after a reboot.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the live pid
    return b"kafka.Kafka" in cmdline and str(paths.config).encode() in cmdline
