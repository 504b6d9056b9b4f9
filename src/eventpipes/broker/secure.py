"""The local broker's secured listeners: SASL_SSL with SCRAM and PLAIN users, and mTLS; a CA of its own.

``eventpipes broker start --secure`` adds a SASL_SSL listener on the client port + 2 and an SSL
listener requiring a client certificate (mTLS) on the client port + 3, beside the
plaintext one (the broker's own traffic and readiness probe stay on plaintext loopback). The CA,
the broker's PKCS12 keystore, the users' passwords and a ready client properties file live in
``<state>/broker/secure/``, readable by the owner only, and survive restarts: a properties file
handed out once keeps working. The broker's certificate names ``localhost`` only, so connecting
to ``127.0.0.1`` instead is a hostname mismatch: the failure tests rely on that.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from eventpipes.broker import certs
from eventpipes.settings import Settings

#: The user the client properties file logs in as; it has SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN credentials.
USER = "eventpipes"

#: The name clients use for the listener, and the only name in the broker's certificate.
HOST = "localhost"

MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


def secure_port(settings: Settings) -> int:
    """The SASL_SSL listener's port: after the client port and the controller's."""
    return settings.broker_port + 2


def mtls_port(settings: Settings) -> int:
    """The SSL listener that requires a client certificate."""
    return settings.broker_port + 3


def listeners(settings: Settings) -> tuple[str, str, str]:
    """What the secured listeners add to ``listeners``, ``advertised.listeners`` and the protocol map."""
    sasl, mtls = secure_port(settings), mtls_port(settings)
    return (f",SASL_SSL://127.0.0.1:{sasl},SSL://127.0.0.1:{mtls}", f",SASL_SSL://{HOST}:{sasl},SSL://{HOST}:{mtls}",
            ",SASL_SSL:SASL_SSL,SSL:SSL")


@dataclass(frozen=True, slots=True)
class SecureFiles:
    """Where the secured listener's material lives."""

    root: Path

    @classmethod
    def under(cls, state_dir: Path) -> "SecureFiles":
        return cls(state_dir / "broker" / "secure")

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def keystore(self) -> Path:
        return self.root / "broker.p12"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def client_properties(self) -> Path:
        return self.root / "client.properties"

    @property
    def client_certificate(self) -> Path:
        return self.root / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.root / "client.key"

    @property
    def mtls_properties(self) -> Path:
        """Client properties for the mTLS listener (certificate and key instead of a password)."""
        return self.root / "client-mtls.properties"


@dataclass(frozen=True, slots=True)
class SecureMaterial:
    """Passwords of the keystore and of the user (kept in ``secrets.json``, mode 0600)."""

    files: SecureFiles
    keystore_password: str
    user_password: str


def ensure_material(settings: Settings) -> SecureMaterial:
    """The CA, keystore and passwords, generated on first use and reused after."""
    files = SecureFiles.under(settings.state_dir)
    if all(path.exists() for path in (files.secrets, files.keystore, files.ca, files.client_certificate, files.client_key)):
        stored = json.loads(files.secrets.read_text())
        return SecureMaterial(files, stored["keystore_password"], stored["user_password"])
    files.root.mkdir(parents=True, exist_ok=True)
    files.root.chmod(0o700)
    material = SecureMaterial(files, secrets.token_urlsafe(18), secrets.token_urlsafe(18))
    ca = certs.new_ca()
    broker = certs.issue(ca, HOST, dns=(HOST,))
    client = certs.issue(ca, USER, client=True)
    files.ca.write_bytes(ca.certificate_pem())
    files.client_certificate.write_bytes(client.certificate_pem())
    certs.write_private(files.client_key, client.key_pem())
    certs.write_private(files.ca_key, ca.key_pem())
    certs.write_private(files.keystore, broker.pkcs12(material.keystore_password, ca))
    certs.write_private(files.secrets, json.dumps({"keystore_password": material.keystore_password,
                                                   "user_password": material.user_password}).encode())
    return material


def listener_lines(settings: Settings, material: SecureMaterial) -> dict[str, str]:
    """server.properties entries for the SASL_SSL listener (merged into the plaintext ones)."""
    name = "listener.name.sasl_ssl"
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    plain = f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{material.user_password}";'
    return {
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        f"{name}.scram-sha-512.sasl.jaas.config": scram,
        f"{name}.scram-sha-256.sasl.jaas.config": scram,
        f"{name}.plain.sasl.jaas.config": plain,
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(material.files.keystore),
        "ssl.keystore.password": material.keystore_password,
        "ssl.key.password": material.keystore_password,
        # mTLS on the SSL listener: a client certificate signed by the local CA, or no connection.
        "listener.name.ssl.ssl.client.auth": "required",
        "listener.name.ssl.ssl.truststore.type": "PEM",
        "listener.name.ssl.ssl.truststore.location": str(material.files.ca),
    }


def client_properties_text(settings: Settings, material: SecureMaterial, mechanism: str = "SCRAM-SHA-512") -> str:
    """A client properties file for the secured listener, as any Kafka client reads it."""
    return "\n".join([
        "# The local eventpipes broker's SASL_SSL listener (eventpipes broker start --secure).",
        "# Use with: KAFKA_CLIENT_PROPERTIES=<this file>, --command-config <this file>,",
        "# kcat -F <this file>, or as confluent-kafka's config (librdkafka's property names).",
        f"bootstrap.servers={HOST}:{secure_port(settings)}",
        "security.protocol=SASL_SSL",
        f"sasl.mechanism={mechanism}",
        f"sasl.username={USER}",
        f"sasl.password={material.user_password}",
        f"ssl.ca.location={material.files.ca}",
        "",
    ])


def mtls_properties_text(settings: Settings, material: SecureMaterial) -> str:
    """A client properties file for the mTLS listener."""
    files = material.files
    return "\n".join([
        "# The local eventpipes broker's mTLS listener (eventpipes broker start --secure).",
        f"bootstrap.servers={HOST}:{mtls_port(settings)}",
        "security.protocol=SSL",
        f"ssl.ca.location={files.ca}",
        f"ssl.certificate.location={files.client_certificate}",
        f"ssl.key.location={files.client_key}",
        "",
    ])


def write_client_properties(settings: Settings, material: SecureMaterial) -> Path:
    certs.write_private(material.files.client_properties, client_properties_text(settings, material).encode())
    certs.write_private(material.files.mtls_properties, mtls_properties_text(settings, material).encode())
    return material.files.client_properties


def create_users(settings: Settings, material: SecureMaterial) -> None:
    """SCRAM credentials for ``USER`` (both hashes), through the plaintext loopback listener.

    Stored in the KRaft metadata log, so they survive restarts; upserting them again on every
    start keeps them matching ``secrets.json`` whatever happened in between.
    """
    from kafka.admin import KafkaAdminClient, UserScramCredentialUpsertion

    admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{settings.broker_port}", client_id="eventpipes-broker-setup",
                             request_timeout_ms=30_000)
    errors: dict[str, str] = {}
    try:
        # One request per mechanism: Kafka refuses to alter one user twice in a request.
        for mechanism in ("SCRAM-SHA-512", "SCRAM-SHA-256"):
            failed = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(USER, mechanism, material.user_password)])
            errors.update({f"{user} {mechanism}": error for user, error in failed.items() if error})
    finally:
        admin.close()
    if errors:
        from eventpipes.broker.errors import BrokerError

        raise BrokerError(f"creating the SCRAM users failed: {errors}")
