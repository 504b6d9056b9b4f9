"""eventpipes: Amazon EventBridge and EventBridge Pipes on your own Apache Kafka."""

from eventpipes.errors import EventPipesError
from eventpipes.events.envelope import Event
from eventpipes.settings import Settings

__all__ = ["Event", "EventBusClient", "EventPipesError", "Settings", "put_events"]


def __getattr__(name: str) -> object:
    # The Kafka-side names load kafka-python only when asked for, so importing the
    # pure core (patterns, events) stays light.
    if name in ("EventBusClient", "put_events"):
        from eventpipes.bus import put_events as module

        return getattr(module, name)
    raise AttributeError(f"module 'eventpipes' has no attribute {name!r}")
