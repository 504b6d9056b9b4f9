"""Every environment variable eventpipes reads, with its type, default and meaning."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: EventBridge's PutEvents entry size limit before 2025; raised to 1 MB since.
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024
EVENTBRIDGE_MAX_ENTRY_BYTES = 1024 * 1024


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "eventpipes"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "eventpipes"


class Settings(BaseSettings):
    """eventpipes' configuration, read from the environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="An existing cluster to use; when set, eventpipes starts no broker.",
    )
    kafka_home: Path | None = Field(
        default=None,
        validation_alias="KAFKA_HOME",
        description="An Apache Kafka distribution whose libs/ the local broker runs from.",
    )
    schema_registry_url: str = Field(
        default="http://127.0.0.1:8081",
        validation_alias="SCHEMA_REGISTRY_URL",
        description="The Confluent-compatible schema registry to use.",
    )
    state_dir: Path = Field(
        default_factory=_default_state_dir,
        validation_alias="EVENTPIPES_STATE_DIR",
        description="Where the local broker keeps its data, logs and pid file.",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        validation_alias="EVENTPIPES_CACHE_DIR",
        description="Where the local broker's jars are cached, so a second start downloads nothing.",
    )
    broker_port: int = Field(
        default=9092,
        ge=1,
        le=65535,
        validation_alias="EVENTPIPES_BROKER_PORT",
        description="Client port of the local broker; its KRaft controller uses the next port.",
    )
    broker_heap: str = Field(
        default="1g",
        validation_alias="EVENTPIPES_BROKER_HEAP",
        description="Java heap of the local broker (-Xmx); small, as it shares the machine.",
    )
    kafka_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        validation_alias="EVENTPIPES_KAFKA_TIMEOUT",
        description="How long a command waits for an unreachable cluster before reporting BrokerUnavailable.",
    )
    retry_base_seconds: float = Field(
        default=1.0,
        gt=0,
        le=900,
        validation_alias="EVENTPIPES_RETRY_BASE_SECONDS",
        description="Ceiling of the first retry's delay; later retries double it (full jitter, cap 900 s).",
    )
    account: str = Field(
        default="000000000000",
        pattern=r"^\d{12}$",
        validation_alias=AliasChoices("EVENTPIPES_ACCOUNT", "AWS_ACCOUNT_ID"),
        description="The `account` written into every event envelope.",
    )
    region: str = Field(
        # A real region name, as AWS tooling and patterns on `region` expect one.
        default="us-east-1",
        validation_alias=AliasChoices("EVENTPIPES_REGION", "AWS_REGION"),
        description="The `region` written into every event envelope.",
    )
    bus_partitions: int = Field(
        default=3,
        ge=1,
        le=1000,
        validation_alias="EVENTPIPES_BUS_PARTITIONS",
        description="Partitions of a bus topic created on demand.",
    )
    max_entry_bytes: int = Field(
        default=DEFAULT_MAX_ENTRY_BYTES,
        ge=1,
        le=EVENTBRIDGE_MAX_ENTRY_BYTES,
        validation_alias="EVENTPIPES_MAX_ENTRY_BYTES",
        description="PutEvents entry size limit, computed as EventBridge does (at most 1 MB).",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @property
    def bootstrap_servers(self) -> str:
        """The cluster to talk to: the external one, or the local broker."""
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.broker_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
