"""Rule targets as PutTargets takes them (``Arn`` and parameters) mapped onto eventpipes' targets.

The ``Arn`` selects a row of the kinds table (``eventpipes.targets.kinds.parse_arn``):

=============================================  ==========================================
``Arn``                                        eventpipes target
=============================================  ==========================================
``arn:aws:events:R:A:event-bus/NAME``           EventBus ``NAME``
``arn:aws:events:R:A:api-destination/NAME[/id]`` ApiDestination ``NAME``
``arn:aws:sqs:R:A:NAME``, ``arn:aws:sns:R:A:NAME``, ``arn:aws:kinesis:R:A:stream/NAME``, ``kafka:topic/NAME``
                                               Topic ``NAME`` (``KinesisParameters.PartitionKeyPath`` keys the
                                               records, for Kinesis and kafka:topic/ targets;
                                               ``SqsParameters.MessageGroupId`` keys them all, for SQS)
``arn:aws:lambda:R:A:function:NAME``            Function ``module:callable`` registered as ``NAME`` in
                                               ``EVENTPIPES_FUNCTIONS``; an unregistered ``NAME`` that is a
                                               dotted path ``pkg.mod.fn`` names ``pkg.mod:fn``
``python:pkg.mod:fn``                           Function ``pkg.mod:fn``
``file:PATH``                                  File ``PATH``
=============================================  ==========================================

``DeadLetterConfig.Arn`` is a topic name, or an SQS queue ARN (or ``kafka:topic/NAME``)
standing for the topic of that name. ``Input``, ``InputPath``, ``InputTransformer``,
``RetryPolicy`` and ``HttpParameters`` keep EventBridge's meaning. Parameters of AWS
services eventpipes has no counterpart for (ECS, Batch, ...)
fail that target, so nothing is stored without effect. ``RoleArn`` is kept and ignored.
Lambda names are resolved with the registry of the process that checks or runs the
target (``Context.functions``): the endpoint when PutTargets arrives, each worker when it
builds its rules. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from eventpipes.arns import lambda_name_of_arn, topic_of_arn
from eventpipes.targets.kinds import TargetKind, kind_named, parse_arn
from eventpipes.transform import InvalidTargetInput, parse_path, target_input_from_dict
from eventpipes.topology.model import Target

#: Members of an EventBridge target that map onto eventpipes' targets (``RoleArn`` is kept, unused).
SUPPORTED: Final = frozenset({"Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "KinesisParameters",
                              "SqsParameters", "HttpParameters", "RetryPolicy", "DeadLetterConfig"})


class TargetNotSupported(ValueError):
    """The target cannot be run by eventpipes; the message says why (a PutTargets failed entry)."""


def resolve_arn(arn: str, functions: Mapping[str, str]) -> tuple[TargetKind, str] | None:
    """``(kind, destination)`` of a target ARN: a Lambda ARN by the ``functions`` registry first, then the kinds table."""
    name = lambda_name_of_arn(arn)
    if name is not None and name in functions:
        return kind_named("Function"), functions[name]
    return parse_arn(arn)


def unresolved(arn: str, role: str = "Target Arn") -> str:
    """Why ``arn`` names no eventpipes target (a Lambda function not registered gets its own reason)."""
    name = lambda_name_of_arn(arn)
    if name is not None:
        return (f"{role} {arn} is not supported: Lambda function {name} is not registered "
                f"(EVENTPIPES_FUNCTIONS={name}=module:callable registers a Python callable under that name).")
    return (f"{role} {arn} is not supported: eventpipes takes event-bus, api-destination, SQS, SNS, Kinesis and "
            "registered Lambda ARNs, and kafka:topic/, python: and file: forms.")


def to_target(aws: dict[str, Any], functions: Mapping[str, str] | None = None) -> Target:
    """The eventpipes target an EventBridge target stands for.

    Args:
        aws: the target as PutTargets takes it.
        functions: Lambda function names registered to ``module:callable`` (``EVENTPIPES_FUNCTIONS``).

    Raises:
        TargetNotSupported: an ARN no kind takes, parameters without a counterpart, or a
            value eventpipes refuses (the message names the member).
    """
    unsupported = sorted(set(aws) - SUPPORTED)
    if unsupported:
        raise TargetNotSupported(f"{', '.join(unsupported)} {'is' if len(unsupported) == 1 else 'are'} not supported by eventpipes.")
    arn = aws["Arn"]
    found = resolve_arn(arn, {} if functions is None else functions)
    if found is None:
        raise TargetNotSupported(unresolved(arn))
    kind, destination = found
    body: dict[str, Any] = {"Id": aws["Id"], kind.yaml_key or kind.name: destination}
    for key in ("Input", "InputPath", "InputTransformer", "HttpParameters", "RetryPolicy"):
        if aws.get(key) is not None:
            body[key] = aws[key]
    kinesis = aws.get("KinesisParameters")
    if kinesis is not None:
        if kind.name != "Topic" or arn.startswith(("arn:aws:sqs:", "arn:aws:sns:")):
            raise TargetNotSupported("KinesisParameters apply to Kinesis stream and kafka:topic/ targets only.")
        body["PartitionKeyPath"] = kinesis.get("PartitionKeyPath") if isinstance(kinesis, dict) else kinesis
    sqs = aws.get("SqsParameters")
    if sqs is not None:
        if re.match(r"^arn:aws[a-z-]*:sqs:", arn) is None:
            raise TargetNotSupported("SqsParameters apply to SQS queue targets only.")
        group = sqs.get("MessageGroupId") if isinstance(sqs, dict) else sqs
        if group is not None:
            body["MessageGroupId"] = group
    dead_letter = aws.get("DeadLetterConfig")
    if dead_letter is not None:
        body["DeadLetterConfig"] = {**dead_letter, "Arn": dead_letter_topic(dead_letter.get("Arn"))} if isinstance(dead_letter, dict) else dead_letter
    try:
        target = Target.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise TargetNotSupported(f"Target {aws['Id']} is not valid: {problem['msg']}" + (f" ({where})" if where else "")) from None
    try:  # what a worker will compile: a target it cannot run must fail here, not at the worker
        target_input_from_dict(target.model_dump(by_alias=True, exclude_none=True), target_id=target.id)
        if target.partition_key_path is not None:
            parse_path(target.partition_key_path, field="KinesisParameters.PartitionKeyPath")
    except InvalidTargetInput as error:
        raise TargetNotSupported(error.message) from None
    return target


def dead_letter_topic(arn: Any) -> Any:
    """The topic a ``DeadLetterConfig.Arn`` names: an SQS ARN or ``kafka:topic/NAME`` → the name; anything else as is."""
    if isinstance(arn, str):
        return topic_of_arn(arn) or arn
    return arn
