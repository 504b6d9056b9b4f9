"""Every environment variable eventpipes reads, with its type, default and meaning."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: EventBridge's PutEvents entry size limit before 2025; raised to 1 MB since.
DEFAULT_MAX_ENTRY_BYTES = 256 * 1024
EVENTBRIDGE_MAX_ENTRY_BYTES = 1024 * 1024


#: A Lambda function name (as AWS allows it) and the Python callable registered under it.
_FUNCTION_ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9_-]{1,64})=(?P<spec>[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")


def function_registry(text: str) -> dict[str, str]:
    """``NAME=module:callable,...`` as a mapping (an empty text: none).

    Raises:
        ValueError: an entry that is not ``NAME=module:callable``, or a name given twice (named in the message).
    """
    registry: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        match = _FUNCTION_ENTRY.match(entry)
        if match is None:
            raise ValueError(f"{entry!r} is not NAME=module:callable (NAME: a Lambda function name, 1 to 64 of A-Z a-z 0-9 - _)")
        if match.group("name") in registry:
            raise ValueError(f"function {match.group('name')} is registered twice")
        registry[match.group("name")] = match.group("spec")
    return registry


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "eventpipes"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "eventpipes"


class Settings(BaseSettings):
    """eventpipes' configuration, read from the environment."""

    # hide_input_in_errors: a rejected value may be a password (the user-info variables below).
    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias="KAFKA_BOOTSTRAP_SERVERS",
        description="An existing cluster to use; when set, eventpipes starts no broker.",
    )
    kafka_client_properties: Path | None = Field(
        default=None,
        validation_alias="KAFKA_CLIENT_PROPERTIES",
        description="A Kafka client properties file (`security.protocol`, `sasl.*`, `ssl.*`), as Kafka's own tools "
                    "take with `--command-config`; read by every client eventpipes creates.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = Field(
        default=None,
        validation_alias="KAFKA_SECURITY_PROTOCOL",
        description="`security.protocol`; overrides the properties file.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = Field(
        default=None,
        validation_alias="KAFKA_SASL_MECHANISM",
        description="`sasl.mechanism`; overrides the properties file.",
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        validation_alias="KAFKA_SASL_USERNAME",
        description="`sasl.username` (PLAIN, SCRAM); overrides the properties file.",
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None,
        validation_alias="KAFKA_SASL_PASSWORD",
        description="`sasl.password` (PLAIN, SCRAM); overrides the properties file. Never logged.",
    )
    kafka_ssl_ca_location: Path | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_CA_LOCATION",
        description="`ssl.ca.location`: PEM file of the CA(s) that signed the brokers' certificates "
                    "(default: the system's trust store); overrides the properties file.",
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
    schema_registry_basic_auth_user_info: SecretStr | None = Field(
        default=None,
        validation_alias="SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        description="`user:password` eventpipes' registry clients send (Confluent's `basic.auth.user.info`).",
    )
    schema_registry_basic_auth_credentials_source: Literal["USER_INFO", "URL"] | None = Field(
        default=None,
        validation_alias="SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE",
        description="Confluent's `basic.auth.credentials.source`: USER_INFO (the variable above) or URL "
                    "(`http://user:password@host`); unset: whichever of the two is given.",
    )
    registry_users_file: Path | None = Field(
        default=None,
        validation_alias="EVENTPIPES_REGISTRY_USERS_FILE",
        description="Users of `eventpipes schema-registry` (HTTP Basic): one `user:password` per line, # comments.",
    )
    registry_basic_auth_user_info: SecretStr | None = Field(
        default=None,
        validation_alias="EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO",
        description="One more `user:password` the registry accepts, for setups without a file.",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        validation_alias="EVENTPIPES_METRICS_HOST",
        description="Address the worker's /metrics endpoint binds (`eventpipes run --web-host`); loopback by default.",
    )
    api_credentials_file: Path | None = Field(
        default=None,
        validation_alias="EVENTPIPES_API_CREDENTIALS_FILE",
        description="Access keys of the AWS-compatible endpoint (`eventpipes api`), in the AWS CLI's credentials "
                    "format (aws_access_key_id, aws_secret_access_key, optional aws_account_id per section).",
    )
    api_access_key_id: str | None = Field(
        default=None,
        validation_alias="EVENTPIPES_API_ACCESS_KEY_ID",
        description="One more access key the endpoint accepts (with EVENTPIPES_API_SECRET_ACCESS_KEY).",
    )
    api_secret_access_key: SecretStr | None = Field(
        default=None,
        validation_alias="EVENTPIPES_API_SECRET_ACCESS_KEY",
        description="The secret of EVENTPIPES_API_ACCESS_KEY_ID.",
    )
    api_account_id: str | None = Field(
        default=None,
        pattern=r"^\d{12}$",
        validation_alias="EVENTPIPES_API_ACCOUNT_ID",
        description="The account of EVENTPIPES_API_ACCESS_KEY_ID (default: EVENTPIPES_ACCOUNT).",
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
    broker_secure: bool = Field(
        default=False,
        validation_alias="EVENTPIPES_BROKER_SECURE",
        description="Start the local broker with a SASL_SSL listener (client port + 2) and an mTLS listener (+ 3) too "
                    "(`eventpipes broker start --secure`), with a CA, users and client properties files in the state directory.",
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
        description="Partitions of a bus topic CreateEventBus creates, and of the default bus's when first used.",
    )
    max_entry_bytes: int = Field(
        default=DEFAULT_MAX_ENTRY_BYTES,
        ge=1,
        le=EVENTBRIDGE_MAX_ENTRY_BYTES,
        validation_alias="EVENTPIPES_MAX_ENTRY_BYTES",
        description="PutEvents entry size limit, computed as EventBridge does (at most 1 MB).",
    )

    control_topic: str = Field(
        default="eventpipes.control",
        min_length=1,
        max_length=249,
        pattern=r"^[\.\-_A-Za-z0-9]+$",
        validation_alias="EVENTPIPES_CONTROL_TOPIC",
        description="The control plane's store: the compacted one-partition topic every resource change is written to.",
    )
    control_key: SecretStr | None = Field(
        default=None,
        validation_alias="EVENTPIPES_CONTROL_KEY",
        description="Base64 of a 16, 24 or 32-byte AES key that encrypts connection secrets in the control topic; "
                    "every process that creates connections with secrets or runs their targets needs it.",
    )
    functions: str = Field(
        default="",
        validation_alias="EVENTPIPES_FUNCTIONS",
        description="Python functions registered under Lambda function names, `NAME=module:callable` separated by "
                    "commas: a target or pipe whose ARN is `arn:aws:lambda:...:function:NAME` runs that callable. "
                    "The endpoint checking targets and the workers running them both read it.",
    )
    rules_per_bus: int = Field(
        default=300,
        ge=1,
        le=100_000,
        validation_alias="EVENTPIPES_RULES_PER_BUS",
        description="The most rules one bus may hold (EventBridge's quota: 300); PutRule past it is LimitExceededException.",
    )

    @field_validator("kafka_bootstrap_servers", "kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
                     "kafka_client_properties", "kafka_ssl_ca_location", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty variable (`KAFKA_SECURITY_PROTOCOL=` in a compose file) means unset.
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        # Kafka's clients read `sasl_ssl` as SASL_SSL; so does eventpipes.
        return value.strip().upper() or None if isinstance(value, str) else value

    @field_validator("schema_registry_basic_auth_user_info", "registry_basic_auth_user_info")
    @classmethod
    def _user_info_form(cls, value: SecretStr | None) -> SecretStr | None:
        # The message never repeats the value: it holds a password.
        user, colon, _ = value.get_secret_value().partition(":") if value is not None else ("-", ":", "")
        if not (user and colon):
            raise ValueError("must be user:password (a user name, a colon, then the password)")
        return value

    @field_validator("functions")
    @classmethod
    def _functions_form(cls, value: str) -> str:
        function_registry(value)
        return value

    @property
    def function_registry(self) -> dict[str, str]:
        """``EVENTPIPES_FUNCTIONS`` as Lambda function name → ``module:callable``."""
        return function_registry(self.functions)

    @property
    def bootstrap_servers(self) -> str:
        """The cluster to talk to: the external one, or the local broker."""
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.broker_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
