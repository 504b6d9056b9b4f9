"""A Faust worker in a subprocess for the Faust tests: examples/faust_routing.py with names of the test's own.

Every process gets a unique app id and a data directory under the test's temporary folder,
runs in a session of its own, and is SIGKILLed (the whole process group) if it has not
exited ``grace`` seconds after SIGTERM: Faust workers have hung on shutdown. ``--without-web``:
``faust worker`` serves its web page on port 6066 whatever the app's ``web_enabled`` says, so a
second Faust worker on the machine (another test run's) failed to start. The topics it
creates (``<app id>-__assignor-__leader``) carry the app id's unique name, so the session's
``kafka`` fixture deletes them with the run's other topics.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from eventpipes.testing import ProcessGroup, unique_name, wait_until

REPO = Path(__file__).resolve().parents[2]

#: What Faust logs once its partitions are assigned and its agents run.
READY = "[^Worker]: Ready"


class FaustWorker(ProcessGroup):
    """``faust -A examples.faust_routing worker`` with the given environment."""

    GRACE_SECONDS = 10.0

    def __init__(self, folder: Path, env: dict[str, str], *, app_id: str | None = None) -> None:
        self.app_id = app_id or unique_name("faust")
        self.log_path = folder / f"{self.app_id}-{unique_name('run')}.log"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "examples.faust_routing", "worker", "-l", "info", "--without-web"],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **env, "FAUST_APP_ID": self.app_id, "FAUST_DATADIR": str(folder / f"{self.app_id}-data")},
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> "FaustWorker":
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"faust worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            return READY in self.log()

        wait_until(ready, timeout=timeout, what="faust worker ready")
        return self
