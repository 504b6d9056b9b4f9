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
