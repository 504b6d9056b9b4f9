"""The one Kafka client configuration: bootstrap, TLS, SASL, properties file.

Every client eventpipes creates (kafka-python's admin, producers and consumers; aiokafka's in the
worker, the pipe runner and the schedule ticker; confluent-kafka's in tests and users' code) is
built from a ``KafkaClientConfig``, and a ``KafkaClientConfig`` is built only here, from the
settings: so no client can be created without the security settings.

Sources, each overriding the one before: the client properties file (``KAFKA_CLIENT_PROPERTIES``
or ``--command-config``, Kafka's own property names), then the ``KAFKA_SECURITY_PROTOCOL``,
``KAFKA_SASL_*`` and ``KAFKA_SSL_CA_LOCATION`` variables, then a protocol prefix on the bootstrap
address (``SASL_SSL://host:9092``), which must agree with an explicit protocol: it is never dropped.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

from pydantic import SecretStr

from eventpipes.kafka import keystores
from eventpipes.kafka.errors import InvalidClientConfiguration
from eventpipes.kafka.oauth import AiokafkaTokens, ClientCredentials, KafkaPythonTokens
from eventpipes.kafka.properties import Property, read_properties
from eventpipes.settings import Settings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]
PROTOCOLS: tuple[str, ...] = get_args(SecurityProtocol)
MECHANISMS: tuple[str, ...] = get_args(SaslMechanism)

#: Every property name eventpipes reads from a client properties file. Anything else is an
#: error naming it: a misspelt ``ssl.ca.locaton`` must not quietly mean "trust the system's CAs".
KNOWN_PROPERTIES = frozenset({
    "bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.mechanisms",
    "sasl.username", "sasl.password", "sasl.jaas.config", "sasl.login.callback.handler.class",
    "sasl.oauthbearer.method", "sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret", "sasl.oauthbearer.scope",
    "ssl.ca.location", "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type",
    "ssl.certificate.location", "ssl.key.location", "ssl.key.password",
    "ssl.keystore.location", "ssl.keystore.password", "ssl.keystore.type",
    "ssl.endpoint.identification.algorithm",
})

_PREFIX = re.compile(r"^([A-Za-z_]+)://(.*)$")
_JAAS_OPTION = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))')


@dataclass(frozen=True)
class KafkaClientConfig:
    """How to reach and authenticate to the cluster; secrets are ``SecretStr`` and never shown."""

    bootstrap: str
    """``host:port[,host:port...]`` without protocol prefixes."""
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    """Set exactly when the protocol is SASL_PLAINTEXT or SASL_SSL."""
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    """PEM file of trusted CAs; None: the system's trust store (or ``ssl_ca_pem``)."""
    ssl_ca_pem: SecretStr | None = field(default=None, repr=False)
    """CAs read from a PKCS12 truststore, as PEM (not secret, but may be large: kept out of repr)."""
    ssl_certificate_location: Path | None = None
    """Client certificate (PEM) for mTLS, with ``ssl_key_location``."""
    ssl_key_location: Path | None = None
    ssl_key_password: SecretStr | None = None
    ssl_keystore_location: Path | None = None
    """PKCS12 keystore holding the client certificate and key, instead of the two PEM files."""
    ssl_keystore_password: SecretStr | None = None
    verify_hostname: bool = True
    """``ssl.endpoint.identification.algorithm=https`` (Kafka's default); off only when set empty."""
    oauth: ClientCredentials | None = field(default=None, compare=False)
    """The token endpoint and client credentials for OAUTHBEARER."""
    source: str = "defaults"
    """Where the settings came from (file and variables), for messages."""

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """One context for every connection of every client built from this configuration."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_ca_location) if self.ssl_ca_location else None,
            cadata=self.ssl_ca_pem.get_secret_value() if self.ssl_ca_pem else None,
        )
        context.check_hostname = self.verify_hostname
        if self.ssl_keystore_location is not None:
            keystores.load_pkcs12_chain(context, self.ssl_keystore_location, self.ssl_keystore_password)
        elif self.ssl_certificate_location is not None:
            password = self.ssl_key_password.get_secret_value() if self.ssl_key_password else None
            context.load_cert_chain(str(self.ssl_certificate_location), str(self.ssl_key_location), password)
        return context

    def _common(self) -> dict[str, Any]:
        password = self.sasl_password.get_secret_value() if self.sasl_password else None
        return {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol,
                "ssl_context": self.ssl_context,
                **({"sasl_mechanism": self.sasl_mechanism} if self.sasl_mechanism else {}),
                **({"sasl_plain_username": self.sasl_username, "sasl_plain_password": password} if self.sasl_username else {})}

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        extra = {"sasl_oauth_token_provider": KafkaPythonTokens(self.oauth)} if self.oauth else {}
        return {**self._common(), "ssl_check_hostname": self.verify_hostname, **extra}

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's AIOKafkaProducer and AIOKafkaConsumer."""
        extra = {"sasl_oauth_token_provider": AiokafkaTokens(self.oauth)} if self.oauth else {}
        return {**self._common(), **extra}

    def confluent(self) -> dict[str, str]:
        """librdkafka's configuration (confluent-kafka), for tests and for users' own clients.

        Contains the secrets in clear text, as librdkafka needs them: never log it.
        """
        conf = {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol}
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.oauth:
            conf.update({"sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": self.oauth.token_endpoint,
                         "sasl.oauthbearer.client.id": self.oauth.client_id,
                         "sasl.oauthbearer.client.secret": self.oauth.client_secret.get_secret_value(),
                         **({"sasl.oauthbearer.scope": self.oauth.scope} if self.oauth.scope else {})})
        if self.uses_tls:
            conf["ssl.endpoint.identification.algorithm"] = "https" if self.verify_hostname else "none"
            if self.ssl_ca_location:
                conf["ssl.ca.location"] = str(self.ssl_ca_location)
            if self.ssl_ca_pem:
                conf["ssl.ca.pem"] = self.ssl_ca_pem.get_secret_value()
            if self.ssl_certificate_location:
                conf["ssl.certificate.location"] = str(self.ssl_certificate_location)
                conf["ssl.key.location"] = str(self.ssl_key_location)
            if self.ssl_key_password:
                conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
            if self.ssl_keystore_location:
                conf["ssl.keystore.location"] = str(self.ssl_keystore_location)
            if self.ssl_keystore_password:
                conf["ssl.keystore.password"] = self.ssl_keystore_password.get_secret_value()
        return conf

    def describe(self) -> dict[str, Any]:
        """What ``status`` and logs may show: no secret, only whether one is set."""
        return {"BootstrapServers": self.bootstrap, "SecurityProtocol": self.security_protocol,
                "SaslMechanism": self.sasl_mechanism, "SaslUsername": self.sasl_username,
                "TlsHostnameVerification": self.verify_hostname if self.uses_tls else None,
                "Source": self.source}


@lru_cache(maxsize=8)
def client_config(settings: Settings) -> KafkaClientConfig:
    """The configuration every Kafka client of this process uses (built once per settings).

    Cached: the file is read, the SSLContext built and the OAuth token fetched once, however
    many clients a process creates.

    Raises:
        InvalidClientConfiguration: naming the property, variable or file at fault.
    """
    file = settings.kafka_client_properties
    read = read_properties(file) if file else {}
    for key, prop in read.items():
        _check_known(key, prop, cast(Path, file))
    props = {key: prop.value for key, prop in read.items()}
    values = _from_environment(settings, _from_jaas(props))
    bootstrap, prefixed = _bootstrap(settings.kafka_bootstrap_servers or props.get("bootstrap.servers") or settings.bootstrap_servers)
    protocol = _protocol(values.get("security.protocol"), prefixed)
    source = ", ".join(filter(None, [f"properties file {file}" if file else None, "environment" if _env_set(settings) else None])) or "defaults"
    return _build(values, bootstrap, protocol, source)


def _check_known(key: str, prop: Property, file: Path) -> None:
    if key not in KNOWN_PROPERTIES:
        raise InvalidClientConfiguration(f"unknown client property {key!r} ({file}, line {prop.line}); "
                                         f"eventpipes reads: {', '.join(sorted(KNOWN_PROPERTIES))}", path=key)


def _env_set(settings: Settings) -> bool:
    return any(value is not None for value in (settings.kafka_security_protocol, settings.kafka_sasl_mechanism,
                                               settings.kafka_sasl_username, settings.kafka_sasl_password,
                                               settings.kafka_ssl_ca_location))


def _from_environment(settings: Settings, props: dict[str, str]) -> dict[str, str]:
    overrides = {
        "security.protocol": settings.kafka_security_protocol,
        "sasl.mechanism": settings.kafka_sasl_mechanism,
        "sasl.username": settings.kafka_sasl_username,
        "sasl.password": settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None,
        "ssl.ca.location": str(settings.kafka_ssl_ca_location) if settings.kafka_ssl_ca_location else None,
    }
    return {**props, **{key: value for key, value in overrides.items() if value is not None}}


def _from_jaas(props: dict[str, str]) -> dict[str, str]:
    """Java clients' ``sasl.jaas.config`` turned into the plain properties it stands for."""
    props = dict(props)
    if "sasl.mechanisms" in props:
        props.setdefault("sasl.mechanism", props.pop("sasl.mechanisms"))
    jaas = props.pop("sasl.jaas.config", None)
    if jaas is None:
        return props
    module = jaas.split(None, 1)[0] if jaas.strip() else ""
    options = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _JAAS_OPTION.finditer(jaas)}
    if module.endswith(("PlainLoginModule", "ScramLoginModule")):
        for key, option in (("sasl.username", "username"), ("sasl.password", "password")):
            if option in options:
                props.setdefault(key, re.sub(r"\\(.)", r"\1", options[option]))
    elif module.endswith("OAuthBearerLoginModule"):
        for key, option in (("sasl.oauthbearer.client.id", "clientId"), ("sasl.oauthbearer.client.secret", "clientSecret"),
                            ("sasl.oauthbearer.scope", "scope")):
            if option in options:
                props.setdefault(key, options[option])
    else:
        raise InvalidClientConfiguration(f"sasl.jaas.config names login module {module or '(none)'!r}; eventpipes reads "
                                         "PlainLoginModule, ScramLoginModule and OAuthBearerLoginModule", path="sasl.jaas.config")
    return props


def _bootstrap(raw: str) -> tuple[str, str | None]:
    """The address without prefixes, and the one protocol its prefixes name (None: no prefix)."""
    hosts, named = [], set()
    for entry in (part.strip() for part in raw.split(",") if part.strip()):
        match = _PREFIX.match(entry)
        if match:
            prefix = match.group(1).upper()
            if prefix not in PROTOCOLS:
                raise InvalidClientConfiguration(f"bootstrap address {entry!r} has protocol prefix {match.group(1)!r}; "
                                                 f"use one of {', '.join(PROTOCOLS)} or none", path="KAFKA_BOOTSTRAP_SERVERS")
            named.add(prefix)
            entry = match.group(2)
        hosts.append(entry)
    if len(named) > 1:
        raise InvalidClientConfiguration(f"bootstrap address names several protocols ({', '.join(sorted(named))}); "
                                         "one client speaks one", path="KAFKA_BOOTSTRAP_SERVERS")
    return ",".join(hosts), next(iter(named), None)


def _protocol(explicit: str | None, prefixed: str | None) -> SecurityProtocol:
    if explicit is not None and explicit.upper() not in PROTOCOLS:
        raise InvalidClientConfiguration(f"security.protocol {explicit!r} is not one of {', '.join(PROTOCOLS)}", path="security.protocol")
    chosen = explicit.upper() if explicit else None
    if chosen and prefixed and chosen != prefixed:
        raise InvalidClientConfiguration(f"the bootstrap address says {prefixed}:// but security.protocol is {chosen}; "
                                         "make them agree", path="security.protocol")
    return cast(SecurityProtocol, chosen or prefixed or "PLAINTEXT")


def _build(values: dict[str, str], bootstrap: str, protocol: SecurityProtocol, source: str) -> KafkaClientConfig:
    mechanism = _mechanism(values, protocol)
    verify = _verify_hostname(values.get("ssl.endpoint.identification.algorithm"))
    tls = _tls(values) if protocol in ("SSL", "SASL_SSL") else _no_tls(values)
    username, password = values.get("sasl.username"), values.get("sasl.password")
    if mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (username and password):
        raise InvalidClientConfiguration(f"sasl.mechanism {mechanism} needs sasl.username and sasl.password "
                                         "(or sasl.jaas.config, or KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD)",
                                         path="sasl.username" if not username else "sasl.password")
    return KafkaClientConfig(
        bootstrap=bootstrap, security_protocol=protocol, sasl_mechanism=mechanism,
        sasl_username=username if mechanism != "OAUTHBEARER" else None,
        sasl_password=SecretStr(password) if password and mechanism != "OAUTHBEARER" else None,
        verify_hostname=verify, oauth=_oauth(values) if mechanism == "OAUTHBEARER" else None, source=source, **tls,
    )


def _mechanism(values: dict[str, str], protocol: SecurityProtocol) -> SaslMechanism | None:
    raw = values.get("sasl.mechanism")
    if not protocol.startswith("SASL_"):
        if raw or values.get("sasl.username"):
            raise InvalidClientConfiguration(f"SASL settings are given but security.protocol is {protocol}; "
                                             "use SASL_SSL (or SASL_PLAINTEXT)", path="security.protocol")
        return None
    if not raw:
        raise InvalidClientConfiguration(f"security.protocol {protocol} needs sasl.mechanism ({', '.join(MECHANISMS)})",
                                         path="sasl.mechanism")
    if raw.upper() not in MECHANISMS:
        raise InvalidClientConfiguration(f"sasl.mechanism {raw!r} is not supported; use one of {', '.join(MECHANISMS)}",
                                         path="sasl.mechanism")
    return cast(SaslMechanism, raw.upper())


def _verify_hostname(value: str | None) -> bool:
    if value is None or value.lower() == "https":
        return True
    if value.strip() == "" or value.lower() == "none":
        return False
    raise InvalidClientConfiguration(f"ssl.endpoint.identification.algorithm {value!r}: use https (verify the "
                                     "broker's hostname, the default) or an empty value (do not)",
                                     path="ssl.endpoint.identification.algorithm")


def _no_tls(values: dict[str, str]) -> dict[str, Any]:
    stray = sorted(key for key in values if key.startswith("ssl.") and key != "ssl.endpoint.identification.algorithm")
    if stray:
        raise InvalidClientConfiguration(f"{stray[0]} is set but security.protocol does not use TLS; use SSL or SASL_SSL",
                                         path=stray[0])
    return {}


def _tls(values: dict[str, str]) -> dict[str, Any]:
    tls: dict[str, Any] = {}
    if "ssl.ca.location" in values:
        tls["ssl_ca_location"] = _existing(values, "ssl.ca.location")
    elif "ssl.truststore.location" in values:
        tls.update(keystores.truststore(_existing(values, "ssl.truststore.location"), values.get("ssl.truststore.type"),
                                        values.get("ssl.truststore.password")))
    if "ssl.keystore.location" in values:
        tls.update(keystores.keystore(_existing(values, "ssl.keystore.location"), values.get("ssl.keystore.type"),
                                      values.get("ssl.keystore.password"), values.get("ssl.key.password")))
    elif "ssl.certificate.location" in values or "ssl.key.location" in values:
        if not ("ssl.certificate.location" in values and "ssl.key.location" in values):
            missing = "ssl.key.location" if "ssl.certificate.location" in values else "ssl.certificate.location"
            raise InvalidClientConfiguration(f"mTLS needs both ssl.certificate.location and ssl.key.location; {missing} is missing",
                                             path=missing)
        tls["ssl_certificate_location"] = _existing(values, "ssl.certificate.location")
        tls["ssl_key_location"] = _existing(values, "ssl.key.location")
        if values.get("ssl.key.password"):
            tls["ssl_key_password"] = SecretStr(values["ssl.key.password"])
    return tls


def _existing(values: dict[str, str], key: str) -> Path:
    path = Path(values[key]).expanduser()
    if not path.is_file():
        raise InvalidClientConfiguration(f"{key} names {str(path)!r}, which is not a readable file", path=key)
    return path


def _oauth(values: dict[str, str]) -> ClientCredentials:
    method = values.get("sasl.oauthbearer.method", "oidc").lower()
    if method != "oidc":
        raise InvalidClientConfiguration(f"sasl.oauthbearer.method {method!r}: eventpipes fetches tokens itself (oidc)",
                                         path="sasl.oauthbearer.method")
    for key in ("sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.client.id", "sasl.oauthbearer.client.secret"):
        if not values.get(key):
            raise InvalidClientConfiguration(f"sasl.mechanism OAUTHBEARER needs {key} (client-credentials grant)", path=key)
    return ClientCredentials(values["sasl.oauthbearer.token.endpoint.url"], values["sasl.oauthbearer.client.id"],
                             SecretStr(values["sasl.oauthbearer.client.secret"]), values.get("sasl.oauthbearer.scope"))
