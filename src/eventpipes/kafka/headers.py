"""Every record header eventpipes writes or reads, named here and nowhere else.

Pure constants (no Kafka client import), as ``kafka/topics.py`` is for topic names. Headers
that EventBridge itself defines keep its names (``trace-header``, the dead-letter
attributes in ``eventpipes.retry``); eventpipes' own start with ``eventpipes-``.
"""

from __future__ import annotations

from typing import Final

CONTENT_TYPE: Final = "content-type"
"""MIME type of the record value: JSON envelopes, or Avro on a governed bus."""
CONTENT_TYPE_JSON: Final = b"application/json"
"""The ``content-type`` value of a JSON envelope."""
CONTENT_TYPE_AVRO: Final = b"application/vnd.eventpipes.avro"
"""The ``content-type`` value of a governed bus's record: Confluent-framed Avro detail."""
TRACE_HEADER: Final = "trace-header"
"""The PutEvents entry's ``TraceHeader`` (X-Ray), carried through every hop as EventBridge does."""
ENVELOPE_HEADER: Final = "eventpipes-envelope"
"""On a schema-governed bus: the envelope without its detail (the value holds the Avro detail)."""
INGESTION_HEADER: Final = "eventpipes-ingestion-time"
"""On delivery records: when the event reached its bus (milliseconds), for ``<aws.events.event.ingestion-time>``."""
RULE_HEADER: Final = "eventpipes-rule"
"""On delivery and topic-target records: the rule that matched."""
GROUP_HEADER: Final = "eventpipes-group"
"""On delivery records: the consumer group whose router wrote them (another group skips them)."""
ERROR_HEADER: Final = "eventpipes-error"
"""On set-aside records (``eventpipes.invalid.<bus>``): why the router could not read the event."""
SOURCE_HEADER: Final = "eventpipes-source"
"""On set-aside records: ``topic[partition]@offset`` the record came from."""
PATH_HEADER: Final = "eventpipes-path"
"""On events a bus target forwarded: the buses they passed through (loop protection)."""
REPLAY_RULES_HEADER: Final = "eventpipes-replay-rules"
"""On replayed events: the rules the replay was limited to (comma-separated), if any."""
REPLAY_NAME_HEADER: Final = "replay-name"
"""On replayed events: the replay's name (also a top-level field of the envelope, as EventBridge adds it)."""
REPLAY_POSITION_HEADER: Final = "eventpipes-replay-position"
"""On replayed events: the archive position a replay job restarts from."""
ENCRYPTION_HEADER: Final = "eventpipes-encryption"
"""On archive records of an encrypted archive: the key check and nonce."""

ATTEMPTS_HEADER: Final = "eventpipes-attempts"
"""On retry-topic records: how many attempts at the target the event has had."""
RETRY_AT_HEADER: Final = "eventpipes-retry-at"
"""On retry-topic records: when the next attempt is due (milliseconds since the epoch)."""
PIPE_SOURCE_TOPIC: Final = "SOURCE_TOPIC"
"""On a pipe's dead letters (besides EventBridge's attributes, ``eventpipes.retry``): where the
record was read, so it can be found and read again: topic, partition, offset, timestamp (ms)."""
PIPE_SOURCE_PARTITION: Final = "SOURCE_PARTITION"
PIPE_SOURCE_OFFSET: Final = "SOURCE_OFFSET"
PIPE_SOURCE_TIMESTAMP: Final = "SOURCE_TIMESTAMP"
PIPE_EVENT_ID: Final = "EVENT_ID"
"""On a pipe's dead letters: the record's ``eventID`` (the ``itemIdentifier`` a target names)."""
PIPE_ATTEMPTS: Final = "ATTEMPTS"
"""On a pipe's dead letters: how many times the target was invoked with the record (0: never)."""

ROUTED_CARRIED_HEADERS: Final = frozenset({TRACE_HEADER, PATH_HEADER})
"""What a router copies from a bus record onto its delivery records: the trace, and the
bus path so a bus target further on can refuse a loop."""
ARCHIVED_CARRIED_HEADERS: Final = frozenset({TRACE_HEADER, CONTENT_TYPE})
"""What an archive keeps of a bus record's headers, and a replay puts back: the trace,
and the content type so a governed bus's Avro records stay readable. The bus path is
left out on purpose: a replayed event starts a new journey."""
