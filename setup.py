"""Builds eventpipes' optional C extensions; everything else is in pyproject.toml.

``eventpipes.pipes.sources._kafka_shape`` shapes Kafka records for pipes in C (see the
docstring of ``_kafka_shape.c``); ``eventpipes.patterns._native`` flattens event text and
walks the pattern machine in C (see ``eventpipes/patterns/native.py``); ``eventpipes.kafka._murmur``
is Kafka's murmur2 partitioner for the router's keyed records. ``optional=True``: where no C
compiler is found (a slim Docker image) the build goes on without them, and
``eventpipes.pipes.sources.kafka``, ``eventpipes.patterns`` and ``eventpipes.kafka.partitioning``
run the same code in Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("eventpipes.pipes.sources._kafka_shape", ["src/eventpipes/pipes/sources/_kafka_shape.c"], optional=True),
    Extension("eventpipes.patterns._native", ["src/eventpipes/patterns/_native.c"], optional=True),
    Extension("eventpipes.kafka._murmur", ["src/eventpipes/kafka/_murmur.c"], optional=True),
])
