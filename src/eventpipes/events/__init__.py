"""Events: the EventBridge envelope and PutEvents entries (pure core)."""

from eventpipes.events.entries import PreparedEntry, PutEventsResult, PutEventsResultEntry, entry_size, prepare_entry
from eventpipes.events.envelope import Event
from eventpipes.events.errors import EntryError, InvalidArgument, InvalidEvent, MalformedDetail

__all__ = [
    "EntryError",
    "Event",
    "InvalidArgument",
    "InvalidEvent",
    "MalformedDetail",
    "PreparedEntry",
    "PutEventsResult",
    "PutEventsResultEntry",
    "entry_size",
    "prepare_entry",
]
