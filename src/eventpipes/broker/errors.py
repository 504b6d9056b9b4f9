"""Why the local broker could not be started, stopped or found."""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class BrokerError(EventPipesError):
    """The local broker could not do what was asked."""

    code = "BrokerError"


class JavaNotFound(BrokerError):
    code = "JavaNotFound"


class JavaTooOld(BrokerError):
    code = "JavaTooOld"


class MavenNotFound(BrokerError):
    code = "MavenNotFound"


class JarResolutionFailed(BrokerError):
    code = "JarResolutionFailed"


class PortInUse(BrokerError):
    code = "PortInUse"

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use by another program; "
            "stop it, or choose other ports with EVENTPIPES_BROKER_PORT"
        )
        self.port = port


class BrokerExited(BrokerError):
    """The broker process ended while starting; the message holds the tail of its log."""

    code = "BrokerExited"


class BrokerStartTimeout(BrokerError):
    code = "BrokerStartTimeout"
    retryable = True
