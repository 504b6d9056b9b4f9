"""Retry policy, backoff with jitter, and the dead-letter record: shared by rule targets and pipes.

A failed delivery is retried after a randomised, growing delay until the policy's
attempts or the event's age run out; then, or at once for an error retrying cannot fix,
the event goes to the dead-letter topic with headers saying why, as EventBridge sends
it to a DLQ with message attributes.

Limits and defaults are EventBridge's. Rule targets (``RetryPolicy``):
``MaximumRetryAttempts`` 0 to 185 (default 185), ``MaximumEventAgeInSeconds`` 60 to
86400 (default 86400, 24 hours). Pipes (stream source parameters):
``MaximumRetryAttempts`` -1 to 10000 and ``MaximumRecordAgeInSeconds`` -1 to 604800,
both defaulting to -1, which means infinite.

Use::

    policy = RetryPolicy.from_dict(target["RetryPolicy"])          # or RetryPolicy.for_pipe(...)
    decision = policy.decide(attempts_made=1, event_age_seconds=3.2, retryable=is_retryable(error))
    if decision.retry:
        await sleep(decision.delay_seconds)
    else:
        info = DeadLetterInfo.from_decision(decision, error_code="ERROR_FROM_TARGET",
                                            error_message=str(error), rule_arn=..., target_arn=...)
        produce(dlq.topic, key, original_event_bytes, dead_letter_headers(info))

Differences from EventBridge
----------------------------
* EventBridge does not publish its backoff's base or cap; :class:`Backoff` documents ours.
* ``DeadLetterConfig.Arn`` names a Kafka topic, not an SQS queue ARN.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Final, Literal, Mapping

from eventpipes.errors import ValidationException

#: Value of ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds`` meaning "no limit" (Pipes only).
INFINITE: Final = -1


class InvalidRetryPolicy(ValidationException):
    """A retry policy or dead-letter config EventBridge would reject.

    ``str(error)`` is one line: ``ValidationException: <what> (at <path>)``.

    Attributes:
        path: the parameter at fault in EventBridge's names, e.g.
            ``RetryPolicy.MaximumRetryAttempts`` or ``DeadLetterConfig.Arn``.
        reason: the message alone.
        input_error: always true: the caller's input is wrong (the CLI exits 2).
    """

    input_error = True

    def __init__(self, reason: str, *, path: str) -> None:
        super().__init__(f"{reason} (at {path})")
        self.path = path
        self.reason = reason


class ExhaustedRetryCondition(StrEnum):
    """Why retrying stopped; EventBridge's ``EXHAUSTED_RETRY_CONDITION`` values."""

    MAXIMUM_RETRY_ATTEMPTS = "MaximumRetryAttempts"
    """Every allowed retry was made."""
    MAXIMUM_EVENT_AGE = "MaximumEventAgeInSeconds"
    """The event grew too old to retry (Pipes call the limit ``MaximumRecordAgeInSeconds``)."""


Flavour = Literal["target", "pipe"]

#: Per flavour: (attempts key, attempts range, age key, age range, defaults). Ranges are inclusive.
_LIMITS: Final[dict[str, tuple[str, tuple[int, int], str, tuple[int, int], tuple[int, int]]]] = {
    "target": ("MaximumRetryAttempts", (0, 185), "MaximumEventAgeInSeconds", (60, 86400), (185, 86400)),
    "pipe": ("MaximumRetryAttempts", (-1, 10000), "MaximumRecordAgeInSeconds", (-1, 604800), (-1, -1)),
}


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter.

    The delay before retry *n* (1 for the first retry) is drawn uniformly from
    ``[0, min(cap, base * 2 ** (n - 1)))``: "full jitter" from the AWS Architecture
    Blog's *Exponential Backoff And Jitter*, which EventBridge names for its retries.
    Full jitter spreads the retries of many events failing together (a target that
    went down) across the whole window, so they do not return in a herd, and it had
    the least total work of the variants that post compared.
    """

    base_seconds: float = 1.0
    """Ceiling of the first retry's delay. One second: a brief blip (a leader election,
    a restart) is usually over by then, and the first retries stay quick."""
    cap_seconds: float = 900.0
    """Largest ceiling. Fifteen minutes, because full jitter averages half the ceiling:
    EventBridge's default 185 retries then span about 185 x 450 s = 23 hours, close to
    its default 24-hour ``MaximumEventAgeInSeconds``, so neither limit makes the other moot."""
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    """Source of uniform numbers in [0, 1); inject a seeded one (``random.Random(7).random``) in tests."""

    def __post_init__(self) -> None:
        if not 0 < self.base_seconds <= self.cap_seconds:
            raise ValueError("Backoff needs 0 < base_seconds <= cap_seconds")

    def ceiling(self, attempt: int) -> float:
        """The largest delay before retry number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"retry numbers start at 1, not {attempt}")
        # Past 2**64 the float would only ever be capped; stop doubling before it overflows.
        exponent = min(attempt - 1, 64)
        return min(self.cap_seconds, self.base_seconds * 2.0 ** exponent)

    def next_delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): uniform in [0, ceiling)."""
        return self.random() * self.ceiling(attempt)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed delivery: retry after a delay, or give up and dead-letter."""

    retry: bool
    """True: wait :attr:`delay_seconds` and try again. False: send to the dead-letter topic."""
    delay_seconds: float
    """How long to wait before retrying (0 when giving up)."""
    retry_attempts: int
    """Retries made so far, not counting the first attempt: EventBridge's ``RETRY_ATTEMPTS``."""
    exhausted_condition: ExhaustedRetryCondition | None = None
    """When giving up, which limit ran out; ``None`` when retrying, or when the error was
    not retryable (EventBridge then sends the event straight to the DLQ)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a failed delivery is retried. Build with :meth:`for_target` or :meth:`for_pipe`."""

    maximum_retry_attempts: int
    """Retries after the first attempt; 0 means none, :data:`INFINITE` (pipes) means no limit."""
    maximum_event_age_in_seconds: int
    """No retry once the event is this old (a pipe's ``MaximumRecordAgeInSeconds``);
    :data:`INFINITE` (pipes) means no limit."""
    flavour: Flavour = "target"
    """``target`` (a rule target's ``RetryPolicy``) or ``pipe`` (a pipe's source parameters);
    decides the ranges and the EventBridge key names."""
    backoff: Backoff = field(default_factory=Backoff, compare=False, repr=False)
    """Where retry delays come from."""

    def __post_init__(self) -> None:
        attempts_key, attempts_range, age_key, age_range, _ = _LIMITS[self.flavour]
        prefix = "RetryPolicy." if self.flavour == "target" else ""
        _check_range(self.maximum_retry_attempts, attempts_range, f"{prefix}{attempts_key}")
        _check_range(self.maximum_event_age_in_seconds, age_range, f"{prefix}{age_key}")

    @classmethod
    def for_target(cls, *, maximum_retry_attempts: int = 185, maximum_event_age_in_seconds: int = 86400,
                   backoff: Backoff | None = None) -> "RetryPolicy":
        """A rule target's policy (EventBridge's defaults: 185 retries over 24 hours).

        Raises:
            InvalidRetryPolicy: a value is outside EventBridge's range.
        """
        return cls(maximum_retry_attempts, maximum_event_age_in_seconds, "target", backoff or Backoff())

    @classmethod
    def for_pipe(cls, *, maximum_retry_attempts: int = INFINITE, maximum_record_age_in_seconds: int = INFINITE,
                 backoff: Backoff | None = None) -> "RetryPolicy":
        """A pipe's policy (EventBridge Pipes' defaults: retry forever, whatever the age).

        Raises:
            InvalidRetryPolicy: a value is outside EventBridge Pipes' range.
        """
        return cls(maximum_retry_attempts, maximum_record_age_in_seconds, "pipe", backoff or Backoff())

    @classmethod
    def from_dict(cls, body: Any, *, flavour: Flavour = "target", backoff: Backoff | None = None) -> "RetryPolicy":
        """Read EventBridge's keys; absent keys take the flavour's defaults.

        ``{"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}`` for a target,
        ``{"MaximumRetryAttempts": 3, "MaximumRecordAgeInSeconds": 600}`` for a pipe.

        Raises:
            InvalidRetryPolicy: an unknown key, a non-integer, or a value out of range.
        """
        attempts_key, _, age_key, _, (attempts_default, age_default) = _LIMITS[flavour]
        prefix = "RetryPolicy" if flavour == "target" else ""
        if not isinstance(body, Mapping):
            raise InvalidRetryPolicy("must be an object", path=prefix or "SourceParameters")
        for key in body:
            if key not in (attempts_key, age_key):
                raise InvalidRetryPolicy(f"unknown key {key!r}", path=_join(prefix, str(key)))
        values = []
        for key, default in ((attempts_key, attempts_default), (age_key, age_default)):
            value = body.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRetryPolicy(f"must be an integer, not {value!r}", path=_join(prefix, key))
            values.append(value)
        return cls(values[0], values[1], flavour, backoff or Backoff())

    def to_dict(self) -> dict[str, int]:
        """EventBridge's form of this policy."""
        attempts_key, _, age_key, _, _ = _LIMITS[self.flavour]
        return {attempts_key: self.maximum_retry_attempts, age_key: self.maximum_event_age_in_seconds}

    def decide(self, *, attempts_made: int, event_age_seconds: float, retryable: bool) -> Decision:
        """What to do after a delivery attempt failed.

        Checks, in order: a non-retryable error gives up at once; then the attempts
        limit (``MaximumRetryAttempts``); then the age limit: no retry once the event is
        ``MaximumEventAgeInSeconds`` old, nor one whose delay would carry it to that age
        (waiting only to give up would delay the dead letter for nothing).

        Args:
            attempts_made: deliveries tried so far, the failed one included (at least 1).
            event_age_seconds: how old the event is now, from its ingestion.
            retryable: whether the error might go away (:func:`is_retryable`).

        Returns:
            A :class:`Decision`: retry after ``delay_seconds``, or give up with the reason.
        """
        if attempts_made < 1:
            raise ValueError(f"attempts_made counts the failed attempt, so it is at least 1, not {attempts_made}")
        retries_made = attempts_made - 1
        if not retryable:
            return Decision(False, 0.0, retries_made)
        limit = self.maximum_retry_attempts
        if limit != INFINITE and retries_made >= limit:
            return Decision(False, 0.0, retries_made, ExhaustedRetryCondition.MAXIMUM_RETRY_ATTEMPTS)
        delay = self.backoff.next_delay(attempts_made)
        max_age = self.maximum_event_age_in_seconds
        if max_age != INFINITE and event_age_seconds + delay >= max_age:
            return Decision(False, 0.0, retries_made, ExhaustedRetryCondition.MAXIMUM_EVENT_AGE)
        return Decision(True, delay, retries_made)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _check_range(value: int, bounds: tuple[int, int], path: str) -> None:
    low, high = bounds
    # EventBridge's wording for a value out of range, so messages read as its own do.
    if value < low:
        raise InvalidRetryPolicy(f"Value '{value}' failed to satisfy constraint: "
                                 f"Member must have value greater than or equal to {low}", path=path)
    if value > high:
        raise InvalidRetryPolicy(f"Value '{value}' failed to satisfy constraint: "
                                 f"Member must have value less than or equal to {high}", path=path)


def is_retryable(error: BaseException) -> bool:
    """Whether retrying might help: an eventpipes error says so itself (``retryable``);
    any other exception (a timeout, a dropped connection) is taken as transient."""
    return bool(getattr(error, "retryable", True))


#: Kafka's rule for topic names: these characters, at most 249 of them, not "." or "..".
_TOPIC: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")


@dataclass(frozen=True, slots=True)
class DeadLetterConfig:
    """EventBridge's ``DeadLetterConfig``: where events go when delivery gives up.

    The key stays EventBridge's ``Arn`` (in rule targets and in pipes alike) so a
    definition copied from EventBridge only changes its value; a second key such as
    ``Topic`` was rejected so there is one way to write it. The value is a Kafka topic name.
    """

    arn: str
    """The dead-letter Kafka topic's name (``Arn`` in YAML/JSON)."""

    def __post_init__(self) -> None:
        if _TOPIC.fullmatch(self.arn) is None or self.arn in (".", ".."):
            raise InvalidRetryPolicy(
                f"{self.arn!r} is not a Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)", path="DeadLetterConfig.Arn")

    @property
    def topic(self) -> str:
        """The Kafka topic dead letters are written to."""
        return self.arn

    @classmethod
    def from_dict(cls, body: Any) -> "DeadLetterConfig":
        """Read ``{"Arn": "<topic>"}``.

        Raises:
            InvalidRetryPolicy: not that shape, or not a topic name (path ``DeadLetterConfig.Arn``).
        """
        if not isinstance(body, Mapping) or set(body) != {"Arn"} or not isinstance(body["Arn"], str):
            raise InvalidRetryPolicy('must be {"Arn": "<topic name>"}', path="DeadLetterConfig")
        return cls(body["Arn"])

    def to_dict(self) -> dict[str, str]:
        """EventBridge's form."""
        return {"Arn": self.arn}


class DlqErrorCode(StrEnum):
    """``ERROR_CODE`` values of EventBridge's DLQ messages that an eventpipes target can meet."""

    CONNECTION_FAILURE = "CONNECTION_FAILURE"
    ERROR_FROM_TARGET = "ERROR_FROM_TARGET"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    INVALID_JSON = "INVALID_JSON"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    NO_PERMISSIONS = "NO_PERMISSIONS"
    NO_RESOURCE = "NO_RESOURCE"
    RESOURCE_LIMIT_EXCEEDED = "RESOURCE_LIMIT_EXCEEDED"
    THROTTLING = "THROTTLING"
    TIMEOUT = "TIMEOUT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """Why an event was dead-lettered: the values of EventBridge's DLQ message attributes."""

    error_code: str
    """``ERROR_CODE``: what failed, e.g. a :class:`DlqErrorCode` value."""
    error_message: str
    """``ERROR_MESSAGE``: the failure in words."""
    exhausted_retry_condition: str | None
    """``EXHAUSTED_RETRY_CONDITION``: an :class:`ExhaustedRetryCondition` value, or ``None``
    when the error was not retryable and so no limit ran out."""
    retry_attempts: int
    """``RETRY_ATTEMPTS``: retries made, not counting the first attempt."""
    rule_arn: str
    """``RULE_ARN``: the rule (for a pipe, the pipe's ARN)."""
    target_arn: str
    """``TARGET_ARN``: the target that could not be reached."""

    @classmethod
    def from_decision(cls, decision: Decision, *, error_code: str, error_message: str, rule_arn: str,
                      target_arn: str) -> "DeadLetterInfo":
        """The info for a :class:`Decision` that gave up."""
        condition = decision.exhausted_condition.value if decision.exhausted_condition is not None else None
        return cls(error_code, error_message, condition, decision.retry_attempts, rule_arn, target_arn)


def dead_letter_headers(info: DeadLetterInfo) -> list[tuple[str, bytes]]:
    """EventBridge's DLQ message attributes as Kafka headers, UTF-8, in this order.

    ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``,
    ``EXHAUSTED_RETRY_CONDITION`` (only when a limit ran out) and ``RETRY_ATTEMPTS``
    (a decimal number). The record's value is the original event, unchanged.
    """
    headers = [("RULE_ARN", info.rule_arn), ("TARGET_ARN", info.target_arn), ("ERROR_CODE", info.error_code),
               ("ERROR_MESSAGE", info.error_message)]
    if info.exhausted_retry_condition is not None:
        headers.append(("EXHAUSTED_RETRY_CONDITION", info.exhausted_retry_condition))
    headers.append(("RETRY_ATTEMPTS", str(info.retry_attempts)))
    return [(name, value.encode()) for name, value in headers]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One record for the dead-letter topic."""

    topic: str
    """Where it goes."""
    value: bytes
    """The original event, unchanged."""
    headers: list[tuple[str, bytes]]
    """EventBridge's DLQ message attributes (see :func:`dead_letter_headers`)."""
    key: bytes | None = None
    """The original record's key, so dead letters keep the partitioning of the events."""


def dead_letter_record(config: DeadLetterConfig, event: bytes, info: DeadLetterInfo, *,
                       key: bytes | None = None) -> DeadLetterRecord:
    """The record to write for an event whose delivery gave up: the event unchanged, headers saying why."""
    return DeadLetterRecord(topic=config.topic, value=event, headers=dead_letter_headers(info), key=key)


def dead_letter_config_field(value: Any) -> Any:
    """A model field validator: ``{Arn: <topic>}`` (or None) to a ``DeadLetterConfig``.

    Raises:
        ValueError: naming the parameter, which pydantic reports at the field's location.
    """
    if value is None or isinstance(value, DeadLetterConfig):
        return value
    try:
        return DeadLetterConfig.from_dict(value)
    except InvalidRetryPolicy as error:
        raise ValueError(f"{error.reason} ({error.path})") from error
