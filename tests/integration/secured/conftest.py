"""One secured broker for the whole session: ``eventpipes broker start --secure`` on a broker of its own.

The shared broker is never restarted or reconfigured; this one has its own state directory
and ports (``testing.OwnBroker``), a SASL_SSL listener with SCRAM users and a CA of its own,
and is stopped when the session ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventpipes.testing import KafkaCluster, OwnBroker
from secured_support import Secured


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    broker = OwnBroker(tmp_path_factory.mktemp("secured-broker"), heap="384m", secure=True).start()
    try:
        settings = broker.client_settings()
        cluster = KafkaCluster(settings)
        assert settings.kafka_client_properties is not None
        yield Secured(broker, cluster, settings.kafka_client_properties)
        cluster.close()
    finally:
        broker.stop()
