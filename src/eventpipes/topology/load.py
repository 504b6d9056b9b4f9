"""YAML text to a validated ``Topology``, with every problem located by line and column.

ruamel.yaml keeps the position of each key and list item, so a pydantic error
path such as ``Rules[0].Targets[1].RetryPolicy`` can be turned back into the
line and column a user's editor shows.

Before anything is composed, ``eventpipes.topology.yamlguard`` holds the text to its bounds:
at most 100 levels of nesting (in YAML, and in JSON text inside a value) and at most 262,144
nodes and characters added by alias expansion; the module says why those figures. A file
that is not UTF-8, or holds characters YAML refuses, is reported at its line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from eventpipes.topology.checks import check, partial_findings
from eventpipes.topology.errors import Problem, TopologyError
from eventpipes.topology.model import Topology
from eventpipes.topology.yamlguard import check_bounds

Step = str | int


def load_file(path: str | Path, *, import_functions: bool = False) -> Topology:
    """Read and validate a topology file (``import_functions`` as for :func:`load_text`).

    Raises:
        TopologyError: listing every problem found, each with its location.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TopologyError([Problem("", f"cannot read the topology: {exc.strerror}", file=str(path))]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        raise TopologyError([Problem("", f"not UTF-8 text: byte 0x{data[exc.start]:02x} ({exc.reason})",
                                     str(path), line, column)]) from exc
    return load_text(text, file=str(path), import_functions=import_functions)


def load_text(text: str, *, file: str = "<topology>", import_functions: bool = False) -> Topology:
    """Parse and validate topology YAML.

    Args:
        text: the YAML.
        file: its name, for locations.
        import_functions: also check that each ``Function`` target imports and is callable
            (``eventpipes validate``); a module's top level runs when it is imported.

    Raises:
        TopologyError: listing every problem found, each with its location.
    """
    document = _parse(text, file)
    try:
        topology = Topology.model_validate(document)
    except ValidationError as exc:
        problems = [_locate(document, _steps(e["loc"]), _message(e), file) for e in exc.errors()]
        findings = partial_findings(document, import_functions=import_functions)
        problems += [_locate(document, _split(path), message, file) for path, message in findings]
        raise TopologyError(_in_order(problems)) from exc
    findings = check(topology, import_functions=import_functions)
    if findings:
        raise TopologyError(_in_order([_locate(document, _split(path), message, file) for path, message in findings]))
    return topology


def _in_order(problems: list[Problem]) -> list[Problem]:
    """Problems as they appear in the file, each once."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line or 0, p.column or 0))


def _parse(text: str, file: str) -> Any:
    beyond = check_bounds(text, file)
    if beyond is not None:
        raise TopologyError([beyond])
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise TopologyError([Problem("", f"not valid YAML: {exc.problem or exc.context}", file, line, column)]) from exc
    except ReaderError as exc:
        line, column = _line_column(text, exc.position)
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise TopologyError([Problem("", f"not valid YAML: character {character} is not allowed ({exc.reason})",
                                     file, line, column)]) from exc
    except YAMLError as exc:
        raise TopologyError([Problem("", f"not valid YAML: {exc}", file)]) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise TopologyError([Problem("", f"a topology must be a mapping, not {type(document).__name__}", file, 1, 1)])
    return document


def _line_column(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a character (or byte) offset."""
    before = text[:offset]
    if isinstance(before, bytes):
        return before.count(b"\n") + 1, offset - before.rfind(b"\n")
    return before.count("\n") + 1, offset - before.rfind("\n")


def _message(error: Any) -> str:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key (keys are EventBridge's; check the spelling)"
    if error["type"] == "missing":
        return "required key is missing"
    return message.removeprefix("Value error, ")


def _steps(loc: tuple[Any, ...]) -> list[Step]:
    # pydantic adds the name of a tagged or function validator to the location; drop non-data steps
    return [step for step in loc if isinstance(step, int) or (isinstance(step, str) and not step.startswith("function-"))]


def _split(path: str) -> list[Step]:
    steps: list[Step] = []
    for part in path.replace("]", "").split("."):
        name, *indexes = part.split("[")
        if name:
            steps.append(name)
        steps.extend(int(i) for i in indexes)
    return steps


def _format(steps: list[Step]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _locate(document: Any, steps: list[Step], message: str, file: str) -> Problem:
    """The deepest position of ``steps`` present in the document (a missing key points at its parent)."""
    node, line, column = document, None, None
    for step in steps:
        if isinstance(node, CommentedMap) and step in node:
            line, column = node.lc.key(step)
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
            line, column = node.lc.item(step)
            node = node[step]
        else:
            break
    if line is None and isinstance(document, CommentedMap) and document.lc.line is not None:
        line, column = document.lc.line, document.lc.col
    return Problem(
        _format(steps), message, file,
        None if line is None else line + 1,
        None if column is None else column + 1,
    )
