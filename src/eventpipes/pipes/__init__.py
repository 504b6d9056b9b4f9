"""EventBridge Pipes on Kafka: source → filter → enrichment → target, with stream semantics.

The pure core (``model``, ``batching``, ``lanes``, ``offsets``, ``failures``, ``events``,
``sources``) never touches Kafka; ``runner`` drives it with aiokafka. This package's
``__init__`` imports nothing so that loading the model never loads the runner.
"""
