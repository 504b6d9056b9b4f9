"""The topology: buses, connections, API destinations, rules and their targets.

Keys are EventBridge's own (``EventBusName``, ``EventPattern``, ``InputTransformer``),
attributes are snake_case; aliases map the two here and nowhere else. Models are
frozen and forbid unknown keys, so a typo is an error with its location, not a
silently ignored setting. Cross-references (a rule's bus, a target's API
destination) are checked in ``eventpipes.topology.checks``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator, model_validator

from eventpipes.arns import DEFAULT_BUS
from eventpipes.targets.kinds import KINDS, YAML_KEYS, TargetKind, kind_for_yaml
from eventpipes.pipes.model import Pipe
from eventpipes.archive.model import Archive
from eventpipes.retry import DeadLetterConfig, InvalidRetryPolicy, RetryPolicy, dead_letter_config_field
from eventpipes.schemas.governance import SchemaGovernance
from eventpipes.schedules import InvalidScheduleExpression, Schedule, parse_schedule

#: EventBridge's charset for rule, target, connection and API destination names.
NAME_PATTERN = r"^[\.\-_A-Za-z0-9]+$"
#: Bus names: EventBridge's charset without '/', which a Kafka topic name cannot hold.
BUS_NAME_PATTERN = r"^[\.\-_A-Za-z0-9]+$"
#: Kafka topic names: 1..249 of these characters.
TOPIC_PATTERN = r"^[\.\-_A-Za-z0-9]+$"

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
BusName = Annotated[str, Field(min_length=1, max_length=234, pattern=BUS_NAME_PATTERN)]
TopicName = Annotated[str, Field(min_length=1, max_length=249, pattern=TOPIC_PATTERN)]

#: The parts of a topology a worker can run (``eventpipes run --role``): its routers
#: (buses, replays, archives), its targets' delivery, its pipes.
WORKER_ROLES: tuple[str, ...] = ("routing", "delivery", "pipes")


class Model(BaseModel):
    """Frozen, EventBridge-named, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)


class EventBus(Model):
    """A bus: Kafka topic ``eventpipes.bus.<Name>``."""

    name: BusName = Field(alias="Name")
    """Bus name."""
    description: str | None = Field(default=None, alias="Description", max_length=512)
    """Free text."""
    partitions: int = Field(default=3, alias="Partitions", ge=1, le=1000)
    """Partitions of the bus topic (its parallelism); an existing topic keeps its own."""
    retention_hours: int = Field(default=168, alias="RetentionHours", ge=1, le=87600)
    """How long the bus topic keeps events (Kafka ``retention.ms``); 7 days by default, as Kafka's."""
    schema_governance: SchemaGovernance | None = Field(default=None, alias="SchemaGovernance")
    """Validate PutEvents details against the schema registry and store them as Avro (``eventpipes.schemas.governance``)."""


class KeyValue(Model):
    """An OAuth or invocation HTTP parameter, as CreateConnection takes them."""

    key: str = Field(alias="Key", min_length=1, max_length=512)
    value: str = Field(alias="Value", max_length=512)
    is_value_secret: bool = Field(default=False, alias="IsValueSecret")


class ConnectionHttpParameters(Model):
    """Extra headers, query string and body parameters sent with every request."""

    header_parameters: tuple[KeyValue, ...] = Field(default=(), alias="HeaderParameters")
    query_string_parameters: tuple[KeyValue, ...] = Field(default=(), alias="QueryStringParameters")
    body_parameters: tuple[KeyValue, ...] = Field(default=(), alias="BodyParameters")


class BasicAuthParameters(Model):
    username: str = Field(alias="Username", min_length=1, max_length=512)
    password: str = Field(alias="Password", min_length=1, max_length=512)


class ApiKeyAuthParameters(Model):
    api_key_name: str = Field(alias="ApiKeyName", min_length=1, max_length=512)
    api_key_value: str = Field(alias="ApiKeyValue", min_length=1, max_length=512)


class ClientParameters(Model):
    client_id: str = Field(alias="ClientID", min_length=1, max_length=512)
    client_secret: str = Field(alias="ClientSecret", min_length=1, max_length=512)


class OAuthParameters(Model):
    authorization_endpoint: str = Field(alias="AuthorizationEndpoint", min_length=1, max_length=2048)
    http_method: Literal["GET", "POST", "PUT"] = Field(alias="HttpMethod")
    client_parameters: ClientParameters = Field(alias="ClientParameters")
    oauth_http_parameters: ConnectionHttpParameters = Field(default_factory=ConnectionHttpParameters, alias="OAuthHttpParameters")


class AuthParameters(Model):
    basic: BasicAuthParameters | None = Field(default=None, alias="BasicAuthParameters")
    api_key: ApiKeyAuthParameters | None = Field(default=None, alias="ApiKeyAuthParameters")
    oauth: OAuthParameters | None = Field(default=None, alias="OAuthParameters")
    invocation_http_parameters: ConnectionHttpParameters | None = Field(default=None, alias="InvocationHttpParameters")


#: A connection secret's value meaning "the secret the control plane's store holds": what
#: ``eventpipes export`` writes in place of each secret, and what ``eventpipes apply`` reads as
#: "keep the stored secret" (a file that says it cannot be ``run``: the secret is not in it).
STORED_SECRET: Final = "<stored secret>"

AuthorizationType = Literal["BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"]
_AUTH_FIELD = {"BASIC": ("basic", "BasicAuthParameters"), "API_KEY": ("api_key", "ApiKeyAuthParameters"),
               "OAUTH_CLIENT_CREDENTIALS": ("oauth", "OAuthParameters")}


class Connection(Model):
    """How HTTP targets authenticate (EventBridge CreateConnection)."""

    name: Name = Field(alias="Name")
    description: str | None = Field(default=None, alias="Description", max_length=512)
    authorization_type: AuthorizationType = Field(alias="AuthorizationType")
    auth_parameters: AuthParameters = Field(alias="AuthParameters")
    unusable: str | None = Field(default=None, alias="Unusable")
    """Set by the control plane when this process cannot decrypt the connection's secrets
    (no or another ``EVENTPIPES_CONTROL_KEY``): why. Its secrets are then placeholders and
    its targets fail, retryably, with this reason instead of sending wrong credentials."""

    @model_validator(mode="after")
    def _parameters_match_type(self) -> "Connection":
        attribute, key = _AUTH_FIELD[self.authorization_type]
        if getattr(self.auth_parameters, attribute) is None:
            raise ValueError(f"AuthorizationType {self.authorization_type} needs AuthParameters.{key}")
        others = [k for t, (a, k) in _AUTH_FIELD.items() if t != self.authorization_type and getattr(self.auth_parameters, a) is not None]
        if others:
            raise ValueError(f"AuthorizationType {self.authorization_type} takes no AuthParameters.{others[0]}")
        return self


HttpMethod = Literal["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]


class ApiDestination(Model):
    """An HTTP endpoint targets can invoke (EventBridge CreateApiDestination)."""

    name: Name = Field(alias="Name")
    description: str | None = Field(default=None, alias="Description", max_length=512)
    connection_name: Name = Field(alias="ConnectionName")
    """The connection whose authorization every request carries (EventBridge's ConnectionArn)."""
    invocation_endpoint: str = Field(alias="InvocationEndpoint", min_length=1, max_length=2048, pattern=r"^https?://")
    """URL; each ``*`` is replaced by the target's ``PathParameterValues`` in order."""
    http_method: HttpMethod = Field(alias="HttpMethod")
    invocation_rate_limit_per_second: int = Field(default=300, alias="InvocationRateLimitPerSecond", ge=1)
    """Requests per second at most, across every target using this destination."""


class InputTransformerSpec(Model):
    """``InputPathsMap`` + ``InputTemplate``, as on an EventBridge target."""

    input_paths_map: dict[str, str] = Field(default_factory=dict, alias="InputPathsMap")
    input_template: str = Field(alias="InputTemplate", min_length=1, max_length=8192)


def _retry_policy(value: Any) -> Any:
    if isinstance(value, RetryPolicy):
        return value
    try:
        return RetryPolicy.from_dict(value if value is not None else {}, flavour="target")
    except InvalidRetryPolicy as error:
        raise ValueError(f"{error.reason} ({error.path})") from error


#: Declared once in eventpipes.retry (shared with Pipes); read from EventBridge's keys here.
TargetRetryPolicy = Annotated[RetryPolicy, BeforeValidator(_retry_policy)]
TargetDeadLetterConfig = Annotated[DeadLetterConfig | None, BeforeValidator(dead_letter_config_field)]


class HttpParameters(Model):
    """Per-target HTTP parameters for API destination targets."""

    header_parameters: dict[str, str] = Field(default_factory=dict, alias="HeaderParameters")
    query_string_parameters: dict[str, str] = Field(default_factory=dict, alias="QueryStringParameters")
    path_parameter_values: tuple[str, ...] = Field(default=(), alias="PathParameterValues")


def _attribute(yaml_key: str) -> str:
    """``ApiDestination`` → ``api_destination``: the attribute a kind's YAML key is read into."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", yaml_key).lower()


_INPUT_FORMS = {"Input": "input", "InputPath": "input_path", "InputTransformer": "input_transformer"}


class _TargetBase(Model):
    """Where a rule sends matching events: exactly one kind's key (``eventpipes.targets.kinds``), and its settings.

    The kinds' keys (``Topic``, ``EventBus``, ``ApiDestination``, ``Function``) are fields made
    from the kinds table below, so that a new kind is a row there, not a field here.
    """

    id: Name = Field(alias="Id")
    partition_key_path: str | None = Field(default=None, alias="PartitionKeyPath")
    """For Topic targets: JSONPath into the event whose value keys the record (as Kinesis targets)."""
    message_group_id: str | None = Field(default=None, alias="MessageGroupId", min_length=1, max_length=100)
    """For Topic targets: one key for every record (an SQS FIFO queue's message group: one partition, in order)."""
    input: str | None = Field(default=None, alias="Input", max_length=8192)
    input_path: str | None = Field(default=None, alias="InputPath", max_length=256)
    input_transformer: InputTransformerSpec | None = Field(default=None, alias="InputTransformer")
    http_parameters: HttpParameters | None = Field(default=None, alias="HttpParameters")
    retry_policy: TargetRetryPolicy = Field(default_factory=RetryPolicy.for_target, alias="RetryPolicy", validate_default=True)
    """EventBridge's ``MaximumRetryAttempts`` (0..185, default 185) and ``MaximumEventAgeInSeconds`` (60..86400, default 86400)."""
    dead_letter_config: TargetDeadLetterConfig = Field(default=None, alias="DeadLetterConfig")
    """``{Arn: <Kafka topic>}``: where events go once retries are exhausted (EventBridge: an SQS queue ARN)."""

    @model_validator(mode="after")
    def _one_destination_and_one_input_form(self) -> "_TargetBase":
        kinds = [key for key in YAML_KEYS if getattr(self, _attribute(key), None) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a target needs exactly one of {', '.join(YAML_KEYS)}; got {', '.join(kinds) or 'none'}")
        forms = [name for name, attribute in _INPUT_FORMS.items() if getattr(self, attribute) is not None]
        if len(forms) > 1:
            raise ValueError(f"Input, InputPath and InputTransformer are mutually exclusive; got {' and '.join(forms)}")
        if self.http_parameters is not None and self.kind != "ApiDestination":
            raise ValueError("HttpParameters apply to ApiDestination targets only")
        if self.partition_key_path is not None and self.kind != "Topic":
            raise ValueError("PartitionKeyPath applies to Topic targets only")
        if self.message_group_id is not None and self.kind != "Topic":
            raise ValueError("MessageGroupId applies to Topic targets only")
        if self.message_group_id is not None and self.partition_key_path is not None:
            raise ValueError("PartitionKeyPath and MessageGroupId are mutually exclusive")
        return self

    @property
    def kind(self) -> str:
        """The YAML key that names the target's kind (``Topic``, ``EventBus``, ...)."""
        return next(key for key in YAML_KEYS if getattr(self, _attribute(key), None) is not None)

    @property
    def kind_row(self) -> TargetKind:
        """The kind's row of the kinds table."""
        return kind_for_yaml(self.kind)

    @property
    def destination(self) -> str:
        """The topic, bus, API destination or ``module:function`` the target names."""
        value: str = getattr(self, _attribute(self.kind))
        return value

    def destination_of(self, kind: str) -> str | None:
        """The destination if the target is of ``kind``, else None."""
        return self.destination if self.kind == kind else None


def _kind_fields() -> dict[str, Any]:
    return {
        _attribute(kind.yaml_key): (str | None, Field(default=None, alias=kind.yaml_key, pattern=kind.destination,
                                                      description=kind.describe))
        for kind in KINDS if kind.yaml_key
    }


if TYPE_CHECKING:
    Target = _TargetBase
else:
    Target = create_model("Target", __base__=_TargetBase, __module__=__name__, __doc__=_TargetBase.__doc__,
                          **_kind_fields())


#: EventBridge's PutRule message for a rule with neither a pattern nor a schedule.
PATTERN_OR_SCHEDULE = "Parameter(s) EventPattern or ScheduleExpression must be specified."


class Rule(Model):
    """An EventBridge rule: an event pattern on a bus, a schedule, or both, and up to 5 targets.

    A rule with only a ``ScheduleExpression`` matches no event; it fires on its schedule
    (``eventpipes.kafka.schedule_ticker``). The expression is checked where it is read, so a
    topology with an invalid one is refused with its location; that a scheduled rule is on
    the ``default`` bus is checked in ``eventpipes.topology.checks``.
    """

    name: Name = Field(alias="Name")
    event_bus_name: BusName = Field(default=DEFAULT_BUS, alias="EventBusName")
    description: str | None = Field(default=None, alias="Description", max_length=512)
    state: Literal["ENABLED", "DISABLED"] = Field(default="ENABLED", alias="State")
    event_pattern: dict[str, Any] | None = Field(default=None, alias="EventPattern")
    """The pattern, as a mapping or as JSON text (as CloudFormation and the AWS CLI take it); None: a scheduled rule only."""
    schedule_expression: str | None = Field(default=None, alias="ScheduleExpression", max_length=256)
    """``rate(...)`` or ``cron(...)``, as EventBridge writes them (``eventpipes.schedules``); None: not scheduled."""
    targets: tuple[Target, ...] = Field(default=(), alias="Targets", max_length=5)

    @field_validator("schedule_expression")
    @classmethod
    def _valid_schedule(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_schedule(value)
            except InvalidScheduleExpression as error:
                raise ValueError(f"{error.message} ({error.reason})") from error
        return value

    @model_validator(mode="after")
    def _pattern_or_schedule(self) -> "Rule":
        if self.event_pattern is None and self.schedule_expression is None:
            raise ValueError(PATTERN_OR_SCHEDULE)
        return self

    @property
    def schedule(self) -> Schedule | None:
        """The parsed ``ScheduleExpression`` (validated at load), or None."""
        return None if self.schedule_expression is None else parse_schedule(self.schedule_expression)

    @field_validator("event_pattern", mode="before")
    @classmethod
    def _pattern_from_json_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError(f"EventPattern is not valid JSON: {exc}") from exc
        return value


class Topology(Model):
    """Everything ``eventpipes run`` executes."""

    event_buses: tuple[EventBus, ...] = Field(default=(), alias="EventBuses")
    connections: tuple[Connection, ...] = Field(default=(), alias="Connections")
    api_destinations: tuple[ApiDestination, ...] = Field(default=(), alias="ApiDestinations")
    rules: tuple[Rule, ...] = Field(default=(), alias="Rules")
    archives: tuple[Archive, ...] = Field(default=(), alias="Archives")
    """Archives of buses' events (see ``eventpipes.archive.model.Archive``)."""
    pipes: tuple[Pipe, ...] = Field(default=(), alias="Pipes")
    """EventBridge Pipes (see ``eventpipes.pipes.model``)."""

    def bus(self, name: str) -> EventBus:
        """The declared bus, or the implicit ``default`` bus."""
        for bus in self.event_buses:
            if bus.name == name:
                return bus
        if name == DEFAULT_BUS:
            return EventBus(Name=DEFAULT_BUS)
        raise KeyError(name)

    def bus_names(self) -> list[str]:
        """Every bus a rule reads or a target writes, declared or implicit."""
        names = {b.name for b in self.event_buses} | {r.event_bus_name for r in self.rules}
        names |= {t.destination for r in self.rules for t in r.targets if t.kind == "EventBus"}
        names |= {a.event_bus_name for a in self.archives}
        return sorted(names)

    def rules_on(self, bus: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.event_bus_name == bus]

    def scheduled_rules(self) -> list[Rule]:
        """The ENABLED rules with a ``ScheduleExpression`` (on the ``default`` bus, as checked at load)."""
        return [rule for rule in self.rules if rule.schedule_expression is not None and rule.state == "ENABLED"]

    def api_destination(self, name: str) -> ApiDestination:
        return next(d for d in self.api_destinations if d.name == name)

    def connection(self, name: str) -> Connection:
        return next(c for c in self.connections if c.name == name)
