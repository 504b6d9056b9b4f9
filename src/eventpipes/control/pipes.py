"""Pipes: CreatePipe, DescribePipe, UpdatePipe, DeletePipe, ListPipes, StartPipe, StopPipe.

A pipe is stored as CreatePipe's request (so DescribePipe returns what was given) and
mapped onto eventpipes' pipe model (``eventpipes.pipes.model.Pipe``) when checked and
when a snapshot is taken:

- ``Source``: ``smk://HOST:PORT`` with ``SelfManagedKafkaParameters.TopicName``, an MSK
  cluster ARN with ``ManagedStreamingKafkaParameters.TopicName``, or ``kafka:topic/NAME``
  read that topic **from eventpipes' own cluster** (the host in ``smk://`` is kept but not
  dialled: eventpipes reads one cluster); an SQS queue or Kinesis stream ARN reads the
  topic of the same name; a DynamoDB stream ARN reads the table's change topic (named as
  the table) as DynamoDB stream records. The stream parameters (BatchSize, windows,
  ParallelizationFactor, retries, DeadLetterConfig with an SQS ARN or topic name, ...)
  keep Pipes' meaning; credentials and VPC settings are refused.
- ``Target`` and ``Enrichment``: ARNs as rule targets take them (``targets.py``), mapped to
  the pipe model's URIs; eventpipes' own URIs (``topic:NAME``, ``bus:NAME``,
  ``function:MODULE:CALLABLE``, ``file:PATH``, ``http(s)://...``) are accepted as they are.
  ``DynamoDBStreamParameters`` also take eventpipes' ``ChangeEventFormat`` (``DYNAMODB`` or
  ``DEBEZIUM``) and ``StreamViewType``.
- ``CurrentState`` is what Pipes reports: ``CREATING``, ``UPDATING``, ``STARTING``,
  ``STOPPING``, ``DELETING`` in the answer to the change, then the desired state (workers
  report whether a pipe actually runs in ``eventpipes status``). ``RoleArn`` is kept and
  ignored (optional here). Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from pydantic import ValidationError

from eventpipes.arns import is_msk_cluster_arn, lambda_name_of_arn, pipe_arn, table_of_stream_arn, topic_of_arn
from eventpipes.control.checks import NAME_PATTERN, Checker, page
from eventpipes.control.errors import ConflictException, NotFoundException, ValidationException
from eventpipes.control.operation import Body, Context, Operation, epoch_seconds, without_none
from eventpipes.control.state import ControlState
from eventpipes.control.targets import dead_letter_topic, resolve_arn, unresolved
from eventpipes.pipes.checks import check_pipes
from eventpipes.pipes.model import Pipe
from eventpipes.targets.kinds import parse_uri

DESIRED: Final = ("RUNNING", "STOPPED")
#: Pipes' PipeState, as ListPipes' CurrentState filter takes it (eventpipes reports the first seven).
CURRENT: Final = ("RUNNING", "STOPPED", "CREATING", "UPDATING", "DELETING", "STARTING", "STOPPING", "CREATE_FAILED",
                  "UPDATE_FAILED", "START_FAILED", "STOP_FAILED", "DELETE_FAILED", "CREATE_ROLLBACK_FAILED",
                  "DELETE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED")
_STREAM_KEYS: Final = ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "StartingPosition",
                       "StartingPositionTimestamp", "MaximumRecordAgeInSeconds", "MaximumRetryAttempts",
                       "OnPartialBatchItemFailure", "DeadLetterConfig", "ConsumerGroupID")
#: eventpipes' own members of DynamoDBStreamParameters: what the change topic holds (``eventpipes.pipes.model``).
_DYNAMODB_KEYS: Final = ("ChangeEventFormat", "StreamViewType")
_KNOWN_SOURCE_KEYS: Final = (*_STREAM_KEYS, "TopicName")
_SOURCE_KINDS: Final = ("SelfManagedKafkaParameters", "ManagedStreamingKafkaParameters", "KinesisStreamParameters",
                        "DynamoDBStreamParameters", "SqsQueueParameters")
_STORED: Final = ("Name", "Description", "DesiredState", "Source", "SourceParameters", "Enrichment", "EnrichmentParameters",
                  "Target", "TargetParameters", "RoleArn", "Tags")


class _EveryFunction(Mapping[str, str]):
    """A registry holding every Lambda name (as one placeholder callable): for checks that must not depend on a registry."""

    def __getitem__(self, name: str) -> str:
        return "eventpipes.registered:function"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


EVERY_FUNCTION: Final = _EveryFunction()


class PipeNotSupported(ValueError):
    """The pipe cannot be run by eventpipes; the message says why."""


def not_found(name: str) -> NotFoundException:
    return NotFoundException(f"Pipe {name} does not exist.")


def existing(state: ControlState, name: str) -> Body:
    found = state.pipes.get(name)
    if found is None:
        raise not_found(name)
    return found


# -- mapping onto eventpipes' pipe model ------------------------------------------------------

def to_pipe(stored: Body, functions: Mapping[str, str] | None = None) -> Pipe:
    """The eventpipes pipe a stored CreatePipe request stands for (``functions``: the Lambda registry).

    Raises:
        PipeNotSupported: a source, target or parameter eventpipes cannot run (named).
    """
    registry = {} if functions is None else functions  # not `or`: EVERY_FUNCTION is an empty-looking mapping
    topic, source_parameters = _source(stored["Source"], stored.get("SourceParameters") or {})
    body: dict[str, Any] = {"Name": stored["Name"], "DesiredState": stored.get("DesiredState", "RUNNING"), "Source": topic,
                            "SourceParameters": source_parameters, "Target": _uri(stored["Target"], "Target", registry)}
    if stored.get("Description") is not None:
        body["Description"] = stored["Description"]
    if stored.get("Enrichment"):
        body["Enrichment"] = _uri(stored["Enrichment"], "Enrichment", registry)
    enrichment_parameters = stored.get("EnrichmentParameters")
    if enrichment_parameters:
        _only(enrichment_parameters, ("InputTemplate",), "EnrichmentParameters")
        body["EnrichmentParameters"] = enrichment_parameters
    target_parameters = stored.get("TargetParameters")
    if target_parameters:
        _only(target_parameters, ("InputTemplate", "EventBridgeEventBusParameters"), "TargetParameters")
        _only(target_parameters.get("EventBridgeEventBusParameters") or {}, ("DetailType", "Source"),
              "TargetParameters.EventBridgeEventBusParameters")
        body["TargetParameters"] = target_parameters
    try:
        pipe = Pipe.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise PipeNotSupported(f"Pipe {stored['Name']} is not valid: {problem['msg']}" + (f" ({where})" if where else "")) from None
    findings = check_pipes([pipe])  # filters and templates, as a worker will compile them
    if findings:
        where, message = findings[0]
        raise PipeNotSupported(f"Pipe {stored['Name']} is not valid: {message} ({where.removeprefix('Pipes[0].')})")
    return pipe


def _only(given: Any, allowed: tuple[str, ...], where: str) -> None:
    if not isinstance(given, dict):
        raise PipeNotSupported(f"{where} must be a structure.")
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise PipeNotSupported(f"{where}.{extra[0]} is not supported by eventpipes.")


def _source(source: str, parameters: Body) -> tuple[str, Body]:
    _only(parameters, ("FilterCriteria", *_SOURCE_KINDS), "SourceParameters")
    kinds = [k for k in _SOURCE_KINDS if parameters.get(k) is not None]
    if len(kinds) > 1:
        raise PipeNotSupported(f"SourceParameters take one of {', '.join(_SOURCE_KINDS)}; got {' and '.join(kinds)}.")
    given: Body = parameters[kinds[0]] if kinds else {}
    if not isinstance(given, dict):
        raise PipeNotSupported(f"SourceParameters.{kinds[0]} must be a structure.")
    expected, topic = _source_kind(source, given)
    if kinds and kinds[0] != expected and not (expected == "kafka" and kinds[0] == "SelfManagedKafkaParameters"):
        raise PipeNotSupported(f"SourceParameters.{kinds[0]} do not apply to source {source}.")
    dynamodb = expected == "DynamoDBStreamParameters"
    _only(given, (*_KNOWN_SOURCE_KEYS, *(_DYNAMODB_KEYS if dynamodb else ())), f"SourceParameters.{kinds[0] if kinds else expected}")
    stream = {k: v for k, v in given.items() if k in _STREAM_KEYS or (dynamodb and k in _DYNAMODB_KEYS)}
    if isinstance(stream.get("DeadLetterConfig"), dict):
        stream["DeadLetterConfig"] = {**stream["DeadLetterConfig"], "Arn": dead_letter_topic(stream["DeadLetterConfig"].get("Arn"))}
    out: Body = {}
    if parameters.get("FilterCriteria") is not None:
        out["FilterCriteria"] = parameters["FilterCriteria"]
    out["DynamoDBStreamParameters" if expected == "DynamoDBStreamParameters" else "SelfManagedKafkaParameters"] = stream
    return topic, out


def _source_kind(source: str, given: Body) -> tuple[str, str]:
    """``(the SourceParameters member that applies, the topic read)``."""
    if source.startswith("smk://") or is_msk_cluster_arn(source):
        kind = "SelfManagedKafkaParameters" if source.startswith("smk://") else "ManagedStreamingKafkaParameters"
        topic = given.get("TopicName")
        if not isinstance(topic, str) or not topic:
            raise PipeNotSupported(f"A Kafka source needs SourceParameters.{kind}.TopicName.")
        return kind, topic
    if source.startswith("kafka:topic/"):
        return "kafka", source[len("kafka:topic/"):]
    table = table_of_stream_arn(source)
    if table is not None:
        return "DynamoDBStreamParameters", table
    topic = topic_of_arn(source)
    if topic is not None and ":sns:" not in source:
        return ("KinesisStreamParameters" if ":kinesis:" in source else "SqsQueueParameters"), topic
    raise PipeNotSupported(f"Source {source} is not supported: eventpipes reads smk://, MSK, kafka:topic/, SQS, Kinesis and "
                           "DynamoDB stream sources from its Kafka cluster.")


def _uri(arn: str, role: str, functions: Mapping[str, str]) -> str:
    try:  # eventpipes' own URIs (topic:NAME, bus:NAME, function:MODULE:CALLABLE, file:PATH, http(s)://...)
        parse_uri(arn, enrichment=role == "Enrichment")
        return arn
    except ValueError:
        pass
    found = resolve_arn(arn, functions)
    if found is None and lambda_name_of_arn(arn) is not None:
        raise PipeNotSupported(unresolved(arn, role))
    if found is None or not found[0].uri_prefixes:
        raise PipeNotSupported(f"{role} {arn} is not supported by eventpipes' pipes.")
    kind, destination = found
    return destination if kind.keep_prefix else kind.uri_prefixes[0] + destination


# -- operations ----------------------------------------------------------------------------------

def _checked(request: Body, *, create: bool) -> Body:
    check = Checker(request)
    check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    check.string("Description", max_length=512)
    check.string("DesiredState", enum=DESIRED)
    check.string("Source", required=create, min_length=1, max_length=1600)
    check.string("Target", required=create, min_length=1, max_length=1600)
    check.string("Enrichment", max_length=1600)
    check.string("RoleArn", min_length=1, max_length=1600)
    for key in ("SourceParameters", "EnrichmentParameters", "TargetParameters", "Tags"):
        check.mapping(key)
    check.done()
    for key in ("LogConfiguration", "KmsKeyIdentifier"):
        if request.get(key) is not None:
            raise ValidationException(f"{key} is not supported by eventpipes.")
    return without_none({key: request.get(key) for key in _STORED})


def _prepare_create(request: Body, context: Context) -> Body:
    body = _checked(request, create=True)
    body.setdefault("DesiredState", "RUNNING")
    try:
        to_pipe(body, context.functions)
    except PipeNotSupported as error:
        raise ValidationException(str(error)) from None
    return body


def _answer(pipe: Body, context: Context, current: str, desired: str | None = None) -> Body:
    return {"Arn": pipe_arn(context.region, context.account, pipe["Name"]), "Name": pipe["Name"],
            "DesiredState": desired or pipe["DesiredState"], "CurrentState": current,
            "CreationTime": epoch_seconds(pipe["CreationTime"]), "LastModifiedTime": epoch_seconds(pipe["LastModifiedTime"])}


def _apply_create(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    if body["Name"] in state.pipes:
        raise ConflictException(f"Pipe {body['Name']} already exists.")
    state.pipes[body["Name"]] = {**body, "CreationTime": time_ms, "LastModifiedTime": time_ms}
    return _answer(state.pipes[body["Name"]], context, "CREATING")


def _prepare_name(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    check.done()
    return {"Name": name}


def _read_describe(state: ControlState, body: Body, context: Context) -> Body:
    pipe = existing(state, body["Name"])
    described: Body = {k: pipe[k] for k in _STORED if k in pipe}
    return {**described, **_answer(pipe, context, pipe["DesiredState"])}


def _prepare_update(request: Body, context: Context) -> Body:
    if request.get("Source") is not None:
        raise ValidationException("Source cannot be changed by UpdatePipe; delete the pipe and create it again.")
    body = _checked(request, create=False)
    for role in ("Target", "Enrichment"):  # Lambda names by this process's registry, which apply must not read
        if body.get(role):
            try:
                _uri(body[role], role, context.functions)
            except PipeNotSupported as error:
                raise ValidationException(str(error)) from None
    return body


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    return new


def updated(pipe: Body, body: Body) -> Body:
    """The stored pipe an UpdatePipe ``body`` makes of ``pipe``: SourceParameters merge member by member,
    other members given replace, ``Enrichment: ""`` removes the enrichment, members not given stay."""
    result = dict(pipe)
    for key, value in body.items():
        result[key] = _merge(pipe.get(key), value) if key == "SourceParameters" else value
    if result.get("Enrichment") == "":
        result.pop("Enrichment")
        result.pop("EnrichmentParameters", None)
    return result


def _apply_update(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    pipe = existing(state, body["Name"])
    updated_pipe = {**updated(pipe, body), "LastModifiedTime": time_ms}
    try:  # every reader must reach the same state, whatever its registry: Lambda names were checked by prepare
        to_pipe(updated_pipe, EVERY_FUNCTION)
    except PipeNotSupported as error:
        raise ValidationException(str(error)) from None
    state.pipes[body["Name"]] = updated_pipe
    return _answer(updated_pipe, context, "UPDATING")


def _set_desired(desired: str, transition: str) -> Any:
    def apply(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
        pipe = existing(state, body["Name"])
        pipe["DesiredState"], pipe["LastModifiedTime"] = desired, time_ms
        return _answer(pipe, context, transition)
    return apply


def _apply_delete(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    pipe = existing(state, body["Name"])
    del state.pipes[body["Name"]]
    return _answer({**pipe, "LastModifiedTime": time_ms}, context, "DELETING", "DELETED")


def _prepare_list(request: Body, context: Context) -> Body:
    check = Checker(request)
    prefix = check.string("NamePrefix", min_length=1, max_length=64, pattern=NAME_PATTERN)
    desired = check.string("DesiredState", enum=DESIRED)
    current = check.string("CurrentState", enum=CURRENT)
    source = check.string("SourcePrefix", min_length=1, max_length=1600)
    target = check.string("TargetPrefix", min_length=1, max_length=1600)
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"NamePrefix": prefix, "DesiredState": desired, "CurrentState": current, "SourcePrefix": source,
                         "TargetPrefix": target, "NextToken": token, "Limit": limit})


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    def wanted(pipe: Body) -> bool:
        return (pipe["Name"].startswith(body.get("NamePrefix", "")) and pipe["Source"].startswith(body.get("SourcePrefix", ""))
                and pipe["Target"].startswith(body.get("TargetPrefix", ""))
                and body.get("DesiredState", pipe["DesiredState"]) == pipe["DesiredState"]
                and body.get("CurrentState", pipe["DesiredState"]) == pipe["DesiredState"])

    chosen, token = page([state.pipes[n] for n in sorted(state.pipes) if wanted(state.pipes[n])], body.get("Limit"), body.get("NextToken"))
    listed = [without_none({**_answer(p, context, p["DesiredState"]), "Source": p["Source"], "Target": p["Target"],
                            "Enrichment": p.get("Enrichment")}) for p in chosen]
    return without_none({"Pipes": listed, "NextToken": token})


OPERATIONS: Final = (
    Operation("CreatePipe", _prepare_create, apply=_apply_create),
    Operation("DescribePipe", _prepare_name, read=_read_describe),
    Operation("UpdatePipe", _prepare_update, apply=_apply_update),
    Operation("DeletePipe", _prepare_name, apply=_apply_delete),
    Operation("ListPipes", _prepare_list, read=_read_list),
    Operation("StartPipe", _prepare_name, apply=_set_desired("RUNNING", "STARTING")),
    Operation("StopPipe", _prepare_name, apply=_set_desired("STOPPED", "STOPPING")),
)
