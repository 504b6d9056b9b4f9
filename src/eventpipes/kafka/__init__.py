"""The Kafka edge: topic names and configs, admin, producers and consumers (kafka-python)."""
