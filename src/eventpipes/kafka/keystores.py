"""Truststores and keystores in the forms Java clients use, read into what Python's ``ssl`` takes.

Supported: PEM files (``ssl.ca.location``, ``ssl.certificate.location``/``ssl.key.location``, or
``ssl.truststore.type=PEM`` / ``ssl.keystore.type=PEM``) and PKCS12 (``.p12``, Java's default
keystore type since 9). JKS is refused with the ``keytool`` command that converts it: no Python
library used here reads JKS.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat, pkcs12
from pydantic import SecretStr

from eventpipes.kafka.errors import InvalidClientConfiguration


def truststore(path: Path, kind: str | None, password: str | None) -> dict[str, Any]:
    """``KafkaClientConfig`` fields for ``ssl.truststore.*``."""
    kind = _kind(path, kind, "ssl.truststore.type")
    if kind == "PEM":
        return {"ssl_ca_location": path}
    _, certificate, extra = _load_pkcs12(path, password, "ssl.truststore.password")
    certificates = [c for c in [certificate, *extra] if c is not None]
    if not certificates:
        raise InvalidClientConfiguration(f"ssl.truststore.location {str(path)!r} holds no certificate", path="ssl.truststore.location")
    return {"ssl_ca_pem": SecretStr("".join(c.public_bytes(Encoding.PEM).decode() for c in certificates))}


def keystore(path: Path, kind: str | None, password: str | None, key_password: str | None) -> dict[str, Any]:
    """``KafkaClientConfig`` fields for ``ssl.keystore.*`` (the client's certificate and key, mTLS)."""
    kind = _kind(path, kind, "ssl.keystore.type")
    if kind == "PEM":  # Kafka's PEM keystore: key and certificate chain in one file
        return {"ssl_certificate_location": path, "ssl_key_location": path,
                **({"ssl_key_password": SecretStr(key_password)} if key_password else {})}
    key, certificate, _ = _load_pkcs12(path, password, "ssl.keystore.password")
    if key is None or certificate is None:
        raise InvalidClientConfiguration(f"ssl.keystore.location {str(path)!r} holds no private key with its certificate",
                                         path="ssl.keystore.location")
    return {"ssl_keystore_location": path, **({"ssl_keystore_password": SecretStr(password)} if password else {})}


def load_pkcs12_chain(context: ssl.SSLContext, path: Path, password: SecretStr | None) -> None:
    """Load a PKCS12 keystore's certificate and key into ``context``.

    ``ssl`` loads a chain only from files, so the key goes through a file readable by this user
    alone, encrypted with a one-off password, and removed at once.
    """
    key, certificate, extra = _load_pkcs12(path, password.get_secret_value() if password else None, "ssl.keystore.password")
    assert key is not None and certificate is not None  # checked when the configuration was built
    one_off = os.urandom(16).hex()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(one_off.encode()))  # type: ignore[union-attr]
    chain = b"".join(c.public_bytes(Encoding.PEM) for c in [certificate, *extra])
    with tempfile.TemporaryDirectory(prefix="eventpipes-tls-") as directory:
        file = Path(directory) / "chain.pem"
        file.touch(mode=0o600)
        file.write_bytes(pem + chain)
        context.load_cert_chain(str(file), password=one_off)


def _kind(path: Path, kind: str | None, key: str) -> str:
    kind = (kind or ("PEM" if path.suffix.lower() in (".pem", ".crt", ".cer") else "PKCS12")).upper()
    if kind == "JKS":
        raise InvalidClientConfiguration(f"{key} JKS is not readable here; convert it: keytool -importkeystore -srckeystore "
                                         f"{path} -destkeystore {path.with_suffix('.p12')} -deststoretype PKCS12", path=key)
    if kind not in ("PEM", "PKCS12"):
        raise InvalidClientConfiguration(f"{key} {kind!r}: use PEM or PKCS12", path=key)
    return kind


def _load_pkcs12(path: Path, password: str | None, password_key: str) -> tuple[Any, Any, list[Any]]:
    try:
        return pkcs12.load_key_and_certificates(path.read_bytes(), password.encode() if password else None)
    except ValueError:
        raise InvalidClientConfiguration(f"cannot open PKCS12 store {str(path)!r}: wrong {password_key} or not PKCS12",
                                         path=password_key) from None


