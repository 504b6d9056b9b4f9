"""Builds eventpipes' one optional C extension; everything else is in pyproject.toml.

``eventpipes.pipes.sources._kafka_shape`` shapes Kafka records for pipes in C (see the
docstring of ``_kafka_shape.c``). ``optional=True``: where no C compiler is found (a slim
Docker image) the build goes on without it, and ``eventpipes.pipes.sources.kafka`` runs
the same loop in Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("eventpipes.pipes.sources._kafka_shape", ["src/eventpipes/pipes/sources/_kafka_shape.c"], optional=True),
])
