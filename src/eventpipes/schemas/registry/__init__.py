"""A Confluent-compatible schema registry: the state machine, its Kafka log and the HTTP API."""
