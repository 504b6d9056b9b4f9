"""Why a secured connection fails, found in one probe before any client retries it blindly.

kafka-python and aiokafka treat a refused password, an untrusted certificate or a TLS listener
met in plaintext like a broker that is away: they retry until their timeout and then report
"unable to bootstrap", with the cause only in their logs. ``preflight`` opens one connection the
way the clients will (TCP, TLS with the same ``SSLContext``, SASL handshake and authentication
with kafka-python's own mechanisms) and turns the first failure into one typed error naming it,
within the timeout. A cluster that does not accept TCP at all is left to the clients, whose
``BrokerUnavailable`` already says so.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from functools import lru_cache

from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.errors import EventPipesError
from eventpipes.kafka.errors import (
    AuthenticationFailed,
    BrokerUnavailable,
    ClientSecurityError,
    MechanismNotEnabled,
    SecurityProtocolMismatch,
    TlsHandshakeFailed,
)

_API_VERSIONS, _SASL_HANDSHAKE, _SASL_AUTHENTICATE = 18, 17, 36
_UNSUPPORTED_SASL_MECHANISM, _ILLEGAL_SASL_STATE, _SASL_AUTHENTICATION_FAILED = 33, 34, 58
#: The probe's requests get small answers; anything larger is not Kafka speaking.
MAX_RESPONSE_BYTES = 1024 * 1024
#: OpenSSL's verify codes for a certificate that does not name the host (X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH).
_NAME_MISMATCH = (62, 64)


def preflight(kafka: KafkaClientConfig, timeout_seconds: float) -> None:
    """Raise the typed reason the cluster refuses this configuration, if it does; once per process and config.

    Raises:
        ClientSecurityError: AuthenticationFailed, MechanismNotEnabled, TlsHandshakeFailed or
            SecurityProtocolMismatch, naming the cause and never a secret.
    """
    problem = _probe(kafka, timeout_seconds)
    if problem is not None:
        _probe.cache_clear()  # the next attempt (a fixed file, a restarted broker) probes again
        raise problem


#: How long the probe after a failed bootstrap may take: the caller has already waited its timeout.
EXPLAIN_SECONDS = 1.0


def unavailable(kafka: KafkaClientConfig, exc: BaseException) -> EventPipesError:
    """The error to raise when a client could not bootstrap: the security cause if the probe finds one.

    kafka-python reports a refused password as "Unable to bootstrap"; library callers that did not
    run ``preflight`` get the typed cause here, at the cost of one short probe after the failure.
    """
    found = _probe.__wrapped__(kafka, EXPLAIN_SECONDS)
    return found if found is not None else BrokerUnavailable(kafka.bootstrap, repr(exc))


@lru_cache(maxsize=8)
def _probe(kafka: KafkaClientConfig, timeout_seconds: float) -> ClientSecurityError | None:
    deadline = time.monotonic() + timeout_seconds
    for host, port in _hosts(kafka.bootstrap):
        try:
            raw = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
        except OSError:
            continue  # away: the clients report BrokerUnavailable themselves
        with raw:
            return _diagnose(kafka, raw, host, port, deadline)
    return None


def _hosts(bootstrap: str) -> list[tuple[str, int]]:
    found = []
    for entry in bootstrap.split(","):
        host, _, port = entry.strip().rpartition(":")
        if host and port.isdigit():
            found.append((host.strip("[]"), int(port)))
    return found


def _diagnose(kafka: KafkaClientConfig, raw: socket.socket, host: str, port: int, deadline: float) -> ClientSecurityError | None:
    where = f"{host}:{port}"
    sock: socket.socket = raw
    try:
        if kafka.uses_tls:
            assert kafka.ssl_context is not None
            sock = kafka.ssl_context.wrap_socket(raw, server_hostname=host)
        # One request first: under TLS 1.3 a listener that wants a client certificate says so only
        # now, and a TLS listener answers a plaintext one with no Kafka response.
        try:
            _call(sock, _API_VERSIONS, 0, b"", deadline)
        except (OSError, EOFError, struct.error):
            if not kafka.uses_tls and _speaks_tls(host, port, deadline):
                return SecurityProtocolMismatch(where, f"the listener expects TLS but security.protocol is "
                                                       f"{kafka.security_protocol}; use SSL or SASL_SSL (and ssl.ca.location)")
            raise
        if kafka.sasl_mechanism:
            return _sasl(kafka, sock, where, deadline)
        return None
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code in _NAME_MISMATCH:
            return TlsHandshakeFailed(where, f"hostname mismatch: the broker's certificate is not valid for {host!r} "
                                             "(connect by a name it lists, or set ssl.endpoint.identification.algorithm=)")
        return TlsHandshakeFailed(where, f"the broker's certificate is not trusted ({exc.verify_message}); "
                                         "set ssl.ca.location to the CA that signed it")
    except ssl.SSLError as exc:
        if exc.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING"):
            return SecurityProtocolMismatch(where, f"the listener does not speak TLS but security.protocol is {kafka.security_protocol}; "
                                                   "use PLAINTEXT or SASL_PLAINTEXT")
        if any(alert in str(exc.reason) for alert in ("CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "UNKNOWN_CA",
                                                       "CERTIFICATE_UNKNOWN")):
            has_certificate = kafka.ssl_certificate_location is not None or kafka.ssl_keystore_location is not None
            return TlsHandshakeFailed(where, f"the broker refused the client certificate ({exc.reason}): " + (
                "it is not signed by a CA the broker trusts" if has_certificate
                else "it requires one (mTLS): set ssl.certificate.location and ssl.key.location, or ssl.keystore.location"))
        return TlsHandshakeFailed(where, f"TLS handshake failed: {exc.reason or exc.__class__.__name__}")
    except (OSError, EOFError, struct.error):
        if kafka.uses_tls and sock is raw:  # the handshake itself was cut off
            return SecurityProtocolMismatch(where, f"the listener closed the TLS handshake; is it a TLS listener? "
                                                   f"(security.protocol is {kafka.security_protocol})")
        return None  # a connection cut short is left to the clients' retries
    finally:
        if sock is not raw:
            sock.close()


def _speaks_tls(host: str, port: int, deadline: float) -> bool:
    """Whether the listener completes a TLS handshake (certificate not checked: only the protocol is asked)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic())) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except (OSError, ssl.SSLError):
        return False


def _sasl(kafka: KafkaClientConfig, sock: socket.socket, where: str, deadline: float) -> ClientSecurityError | None:
    from kafka.net.sasl import get_sasl_mechanism

    mechanism = str(kafka.sasl_mechanism)
    body = _string(mechanism)
    error, rest = _call(sock, _SASL_HANDSHAKE, 1, body, deadline)
    if error == _UNSUPPORTED_SASL_MECHANISM:
        enabled = _strings(rest)
        return MechanismNotEnabled(where, f"the listener does not enable SASL mechanism {mechanism}; it enables "
                                          f"{', '.join(enabled) or 'none'} (sasl.mechanism)")
    if error == _ILLEGAL_SASL_STATE:
        return SecurityProtocolMismatch(where, f"the listener does not expect SASL but security.protocol is {kafka.security_protocol}")
    if error:
        return None
    options = {key: value for key, value in kafka.kafka_python().items() if key.startswith(("sasl_", "security_protocol"))}
    client = get_sasl_mechanism(mechanism)(**options)
    while not client.is_done():
        payload = client.auth_bytes()
        error, rest = _call(sock, _SASL_AUTHENTICATE, 0, struct.pack(">i", len(payload)) + payload, deadline)
        if error:
            message = _nullable_string(rest)[0] or "authentication failed"
            return AuthenticationFailed(where, f"the broker refused {mechanism} credentials for user {kafka.sasl_username!r}: "
                                               f"{message.split(' with SASL mechanism')[0]}")
        _, after = _nullable_string(rest)
        (length,) = struct.unpack(">i", after[:4])
        client.receive(after[4:4 + max(0, length)])
    return None


def _call(sock: socket.socket, api_key: int, version: int, body: bytes, deadline: float) -> tuple[int, bytes]:
    """Send one request; the response's error code and what follows it (response header v0)."""
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    header = struct.pack(">hhi", api_key, version, 1) + _string("eventpipes-preflight")
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _read(sock, 4))
    if not 6 <= size <= MAX_RESPONSE_BYTES:  # a TLS alert or an HTTP server read as a Kafka size
        raise EOFError(f"not a Kafka response (size {size})")
    response = _read(sock, size)
    (error,) = struct.unpack(">h", response[4:6])
    return error, response[6:]


def _read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def _string(text: str) -> bytes:
    encoded = text.encode()
    return struct.pack(">h", len(encoded)) + encoded


def _nullable_string(data: bytes) -> tuple[str | None, bytes]:
    (length,) = struct.unpack(">h", data[:2])
    if length < 0:
        return None, data[2:]
    return data[2:2 + length].decode(errors="replace"), data[2 + length:]


def _strings(data: bytes) -> list[str]:
    (count,) = struct.unpack(">i", data[:4])
    found, rest = [], data[4:]
    for _ in range(max(0, count)):
        text, rest = _nullable_string(rest)
        found.append(text or "")
    return found
