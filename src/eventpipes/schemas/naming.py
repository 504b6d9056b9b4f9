"""Subject naming strategies, as plain functions, and the subject of a discovered schema.

The first three are Confluent's ``TopicNameStrategy`` (its default), ``RecordNameStrategy``
and ``TopicRecordNameStrategy``; each takes the topic, the fully qualified record name and
whether the subject is for the key, and returns the subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: (topic, record_name, is_key) -> subject.
SubjectNameStrategy = Callable[[str, str | None, bool], str]


def topic_name_strategy(topic: str, record_name: str | None = None, is_key: bool = False) -> str:
    """``<topic>-value`` (or ``<topic>-key``): one schema history per topic."""
    return f"{topic}-{'key' if is_key else 'value'}"


def record_name_strategy(topic: str, record_name: str | None, is_key: bool = False) -> str:
    """The record's full name: one history per record type, shared by every topic."""
    if not record_name:
        raise ValueError("record_name_strategy needs a named (record) schema")
    return record_name


def topic_record_name_strategy(topic: str, record_name: str | None, is_key: bool = False) -> str:
    """``<topic>-<record name>``: several record types per topic, each with its own history."""
    return f"{topic}-{record_name_strategy(topic, record_name, is_key)}"


_NOT_IN_SUBJECT = re.compile(r"[^A-Za-z0-9._\-]")
_NOT_IN_AVRO_NAME = re.compile(r"[^A-Za-z0-9_]")


def discovered_subject(source: str, detail_type: str) -> str:
    """``<source>@<detail-type>``, EventBridge's discovered-schema name, with characters
    outside ``A-Za-z0-9._-`` removed (EventBridge drops spaces the same way).

    >>> discovered_subject("com.example.orders", "Order Placed")
    'com.example.orders@OrderPlaced'
    """
    return f"{_NOT_IN_SUBJECT.sub('', source)}@{_NOT_IN_SUBJECT.sub('', detail_type)}"


def avro_name(text: str) -> str:
    """``text`` as an Avro name (``[A-Za-z_][A-Za-z0-9_]*``): other characters become ``_``."""
    name = _NOT_IN_AVRO_NAME.sub("_", text) or "_"
    return name if not name[0].isdigit() else f"_{name}"


def avro_namespace(source: str) -> str:
    """An event source as an Avro namespace: each dot-separated part made an Avro name."""
    return ".".join(avro_name(part) for part in source.split(".") if part)
