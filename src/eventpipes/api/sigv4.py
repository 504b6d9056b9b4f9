"""AWS Signature Version 4, checked as AWS checks it: which key signed, and whether the signature holds.

Pure: the request's parts in, the signing key (or an :class:`AuthError` with AWS's code and
message) out. The canonical request is rebuilt from what arrived on the wire the way the
SDKs build it before sending: the path normalised (dot segments and repeated slashes
removed) and percent-encoded once more, the query's pairs decoded, re-encoded strictly and
sorted, the signed headers lower-cased, trimmed and sorted, and the body's SHA-256.

Errors, as botocore names them: ``MissingAuthenticationTokenException`` (no signature),
``IncompleteSignatureException`` (an Authorization header missing a part),
``UnrecognizedClientException`` (an access key nobody configured), and
``InvalidSignatureException`` (the signature does not match, or the request is more than
:data:`MAX_SKEW` away from now).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
#: AWS refuses a request signed more than five minutes before or after its own clock.
MAX_SKEW = timedelta(minutes=5)

_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


class AuthError(Exception):
    """A request that is not authenticated; ``code`` and ``message`` are AWS's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One access key the endpoint accepts."""

    access_key_id: str
    """The key's id (``AKIA...``), as the client sends it in its credential scope."""
    secret: str = ""
    """The secret access key: signs, never sent (kept out of ``repr``)."""
    account: str = "000000000000"
    """The account the key belongs to: the ``account`` of the events it puts."""

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id!r}, account={self.account!r})"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What arrived: method, raw path and query (as sent, still percent-encoded), headers, body."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, Sequence[str]]
    """Header name (any case) to its values, in order."""
    body: bytes


def verify(request: SignedRequest, keys: Mapping[str, AccessKey], service: str, now: datetime) -> AccessKey:
    """The key that signed ``request`` for ``service``.

    Raises:
        AuthError: not signed, signed by an unknown key, or a signature that does not hold.
    """
    headers = {name.lower(): list(values) for name, values in request.headers.items()}
    authorization = _one(headers, "authorization")
    if authorization is None:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    credential, signed_headers, signature = _parse_authorization(authorization)
    key_id, _, scope = credential.partition("/")
    scope_parts = scope.split("/")
    if len(scope_parts) != 4 or scope_parts[3] != "aws4_request":
        raise AuthError("IncompleteSignatureException", f"Credential should be scoped to a valid region, not '{scope}'.")
    key = keys.get(key_id)
    if key is None:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if scope_parts[2] != service:
        raise AuthError("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    amz_date = _one(headers, "x-amz-date")
    when = _parse_amz_date(amz_date)
    if when is None or amz_date is None:
        raise AuthError("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' "
                        "or a 'Date' header.")
    if scope_parts[0] != amz_date[:8]:
        raise AuthError("InvalidSignatureException", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                        f"version of date from HTTP: '{scope_parts[0]}' != '{amz_date[:8]}', from '{amz_date}'.")
    if abs(now - when) > MAX_SKEW:
        raise AuthError("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than "
                        f"{(now - MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)"
                        if when < now else f"Signature not yet current: {amz_date} is still later than "
                        f"{(now + MAX_SKEW).strftime('%Y%m%dT%H%M%SZ')} ({now.strftime('%Y%m%dT%H%M%SZ')} + 5 min.)")
    names = signed_headers.split(";")
    if "host" not in names:
        raise AuthError("InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    canonical = canonical_request(request, headers, names)
    string_to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    expected = hmac.new(signing_key(key.secret, *scope_parts[:3]), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AuthError("InvalidSignatureException", _MISMATCH)
    return key


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key: HMAC-SHA256 chained over date, region, service and ``aws4_request``."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_request(request: SignedRequest, headers: Mapping[str, Sequence[str]], signed: Sequence[str]) -> str:
    """The canonical request the client signed (lines: method, path, query, headers, signed names, body hash)."""
    lines = [request.method.upper(), canonical_path(request.raw_path), canonical_query(request.raw_query)]
    lines += [f"{name}:{','.join(' '.join(v.split()) for v in headers.get(name, []))}" for name in signed]
    lines += ["", ";".join(signed), hashlib.sha256(request.body).hexdigest()]
    return "\n".join(lines)


def canonical_path(raw_path: str) -> str:
    """The path with dot segments and empty segments removed, percent-encoded again (SigV4 for all but S3)."""
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path, safe="/~")


def canonical_query(raw_query: str) -> str:
    """The query's pairs decoded, encoded strictly (RFC 3986 unreserved kept) and sorted."""
    pairs = []
    for pair in filter(None, raw_query.split("&")):
        name, _, value = pair.partition("=")
        pairs.append((_strict(name), _strict(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _strict(text: str) -> str:
    return quote(unquote(text), safe="-_.~")


def _one(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _parse_authorization(value: str) -> tuple[str, str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm}'.")
    parts = {}
    for item in rest.split(","):
        name, _, part = item.strip().partition("=")
        parts[name] = part
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(name):
            raise AuthError("IncompleteSignatureException", f"Authorization header requires '{name}' parameter. "
                            f"Authorization={value.split(',')[0][:80]}")
    return parts["Credential"], parts["SignedHeaders"], parts["Signature"]


def _parse_amz_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
