"""Where a worker's /metrics listens: loopback by default, elsewhere only when asked (--web-host, EVENTPIPES_METRICS_HOST)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from eventpipes.cli.run import READY
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - {{Name: all, EventBusName: {bus}, EventPattern: {{source: [metrics-host]}}, Targets: [{{Id: t, Topic: {topic}}}]}}
"""


def metrics_at(host: str, port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError):
        return None


def test_metrics_host_defaults_to_loopback_and_reads_its_variable() -> None:
    assert Settings().metrics_host == "127.0.0.1"
    assert Settings(EVENTPIPES_METRICS_HOST="::1").metrics_host == "::1"


@pytest.mark.parametrize("how", ["option", "variable"])
def test_a_worker_serves_metrics_on_the_address_asked_for_only(kafka: KafkaCluster, tmp_path: Path, how: str) -> None:
    # 127.0.0.2 is loopback too (Linux routes 127.0.0.0/8 locally): a second address to tell the binds apart.
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(bus=unique_name("bus"), topic=unique_name("out")))
    port = free_port()
    args = ["--web-host", "127.0.0.2"] if how == "option" else []
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, **({"EVENTPIPES_METRICS_HOST": "127.0.0.2"} if how == "variable" else {})}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "eventpipes", "run", str(topology), "--group", unique_name("group"),
                                   "--web-port", str(port), *args], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)
        try:
            wait_until(lambda: READY in log.read_text() and metrics_at("127.0.0.2", port), timeout=60, what="metrics on 127.0.0.2")
            assert metrics_at("127.0.0.1", port) is None
            assert f"metrics on http://127.0.0.2:{port}/metrics" in log.read_text()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
