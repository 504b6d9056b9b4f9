"""The table of target kinds: one row per kind, read by topologies, pipes, ARNs and the factory.

A rule target names its kind by a YAML key (``Topic: orders.audit``); a pipe's ``Target``
and ``Enrichment`` name it by a URI prefix (``topic:orders.audit``). Each row says both,
how the kind's ARN reads, what a destination must look like, and where its class lives.
Adding a kind is one module under ``eventpipes.targets`` and one row here.

The factory is named by its import path, not imported: this module is pure (topology and
pipe models validate against it) and must not pull in an HTTP client or Kafka.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from eventpipes.arns import (
    api_destination_arn, api_destination_of_arn, bus_arn, bus_of_arn, file_of_arn, function_arn, function_of_arn, topic_arn,
    topic_of_arn,
)

Shape = Literal["records", "invocation"]


@dataclass(frozen=True, slots=True)
class TargetKind:
    """One kind of target."""

    name: str
    """The kind's name, as status and errors show it."""
    yaml_key: str | None
    """The key a rule target in a topology gives it by (None: not a rule target)."""
    uri_prefixes: tuple[str, ...]
    """How a pipe's Target (or Enrichment) names it (empty: not a pipe target)."""
    destination: str
    """A regular expression every destination of this kind matches."""
    describe: str
    """What a destination is, for error messages (``a Kafka topic name``)."""
    arn: Callable[[str, str, str], str]
    """``(region, account, destination)`` → the ARN dead letters and ``<aws.events.*>`` name it by."""
    factory: str
    """``module:Class`` of the target; the class takes ``(TargetSpec, TargetContext)``."""
    shape: Shape
    """``records``: each event or record is written on its own (a batch is many writes).
    ``invocation``: one call takes one body (a rule's event, or a pipe's whole batch as a list)."""
    enrichment: bool = False
    """Whether a pipe may use it as its Enrichment (invocations only)."""
    keep_prefix: bool = False
    """Whether the URI prefix is part of the destination (``https://`` is part of the URL)."""
    placeholder: str = "<name>"
    """What follows the URI prefix, as error messages show it."""
    from_arn: Callable[[str], str | None] = lambda arn: None
    """A target ``Arn`` (AWS's, or the form ``arn`` builds) → the destination it names, or None if not this kind's."""


_NAME = r"[\.\-_A-Za-z0-9]"
_FUNCTION = r"[A-Za-z_][\w.]*:[A-Za-z_]\w*"

KINDS: Final[tuple[TargetKind, ...]] = (
    TargetKind("Topic", "Topic", ("topic:",), rf"^{_NAME}{{1,249}}$", "a Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)",
               lambda region, account, name: topic_arn(name), "eventpipes.targets.topic:TopicTarget", "records", from_arn=topic_of_arn),
    TargetKind("EventBus", "EventBus", ("bus:",), rf"^{_NAME}{{1,234}}$", "an event bus name (1 to 234 of A-Z a-z 0-9 . _ -)",
               bus_arn, "eventpipes.targets.bus:BusTarget", "records", from_arn=bus_of_arn),
    TargetKind("ApiDestination", "ApiDestination", (), rf"^{_NAME}{{1,64}}$", "the name of an API destination",
               api_destination_arn, "eventpipes.targets.http:ApiDestinationTarget", "invocation",
               from_arn=api_destination_of_arn),
    TargetKind("Function", "Function", ("function:",), rf"^{_FUNCTION}$", "a Python callable module:function",
               lambda region, account, spec: function_arn(spec), "eventpipes.targets.function:FunctionTarget",
               "invocation", enrichment=True, placeholder="<module>:<callable>", from_arn=function_of_arn),
    TargetKind("Http", None, ("http://", "https://"), r"^https?://\S+$", "http(s):// URL",
               lambda region, account, url: url, "eventpipes.targets.http:EndpointTarget", "invocation",
               enrichment=True, keep_prefix=True),
    TargetKind("File", "File", ("file:",), r"^[^\x00\n]{1,4096}$", "a file path", lambda region, account, path: f"file:{path}",
               "eventpipes.targets.file:FileTarget", "records", placeholder="<path>", from_arn=file_of_arn),
)

#: The YAML keys of rule targets, in the table's order.
YAML_KEYS: Final = tuple(kind.yaml_key for kind in KINDS if kind.yaml_key)


def kind_named(name: str) -> TargetKind:
    """The row of kind ``name`` (``Topic``, ``EventBus``, ...)."""
    return next(kind for kind in KINDS if kind.name == name)


def kind_for_yaml(key: str) -> TargetKind:
    """The row a rule target's YAML key selects."""
    return next(kind for kind in KINDS if kind.yaml_key == key)


def parse_arn(arn: str) -> tuple[TargetKind, str] | None:
    """``(kind, destination)`` of a rule target's ``Arn``, or None when no kind takes it.

    The destination is checked against the kind's pattern (a name too long for a topic is None).
    """
    for kind in KINDS:
        destination = kind.from_arn(arn)
        if destination is not None and re.match(kind.destination, destination):
            return kind, destination
    return None


def parse_uri(uri: str, *, enrichment: bool = False) -> tuple[TargetKind, str]:
    """``(kind, destination)`` of a pipe's Target (or Enrichment) URI.

    Raises:
        ValueError: no kind takes this URI, or its destination is malformed (the message
            lists the forms accepted).
    """
    role = "Enrichment" if enrichment else "Target"
    forms = [_form(kind) for kind in KINDS if kind.uri_prefixes and (kind.enrichment or not enrichment)]
    expected = f"{role} must be {', '.join(forms[:-1])} or {forms[-1]}"
    for kind in KINDS:
        if enrichment and not kind.enrichment:
            continue
        for prefix in kind.uri_prefixes:
            if uri.startswith(prefix):
                destination = uri if kind.keep_prefix else uri[len(prefix):]
                if not re.match(kind.destination, destination):
                    raise ValueError(f"{expected}; after {prefix} comes {kind.describe}")
                return kind, destination
    raise ValueError(expected)


def _form(kind: TargetKind) -> str:
    if kind.keep_prefix:
        return f"an {kind.describe}"
    return f"{kind.uri_prefixes[0]}{kind.placeholder}"
