"""The two wire protocols, as botocore's service models define them.

EventBridge speaks JSON 1.1: ``POST /`` with ``X-Amz-Target: AWSEvents.<Operation>`` and
``Content-Type: application/x-amz-json-1.1``; the answer is the output shape as JSON, and an
error is ``{"__type": code, "message": text}`` with status 400 (500 for AWS's internal errors).

Pipes speaks REST-JSON: the operation is the method and path (``POST /v1/pipes/{Name}`` is
CreatePipe ...), URI labels and query parameters are members of the request beside the JSON
body, and an error is ``{"message": text}`` with ``x-amzn-ErrorType: code`` and the status
Pipes' model gives that error (404 NotFoundException, 409 ConflictException, ...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

from eventpipes.api.errors import PIPES_CODES, PIPES_STATUS, ApiError, serialization, unknown_operation
from eventpipes.events import jsontext

JSON_11 = "application/x-amz-json-1.1"
EVENTS_PREFIX = "AWSEvents."

Protocol = Literal["json", "rest-json"]


@dataclass(frozen=True, slots=True)
class Call:
    """One operation asked for: which service's, its name, and its request members."""

    service: Literal["events", "pipes"]
    """The signing name of the service (SigV4 credential scope)."""
    operation: str
    request: dict[str, Any]


def protocol_of(path: str, target: str | None) -> Protocol:
    """JSON 1.1 when ``X-Amz-Target`` is there; REST-JSON on Pipes' paths; JSON 1.1 otherwise."""
    if target is None and (path.startswith("/v1/pipes") or path.startswith("/tags/")):
        return "rest-json"
    return "json"


def json_call(target: str | None, body: bytes) -> Call:
    """The EventBridge operation a JSON 1.1 request asks for.

    Raises:
        ApiError: no or another service's target (UnknownOperationException), a body that is not a JSON object.
    """
    if not target or not target.startswith(EVENTS_PREFIX) or not target[len(EVENTS_PREFIX):]:
        raise unknown_operation(target or "(no X-Amz-Target)")
    return Call("events", target[len(EVENTS_PREFIX):], parse_body(body))


def parse_body(body: bytes) -> dict[str, Any]:
    """A request body: empty is ``{}``, anything else a JSON object.

    Raises:
        ApiError: SerializationException.
    """
    if not body.strip():
        return {}
    try:
        value = jsontext.loads(body, limit=jsontext.MAX_DETAIL_DEPTH)
    except (ValueError, UnicodeDecodeError):
        raise serialization("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise serialization("The request body must be a JSON object.")
    return value


#: Pipes' routes: (method, path pattern) -> operation. ``{Name}`` is one path segment.
_PIPES_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/v1/pipes/?$"), "ListPipes"),
    ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)/start$"), "StartPipe"),
    ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)/stop$"), "StopPipe"),
    ("POST", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "CreatePipe"),
    ("GET", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "DescribePipe"),
    ("PUT", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "UpdatePipe"),
    ("DELETE", re.compile(r"^/v1/pipes/(?P<Name>[^/]+)$"), "DeletePipe"),
    ("GET", re.compile(r"^/tags/(?P<resourceArn>[^/]+)$"), "ListTagsForResource"),
    ("POST", re.compile(r"^/tags/(?P<resourceArn>[^/]+)$"), "TagResource"),
    ("DELETE", re.compile(r"^/tags/(?P<resourceArn>[^/]+)$"), "UntagResource"),
)
#: ListPipes' query members; Limit is an integer.
_LIST_QUERY = ("NamePrefix", "DesiredState", "CurrentState", "SourcePrefix", "TargetPrefix", "NextToken", "Limit")


def rest_call(method: str, raw_path: str, raw_query: str, body: bytes) -> Call:
    """The Pipes operation a REST-JSON request asks for (labels decoded, query members typed).

    Raises:
        ApiError: no such route (UnknownOperationException), a body that is not a JSON object,
            a Limit that is not an integer.
    """
    for route_method, pattern, operation in _PIPES_ROUTES:
        match = pattern.match(raw_path)
        if match and method.upper() == route_method:
            request = parse_body(body) if method.upper() in ("POST", "PUT") else {}
            request.update({name: unquote(value) for name, value in match.groupdict().items()})
            if operation == "ListPipes":
                request.update(_list_query(raw_query))
            elif operation == "UntagResource":
                request["tagKeys"] = [v for k, v in parse_qsl(raw_query, keep_blank_values=True) if k == "tagKeys"]
            return Call("pipes", operation, request)
    raise unknown_operation(f"{method.upper()} {raw_path}")


def _list_query(raw_query: str) -> dict[str, Any]:
    query: dict[str, Any] = {k: v for k, v in parse_qsl(raw_query, keep_blank_values=True) if k in _LIST_QUERY}
    if "Limit" in query:
        try:
            query["Limit"] = int(query["Limit"])
        except ValueError:
            raise ApiError("ValidationException", "Limit must be an integer.", status=400) from None
    return query


def answer_body(answer: dict[str, Any]) -> bytes:
    """An operation's answer as the JSON body both protocols send."""
    return json.dumps(answer, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return value.timestamp()  # timestamps travel as epoch seconds in both protocols
    raise TypeError(f"{type(value).__name__} is not JSON")


def error_parts(protocol: Protocol, error: ApiError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error answer in ``protocol``."""
    if protocol == "json":
        body = {"__type": error.code, "message": error.message}
        return error.status, {"Content-Type": JSON_11}, json.dumps(body).encode()
    code = PIPES_CODES.get(error.code, error.code)
    status = PIPES_STATUS.get(code, error.status)
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps({"message": error.message}).encode()
