"""Encryption of archived events with a key the user supplies (AES-GCM, ``cryptography``).

Each record value is ``nonce (12 bytes) || ciphertext+tag``; the archive name is the
associated data, so a record copied into another archive does not decrypt. The
definition keeps a check value of the key (an HMAC of a fixed label), never the key,
so a replay can refuse a wrong key before it reads or writes anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventpipes.kafka.headers import ENCRYPTION_HEADER
from eventpipes.archive.errors import ArchiveKeyError

ALGORITHM = b"AES-GCM"
NONCE_BYTES = 12


def load_key(archive: str, variable: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The AES key in environment variable ``variable`` (base64 of 16, 24 or 32 bytes).

    Raises:
        ArchiveKeyError: unset, not base64, or not an AES key length.
    """
    text = (os.environ if environ is None else environ).get(variable)
    if not text:
        raise ArchiveKeyError(archive, f"the archive is encrypted and environment variable {variable} (its key) is not set")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ArchiveKeyError(archive, f"{variable} is not base64: {exc}") from exc
    if len(key) not in (16, 24, 32):
        raise ArchiveKeyError(archive, f"{variable} holds {len(key)} bytes; an AES key is 16, 24 or 32 bytes")
    return key


def key_check(key: bytes) -> str:
    """A value that identifies the key without revealing it."""
    return hmac.new(key, b"eventpipes archive key check", hashlib.sha256).hexdigest()[:32]


def check_key(archive: str, key: bytes, expected: str) -> None:
    """Raises ArchiveKeyError unless ``key`` is the archive's key."""
    if not hmac.compare_digest(key_check(key), expected):
        raise ArchiveKeyError(archive, "the key given is not the key this archive was encrypted with")


def encrypt(key: bytes, archive: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, archive.encode())


def decrypt(key: bytes, archive: str, data: bytes) -> bytes:
    """Raises ArchiveKeyError when the record does not decrypt with ``key``."""
    try:
        return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], archive.encode())
    except (InvalidTag, ValueError) as exc:
        raise ArchiveKeyError(archive, "a record does not decrypt with the key given (wrong key, or a damaged record)") from exc
