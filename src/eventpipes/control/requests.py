"""Topology resources as the AWS requests that store them: the inverse of ``snapshot``.

``snapshot`` maps the store onto the topology model (``to_rule``, ``to_target``, ``to_pipe``,
``to_connection``); these functions map the model back onto CreateEventBus, PutRule,
PutTargets, CreateConnection, CreateApiDestination, CreatePipe and CreateArchive requests,
so that applying a request and taking a snapshot gives the resource back (the unit tests
check the round trip). ``plain`` turns a model into EventBridge-keyed JSON values; export
uses it too. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel

from eventpipes.arns import bus_arn, connection_arn, dynamodb_stream_arn, topic_arn
from eventpipes.control.connections import secret_places
from eventpipes.control.operation import Body, Context
from eventpipes.retry import DeadLetterConfig, RetryPolicy
from eventpipes.topology.model import STORED_SECRET, ApiDestination, Connection, EventBus, Rule, Target, Topology

if TYPE_CHECKING:  # the models the topology gathers (control does not import the archive and pipes packages)
    from eventpipes.topology.model import Archive, Pipe

#: PutTargets members taken from a topology target as they are (EventBridge's key → the model's attribute).
_TARGET_MEMBERS: Final = {"Input": "input", "InputPath": "input_path", "InputTransformer": "input_transformer",
                          "HttpParameters": "http_parameters", "RetryPolicy": "retry_policy", "DeadLetterConfig": "dead_letter_config"}
#: The label of the DynamoDB stream ARN a change-topic pipe source is written with (any label reads the table's topic).
STREAM_LABEL: Final = "eventpipes"


def plain(value: Any, *, defaults: bool = True) -> Any:
    """``value`` as JSON values under EventBridge's keys (a model's aliases), unset members left out.

    Args:
        value: a model, a retry policy, a dead-letter config, or a collection of them.
        defaults: keep members whose value is their default (False: leave them out, as export does).
    """
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, field in type(value).model_fields.items():
            member = getattr(value, name)
            if member is None or (not defaults and not field.is_required() and member == field.get_default(call_default_factory=True)):
                continue
            out[field.alias or name] = plain(member, defaults=defaults)
        return out
    if isinstance(value, (RetryPolicy, DeadLetterConfig)):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [plain(item, defaults=defaults) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item, defaults=defaults) for key, item in value.items()}
    return value


# -- buses and rules ------------------------------------------------------------------------

def create_event_bus(bus: EventBus) -> Body:
    """CreateEventBus (only what the store keeps: the name and the description)."""
    return {"Name": bus.name, **({"Description": bus.description} if bus.description is not None else {})}


def put_rule(rule: Rule) -> Body:
    """PutRule: the whole definition (PutRule replaces it; its targets are put apart)."""
    request: Body = {"Name": rule.name, "EventBusName": rule.event_bus_name, "State": rule.state}
    if rule.description is not None:
        request["Description"] = rule.description
    if rule.event_pattern is not None:
        request["EventPattern"] = json.dumps(rule.event_pattern)
    if rule.schedule_expression is not None:
        request["ScheduleExpression"] = rule.schedule_expression
    return request


def aws_target(target: Target, context: Context) -> Body:
    """One PutTargets entry: the kind's ARN (``eventpipes.targets.kinds``) and EventBridge's parameters."""
    body: Body = {"Id": target.id, "Arn": target.kind_row.arn(context.region, context.account, target.destination)}
    for key, attribute in _TARGET_MEMBERS.items():
        member = getattr(target, attribute)
        if member is not None:
            body[key] = plain(member)
    if target.partition_key_path is not None:
        body["KinesisParameters"] = {"PartitionKeyPath": target.partition_key_path}
    return body


def put_targets(rule: Rule, targets: list[Target], context: Context) -> Body:
    return {"Rule": rule.name, "EventBusName": rule.event_bus_name, "Targets": [aws_target(t, context) for t in targets]}


def remove_targets(rule_name: str, bus: str, ids: list[str]) -> Body:
    return {"Rule": rule_name, "EventBusName": bus, "Ids": ids}


# -- connections and API destinations -------------------------------------------------------------

def auth_parameters(connection: Connection) -> Body:
    """The connection's AuthParameters as CreateConnection takes them (secrets as the model holds them)."""
    auth: Body = plain(connection.auth_parameters)
    return auth


def create_connection(connection: Connection, auth: Body | None = None) -> Body:
    """CreateConnection; ``auth`` replaces the model's AuthParameters (stored secrets put back in)."""
    request: Body = {"Name": connection.name, "AuthorizationType": connection.authorization_type,
                     "AuthParameters": auth if auth is not None else auth_parameters(connection)}
    if connection.description is not None:
        request["Description"] = connection.description
    return request


def stored_secret_places(auth: Body) -> Iterator[tuple[Body, str, str]]:
    """``(holder, key, place)`` of each secret in ``auth`` that is ``STORED_SECRET`` (keep the stored one)."""
    return ((holder, key, place) for holder, key, place in secret_places(auth) if holder[key] == STORED_SECRET)


def uses_stored_secrets(topology: Topology) -> list[str]:
    """Where a topology's connections say ``STORED_SECRET`` (``Connections[0].AuthParameters...``): a file
    ``run`` cannot use, since the secret is in the control plane's store, not in the file."""
    return [f"Connections[{i}].AuthParameters.{place}" for i, connection in enumerate(topology.connections)
            for _, _, place in stored_secret_places(auth_parameters(connection))]


def api_destination_request(destination: ApiDestination, context: Context) -> Body:
    """CreateApiDestination (UpdateApiDestination takes the same members)."""
    request: Body = {"Name": destination.name,
                     "ConnectionArn": connection_arn(context.region, context.account, destination.connection_name),
                     "InvocationEndpoint": destination.invocation_endpoint, "HttpMethod": destination.http_method,
                     "InvocationRateLimitPerSecond": destination.invocation_rate_limit_per_second}
    if destination.description is not None:
        request["Description"] = destination.description
    return request


# -- pipes and archives -------------------------------------------------------------------------

def create_pipe(pipe: "Pipe", context: Context) -> Body:
    """CreatePipe: a Kafka topic source as ``kafka:topic/NAME``, a change topic as a DynamoDB stream ARN of that table.

    The stream parameters are written whole, defaults included, so that UpdatePipe (which
    merges SourceParameters member by member) sets every one of them.
    """
    stream = plain(pipe.stream)
    stream.pop("TopicName", None)
    if pipe.source_kind == "kafka":
        source, parameters = topic_arn(pipe.source_topic), {"SelfManagedKafkaParameters": stream}
    else:
        source = dynamodb_stream_arn(context.region, context.account, pipe.source_topic, STREAM_LABEL)
        parameters = {"DynamoDBStreamParameters": stream}
    if pipe.source_parameters.filter_criteria is not None:
        parameters["FilterCriteria"] = plain(pipe.source_parameters.filter_criteria)
    request: Body = {"Name": pipe.name, "DesiredState": pipe.desired_state, "Source": source, "SourceParameters": parameters,
                     "Target": pipe.target}
    if pipe.description is not None:
        request["Description"] = pipe.description
    if pipe.enrichment is not None:
        request["Enrichment"] = pipe.enrichment
    if pipe.enrichment_parameters is not None:
        request["EnrichmentParameters"] = plain(pipe.enrichment_parameters)
    target_parameters = plain(pipe.target_parameters)
    if target_parameters:
        request["TargetParameters"] = target_parameters
    return request


def update_pipe(pipe: "Pipe", current: "Pipe", context: Context) -> Body:
    """UpdatePipe taking ``current`` to ``pipe`` where it can: members ``pipe`` lacks are cleared explicitly
    (UpdatePipe keeps what a request leaves out). ``Source`` is left out: UpdatePipe cannot change it."""
    request = create_pipe(pipe, context)
    del request["Source"]
    if pipe.description is None and current.description is not None:
        request["Description"] = ""
    if pipe.enrichment is None and current.enrichment is not None:
        request["Enrichment"] = ""
    elif pipe.enrichment_parameters is None and current.enrichment_parameters is not None:
        request["EnrichmentParameters"] = {}
    request.setdefault("TargetParameters", {})
    request["SourceParameters"].setdefault("FilterCriteria", {"Filters": []})
    return request


def archive_request(archive: "Archive", context: Context) -> Body:
    """CreateArchive (UpdateArchive takes the same members), with eventpipes' ``State`` and
    ``EncryptionKeyVariable`` where they are set (EventBridge's CreateArchive has neither)."""
    request: Body = {"ArchiveName": archive.name, "EventSourceArn": bus_arn(context.region, context.account, archive.event_bus_name),
                     "RetentionDays": archive.retention_days, "State": archive.state}
    if archive.description is not None:
        request["Description"] = archive.description
    if archive.event_pattern is not None:
        request["EventPattern"] = json.dumps(archive.event_pattern)
    if archive.encryption_key_variable is not None:
        request["EncryptionKeyVariable"] = archive.encryption_key_variable
    return request
