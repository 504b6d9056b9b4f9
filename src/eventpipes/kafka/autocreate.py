"""Keeping kafka-python's clients from asking a broker to create the topics they name.

A broker with ``auto.create.topics.enable=true`` (Kafka's default) creates any topic a
metadata request names with ``allow_auto_topic_creation`` set. eventpipes creates every
topic it uses itself, and a bus exists only once created (``eventpipes.bus.existing``): a
producer whose metadata refresh named a deleted bus, or a misspelled one, would make it
again. kafka-python 3.0 takes ``allow_auto_create_topics=False`` but does not pass it on
to the ``ClusterMetadata`` that builds its metadata requests (``kafka/net/manager.py``
makes it without that setting), so the requests still ask; ``refuse`` sets it there.
The admin client's own metadata requests never ask (``describe_topics``, ``list_topics``).
"""

from __future__ import annotations

from typing import Any


def refuse(cluster: Any) -> None:
    """Make ``cluster`` (a kafka-python ``ClusterMetadata``) ask for metadata without creating topics.

    Raises:
        TypeError: ``cluster`` is not shaped as kafka-python 3.0's (a newer version changed it:
            check whether it now honours ``allow_auto_create_topics`` and drop this).
    """
    config = getattr(cluster, "config", None)
    if not isinstance(config, dict) or "allow_auto_create_topics" not in config:
        raise TypeError(f"cannot turn off topic auto-creation on {type(cluster).__name__}")
    config["allow_auto_create_topics"] = False
