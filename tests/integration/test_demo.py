"""`eventpipes demo` against the test broker: it works, and a run leaves nothing new behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from eventpipes.archive.store import ArchiveStore
from eventpipes.testing import KafkaCluster

ROOT = Path(__file__).resolve().parents[2]
DEMO_ARCHIVE = "orders-archive"


def test_the_demo_leaves_no_pipe_state_temporary_file_or_replay_behind(kafka: KafkaCluster, tmp_path: Path) -> None:
    state, temporary = tmp_path / "state", tmp_path / "tmp"
    temporary.mkdir()
    with ArchiveStore(kafka.settings) as store:
        archive_existed = DEMO_ARCHIVE in store.archives()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_STATE_DIR": str(state), "TMPDIR": str(temporary)}
    try:
        done = subprocess.run([sys.executable, "-m", "eventpipes", "demo", "--root", str(ROOT)], env=env, capture_output=True,
                              text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "== topic orders.paid" in done.stdout and "replay-name=" in done.stdout

        assert sorted(p.name for p in temporary.iterdir()) == []  # no worker log, no pipe state directory
        assert not (state / "pipes").exists() or list((state / "pipes").iterdir()) == []
        assert sorted(p.relative_to(state).as_posix() for p in state.rglob("*") if p.is_file()) == ["demo/worker.log"]
        assert (state / "demo" / "worker.log").stat().st_size > 0  # this run's worker log, where the demo said it is
        [replay] = re.findall(r"== replay (demo-\d+) ", done.stdout)
        with ArchiveStore(kafka.settings) as store:
            assert replay not in store.replays()[0]
    finally:
        if not archive_existed:  # the demo's topology created it on this broker: remove it again
            with ArchiveStore(kafka.settings) as store:
                if DEMO_ARCHIVE in store.archives():
                    store.delete_archive(DEMO_ARCHIVE)
