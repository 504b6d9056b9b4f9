"""Source record shapes: a Kafka record as EventBridge gives each kind of source to a pipe.

Pure functions from eventpipes' :class:`~eventpipes.records.Record` to the JSON the
filter, enrichment and target see. Each event carries an ``eventID`` that is stable per
record (the same record always gets the same one) and is the ``itemIdentifier`` a target
names in a partial batch response.
"""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class InvalidSourceRecord(EventPipesError):
    """A record that cannot be given the source's shape (not a change event, not JSON).

    It is dead-lettered at once with this message (retrying cannot change it).

    Attributes:
        where: ``topic[partition]@offset``.
    """

    code = "INVALID_JSON"

    def __init__(self, message: str, *, where: str) -> None:
        super().__init__(f"{message} ({where})")
        self.where = where


def stable_event_id(topic: str, partition: int, offset: int) -> str:
    """The ``eventID`` of a record: ``<topic>-<partition>:<offset>``, the same on every read."""
    return f"{topic}-{partition}:{offset}"
