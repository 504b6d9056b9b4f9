"""Rule targets as PutTargets takes them (``Arn`` and parameters) mapped onto eventpipes' targets.

The ``Arn`` selects a row of the kinds table (``eventpipes.targets.kinds.parse_arn``):

=============================================  ==========================================
``Arn``                                        eventpipes target
=============================================  ==========================================
``arn:aws:events:R:A:event-bus/NAME``           EventBus ``NAME``
``arn:aws:events:R:A:api-destination/NAME[/id]`` ApiDestination ``NAME``
``arn:aws:sqs:R:A:NAME``, ``arn:aws:sns:R:A:NAME``, ``arn:aws:kinesis:R:A:stream/NAME``, ``kafka:topic/NAME``
                                               Topic ``NAME`` (``KinesisParameters.PartitionKeyPath`` keys the
                                               records, for Kinesis and kafka:topic/ targets)
``arn:aws:lambda:R:A:function:pkg.mod.fn``      Function ``pkg.mod:fn`` (the Lambda name is the callable's
                                               dotted path; a name without a dot names none)
``python:pkg.mod:fn``                           Function ``pkg.mod:fn``
``file:PATH``                                  File ``PATH``
=============================================  ==========================================

``DeadLetterConfig.Arn`` is a topic name, or an SQS queue ARN (or ``kafka:topic/NAME``)
standing for the topic of that name. ``Input``, ``InputPath``, ``InputTransformer``,
``RetryPolicy`` and ``HttpParameters`` keep EventBridge's meaning. Parameters of AWS
services eventpipes has no counterpart for (ECS, Batch, SQS FIFO message groups, ...)
fail that target, so nothing is stored without effect. ``RoleArn`` is kept and ignored.
Pure.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import ValidationError

from eventpipes.arns import topic_of_arn
from eventpipes.targets.kinds import parse_arn
from eventpipes.transform import InvalidTargetInput, parse_path, target_input_from_dict
from eventpipes.topology.model import Target

#: Members of an EventBridge target that map onto eventpipes' targets (``RoleArn`` is kept, unused).
SUPPORTED: Final = frozenset({"Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "KinesisParameters",
                              "HttpParameters", "RetryPolicy", "DeadLetterConfig"})


class TargetNotSupported(ValueError):
    """The target cannot be run by eventpipes; the message says why (a PutTargets failed entry)."""


def to_target(aws: dict[str, Any]) -> Target:
    """The eventpipes target an EventBridge target stands for.

    Raises:
        TargetNotSupported: an ARN no kind takes, parameters without a counterpart, or a
            value eventpipes refuses (the message names the member).
    """
    unsupported = sorted(set(aws) - SUPPORTED)
    if unsupported:
        raise TargetNotSupported(f"{', '.join(unsupported)} {'is' if len(unsupported) == 1 else 'are'} not supported by eventpipes.")
    arn = aws["Arn"]
    found = parse_arn(arn)
    if found is None:
        raise TargetNotSupported(f"Target Arn {arn} is not supported: eventpipes takes event-bus, api-destination, SQS, SNS, "
                                 "Kinesis and Lambda (dotted Python path) ARNs, and kafka:topic/, python: and file: forms.")
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
