"""HTTP Basic authentication of the schema registry, as Confluent's registry does it.

Clients send ``Authorization: Basic base64(user:password)``: Confluent's clients do so when
given ``basic.auth.user.info`` (with ``basic.auth.credentials.source=USER_INFO``), eventpipes'
own clients when ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`` is set. A request without them, or
with wrong ones, gets 401 with Confluent's body ``{"error_code": 401, "message": "Unauthorized"}``
and a ``WWW-Authenticate: Basic`` challenge.

Users come from a file (``EVENTPIPES_REGISTRY_USERS_FILE`` or ``--users-file``): one
``user:password`` per line, the password being everything after the first colon; blank lines
and lines starting with ``#`` are skipped. ``EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO`` adds
one more user from the environment.

When it is on: whenever users are configured, and always on an address other than loopback,
where the registry refuses to start without users (:func:`require_credentials`). On loopback
without users it serves as before, open to local processes only.

Secrets: passwords are kept only as SHA-256 digests and compared with
``hmac.compare_digest`` over equal-length digests, for unknown users too, so the answer's
timing does not tell a near-miss password or whether a user exists. No message built here
contains a password or the Authorization header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eventpipes.errors import ConfigurationError

#: The challenge sent with every 401 (RFC 7617; the charset says how user:password is encoded).
CHALLENGE = 'Basic realm="SchemaRegistry", charset="UTF-8"'

_UNKNOWN_USER = hashlib.sha256(b"\x00no such user").digest()


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """The registry's users; :meth:`allows` checks an ``Authorization`` header against them."""

    digests: Mapping[str, bytes] = field(repr=False)
    """SHA-256 of each user's password, by user name (never the passwords themselves)."""

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> "BasicAuth":
        """From ``(user, password)`` pairs (a user named twice keeps the last password)."""
        return cls({user: _digest(password) for user, password in pairs})

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(sorted(self.digests))

    def allows(self, authorization: str | None) -> bool:
        """Whether ``authorization`` (the header's value) names a user with the right password."""
        credentials = _credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        expected = self.digests.get(user)
        # Always one digest comparison of fixed length: a missing user costs what a wrong password does.
        matches = hmac.compare_digest(_digest(password), expected if expected is not None else _UNKNOWN_USER)
        return matches and expected is not None


def parse_users(text: str, source: str) -> list[tuple[str, str]]:
    """``user:password`` lines (``#`` comments and blank lines skipped).

    Raises:
        ConfigurationError: a line without a user, a colon or a password, named by its number only.
    """
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pairs.append(_pair(stripped, f"{source} line {number}"))
    return pairs


def load(users_file: Path | None, user_info: str | None) -> BasicAuth | None:
    """The configured users (file and/or one ``user:password``), or None when there are none.

    Raises:
        ConfigurationError: the file cannot be read, a line is malformed, or the file names no user.
    """
    pairs: list[tuple[str, str]] = []
    if users_file is not None:
        try:
            text = users_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigurationError(f"registry users file {users_file}: {reason}") from None
        pairs = parse_users(text, str(users_file))
        if not pairs:
            raise ConfigurationError(f"registry users file {users_file} names no user (one user:password per line)")
    if user_info is not None:
        pairs.append(_pair(user_info, "EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO"))
    return BasicAuth.of(pairs) if pairs else None


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another name, or "" / 0.0.0.0 (every address): reachable from elsewhere


def require_credentials(host: str, auth: BasicAuth | None) -> None:
    """Refuse to serve on an address other than loopback without users.

    Raises:
        ConfigurationError: one line saying what to set.
    """
    if auth is None and not is_loopback(host):
        raise ConfigurationError(
            f"the schema registry will not listen on {host or 'every address'} (not loopback) without authentication: "
            "set EVENTPIPES_REGISTRY_USERS_FILE (or --users-file; one user:password per line) or "
            "EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO=user:password, or listen on 127.0.0.1")


def _pair(text: str, where: str) -> tuple[str, str]:
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        # Says where and what is missing, never the line itself: it may hold a password.
        raise ConfigurationError(f"{where}: expected user:password with a non-empty user and password")
    return user, password


def _credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()
