"""The AWS CLI-shaped verbs' flags, derived from botocore's service models.

botocore's models (``events`` and ``pipes``) are the source of truth for the operations'
members, which are required and what type each is; the AWS CLI derives its flags from
them in the same way (``--`` + ``botocore.xform_name(member, "-")``), so ``eventpipes
put-rule`` takes what ``aws events put-rule`` takes. Loading botocore costs about 0.1 s,
so this module is imported only when a verb runs or shows its help, never at start-up.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

#: How a flag's text becomes a member's value, by the member's type in the model.
Kind = Literal["string", "integer", "float", "boolean", "timestamp", "scalars", "json"]

#: Members the control plane accepts without, though AWS requires them (docs/differences.md):
#: a pipe's IAM role is kept and ignored here, so asking for one would only get a made-up ARN.
OPTIONAL_HERE = frozenset({("pipes", "CreatePipe", "RoleArn"), ("pipes", "UpdatePipe", "RoleArn")})

_SCALARS: dict[str, Kind] = {"string": "string", "integer": "integer", "long": "integer", "float": "float",
                             "double": "float", "boolean": "boolean", "timestamp": "timestamp"}


@dataclass(frozen=True)
class Flag:
    """One member of an operation's input as a command-line flag."""

    flag: str
    """``--event-bus-name``: ``--`` and the member's name as the AWS CLI spells it."""
    member: str
    """``EventBusName``: the member's name in the request."""
    kind: Kind
    """How the text given becomes the value: ``json`` for structures, maps and lists of them;
    ``scalars`` for a list of strings or numbers (given as several words, or as a JSON list)."""
    required: bool
    """Whether the operation needs it (botocore's ``required``, less ``OPTIONAL_HERE``)."""
    shape: str
    """The member's shape name in the model (``Targets``, ``TargetIdList``): named in errors and help."""
    json_type: Literal["object", "array", ""] = ""
    """For ``json`` flags: the JSON type the member takes (a structure or map is an object)."""
    item_kind: Kind = "string"
    """For ``scalars`` flags: the kind of each item."""
    help: str = ""
    """The member's documentation, first sentence, as plain text."""
    choices: tuple[str, ...] = ()
    """The member's enum values, if the model lists them (shown in help; the plane checks them)."""

    @property
    def dest(self) -> str:
        """The click parameter name: the member's own, so two members never share one."""
        return self.member


def kebab(name: str) -> str:
    """``PutRule`` -> ``put-rule``, ``ResourceARN`` -> ``resource-arn``, as ``botocore.xform_name(name, "-")`` spells it.

    Kept here so listing the verbs (``eventpipes --help``) needs no botocore; a unit test checks
    it agrees with botocore for every operation and member served.
    """
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", spaced).lower()


@functools.lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (``events`` or ``pipes``), loaded once per process."""
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> Any:
    return service_model(service).operation_model(operation)


@functools.lru_cache(maxsize=None)
def flags(service: str, operation: str) -> tuple[Flag, ...]:
    """The flags of ``operation`` of ``service``, in the model's member order."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return ()
    required = set(shape.required_members)
    return tuple(_flag(service, operation, member, member_shape, member in required)
                 for member, member_shape in shape.members.items())


def _flag(service: str, operation: str, member: str, shape: Any, required: bool) -> Flag:
    required = required and (service, operation, member) not in OPTIONAL_HERE
    common: dict[str, Any] = {"flag": f"--{kebab(member)}", "member": member, "required": required, "shape": shape.name,
                              "help": first_sentence(shape.documentation or ""),
                              "choices": tuple(getattr(shape, "enum", None) or ())}
    if shape.type_name in _SCALARS:
        return Flag(kind=_SCALARS[shape.type_name], **common)
    if shape.type_name == "list" and shape.member.type_name in _SCALARS:
        return Flag(kind="scalars", item_kind=_SCALARS[shape.member.type_name], **common)
    return Flag(kind="json", json_type="array" if shape.type_name == "list" else "object", **common)


def first_sentence(documentation: str) -> str:
    """The first sentence of a model's HTML documentation, as one line of plain text."""
    spaced = re.sub(r"</?(p|li|ul|ol|br|note|important)\b[^>]*>", " ", documentation)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", spaced)).split())
    end = re.search(r"\.(\s+(?=[A-Z<])|$)", text)
    return text[: end.start() + 1] if end else text


def operation_help(service: str, operation: str) -> str:
    """The operation's documentation, first sentence."""
    return first_sentence(operation_model(service, operation).documentation or "")


def with_iso_timestamps(service: str, operation: str, body: Any) -> Any:
    """``body`` (the operation's answer) with its timestamp members in ISO 8601, local time, as AWS CLI v2 prints them.

    The control plane answers epoch seconds (what the JSON protocols send, and what AWS CLI v1
    prints); which members are timestamps is read from the output shape, not guessed from values.
    """
    shape = operation_model(service, operation).output_shape
    return _convert(shape, body) if shape is not None else body


def _convert(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value).astimezone().isoformat()
    if kind == "structure" and isinstance(value, dict):
        return {k: _convert(shape.members[k], v) if k in shape.members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_convert(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _convert(shape.value, v) for k, v in value.items()}
    return value
