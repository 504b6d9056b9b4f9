"""The local broker's lifecycle, on a second broker with its own ports and state directory."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from eventpipes.broker import process
from eventpipes.broker.errors import BrokerExited, PortInUse
from eventpipes.broker.state import BrokerPaths
from eventpipes.kafka.admin import cluster_answers
from eventpipes.settings import Settings


def two_free_ports() -> int:
    """A port p such that p and p+1 are free now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            process.ensure_port_free(port + 1)
            process.ensure_port_free(port)
            return port
        except PortInUse:
            continue
    raise RuntimeError("no two adjacent free ports")


@pytest.fixture
def own_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        KAFKA_BOOTSTRAP_SERVERS=None, EVENTPIPES_STATE_DIR=tmp_path / "state", EVENTPIPES_BROKER_PORT=two_free_ports(), EVENTPIPES_BROKER_HEAP="256m"
    )
    yield settings
    status = process.status(settings)
    if status.running and status.pid:  # hard-kill fallback, whatever the test did
        os.killpg(status.pid, signal.SIGKILL)


def test_start_status_and_stop(own_broker: Settings) -> None:
    assert not process.status(own_broker).running

    started = process.start(own_broker)

    assert started.running and started.kafka_version == "3.9.1"
    assert cluster_answers(started.bootstrap, timeout_seconds=5)
    assert (Path(own_broker.state_dir) / "broker" / "data" / "meta.properties").exists()
    assert process.start(own_broker).pid == started.pid  # a second start finds it running
    stopped = process.stop(own_broker)
    assert not stopped.running
    assert not cluster_answers(started.bootstrap, timeout_seconds=1)


def test_a_broker_that_exits_while_starting_shows_its_log(own_broker: Settings) -> None:
    paths = BrokerPaths.under(own_broker.state_dir)
    paths.data.mkdir(parents=True)
    paths.formatted_marker.write_text("this is not a KRaft meta.properties\n")

    with pytest.raises(BrokerExited) as caught:
        process.start(own_broker)

    assert "while starting; its log ends" in str(caught.value)
    assert "meta.properties" in str(caught.value) or "Exception" in str(caught.value)
    assert not process.status(own_broker).running
