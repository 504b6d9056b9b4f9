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
#: AWS resources whose eventpipes counterpart is a Kafka topic of the same name (rule
#: targets, dead-letter queues): SQS queues, SNS topics, Kinesis streams.
_TOPIC_LIKE_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:(?:sqs|sns):[a-z0-9-]+:\d{12}:(?P<name>[^:/]+)$"
    r"|^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/(?P<stream>[^:/]+)$")
#: EventBridge writes ``api-destination/<name>/<uuid>``; eventpipes writes the name alone.
_API_DESTINATION_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:api-destination/(?P<name>[^/]+)(?:/[^/]+)?$")
_CONNECTION_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:connection/(?P<name>[^/]+)(?:/[^/]+)?$")
#: A Lambda function ARN (an optional version or alias after the name is ignored).
_LAMBDA_ARN: Final = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[^:]+)(?::[^:]+)?$")
#: A Lambda function name eventpipes can run: a dotted Python path ``package.module.callable``.
_DOTTED_CALLABLE: Final = re.compile(r"^(?P<module>[A-Za-z_][\w.]*)\.(?P<callable>[A-Za-z_]\w*)$")


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


def topic_of_arn(value: str) -> str | None:
    """The Kafka topic an ARN stands for, or None.

    ``kafka:topic/<name>`` (eventpipes' own form), and the AWS resources a topic replaces:
    an SQS queue, an SNS topic or a Kinesis stream of the same name.
    """
    if value.startswith("kafka:topic/"):
        return value[len("kafka:topic/"):] or None
    match = _TOPIC_LIKE_ARN.match(value)
    return (match.group("name") or match.group("stream")) if match else None


def api_destination_of_arn(value: str) -> str | None:
    """The API destination an ARN names (with or without EventBridge's trailing uuid), or None."""
    match = _API_DESTINATION_ARN.match(value)
    return match.group("name") if match else None


def connection_of_arn(value: str) -> str | None:
    """The connection an ARN names (with or without EventBridge's trailing uuid), or None."""
    match = _CONNECTION_ARN.match(value)
    return match.group("name") if match else None


def function_of_arn(value: str) -> str | None:
    """The Python callable ``module:function`` an ARN names, or None.

    ``python:<module>:<function>`` (eventpipes' own form), or a Lambda function ARN whose
    function name is the callable's dotted path: ``...:function:orders.handlers.on_order``
    runs ``orders.handlers:on_order`` (a Lambda name with no dot names no callable: None).
    """
    if value.startswith("python:"):
        return value[len("python:"):] or None
    match = _LAMBDA_ARN.match(value)
    dotted = _DOTTED_CALLABLE.match(match.group("name")) if match else None
    return f"{dotted.group('module')}:{dotted.group('callable')}" if dotted else None


def lambda_name_of_arn(value: str) -> str | None:
    """The function name of a Lambda function ARN (without its version or alias), or None if ``value`` is not one."""
    match = _LAMBDA_ARN.match(value)
    return match.group("name") if match else None


def file_of_arn(value: str) -> str | None:
    """The path of eventpipes' ``file:<path>`` form, or None."""
    return value[len("file:"):] or None if value.startswith("file:") else None


_DYNAMODB_STREAM_ARN: Final = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<table>[^/]+)/stream/[^/]+$")
_MSK_CLUSTER_ARN: Final = re.compile(r"^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/[^/]+/[^/]+$")


def table_of_stream_arn(value: str) -> str | None:
    """The table a DynamoDB stream ARN belongs to (eventpipes reads its changes from the topic of that name), or None."""
    match = _DYNAMODB_STREAM_ARN.match(value)
    return match.group("table") if match else None


def is_msk_cluster_arn(value: str) -> bool:
    """Whether ``value`` is an Amazon MSK cluster ARN (a pipe source whose topic its parameters name)."""
    return _MSK_CLUSTER_ARN.match(value) is not None


_PIPE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:pipes:[a-z0-9-]+:\d{12}:pipe/(?P<name>[^/]+)$")


def pipe_of_arn(value: str) -> str | None:
    """The pipe a pipe ARN names, or None."""
    match = _PIPE_ARN.match(value)
    return match.group("name") if match else None
