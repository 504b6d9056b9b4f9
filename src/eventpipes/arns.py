"""Every ARN eventpipes writes or reads, built and parsed here and nowhere else.

EventBridge names its resources ``arn:aws:<service>:<region>:<account>:<type>/<name>``;
eventpipes writes the same forms (``<aws.events.rule-arn>``, dead-letter attributes,
describe output), so a user's tooling that parses them keeps working. Things that have
no AWS ARN (a Kafka topic, a Python function) get an ARN-like name of their own, also
built here. Pure: the standard library only.
"""

from __future__ import annotations

import re
from typing import Final

#: The bus every account has, and the one EventBridge leaves out of rule ARNs.
DEFAULT_BUS: Final = "default"

#: Event-bus and rule ARNs in any partition (aws, aws-cn, aws-us-gov), with a region and a
#: 12-digit account as EventBridge writes them.
_BUS_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/(?P<name>.+)$")
_RULE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:rule/(?:(?P<bus>.+)/)?(?P<name>[^/]+)$")


def _events(region: str, account: str, resource: str) -> str:
    return f"arn:aws:events:{region}:{account}:{resource}"


def bus_arn(region: str, account: str, bus: str) -> str:
    """``arn:aws:events:<region>:<account>:event-bus/<bus>``."""
    return _events(region, account, f"event-bus/{bus}")


def rule_arn(region: str, account: str, bus: str, rule: str) -> str:
    """EventBridge's rule ARN: the bus appears in it unless it is the default bus."""
    return _events(region, account, f"rule/{rule}" if bus == DEFAULT_BUS else f"rule/{bus}/{rule}")


def archive_arn(region: str, account: str, name: str) -> str:
    """``arn:aws:events:<region>:<account>:archive/<name>``."""
    return _events(region, account, f"archive/{name}")


def archive_of_arn(value: str) -> str | None:
    """The archive an archive ARN names, or None if ``value`` is not one."""
    match = re.match(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:archive/(?P<name>[^/]+)$", value)
    return match.group("name") if match else None


def replay_arn(region: str, account: str, name: str) -> str:
    """``arn:aws:events:<region>:<account>:replay/<name>``."""
    return _events(region, account, f"replay/{name}")


def api_destination_arn(region: str, account: str, name: str) -> str:
    """``arn:aws:events:<region>:<account>:api-destination/<name>`` (EventBridge adds a uuid; eventpipes does not)."""
    return _events(region, account, f"api-destination/{name}")


def connection_arn(region: str, account: str, name: str) -> str:
    """``arn:aws:events:<region>:<account>:connection/<name>`` (EventBridge adds a uuid; eventpipes does not)."""
    return _events(region, account, f"connection/{name}")


def pipe_arn(region: str, account: str, name: str) -> str:
    """``arn:aws:pipes:<region>:<account>:pipe/<name>``."""
    return f"arn:aws:pipes:{region}:{account}:pipe/{name}"


def dynamodb_stream_arn(region: str, account: str, table: str, label: str) -> str:
    """``arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>``."""
    return f"arn:aws:dynamodb:{region}:{account}:table/{table}/stream/{label}"


def topic_arn(topic: str) -> str:
    """An ARN-like name for a Kafka topic target (a topic has no AWS ARN)."""
    return f"kafka:topic/{topic}"


def function_arn(spec: str) -> str:
    """An ARN-like name for a Python function target ``module:function`` (eventpipes' Lambda)."""
    return f"python:{spec}"


def bus_of_arn(value: str) -> str | None:
    """The bus an event-bus ARN names, or None if ``value`` is not an event-bus ARN."""
    match = _BUS_ARN.match(value)
    return match.group("name") if match else None


def rule_of_arn(value: str) -> tuple[str, str] | None:
    """``(bus, rule)`` of a rule ARN (the default bus when the ARN names none), or None."""
    match = _RULE_ARN.match(value)
    if match is None:
        return None
    return match.group("bus") or DEFAULT_BUS, match.group("name")
