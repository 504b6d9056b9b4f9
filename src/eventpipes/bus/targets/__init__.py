"""Target kinds: a Kafka topic, another bus, an HTTP endpoint (API destination), a Python callable."""
