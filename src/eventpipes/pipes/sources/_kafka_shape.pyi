"""Types of the optional C loop of :class:`eventpipes.pipes.sources.kafka.KafkaShaper`."""

from collections.abc import Callable, Iterable
from typing import Any

def shape(messages: Iterable[Any], record_type: type[Any], slow: Callable[[Any], Any], source: str, topic: str,
          partition: int, bootstrap: str, source_key: str, prefix: str, fixed: int, types: dict[int, str],
          default_type: str, key_field: int, value_field: int) -> list[Any]: ...
