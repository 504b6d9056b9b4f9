"""Checks of a pipe that need more than its field types: patterns compile, templates fill.

Each finding is a ``(path, message)`` pair relative to the topology (``Pipes[0]...``), so
``eventpipes validate`` locates it in the file as it does every other problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from eventpipes.patterns import InvalidEventPattern, compile_pattern
from eventpipes.pipes.model import Pipe
from eventpipes.transform import InvalidTargetInput, parse_path, parse_template
from eventpipes.transform.reserved import PIPES_RESERVED

Finding = tuple[str, str]


def check_pipes(pipes: Sequence[Pipe]) -> list[Finding]:
    """Every problem of the pipes of one topology."""
    findings: list[Finding] = []
    twice = {name for name, count in Counter(p.name for p in pipes).items() if count > 1}
    for index, pipe in enumerate(pipes):
        where = f"Pipes[{index}]"
        if pipe.name in twice:
            findings.append((f"{where}.Name", f"pipe {pipe.name!r} is declared more than once"))
        findings.extend(_filters(where, pipe))
        findings.extend(_template(f"{where}.TargetParameters.InputTemplate", pipe.target_parameters.input_template))
        if pipe.enrichment_parameters is not None:
            findings.extend(_template(f"{where}.EnrichmentParameters.InputTemplate", pipe.enrichment_parameters.input_template))
        if pipe.target == f"topic:{pipe.source_topic}":
            findings.append((f"{where}.Target", "a pipe cannot write to the topic it reads (the records would loop)"))
    return findings


def _filters(where: str, pipe: Pipe) -> Iterator[Finding]:
    for index, pattern in enumerate(pipe.filters):
        try:
            compile_pattern(pattern)
        except InvalidEventPattern as error:
            suffix = f" (at {error.path})" if error.path else ""
            yield f"{where}.SourceParameters.FilterCriteria.Filters[{index}].Pattern", f"{error.message}{suffix}"


def _template(path: str, text: str | None) -> Iterator[Finding]:
    if text is None:
        return
    try:
        template = parse_template(text, field=path)
    except InvalidTargetInput as error:
        yield path, error.reason
        return
    for name in template.placeholders:
        if name in PIPES_RESERVED:
            continue
        if not name.startswith("$"):
            yield path, f"<{name}> is neither a JSON path (<$.field>) nor an aws.pipes.* variable"
            continue
        try:
            parse_path(name, field=path)
        except InvalidTargetInput as error:
            yield path, error.reason
