"""What a rule target receives instead of the whole event: ``Input``, ``InputPath`` or ``InputTransformer``.

Values are frozen; ``from_dict`` reads EventBridge's keys and validates as ``PutTargets``
does, naming the field at fault. Limits come from the EventBridge API reference:
``Input`` at most 8192 characters of JSON text, ``InputPath`` at most 256,
``InputTemplate`` 1 to 8192, ``InputPathsMap`` at most 100 entries whose keys match
``[A-Za-z0-9_-]+`` (1 to 256) and whose values are paths of at most 256 characters in
dot notation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final, Mapping, Union

from eventpipes.transform.errors import InvalidInputTransformer, InvalidTargetInput
from eventpipes.transform.jsonpath import JsonPath, parse_path
from eventpipes.transform.reserved import EVENTBRIDGE_RESERVED
from eventpipes.transform.template import Template, parse_template

#: ``TargetInput``: the most characters of constant JSON a target may be given.
MAX_INPUT_LENGTH: Final = 8192
#: ``TargetInputPath``: the most characters in ``InputPath`` and each ``InputPathsMap`` value.
MAX_PATH_LENGTH: Final = 256
#: ``TransformerInput``: the most characters in ``InputTemplate``.
MAX_TEMPLATE_LENGTH: Final = 8192
#: ``TransformerPaths``: the most variables one transformer may define.
MAX_VARIABLES: Final = 100
#: ``InputTransformerPathKey``: the most characters in a variable's name.
MAX_VARIABLE_NAME_LENGTH: Final = 256
#: ``InputTransformerPathKey`` pattern.
VARIABLE_NAME: Final = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True, slots=True)
class CompiledTransformer:
    """An ``InputTransformer`` with its paths and template parsed, ready to render."""

    paths: Mapping[str, JsonPath]
    """Each variable's parsed path."""
    template: Template
    """The parsed ``InputTemplate``."""


@dataclass(frozen=True)
class InputTransformer:
    """EventBridge's ``InputTransformer``: variables read from the event, and a template using them."""

    input_template: str
    """``InputTemplate``: text or JSON with ``<variable>`` placeholders."""
    input_paths_map: Mapping[str, str] = field(default_factory=dict)
    """``InputPathsMap``: variable name to JSONPath into the event. Treat as read-only."""

    def validate(self, *, target_id: str | None = None) -> CompiledTransformer:
        """Check the transformer as ``PutTargets`` does, and parse it.

        Args:
            target_id: the target's ``Id``, named in the message as EventBridge names it.

        Returns:
            The parsed transformer (also cached for :meth:`compiled`).

        Raises:
            InvalidInputTransformer: the first problem found, with ``path`` such as
                ``InputTransformer.InputPathsMap.<variable>`` or ``InputTransformer.InputTemplate``.
        """
        compiled = _compile(self, target_id)
        object.__setattr__(self, "_compiled", compiled)
        return compiled

    def compiled(self) -> CompiledTransformer:
        """The parsed transformer, validating it on first use."""
        cached: CompiledTransformer | None = self.__dict__.get("_compiled")
        return cached if cached is not None else self.validate()

    @classmethod
    def from_dict(cls, body: Any, *, target_id: str | None = None) -> "InputTransformer":
        """Read ``{"InputPathsMap": {...}, "InputTemplate": "..."}`` and validate it.

        Raises:
            InvalidInputTransformer: a key is missing, unknown or of the wrong type, or
                :meth:`validate` refuses the transformer.
        """
        if not isinstance(body, Mapping):
            raise InvalidInputTransformer("InputTransformer must be an object", path="InputTransformer")
        unknown = sorted(set(body) - {"InputPathsMap", "InputTemplate"})
        if unknown:
            raise InvalidInputTransformer(f"unknown key {unknown[0]!r}", path=f"InputTransformer.{unknown[0]}")
        template = body.get("InputTemplate")
        if not isinstance(template, str):
            raise InvalidInputTransformer("InputTemplate is required and must be a string",
                                          path="InputTransformer.InputTemplate")
        paths = body.get("InputPathsMap", {})
        if not isinstance(paths, Mapping) or not all(isinstance(v, str) for v in paths.values()):
            raise InvalidInputTransformer("InputPathsMap must map variable names to JSON path strings",
                                          path="InputTransformer.InputPathsMap")
        transformer = cls(input_template=template, input_paths_map=dict(paths))
        transformer.validate(target_id=target_id)
        return transformer

    def to_dict(self) -> dict[str, Any]:
        """EventBridge's form, ``InputPathsMap`` left out when empty as the API leaves it out."""
        body: dict[str, Any] = {"InputTemplate": self.input_template}
        if self.input_paths_map:
            body["InputPathsMap"] = dict(self.input_paths_map)
        return body


def _compile(transformer: InputTransformer, target_id: str | None) -> CompiledTransformer:
    variables = transformer.input_paths_map
    if len(variables) > MAX_VARIABLES:
        raise InvalidInputTransformer(
            f"InputPathsMap has {len(variables)} variables; at most {MAX_VARIABLES} are allowed",
            path="InputTransformer.InputPathsMap")
    paths = {name: _variable_path(name, path) for name, path in variables.items()}
    text = transformer.input_template
    if not 1 <= len(text) <= MAX_TEMPLATE_LENGTH:
        raise InvalidInputTransformer(
            f"InputTemplate must be 1 to {MAX_TEMPLATE_LENGTH} characters long, not {len(text)}",
            path="InputTransformer.InputTemplate")
    template = _as_transformer_error(lambda: parse_template(text, field="InputTransformer.InputTemplate"))
    for name in template.placeholders:
        if name not in paths and name not in EVENTBRIDGE_RESERVED:
            target = f" for target {target_id}" if target_id else ""
            raise InvalidInputTransformer(f"InputTemplate{target} contains invalid placeholder {name}.",
                                          path="InputTransformer.InputTemplate")
    return CompiledTransformer(paths=paths, template=template)


def _variable_path(name: str, path: str) -> JsonPath:
    where = f"InputTransformer.InputPathsMap.{name}"
    if name in EVENTBRIDGE_RESERVED or name.lower().startswith("aws."):
        raise InvalidInputTransformer(f"variable name {name!r} is reserved", path=where)
    if not 1 <= len(name) <= MAX_VARIABLE_NAME_LENGTH or VARIABLE_NAME.fullmatch(name) is None:
        raise InvalidInputTransformer(
            f"variable name {name!r} must be 1 to {MAX_VARIABLE_NAME_LENGTH} letters, digits, '_' or '-'",
            path=where)
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidInputTransformer(f"JSON path is longer than {MAX_PATH_LENGTH} characters", path=where)
    return _as_transformer_error(lambda: parse_path(path, field=where, allow_brackets=False))


def _as_transformer_error(parse: Any) -> Any:
    """Run a parser, re-raising its error as the transformer error callers catch."""
    try:
        return parse()
    except InvalidInputTransformer:
        raise
    except InvalidTargetInput as exc:
        raise InvalidInputTransformer(exc.reason, path=exc.path) from exc


@dataclass(frozen=True, slots=True)
class ConstantInput:
    """``Input``: this JSON text is sent instead of the event."""

    input: str
    """Valid JSON text, sent byte for byte."""

    def validate(self) -> None:
        """Raises :class:`InvalidTargetInput` (path ``Input``) unless the text is JSON of at most 8192 characters."""
        if len(self.input) > MAX_INPUT_LENGTH:
            raise InvalidTargetInput(f"Input is longer than {MAX_INPUT_LENGTH} characters", path="Input")
        try:
            json.loads(self.input)
        except ValueError as exc:
            raise InvalidTargetInput(f"Input is not valid JSON: {exc}", path="Input") from exc


@dataclass(frozen=True)
class PathInput:
    """``InputPath``: the part of the event the path selects is sent instead of the event."""

    input_path: str
    """A JSONPath in dot or bracket notation, at most 256 characters."""

    def validate(self) -> JsonPath:
        """Parse the path; raises :class:`InvalidTargetInput` (path ``InputPath``) if it is not valid."""
        if len(self.input_path) > MAX_PATH_LENGTH:
            raise InvalidTargetInput(f"InputPath is longer than {MAX_PATH_LENGTH} characters", path="InputPath")
        parsed = parse_path(self.input_path, field="InputPath")
        object.__setattr__(self, "_parsed", parsed)
        return parsed

    def parsed(self) -> JsonPath:
        """The parsed path, validating it on first use."""
        cached: JsonPath | None = self.__dict__.get("_parsed")
        return cached if cached is not None else self.validate()


@dataclass(frozen=True, slots=True)
class TemplateInput:
    """``InputTransformer``: the template filled from the event is sent instead of the event."""

    transformer: InputTransformer
    """The transformer."""


#: What a target is given; ``None`` means the whole event, as when none of the three keys is set.
TargetInput = Union[ConstantInput, PathInput, TemplateInput, None]

_INPUT_KEYS: Final = ("Input", "InputPath", "InputTransformer")


def target_input_from_dict(target: Mapping[str, Any], *, target_id: str | None = None) -> TargetInput:
    """Read a target's ``Input`` / ``InputPath`` / ``InputTransformer`` keys (others are ignored).

    Args:
        target: the target as in ``PutTargets`` (``{"Id": ..., "Arn": ..., "InputPath": ...}``).
        target_id: the target's ``Id`` for messages; defaults to ``target["Id"]``.

    Raises:
        InvalidTargetInput: more than one of the three keys is given, or the one given is invalid.
    """
    target_id = target_id if target_id is not None else target.get("Id")
    given = [key for key in _INPUT_KEYS if target.get(key) is not None]
    if len(given) > 1:
        raise InvalidTargetInput(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}.")
    if not given:
        return None
    value = target[given[0]]
    if given[0] == "InputTransformer":
        return TemplateInput(InputTransformer.from_dict(value, target_id=target_id))
    if not isinstance(value, str):
        raise InvalidTargetInput(f"{given[0]} must be a string", path=given[0])
    single: ConstantInput | PathInput = ConstantInput(value) if given[0] == "Input" else PathInput(value)
    single.validate()
    return single
