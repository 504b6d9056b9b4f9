"""A pipe's definition: EventBridge Pipes' keys, ranges and defaults, validated once at load.

A pipe is declared under ``Pipes:`` in a topology (``pipes/*.yaml`` are topologies that
hold only pipes). Keys are CreatePipe's (``Source``, ``SourceParameters``,
``FilterCriteria``, ``Enrichment``, ``Target``, ``TargetParameters.InputTemplate``,
``DesiredState``); the stream parameters are those EventBridge gives Kinesis and DynamoDB
stream sources, offered here for every source, Kafka included:

* ``SelfManagedKafkaParameters``: the source topic's records, in the shape EventBridge
  gives self-managed Kafka records;
* ``DynamoDBStreamParameters``: the source topic holds change events, delivered in the
  DynamoDB Streams record shape; ``ChangeEventFormat`` says whether the topic holds
  DynamoDB Streams records (``DYNAMODB``) or Debezium change events (``DEBEZIUM``).

Where EventBridge takes an ARN, eventpipes takes a short URI, because what it names is not
an AWS resource: ``Source`` is a Kafka topic name; ``Target`` is ``topic:<name>``,
``bus:<name>``, ``function:<module>:<callable>`` or an ``http(s)://`` URL; ``Enrichment``
is ``function:<module>:<callable>`` or an ``http(s)://`` URL.

Pure core: pydantic only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from eventpipes.arns import pipe_arn
from eventpipes.targets.kinds import TargetKind, parse_uri
from eventpipes.retry import DeadLetterConfig, INFINITE, InvalidRetryPolicy, RetryPolicy, dead_letter_config_field

#: CreatePipe's name rule: 1..64 of these characters.
PIPE_NAME_PATTERN: Final = r"^[\.\-_A-Za-z0-9]+$"
TOPIC_PATTERN: Final = r"^[\.\-_A-Za-z0-9]+$"

#: EventBridge's 6 MB invocation payload limit: a batch closes before it would pass it.
MAX_BATCH_PAYLOAD_BYTES: Final = 6 * 1024 * 1024


PipeName = Annotated[str, Field(min_length=1, max_length=64, pattern=PIPE_NAME_PATTERN)]
TopicName = Annotated[str, Field(min_length=1, max_length=249, pattern=TOPIC_PATTERN)]

StartingPosition = Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]
DesiredState = Literal["RUNNING", "STOPPED"]


class Model(BaseModel):
    """Frozen, EventBridge-named, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)


PipeDeadLetterConfig = Annotated[DeadLetterConfig | None, BeforeValidator(dead_letter_config_field)]


class Filter(Model):
    """One event pattern; a record passes the filter when it matches any of them."""

    pattern: str = Field(alias="Pattern", min_length=0, max_length=4096)
    """The pattern as JSON text (as CreatePipe takes it); a mapping in YAML is accepted too."""

    @field_validator("pattern", mode="before")
    @classmethod
    def _mapping_to_text(cls, value: Any) -> Any:
        return json.dumps(value) if isinstance(value, dict) else value


class FilterCriteria(Model):
    """Up to 5 patterns (EventBridge's limit per pipe)."""

    filters: tuple[Filter, ...] = Field(default=(), alias="Filters", max_length=5)


class StreamParameters(Model):
    """The stream source parameters, with EventBridge's ranges and defaults."""

    batch_size: int = Field(default=100, alias="BatchSize", ge=1, le=10000)
    """Most records in one batch."""
    maximum_batching_window_in_seconds: int = Field(default=0, alias="MaximumBatchingWindowInSeconds", ge=0, le=300)
    """Longest a batch waits to fill; 0 sends what one fetch returned at once."""
    parallelization_factor: int = Field(default=1, alias="ParallelizationFactor", ge=1, le=10)
    """Batches of one partition processed at once; one key always stays in one lane."""
    starting_position: StartingPosition = Field(default="LATEST", alias="StartingPosition")
    """Where a consumer group without committed offsets starts."""
    starting_position_timestamp: float | None = Field(default=None, alias="StartingPositionTimestamp")
    """Seconds since the epoch, for ``AT_TIMESTAMP``."""
    maximum_record_age_in_seconds: int = Field(default=INFINITE, alias="MaximumRecordAgeInSeconds", ge=-1, le=604800)
    """Older records are not retried but dead-lettered; -1: no limit. EventBridge refuses 0..59; so does this."""
    maximum_retry_attempts: int = Field(default=INFINITE, alias="MaximumRetryAttempts", ge=-1, le=10000)
    """Retries of a failing batch; -1: retry until the record expires (or for ever)."""
    on_partial_batch_item_failure: Literal["AUTOMATIC_BISECT"] | None = Field(default=None, alias="OnPartialBatchItemFailure")
    """``AUTOMATIC_BISECT``: halve a failing batch until the failing record is alone."""
    dead_letter_config: PipeDeadLetterConfig = Field(default=None, alias="DeadLetterConfig")
    """``{Arn: <Kafka topic>}``: where records go once retrying gives up."""
    consumer_group_id: str | None = Field(default=None, alias="ConsumerGroupID", min_length=1, max_length=200,
                                          pattern=r"^[a-zA-Z0-9\-/*:_+=.@]+$")
    """Consumer group; default ``eventpipes.pipe.<pipe>``. Its committed offsets win over StartingPosition."""

    @model_validator(mode="after")
    def _timestamp_with_at_timestamp(self) -> "StreamParameters":
        if self.starting_position == "AT_TIMESTAMP" and self.starting_position_timestamp is None:
            raise ValueError("StartingPosition AT_TIMESTAMP needs StartingPositionTimestamp")
        if self.starting_position != "AT_TIMESTAMP" and self.starting_position_timestamp is not None:
            raise ValueError("StartingPositionTimestamp applies to StartingPosition AT_TIMESTAMP only")
        if 0 <= self.maximum_record_age_in_seconds < 60:
            raise ValueError("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800")
        return self

    def retry_policy(self) -> RetryPolicy:
        """The shared :class:`~eventpipes.retry.RetryPolicy` for these limits."""
        return RetryPolicy.for_pipe(maximum_retry_attempts=self.maximum_retry_attempts,
                                    maximum_record_age_in_seconds=self.maximum_record_age_in_seconds)


class SelfManagedKafkaParameters(StreamParameters):
    """A Kafka topic, delivered in EventBridge's self-managed Kafka record shape."""

    topic_name: TopicName | None = Field(default=None, alias="TopicName")
    """The topic; defaults to ``Source``."""


class DynamoDBStreamParameters(StreamParameters):
    """A change stream, delivered in the DynamoDB Streams record shape."""

    change_event_format: Literal["DYNAMODB", "DEBEZIUM"] = Field(default="DYNAMODB", alias="ChangeEventFormat")
    """What the topic holds: DynamoDB Streams records as JSON, or Debezium change events."""
    stream_view_type: Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"] = Field(
        default="NEW_AND_OLD_IMAGES", alias="StreamViewType")
    """For Debezium topics: which images records carry (DynamoDB records carry their own)."""


class SourceParameters(Model):
    filter_criteria: FilterCriteria | None = Field(default=None, alias="FilterCriteria")
    self_managed_kafka: SelfManagedKafkaParameters | None = Field(default=None, alias="SelfManagedKafkaParameters")
    dynamodb_stream: DynamoDBStreamParameters | None = Field(default=None, alias="DynamoDBStreamParameters")

    @model_validator(mode="after")
    def _at_most_one_kind(self) -> "SourceParameters":
        if self.self_managed_kafka is not None and self.dynamodb_stream is not None:
            raise ValueError("give SelfManagedKafkaParameters or DynamoDBStreamParameters, not both")
        return self

    @property
    def stream(self) -> StreamParameters:
        """The stream parameters in force (Kafka defaults when none are given)."""
        return self.dynamodb_stream or self.self_managed_kafka or SelfManagedKafkaParameters()


def _target_uri(value: str) -> str:
    parse_uri(value)  # raises ValueError naming the forms a target takes (the kinds table)
    return value


def _enrichment_uri(value: str) -> str:
    parse_uri(value, enrichment=True)
    return value


class EventBridgeEventBusParameters(Model):
    """How records become events on a bus target (EventBridge's names)."""

    detail_type: str | None = Field(default=None, alias="DetailType", min_length=1, max_length=128)
    """Default ``Event from <source kind>``."""
    source: str | None = Field(default=None, alias="Source", min_length=1, max_length=256)
    """Default ``Pipe <pipe>``."""


class TargetParameters(Model):
    input_template: str | None = Field(default=None, alias="InputTemplate", max_length=8192)
    """Applied to each record: ``<$.path>`` and the ``<aws.pipes.*>`` variables."""
    eventbridge_event_bus: EventBridgeEventBusParameters | None = Field(default=None, alias="EventBridgeEventBusParameters")


class EnrichmentParameters(Model):
    input_template: str | None = Field(default=None, alias="InputTemplate", max_length=8192)


class Pipe(Model):
    """One pipe: source → filter → enrichment → target."""

    name: PipeName = Field(alias="Name")
    description: str | None = Field(default=None, alias="Description", max_length=512)
    desired_state: DesiredState = Field(default="RUNNING", alias="DesiredState")
    source: TopicName = Field(alias="Source")
    """The Kafka topic the pipe reads."""
    source_parameters: SourceParameters = Field(default_factory=SourceParameters, alias="SourceParameters")
    enrichment: Annotated[str, AfterValidator(_enrichment_uri)] | None = Field(default=None, alias="Enrichment")
    enrichment_parameters: EnrichmentParameters | None = Field(default=None, alias="EnrichmentParameters")
    target: Annotated[str, AfterValidator(_target_uri)] = Field(alias="Target")
    target_parameters: TargetParameters = Field(default_factory=TargetParameters, alias="TargetParameters")

    @model_validator(mode="after")
    def _bus_parameters_for_bus_targets(self) -> "Pipe":
        if self.target_parameters.eventbridge_event_bus is not None and self.target_kind.name != "EventBus":
            raise ValueError("TargetParameters.EventBridgeEventBusParameters apply to bus: targets only")
        if self.enrichment_parameters is not None and self.enrichment is None:
            raise ValueError("EnrichmentParameters need an Enrichment")
        return self

    @property
    def stream(self) -> StreamParameters:
        return self.source_parameters.stream

    @property
    def target_kind(self) -> TargetKind:
        """The target's row of the kinds table (``eventpipes.targets.kinds``)."""
        return parse_uri(self.target)[0]

    @property
    def source_topic(self) -> str:
        kafka = self.source_parameters.self_managed_kafka
        return kafka.topic_name if kafka is not None and kafka.topic_name else self.source

    @property
    def source_kind(self) -> Literal["kafka", "dynamodb", "debezium"]:
        dynamodb = self.source_parameters.dynamodb_stream
        if dynamodb is None:
            return "kafka"
        return "debezium" if dynamodb.change_event_format == "DEBEZIUM" else "dynamodb"

    @property
    def consumer_group(self) -> str:
        """``ConsumerGroupID``, or the pipe's own group ``eventpipes.pipe.<name>``."""
        return self.stream.consumer_group_id or f"eventpipes.pipe.{self.name}"

    @property
    def filters(self) -> tuple[str, ...]:
        criteria = self.source_parameters.filter_criteria
        return tuple(f.pattern for f in criteria.filters) if criteria is not None else ()

    def arn(self, region: str, account: str) -> str:
        return pipe_arn(region, account, self.name)
