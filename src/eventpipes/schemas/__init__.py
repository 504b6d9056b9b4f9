"""Schemas: the Confluent wire format, subject naming, Avro compatibility, serde, discovery
and a Confluent-compatible schema registry (``schemas.registry``).

``wire``, ``naming`` and ``compat`` are pure (no Kafka, no HTTP); the rest sit at the edge.
"""
