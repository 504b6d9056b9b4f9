"""Archives and replays: EventBridge's archive-and-replay on Kafka.

``model`` is the pure core (definitions, validation, replay states, archive states) and
``merge`` the pure event-time merge a replay reads with; ``store`` keeps definitions and
replay state in compacted Kafka topics; ``archiver`` selects and writes archive records,
and ``running`` runs one per archive in the worker, each on a consumer group of its own;
``replays`` holds the replay control calls and ``job`` the replay job (``replay`` gathers
both for the CLI and the Python API).
"""
