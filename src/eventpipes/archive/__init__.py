"""Archives and replays: EventBridge's archive-and-replay on Kafka.

``model`` is the pure core (definitions, validation, replay states); ``store`` keeps
definitions and replay state in compacted Kafka topics; ``archiver`` is the worker's
tap that copies matching bus events into archive topics; ``replay`` runs a replay job.
"""
