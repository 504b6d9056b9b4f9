"""JSON pattern -> validated sub-rules: EventBridge's pattern grammar and its error messages.

A pattern is a JSON object whose leaves are non-empty lists of allowed values or
match expressions. Nested keys join with ``.`` (so ``{"a": {"b": ...}}`` and
``{"a.b": ...}`` are the same field, as in EventBridge). ``$or`` takes two or more
objects and multiplies the pattern out into sub-rules, each a plain conjunction;
a key given twice in one sub-rule keeps its last value, as EventBridge does.

Every refusal goes through :func:`_reject`, which raises
:class:`~eventpipes.patterns.errors.InvalidEventPattern` with EventBridge's reason
and the path where it applies.
"""

from __future__ import annotations

from typing import Any, Final, Mapping, NoReturn

from eventpipes.patterns import operators
from eventpipes.patterns.errors import InvalidEventPattern
from eventpipes.patterns.jsondepth import MAX_EVENT_DEPTH, TooDeep, depth, dumps_compact, loads
from eventpipes.patterns.model import Condition, Exact, Matcher, SubRule
from eventpipes.patterns.operators import ABSENT, OPERATOR_NAMES, is_number, read_operator
from eventpipes.patterns.values import exact_key, to_num

#: EventBridge's limit on a rule's ``EventPattern`` (PutRule and TestEventPattern
#: take at most 4096 characters; the default account quota is lower, 2048, and
#: adjustable, so the API limit is the one a pattern can never pass).
MAX_PATTERN_CHARS: Final = 4096

OR_KEY: Final = "$or"

#: Most combinations one pattern's ``$or`` branches may multiply out to (sub-rules, as
#: written, before duplicates are merged): EventBridge documents 1,000. Without a bound a
#: 4096-character pattern of nested ``$or`` pairs could expand to 2**100 branches and hang
#: the parser. event-ruler itself enforces no such limit (its callers do).
MAX_SUB_RULES: Final = 1000

#: The deepest pattern JSON read: an event's depth (:data:`~eventpipes.patterns.jsondepth.MAX_EVENT_DEPTH`),
#: since a pattern reaching further could match nothing. The 4096-character limit keeps real
#: patterns far shallower; the bound is for arrays nested in arrays, 2 characters a level.
MAX_PATTERN_DEPTH: Final = MAX_EVENT_DEPTH


def _reject(reason: str, path: str = "") -> NoReturn:
    raise InvalidEventPattern(reason, path=path)


def load_pattern(pattern: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    """The pattern as a JSON object, from a mapping or from JSON text.

    The length is checked before the text is parsed (an API parameter's length is, in
    EventBridge), and no nesting depth raises ``RecursionError``.

    Raises:
        InvalidEventPattern: not JSON, not an object, longer than EventBridge allows, or
            nested deeper than :data:`MAX_PATTERN_DEPTH` levels.
    """
    if isinstance(pattern, (str, bytes, bytearray)):
        text = pattern.decode("utf-8", "replace") if isinstance(pattern, (bytes, bytearray)) else pattern
        _check_length(text)
        try:
            loaded = loads(text, limit=MAX_PATTERN_DEPTH, parse_constant=_no_constant)
        except TooDeep as exc:
            _reject(_too_deep(exc.limit))
        except ValueError as exc:
            _reject(f"Filter is not valid JSON: {exc}")
    else:
        loaded = pattern
        try:
            text = dumps_compact(pattern)
        except (TypeError, ValueError) as exc:
            _reject(f"Filter is not valid JSON: {exc}")
        _check_length(text)
        if depth(pattern) > MAX_PATTERN_DEPTH:
            _reject(_too_deep(MAX_PATTERN_DEPTH))
    if not isinstance(loaded, Mapping):
        _reject("Filter is not an object")
    return dict(loaded)


def _check_length(text: str) -> None:
    if len(text) > MAX_PATTERN_CHARS:
        _reject(f"Event pattern must be at most {MAX_PATTERN_CHARS} characters long, not {len(text)}")


def _too_deep(limit: int) -> str:
    return f"Filter is not valid JSON: nested deeper than {limit} levels"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_pattern(pattern: Mapping[str, Any] | str | bytes) -> tuple[SubRule, ...]:
    """Validate a pattern and multiply it out into sub-rules (one per ``$or`` branch).

    Returns:
        The distinct sub-rules, each a tuple of conditions sorted by path.

    Raises:
        InvalidEventPattern: the pattern is one EventBridge would reject.
    """
    branches: list[dict[str, Condition]] = [{}]
    branches = _read_object(load_pattern(pattern), "", branches, in_or=False)
    sub_rules = (tuple(sorted(b.values(), key=lambda c: c.path)) for b in branches)
    return tuple(dict.fromkeys(sub_rules))


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _read_object(
    obj: Mapping[str, Any], prefix: str, branches: list[dict[str, Condition]], *, in_or: bool
) -> list[dict[str, Condition]]:
    # Nested objects are walked with an explicit stack (keys in document order, depth first,
    # as a recursive walk would), so a deeply nested pattern costs no Python frames; only
    # ``$or`` recurses, and the 4096-character limit keeps that to a few hundred levels.
    if not obj:
        _reject("Empty objects are not allowed", prefix)
    pending = [(prefix, iter(obj.items()))]
    while pending:
        where, items = pending[-1]
        entry = next(items, None)
        if entry is None:
            pending.pop()
            continue
        key, value = entry
        if key == OR_KEY:
            branches = _read_or(value, where, branches)
            continue
        path = _join(where, key)
        if in_or and key in OPERATOR_NAMES:
            _reject(f"{key} is Ruler reserved fieldName which cannot be used inside {OR_KEY}.", path)
        if isinstance(value, Mapping):
            if not value:
                _reject("Empty objects are not allowed", path)
            pending.append((path, iter(value.items())))
        elif isinstance(value, list):
            condition = _read_values(value, path)
            for branch in branches:
                branch[path] = condition
        else:
            _reject(f'"{key}" must be an object or an array', path)
    return branches


def _read_or(value: Any, prefix: str, branches: list[dict[str, Condition]]) -> list[dict[str, Condition]]:
    where = _join(prefix, OR_KEY)
    if not isinstance(value, list):
        _reject(f"It must be an Array followed with {OR_KEY}.", where)
    result: list[dict[str, Condition]] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            _reject(f"Only JSON object is allowed in array of {OR_KEY} relationship.", f"{where}[{index}]")
        copies = [dict(branch) for branch in branches]
        result.extend(_read_object(item, prefix, copies, in_or=True))
        if len(result) > MAX_SUB_RULES:
            _reject(
                f"Rule is too complex - its {OR_KEY} branches multiply out to more than {MAX_SUB_RULES} combinations",
                where,
            )
    if len(value) < 2:
        _reject(f"There must have at least 2 Objects in {OR_KEY} relationship.", where)
    return result


def _read_values(values: list[Any], path: str) -> Condition:
    if not values:
        _reject("Empty arrays are not allowed", path)
    matchers: list[Matcher] = []
    absent = False
    for index, item in enumerate(values):
        if isinstance(item, Mapping):
            try:
                matcher = read_operator(dict(item))
            except operators._Reject as exc:
                _reject(str(exc), f"{path}[{index}]")
            if matcher is ABSENT:
                absent = True
            else:
                matchers.append(matcher)  # type: ignore[arg-type]
        elif isinstance(item, str) or item is None or isinstance(item, bool):
            matchers.append(Exact(exact_key(item)))
        elif is_number(item):
            matchers.append(Exact(to_num(item).key))
        else:
            _reject("Match value must be String, number, true, false, or null", f"{path}[{index}]")
    return Condition(path, frozenset(matchers), absent)
