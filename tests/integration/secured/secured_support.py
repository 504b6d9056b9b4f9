"""The secured cluster the tests in this directory share (its fixture is in conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, OwnBroker


@dataclass
class Secured:
    """The secured broker, a cluster helper that connects through its SASL_SSL listener, and its properties file."""

    broker: OwnBroker
    cluster: KafkaCluster
    properties: Path

    @property
    def settings(self) -> Settings:
        return self.cluster.settings

    def env(self, **extra: str) -> dict[str, str]:
        """A subprocess's environment: this cluster and nothing of the caller's KAFKA_* variables."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "EVENTPIPES_"))}
        return {**clean, **self.cluster.env(), **extra}
