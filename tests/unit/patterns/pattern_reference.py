"""A deliberately plain EventBridge pattern evaluator, to check the compiled machine against.

It shares no code with ``eventpipes.patterns`` beyond taking an already
validated pattern: it walks the raw pattern and the raw event, multiplies
``$or`` out itself, matches each operator from its JSON form (numbers with
``Decimal``, wildcards with a small dynamic program, addresses with
``ipaddress``), and enforces array consistency by trying every combination of
fields. Slow and obviously correct is the point.

Semantics it encodes (EventBridge's, as recorded against AWS and in event-ruler):
a pattern matches if one of its ``$or`` branches does; a branch matches if each
of its fields can be given one event leaf at that path that one of the field's
values accepts (or, with ``{"exists": false}``, no leaf), such that no two chosen
leaves sit in different elements of one array, and a field matched as absent has
no leaf that fits the chosen leaves' array elements.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from itertools import product
from typing import Any, Iterator

Leaf = tuple[str, Any, dict[int, int]]


def reference_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    leaves = list(_leaves(event, "", {}))
    return any(_branch_matches(branch, leaves) for branch in _branches(pattern, ""))


def _leaves(node: Any, path: str, positions: dict[int, int]) -> Iterator[Leaf]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _leaves(child, f"{path}.{key}" if path else key, positions)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _leaves(child, path, {**positions, id(node): index})
    else:
        yield path, node, positions


def _branches(obj: dict[str, Any], prefix: str) -> list[dict[str, list[Any]]]:
    results: list[dict[str, list[Any]]] = [{}]
    for key, value in obj.items():
        if key == "$or":
            options = [branch for item in value for branch in _branches(item, prefix)]
            results = [{**done, **option} for done, option in product(results, options)]
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            results = [{**done, **more} for done, more in product(results, _branches(value, path))]
        else:
            results = [{**done, path: value} for done in results]
    return results


def _fits(a: dict[int, int], b: dict[int, int]) -> bool:
    return all(b.get(array, index) == index for array, index in a.items())


def _branch_matches(branch: dict[str, list[Any]], leaves: list[Leaf]) -> bool:
    fields = list(branch.items())

    def choose(at: int, taken: dict[int, int], absent: list[str]) -> bool:
        if at == len(fields):
            return not any(p in absent and _fits(pos, taken) for p, _, pos in leaves)
        path, specs = fields[at]
        for leaf_path, value, positions in leaves:
            if leaf_path == path and _fits(positions, taken) and any(_accepts(s, value) for s in specs):
                if choose(at + 1, {**taken, **positions}, absent):
                    return True
        if {"exists": False} in specs:
            return choose(at + 1, taken, absent + [path])
        return False

    return choose(0, {}, [])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decimal(value: Any) -> Decimal | None:
    """The number EventBridge compares, or None if it cannot (out of range, > 6 places)."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number) > 5_000_000_000:
        return None
    if number != number.quantize(Decimal("0.000001")):
        return None
    return number


def _same_number(value: Any, literal: Any) -> bool:
    a, b = _decimal(value), _decimal(literal)
    if a is not None and b is not None:
        return a == b
    return repr(value) == repr(literal) and type(value) is type(literal)


def _accepts(spec: Any, value: Any) -> bool:
    if not isinstance(spec, dict):
        if isinstance(spec, str):
            return isinstance(value, str) and value == spec
        if spec is None or isinstance(spec, bool):
            return value is spec
        return _is_number(value) and _same_number(value, spec)
    (operator, operand), = spec.items()
    return _OPERATORS[operator](operand, value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _prefix(operand: Any, value: Any) -> bool:
    text = _text(value)
    if text is None:
        return False
    if isinstance(operand, dict):
        return text.lower().startswith(operand["equals-ignore-case"].lower())
    return text.startswith(operand)


def _suffix(operand: Any, value: Any) -> bool:
    text = _text(value)
    if text is None:
        return False
    if isinstance(operand, dict):
        return text.lower().endswith(operand["equals-ignore-case"].lower())
    return text.endswith(operand)


def wildcard_matches(wildcard: str, text: str) -> bool:
    """``*`` is any run, ``\\*`` a star, ``\\\\`` a backslash: a table-filling match."""
    tokens: list[str | None] = []
    i = 0
    while i < len(wildcard):
        if wildcard[i] == "\\":
            tokens.append(wildcard[i + 1])
            i += 2
        else:
            tokens.append(None if wildcard[i] == "*" else wildcard[i])
            i += 1
    # ok[j] is whether tokens[:t] can match text[:j], for the current t.
    ok = [True] + [False] * len(text)
    for token in tokens:
        if token is None:
            ok = [any(ok[: j + 1]) for j in range(len(text) + 1)]
        else:
            ok = [False] + [ok[j] and text[j] == token for j in range(len(text))]
    return ok[len(text)]


def _numeric(operand: list[Any], value: Any) -> bool:
    if not _is_number(value):
        return False
    number = _decimal(value)
    if number is None:
        return False
    checks = {"=": number.__eq__, "<": number.__lt__, "<=": number.__le__, ">": number.__gt__, ">=": number.__ge__}
    pairs = zip(operand[::2], operand[1::2])
    return all(checks[op](_decimal(bound)) for op, bound in pairs)


def _cidr(operand: str, value: Any) -> bool:
    text = _text(value)
    if text is None:
        return False
    base_text, bits = operand.split("/")
    base = ipaddress.ip_address(base_text)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    network = ipaddress.ip_network(f"{base}/{bits}", strict=False)  # host bits of the base cleared
    return address.version == base.version and address in network


def _anything_but(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        (kind, inner), = operand.items()
        excluded = inner if isinstance(inner, list) else [inner]
        text = _text(value)
        if text is None:
            return True
        if kind == "equals-ignore-case":
            return text.lower() not in [e.lower() for e in excluded]
        if kind == "prefix":
            return not any(text.startswith(e) for e in excluded)
        if kind == "suffix":
            return not any(text.endswith(e) for e in excluded)
        return not any(wildcard_matches(e, text) for e in excluded)
    excluded = operand if isinstance(operand, list) else [operand]
    if isinstance(value, str):
        return value not in [e for e in excluded if isinstance(e, str)]
    if _is_number(value):
        number = _decimal(value)
        return number is None or number not in [_decimal(e) for e in excluded if _is_number(e)]
    return True


_OPERATORS = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": lambda operand, value: isinstance(value, str) and value.lower() == operand.lower(),
    "wildcard": lambda operand, value: isinstance(value, str) and wildcard_matches(operand, value),
    "numeric": _numeric,
    "cidr": _cidr,
    "anything-but": _anything_but,
    "exists": lambda operand, value: operand is True,
}
