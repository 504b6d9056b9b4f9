"""Connection secrets, sealed with AES-GCM under the key workers are given (``EVENTPIPES_CONTROL_KEY``).

The control topic is readable by anyone who can read Kafka, so a secret (an API key value,
a Basic password, an OAuth client secret, a parameter marked ``IsValueSecret``) is stored
as ``sealed:v1:<base64 of nonce || ciphertext+tag>``, never in clear. The associated data
is the connection's name and the secret's place in it, so a sealed value copied to another
connection or field does not open. A connection keeps a check value of the key (an HMAC of a
fixed label, as archive encryption does), so a reader holding another key can say so
instead of failing on each value. Pure (``cryptography`` computes; no I/O).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX: Final = "sealed:v1:"
NONCE_BYTES: Final = 12


class SecretUnavailable(Exception):
    """A sealed value cannot be opened here; the message says why (never the value)."""


def key_check(key: bytes) -> str:
    """A value that identifies the key without revealing it."""
    return hmac.new(key, b"eventpipes control key check", hashlib.sha256).hexdigest()[:32]


def seal(key: bytes, place: str, value: str) -> str:
    """``value`` encrypted for ``place`` (``<connection>/<field path>``)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(key).encrypt(nonce, value.encode(), place.encode())
    return PREFIX + base64.b64encode(sealed).decode()


def unseal(key: bytes | None, place: str, sealed: str) -> str:
    """The value ``seal`` sealed for ``place``.

    Raises:
        SecretUnavailable: no key, another key, or a damaged value.
    """
    if key is None:
        raise SecretUnavailable("this process has no EVENTPIPES_CONTROL_KEY to decrypt its secrets")
    if not sealed.startswith(PREFIX):
        raise SecretUnavailable("a secret is not in the sealed form")
    data = base64.b64decode(sealed[len(PREFIX):])
    try:
        return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], place.encode()).decode()
    except (InvalidTag, ValueError):
        raise SecretUnavailable("a secret does not decrypt with EVENTPIPES_CONTROL_KEY (another key, or a damaged record)") from None
