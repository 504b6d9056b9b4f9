"""Builds eventpipes' optional C extensions; everything else is in pyproject.toml.

``eventpipes.pipes.sources._kafka_shape`` shapes Kafka records for pipes in C (see the
docstring of ``_kafka_shape.c``); ``eventpipes.patterns._native`` flattens event text and
walks the pattern machine in C (see ``eventpipes/patterns/native.py``). ``optional=True``:
where no C compiler is found (a slim Docker image) the build goes on without them, and
``eventpipes.pipes.sources.kafka`` and ``eventpipes.patterns`` run the same loops in Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("eventpipes.pipes.sources._kafka_shape", ["src/eventpipes/pipes/sources/_kafka_shape.c"], optional=True),
    Extension("eventpipes.patterns._native", ["src/eventpipes/patterns/_native.c"], optional=True),
])
