"""The local single-node Apache Kafka (KRaft) broker that eventpipes runs for development and tests."""
