"""Flag text to request members, as the AWS CLI reads them (without its shorthand syntax).

A structure, map or list of structures is JSON text; any value may be ``file://PATH``
(the file's text). A list of strings is several words (``--ids a b``) or a JSON list.
A value that cannot be read fails with a ``ParameterError`` naming the flag, before
anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eventpipes.cli.verb_model import Flag
from eventpipes.errors import ValidationException


class ParameterError(ValidationException):
    """A flag's value cannot be read as its member's type; ``path`` is the flag (``--targets``)."""

    def __init__(self, flag: str, reason: str) -> None:
        super().__init__(f"Error parsing parameter '{flag}': {reason}")
        self.path = flag


class MissingParameters(ValidationException):
    """Required members given neither as flags nor in ``--cli-input-json``; ``path`` lists the flags."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(f"the following arguments are required: {', '.join(missing)}")
        self.path = ",".join(missing)


def spread_lists(args: Sequence[str], list_flags: Iterable[str]) -> list[str]:
    """``--ids a b --rule r`` -> ``--ids a --ids b --rule r``, so click collects words the AWS CLI takes as one list.

    Words after a list flag belong to it until the next word starting with ``--``
    (as argparse's ``nargs="+"`` reads them); ``--`` ends option parsing and stops the spreading.
    """
    names = set(list_flags)
    out: list[str] = []
    current: str | None = None
    for index, word in enumerate(args):
        if word == "--":
            return out + list(args[index:])
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            current = name if name in names else None
            out.extend([name, value] if current and equals else [word])
            continue
        if current is not None and out[-1] != current:
            out.append(current)
        out.append(word)
    return out


def file_text(flag: str, value: str) -> str:
    """``value``, or the text of the file it names with ``file://`` (as the AWS CLI reads every parameter)."""
    if not value.startswith("file://"):
        return value
    path = Path(value[len("file://"):]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(flag, f"Unable to load paramfile {value}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ParameterError(flag, f"Unable to load paramfile {value}: not UTF-8 text ({exc.reason})") from exc


def member_value(flag: Flag, given: Any) -> Any:
    """The request value of ``flag`` from what click collected (a string, a tuple of words, a bool or a number)."""
    if flag.kind == "scalars":
        return _scalars(flag, tuple(given))
    if flag.kind == "json":
        return _json(flag, file_text(flag.flag, given))
    if flag.kind in ("string", "timestamp"):
        return file_text(flag.flag, given)
    return given  # click converted integers, floats and booleans already


def _scalars(flag: Flag, words: tuple[str, ...]) -> list[Any]:
    texts = [file_text(flag.flag, word) for word in words]
    if len(texts) == 1 and texts[0].lstrip().startswith("["):
        items = _loads(flag, texts[0])
        if not isinstance(items, list):
            raise ParameterError(flag.flag, "expected a JSON list")
        return [_scalar(flag, item) for item in items]
    return [_scalar(flag, text) for text in texts]


def _scalar(flag: Flag, item: Any) -> Any:
    if flag.item_kind in ("integer", "float"):
        try:
            return int(item) if flag.item_kind == "integer" else float(item)
        except (TypeError, ValueError):
            raise ParameterError(flag.flag, f"{item!r} is not a number") from None
    if not isinstance(item, str):
        raise ParameterError(flag.flag, f"expected a list of strings, found {json.dumps(item)}")
    return item


def _json(flag: Flag, text: str) -> Any:
    value = _loads(flag, text)
    expected = {"object": dict, "array": list}[flag.json_type or "object"]
    if not isinstance(value, expected):
        raise ParameterError(flag.flag, f"expected a JSON {flag.json_type or 'object'} ({flag.shape}), "
                                        f"found {_json_type(value)}")
    return value


def _loads(flag: Flag, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(flag.flag, f"Invalid JSON: {exc}") from None
    except RecursionError:
        raise ParameterError(flag.flag, "Invalid JSON: nested too deeply") from None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def cli_input(text: str | None) -> dict[str, Any]:
    """The request given whole with ``--cli-input-json`` (JSON text or ``file://PATH``), or {}."""
    if text is None:
        return {}
    try:
        value = json.loads(file_text("--cli-input-json", text))
    except json.JSONDecodeError as exc:
        raise ParameterError("--cli-input-json", f"Invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParameterError("--cli-input-json", f"expected a JSON object, found {_json_type(value)}")
    return value


def build_request(flags: Sequence[Flag], given: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The request: ``base`` (``--cli-input-json``) with every flag given laid over it.

    Raises:
        ParameterError: a value cannot be read.
        MissingParameters: a required member is in neither.
    """
    request = dict(base)
    for flag in flags:
        value = given.get(flag.dest)
        if value is None or value == ():
            continue
        request[flag.member] = member_value(flag, value)
    missing = [flag.flag for flag in flags if flag.required and flag.member not in request]
    if missing:
        raise MissingParameters(missing)
    return request
