"""Wrong settings against the secured broker fail fast and clearly: one typed line, exit 1, within the timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventpipes.broker import certs
from eventpipes.broker.secure import secure_port
from eventpipes.kafka.properties import read_properties

from secured_support import Secured

#: EVENTPIPES_KAFKA_TIMEOUT for these runs; each whole command (Python start included) must end sooner.
TIMEOUT = 5.0


def variant(secured: Secured, tmp_path: Path, **changes: str) -> Path:
    props = {key: prop.value for key, prop in read_properties(secured.properties).items()}
    props.update(changes)
    file = tmp_path / "variant.properties"
    file.write_text("".join(f"{key}={value}\n" for key, value in props.items() if value != "-"))
    return file


CASES = {
    "wrong password": ({"sasl.password": "not-the-password"}, "AuthenticationFailed", "invalid credentials"),
    "unknown CA": ({"ssl.ca.location": "OTHER_CA"}, "TlsHandshakeFailed", "not trusted"),
    "hostname mismatch": ({"bootstrap.servers": "127.0.0.1:PORT"}, "TlsHandshakeFailed", "hostname mismatch"),
    "mechanism not enabled": ({"sasl.mechanism": "OAUTHBEARER", "sasl.username": "-", "sasl.password": "-",
                               "sasl.oauthbearer.token.endpoint.url": "http://127.0.0.1:9/token",
                               "sasl.oauthbearer.client.id": "app", "sasl.oauthbearer.client.secret": "s"},
                              "MechanismNotEnabled", "SCRAM-SHA-512"),
    "plaintext client against TLS": ({"security.protocol": "PLAINTEXT", "sasl.mechanism": "-", "sasl.username": "-",
                                      "sasl.password": "-", "ssl.ca.location": "-"}, "SecurityProtocolMismatch", "expects TLS"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", [["put-events", "--entries", '[{"Source": "s", "DetailType": "d", "Detail": "{}"}]'],
                                     ["tail", "--timeout", "1"]])
def test_each_failure_is_typed_and_within_the_timeout(secured: Secured, tmp_path: Path, case: str, command: list[str]) -> None:
    changes, code, words = CASES[case]
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(certs.new_ca("Another CA").certificate_pem())
    resolved = {k: v.replace("OTHER_CA", str(other_ca)).replace("PORT", str(secure_port(secured.broker.settings)))
                for k, v in changes.items()}
    file = variant(secured, tmp_path, **resolved)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "EVENTPIPES_"))}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "eventpipes", *command, "--command-config", str(file)],
                          capture_output=True, text=True, timeout=60, env={**env, "EVENTPIPES_KAFKA_TIMEOUT": str(TIMEOUT)})
    took = time.monotonic() - began
    print(f"{case} / {command[0]}: {took:.2f} s: {done.stderr.strip()}")
    assert done.returncode == 1
    assert done.stderr.startswith(f"{code}: ") and words in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "not-the-password" not in done.stderr
    assert took < TIMEOUT


def test_a_sasl_ssl_address_never_falls_back_to_plaintext(secured: Secured) -> None:
    plaintext = f"127.0.0.1:{secured.broker.settings.broker_port}"  # the same broker's plaintext listener
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "EVENTPIPES_"))}
    done = subprocess.run([sys.executable, "-m", "eventpipes", "tail", "--timeout", "1"], capture_output=True, text=True, timeout=60,
                          env={**env, "KAFKA_BOOTSTRAP_SERVERS": f"SASL_SSL://{plaintext}", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                               "KAFKA_SASL_USERNAME": "eventpipes", "KAFKA_SASL_PASSWORD": "x", "EVENTPIPES_KAFKA_TIMEOUT": str(TIMEOUT)})
    assert done.returncode == 1
    assert done.stderr.startswith("SecurityProtocolMismatch: the listener does not speak TLS"), done.stderr


def test_library_callers_get_the_typed_cause_after_the_clients_timeout(secured: Secured) -> None:
    from pydantic import SecretStr

    from eventpipes.kafka.admin import Admin
    from eventpipes.kafka.client_config import client_config
    from eventpipes.kafka.diagnose import EXPLAIN_SECONDS
    from eventpipes.kafka.errors import AuthenticationFailed

    settings = secured.settings.model_copy(update={"kafka_sasl_password": SecretStr("not-the-password")})
    began = time.monotonic()
    with pytest.raises(AuthenticationFailed) as raised, Admin(client_config(settings), timeout_seconds=3) as admin:
        admin.topics()
    assert time.monotonic() - began < 3 + EXPLAIN_SECONDS + 1
    assert "not-the-password" not in str(raised.value)
