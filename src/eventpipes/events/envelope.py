"""The EventBridge event envelope, and its JSON form as it travels on a bus."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eventpipes.events import jsontext
from eventpipes.events.errors import InvalidEvent

#: The only envelope version EventBridge has ever written.
ENVELOPE_VERSION = "0"

#: Envelope fields every event carries, in EventBridge's order.
REQUIRED_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC at whole seconds, as EventBridge writes ``time``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a naive one is taken as UTC.

    Raises:
        ValueError: the text is not an RFC 3339 timestamp.
    """
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Event:
    """One EventBridge event, exactly the envelope EventBridge delivers."""

    source: str
    """Who emitted the event (``Source`` in PutEvents)."""
    detail_type: str
    """What kind of event it is (``DetailType`` in PutEvents, ``detail-type`` in JSON)."""
    detail: dict[str, Any]
    """The event's payload, always a JSON object."""
    account: str
    """The 12-digit account the bus belongs to."""
    region: str
    """The region the bus lives in."""
    time: str
    """When the event happened, RFC 3339 UTC (``Time`` in PutEvents, else when it was put)."""
    resources: tuple[str, ...] = ()
    """ARNs or other identifiers of the resources involved."""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    """A UUID unique to this event."""
    version: str = ENVELOPE_VERSION
    """Envelope version, always ``"0"``."""
    replay_name: str | None = None
    """Set on events re-published by a replay (``replay-name`` in JSON)."""

    def to_dict(self) -> dict[str, Any]:
        """The envelope with EventBridge's keys, in EventBridge's order."""
        body: dict[str, Any] = {
            "version": self.version,
            "id": self.id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": self.account,
            "time": self.time,
            "region": self.region,
            "resources": list(self.resources),
            "detail": self.detail,
        }
        if self.replay_name is not None:
            body["replay-name"] = self.replay_name
        return body

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON, the form an event takes on a bus topic.

        A detail nested up to ``jsontext.MAX_DETAIL_DEPTH`` levels is written whatever the
        recursion limit.

        Raises:
            InvalidEvent: the detail holds a lone surrogate (no UTF-8 form) or is nested
                deeper than an event may be; ``parse_detail`` refuses both, so only an
                ``Event`` built by hand can.
        """
        try:
            return jsontext.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError as exc:
            raise InvalidEvent(f"event holds a lone surrogate, which is not valid Unicode: {exc.reason}", field="detail") from exc
        except jsontext.JsonTooDeep as exc:
            raise InvalidEvent(f"event is nested more than {jsontext.MAX_EVENT_DEPTH} levels deep", field="detail") from exc

    @staticmethod
    def check(body: Any) -> dict[str, Any]:
        """``body`` itself, if it is a valid envelope: ``from_dict``'s checks without building an Event.

        Raises:
            InvalidEvent: a field is missing or has the wrong type.
        """
        if type(body) is dict and _well_formed(body):  # the router's path for every event: one expression
            return body
        if not isinstance(body, dict):
            raise InvalidEvent("an event must be a JSON object")
        for name in REQUIRED_FIELDS:
            if name not in body:
                raise InvalidEvent(f"event field {name!r} is missing", field=name)
        for name in ("version", "id", "detail-type", "source", "account", "time", "region"):
            if not isinstance(body[name], str):
                raise InvalidEvent(f"event field {name!r} must be a string", field=name)
        resources = body["resources"]
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise InvalidEvent("event field 'resources' must be an array of strings", field="resources")
        if not isinstance(body["detail"], dict):
            raise InvalidEvent("event field 'detail' must be a JSON object", field="detail")
        replay_name = body.get("replay-name")
        if replay_name is not None and not isinstance(replay_name, str):
            raise InvalidEvent("event field 'replay-name' must be a string", field="replay-name")
        return body

    @classmethod
    def from_dict(cls, body: Any) -> "Event":
        """Read an envelope, checking every field EventBridge requires.

        Raises:
            InvalidEvent: a field is missing or has the wrong type.
        """
        cls.check(body)
        resources = body["resources"]
        return cls(
            version=body["version"],
            id=body["id"],
            detail_type=body["detail-type"],
            source=body["source"],
            account=body["account"],
            time=body["time"],
            region=body["region"],
            resources=tuple(resources),
            detail=body["detail"],
            replay_name=body.get("replay-name"),
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> "Event":
        """Parse an envelope from JSON text.

        Raises:
            InvalidEvent: the text is not JSON, is nested deeper than an event can be
                (``jsontext.MAX_EVENT_DEPTH``), or is not a valid envelope.
        """
        try:
            body = jsontext.loads(data, limit=jsontext.MAX_EVENT_DEPTH)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, JsonTooDeep
            raise InvalidEvent(f"event is not valid JSON: {exc}") from exc
        return cls.from_dict(body)


def _well_formed(body: dict[str, Any]) -> bool:
    """Whether parsed JSON ``body`` passes ``Event.check`` (False also when it may not: the precise checks then say why)."""
    get = body.get
    resources = get("resources")
    replay_name = get("replay-name")
    return (type(get("version")) is str and type(get("id")) is str and type(get("detail-type")) is str
            and type(get("source")) is str and type(get("account")) is str and type(get("time")) is str
            and type(get("region")) is str and type(get("detail")) is dict and type(resources) is list
            and (replay_name is None or type(replay_name) is str)
            and (not resources or all(type(r) is str for r in resources)))
