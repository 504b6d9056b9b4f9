"""The local broker's lifecycle, on a second broker with its own ports and state directory."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from eventpipes.broker import maven, process
from eventpipes.broker.errors import BrokerExited, PortInUse
from eventpipes.broker.state import BrokerPaths
from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.admin import Admin, cluster_answers
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import bus_topic_spec
from eventpipes.settings import Settings

ENTRY = {"Source": "com.example", "DetailType": "Ping", "Detail": "{}"}


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


def kafka_home_from_cache(settings: Settings, home: Path) -> Path:
    """A KAFKA_HOME whose libs/ are the cached jars, as a Kafka distribution lays them out."""
    (home / "libs").mkdir(parents=True)
    for jar in maven.cached_jars(settings.cache_dir):
        (home / "libs" / jar.name).symlink_to(jar)
    return home


def test_start_status_and_stop_from_kafka_home(own_broker: Settings, tmp_path: Path) -> None:
    settings = own_broker.model_copy(update={"kafka_home": kafka_home_from_cache(own_broker, tmp_path / "kafka")})
    assert not process.status(settings).running

    started = process.start(settings)

    assert started.running and started.kafka_version == "3.9.1"
    assert cluster_answers(KafkaClientConfig(started.bootstrap), timeout_seconds=5)
    assert (Path(settings.state_dir) / "broker" / "data" / "meta.properties").exists()
    assert process.start(settings).pid == started.pid  # a second start finds it running
    stopped = process.stop(settings)
    assert not stopped.running
    assert not cluster_answers(KafkaClientConfig(started.bootstrap), timeout_seconds=1)


def test_a_broker_that_goes_away_fails_entries_as_retryable_without_losing_track(own_broker: Settings) -> None:
    settings = own_broker.model_copy(update={"kafka_timeout_seconds": 2.0})
    process.start(settings)
    admin = Admin(client_config(settings))
    admin.ensure_topic(bus_topic_spec("pings", 1))  # the bus exists before events are put on it
    admin.close()
    with EventBusClient(settings) as client:
        assert client.put_events([ENTRY], bus="pings").failed_entry_count == 0
        process.stop(settings)

        try:
            result = client.put_events([ENTRY, ENTRY], bus="pings").to_dict()
        except BrokerUnavailable as gone:  # the whole call refused: nothing put, retryable
            assert gone.retryable
        else:  # or each entry reported failed, retryable, none claimed as put
            assert result["FailedEntryCount"] == 2
            assert {e["ErrorCode"] for e in result["Entries"]} == {"InternalFailure"}


def test_a_broker_that_exits_while_starting_shows_its_log(own_broker: Settings) -> None:
    paths = BrokerPaths.under(own_broker.state_dir)
    paths.data.mkdir(parents=True)
    paths.formatted_marker.write_text("this is not a KRaft meta.properties\n")

    with pytest.raises(BrokerExited) as caught:
        process.start(own_broker)

    assert "while starting; its log ends" in str(caught.value)
    assert "meta.properties" in str(caught.value) or "Exception" in str(caught.value)
    assert not process.status(own_broker).running
