"""The CLI lifecycle and at-least-once across a crash: ``eventpipes pipe start`` killed mid-batch with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from eventpipes.kafka.offsets import committed_offsets
from eventpipes.testing import KafkaCluster, unique_name, wait_until

SUPPORT_DIR = Path(__file__).parent


class PipeProcess:
    """``eventpipes pipe start FILE`` in the foreground, with a hard-kill fallback."""

    def __init__(self, file: Path, env: dict[str, str], log: Path) -> None:
        self._log = open(log, "ab")
        self.log_path = log
        self.process = subprocess.Popen([sys.executable, "-m", "eventpipes", "pipe", "start", str(file)],
                                        stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def close(self) -> None:
        self.kill()
        self._log.close()


def cli(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "eventpipes", "pipe", *args], env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_crash_mid_batch_loses_nothing_and_keeps_key_order(kafka: KafkaCluster, tmp_path: Path) -> None:
    source = kafka.create_topic(partitions=2)
    name = unique_name("crash")
    keys = [f"k{i}" for i in range(8)]
    total = 400
    kafka.seed_topic(source, [{"key": keys[n % 8], "n": n} for n in range(total)], key=lambda v: v["key"].encode())
    definition = tmp_path / "pipe.yaml"
    definition.write_text(f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 5, ParallelizationFactor: 4}}
    Target: function:test_pipe_support:slow_logging_target
""")
    target_log = tmp_path / "target.log"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_STATE_DIR": str(tmp_path / "state"),
           "PIPE_TEST_LOG": str(target_log), "PYTHONPATH": f"{SUPPORT_DIR}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def lines() -> list[dict[str, object]]:
        if not target_log.exists():
            return []
        return [json.loads(line) for line in target_log.read_text().splitlines() if line.strip()]

    first = PipeProcess(definition, env, tmp_path / "first.log")
    try:
        wait_until(lambda: len(lines()) >= 60, timeout=60, what="some records delivered")
        first.kill()  # SIGKILL mid-stream: batches in flight, offsets partly committed
    finally:
        first.close()
    before = len(lines())
    assert before < total, "the pipe finished before the crash; the test proves nothing"

    second = PipeProcess(definition, env, tmp_path / "second.log")
    try:
        group = f"eventpipes.pipe.{name}"
        wait_until(lambda: sum(v or 0 for v in committed_offsets(kafka.client, group, source).values()) == total,
                   timeout=90, what="everything committed after the restart")
        described = cli(env, "describe", name)
        assert described["CurrentState"] == "RUNNING" and described["Lag"] == 0
        assert described["Counters"]["RecordsRead"] > 0  # type: ignore[index]
        stopped = cli(env, "stop", name)
        assert stopped["CurrentState"] == "STOPPED"
        second.process.wait(timeout=30)
    finally:
        second.close()
    delivered = lines()
    assert {line["n"] for line in delivered} == set(range(total)), "a record was lost"
    for pid in {line["pid"] for line in delivered}:  # within each process, every key in offset order
        for key in keys:
            ns = [line["n"] for line in delivered if line["pid"] == pid and line["key"] == key]
            assert ns == sorted(ns), f"{key} out of order in process {pid}"
    listed = cli(env, "list")
    assert [p["CurrentState"] for p in listed["Pipes"]] == ["STOPPED"]  # type: ignore[index]
