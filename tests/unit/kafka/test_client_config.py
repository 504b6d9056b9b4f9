"""The one Kafka client configuration: properties file, environment, bootstrap prefixes, rendering."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from eventpipes.broker import certs
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.errors import InvalidClientConfiguration
from eventpipes.kafka.properties import parse_properties
from eventpipes.settings import Settings

SECRET = "s3cr3t-pa55word"


def settings(tmp_path: Path, properties: str | None = None, **values: object) -> Settings:
    if properties is not None:
        # A new file each time: client_config caches per settings (the file name, not its content).
        file = tmp_path / f"client-{len(list(tmp_path.glob('client-*')))}.properties"
        file.write_text(properties)
        values["kafka_client_properties"] = file
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    ca = certs.new_ca()
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.certificate_pem())
    return path


def test_plaintext_by_default(tmp_path: Path) -> None:
    config = client_config(settings(tmp_path, kafka_bootstrap_servers="h1:9092,h2:9092"))
    assert (config.bootstrap, config.security_protocol, config.ssl_context) == ("h1:9092,h2:9092", "PLAINTEXT", None)
    assert config.kafka_python()["security_protocol"] == "PLAINTEXT"


def test_protocol_prefix_sets_the_protocol_and_is_stripped(tmp_path: Path) -> None:
    config = client_config(settings(tmp_path, "sasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\n",
                                    kafka_bootstrap_servers="SASL_SSL://b1:9096,sasl_ssl://b2:9096"))
    assert (config.bootstrap, config.security_protocol) == ("b1:9096,b2:9096", "SASL_SSL")
    assert config.ssl_context is not None and config.ssl_context.check_hostname


@pytest.mark.parametrize(("bootstrap", "extra", "path"), [
    ("SASL_SSL://b:9096", "security.protocol=PLAINTEXT\n", "security.protocol"),  # prefix and protocol disagree
    ("kafka://b:9092", "", "KAFKA_BOOTSTRAP_SERVERS"),                          # not a protocol
    ("SSL://a:1,PLAINTEXT://b:2", "", "KAFKA_BOOTSTRAP_SERVERS"),               # two protocols
])
def test_a_prefix_is_never_dropped(tmp_path: Path, bootstrap: str, extra: str, path: str) -> None:
    with pytest.raises(InvalidClientConfiguration) as raised:
        client_config(settings(tmp_path, extra, kafka_bootstrap_servers=bootstrap))
    assert raised.value.path == path


def test_an_unknown_property_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidClientConfiguration) as raised:
        client_config(settings(tmp_path, "security.protocol=SSL\nssl.ca.locaton=/x\n"))
    assert raised.value.path == "ssl.ca.locaton"
    assert "'ssl.ca.locaton'" in str(raised.value) and "line 2" in str(raised.value)


def test_environment_overrides_the_file_and_secrets_stay_hidden(tmp_path: Path, ca_file: Path) -> None:
    config = client_config(settings(
        tmp_path, f"security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=file-user\nsasl.password=wrong\nssl.ca.location={ca_file}\n",
        kafka_bootstrap_servers="b:9096", kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="env-user",
        kafka_sasl_password=SECRET))
    assert (config.sasl_mechanism, config.sasl_username) == ("SCRAM-SHA-512", "env-user")
    assert config.kafka_python()["sasl_plain_password"] == SECRET
    assert config.aiokafka()["sasl_plain_password"] == SECRET
    assert config.confluent()["sasl.password"] == SECRET
    for shown in (repr(config), str(config), str(config.describe())):
        assert SECRET not in shown


def test_jaas_config_as_java_clients_write_it(tmp_path: Path, ca_file: Path) -> None:
    config = client_config(settings(tmp_path, (
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n"
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n'
        f'    username="alice" password="{SECRET}";\n'
        f"ssl.ca.location={ca_file}\n"), kafka_bootstrap_servers="b:9096"))
    assert (config.sasl_username, config.sasl_password.get_secret_value() if config.sasl_password else None) == ("alice", SECRET)


@pytest.mark.parametrize(("properties", "path"), [
    ("security.protocol=SASL_SSL\n", "sasl.mechanism"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n", "sasl.mechanism"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=u\n", "sasl.password"),
    ("security.protocol=SSL\nsasl.mechanism=PLAIN\n", "security.protocol"),
    ("security.protocol=PLAINTEXT\nssl.ca.location=/etc/hosts\n", "ssl.ca.location"),
    ("security.protocol=SSL\nssl.ca.location=/no/such/ca.pem\n", "ssl.ca.location"),
    ("security.protocol=SSL\nssl.certificate.location=/etc/hosts\n", "ssl.key.location"),
    ("security.protocol=SSL\nssl.truststore.location=/etc/hosts\nssl.truststore.type=JKS\n", "ssl.truststore.type"),
    ("security.protocol=SSL\nssl.endpoint.identification.algorithm=http\n", "ssl.endpoint.identification.algorithm"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.client.id=c\n", "sasl.oauthbearer.token.endpoint.url"),
    ("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=com.example.Other required;\n", "sasl.jaas.config"),
])
def test_incomplete_or_contradictory_settings_are_named(tmp_path: Path, properties: str, path: str) -> None:
    with pytest.raises(InvalidClientConfiguration) as raised:
        client_config(settings(tmp_path, properties, kafka_bootstrap_servers="b:9096"))
    assert raised.value.path == path


def test_hostname_verification_is_on_unless_switched_off(tmp_path: Path, ca_file: Path) -> None:
    on = client_config(settings(tmp_path, f"security.protocol=SSL\nssl.ca.location={ca_file}\n", kafka_bootstrap_servers="b:1"))
    off = client_config(settings(tmp_path, f"security.protocol=SSL\nssl.ca.location={ca_file}\n"
                                           "ssl.endpoint.identification.algorithm=\n", kafka_bootstrap_servers="b:1"))
    assert on.ssl_context is not None and on.ssl_context.check_hostname and on.kafka_python()["ssl_check_hostname"]
    assert off.ssl_context is not None and not off.ssl_context.check_hostname
    assert off.ssl_context.verify_mode == ssl.CERT_REQUIRED  # the chain is still checked
    assert on.ssl_context is on.ssl_context  # built once
    assert on.confluent()["ssl.endpoint.identification.algorithm"] == "https"
    assert off.confluent()["ssl.endpoint.identification.algorithm"] == "none"


def test_mtls_from_pem_files_and_from_pkcs12(tmp_path: Path, ca_file: Path) -> None:
    ca = certs.new_ca()
    client = certs.issue(ca, "client", client=True)
    (tmp_path / "client.pem").write_bytes(client.certificate_pem())
    (tmp_path / "client.key").write_bytes(client.key_pem())
    (tmp_path / "client.p12").write_bytes(client.pkcs12(SECRET, ca))
    (tmp_path / "trust.p12").write_bytes(certs.issue(ca, "x").pkcs12("t", ca))
    pem = client_config(settings(tmp_path, f"security.protocol=SSL\nssl.ca.location={ca_file}\n"
                                           f"ssl.certificate.location={tmp_path / 'client.pem'}\nssl.key.location={tmp_path / 'client.key'}\n",
                                 kafka_bootstrap_servers="b:1"))
    p12 = client_config(settings(tmp_path, f"security.protocol=SSL\nssl.truststore.location={tmp_path / 'trust.p12'}\n"
                                           f"ssl.truststore.password=t\nssl.keystore.location={tmp_path / 'client.p12'}\n"
                                           f"ssl.keystore.password={SECRET}\n", kafka_bootstrap_servers="b:1"))
    assert pem.ssl_context is not None and p12.ssl_context is not None
    assert p12.confluent()["ssl.keystore.location"].endswith("client.p12") and "BEGIN CERTIFICATE" in p12.confluent()["ssl.ca.pem"]
    assert SECRET not in repr(p12)
    with pytest.raises(InvalidClientConfiguration) as raised:
        client_config(settings(tmp_path, f"security.protocol=SSL\nssl.keystore.location={tmp_path / 'client.p12'}\n"
                                         "ssl.keystore.password=wrong\n", kafka_bootstrap_servers="b:1"))
    assert raised.value.path == "ssl.keystore.password" and "wrong" not in str(raised.value).split(":", 1)[1].replace("wrong ssl", "")


def test_oauthbearer_renders_a_token_provider_for_each_library(tmp_path: Path, ca_file: Path) -> None:
    config = client_config(settings(tmp_path, (
        "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.token.endpoint.url=https://idp/token\n"
        f"sasl.oauthbearer.client.id=app\nsasl.oauthbearer.client.secret={SECRET}\nssl.ca.location={ca_file}\n"),
        kafka_bootstrap_servers="b:9096"))
    assert config.kafka_python()["sasl_oauth_token_provider"] is not None
    assert config.aiokafka()["sasl_oauth_token_provider"] is not None
    assert config.confluent()["sasl.oauthbearer.method"] == "oidc"
    assert SECRET not in repr(config)


def test_file_bootstrap_is_used_when_the_variable_is_unset(tmp_path: Path) -> None:
    config = client_config(settings(tmp_path, "bootstrap.servers=SSL://far:9093\n"))
    assert (config.bootstrap, config.security_protocol) == ("far:9093", "SSL")


def test_properties_syntax() -> None:
    parsed = parse_properties("# c\n! c\n a = 1 \nb:2\nc 3\nd=x\\\n   y\ne=back\\\\slash\nf=\n")
    assert [(p.key, p.value) for p in parsed] == [("a", "1 "), ("b", "2"), ("c", "3"), ("d", "xy"), ("e", "back\\slash"), ("f", "")]


def test_config_is_frozen(tmp_path: Path) -> None:
    config = KafkaClientConfig("b:1")
    with pytest.raises(AttributeError):
        config.bootstrap = "other:1"  # type: ignore[misc]


def test_variables_in_any_case_and_blank_ones_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "scram-sha-256")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("KAFKA_SSL_CA_LOCATION", "")
    monkeypatch.setenv("KAFKA_CLIENT_PROPERTIES", "")
    config = client_config(Settings(KAFKA_BOOTSTRAP_SERVERS="b:9092"))
    assert (config.security_protocol, config.sasl_mechanism, config.ssl_ca_location) == ("SASL_PLAINTEXT", "SCRAM-SHA-256", None)
    assert config.source == "environment"
