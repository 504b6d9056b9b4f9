"""Kafka failures, as eventpipes reports them."""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class BrokerUnavailable(EventPipesError):
    """No broker of the cluster answered; nothing was changed. Retry when it is back."""

    code = "BrokerUnavailable"
    retryable = True

    def __init__(self, bootstrap: str, reason: str) -> None:
        super().__init__(
            f"cannot reach Kafka at {bootstrap}: {reason} "
            "(start the local broker with `eventpipes broker start`, or set KAFKA_BOOTSTRAP_SERVERS)"
        )
        self.bootstrap = bootstrap


class TopicError(EventPipesError):
    """A topic could not be created or read as needed."""

    code = "TopicError"


class InvalidClientConfiguration(EventPipesError):
    """The Kafka client configuration (properties file, environment, bootstrap address) cannot be used.

    Attributes:
        path: the property or variable at fault (``sasl.mechanism``, ``KAFKA_BOOTSTRAP_SERVERS``), or the file.
    """

    code = "InvalidClientConfiguration"
    input_error = True

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class ClientSecurityError(EventPipesError):
    """The cluster answered but the connection could not be secured or authenticated.

    Not retryable: the same settings fail the same way until someone changes them (or the
    cluster's). ``str()`` names the cause and where to look, never a secret.
    """

    retryable = False

    def __init__(self, bootstrap: str, reason: str) -> None:
        super().__init__(f"{reason} (cluster {bootstrap})")
        self.bootstrap = bootstrap


class AuthenticationFailed(ClientSecurityError):
    """The broker refused the SASL credentials (wrong user or password, expired token)."""

    code = "AuthenticationFailed"


class MechanismNotEnabled(ClientSecurityError):
    """The broker's listener does not enable the SASL mechanism the client asked for."""

    code = "MechanismNotEnabled"


class TlsHandshakeFailed(ClientSecurityError):
    """TLS could not be set up: unknown CA, hostname mismatch, a client certificate refused."""

    code = "TlsHandshakeFailed"


class SecurityProtocolMismatch(ClientSecurityError):
    """The client and the listener speak different protocols (plaintext against TLS, or the reverse)."""

    code = "SecurityProtocolMismatch"
