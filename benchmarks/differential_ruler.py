"""Differential check: eventpipes' matcher against aws/event-ruler on random patterns and events.

Run on demand (not part of the pytest suite; it needs Java and a Maven-built peer)::

    .venv/bin/python benchmarks/differential_ruler.py --cases 3000 [--seed 1] [--show 5]

It draws seeded random (pattern, event) pairs from a small shared vocabulary (so that
patterns and events often meet: near-misses of case, prefixes, 300 vs 300.0, null vs
missing, arrays of objects, IP addresses), writes them as a cases file in the format of
``/work/shared/conformance/event-patterns/``, runs event-ruler on it through the peer
harness (``peer.Conf``: one fresh ``Machine`` per case, ``addRule`` throwing = invalid), runs
``eventpipes.patterns`` on the same cases, and prints every disagreement grouped by kind.

Excluded: the complexity limits event-ruler does not enforce (its README: callers are
expected to apply them): eventpipes' "Rule is too complex" refusals of wildcards and of
``$or`` patterns past 1,000 combinations, when event-ruler accepts the pattern.

The peer: ``--peer-dir`` (default ``$EVENTPIPES_RULER_PEER`` or ``/tmp/eventpipes-event-ruler``)
must hold a Maven build of ``/work/shared/peers/event-ruler`` (``target/classes`` and ``lib/``);
if it does not, the folder is copied there and built (``mvn dependency:copy-dependencies`` and
``mvn compile``, as the peer's README says), which needs Maven Central once.

``--cases-file`` runs a given cases file instead (the recorded EventBridge vectors, say: there
event-ruler 2.1.0 and eventpipes agree on every case but the wildcard complexity one).

Exit status: 0 when nothing disagrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from eventpipes.patterns import InvalidEventPattern, compile_pattern

PEER_SOURCE = Path("/work/shared/peers/event-ruler")
DEFAULT_PEER_DIR = Path(os.environ.get("EVENTPIPES_RULER_PEER", "/tmp/eventpipes-event-ruler"))

KEYS = ["a", "b", "c"]
STRINGS = [
    "x", "xy", "X", "yx", "", "init-a", "Init-b", "a*b", "a.b", "é", "10.0.0.7", "10.0.1.7", "10.1.2.77",
    "10.1.2.255", "2001:db8::1", "2001:db8:0:1::", "::ffff:10.0.0.7", "300", "null", "true",
]
NUMBERS: list[Any] = [0, 1, -1, 1.5, -3, 300, 300.0, 3.0e2, 2.25, 5_000_000_001, 0.0000001, 123456789012, 1e-7, -0.0]
LITERALS: list[Any] = [True, False, None]
PATTERN_NUMBERS: list[Any] = [0, 1, 1.5, -3, 300, 2.25, 5_000_000_001, 123456789012]
#: Within EventBridge's numeric range and precision (see KNOWN below): most operands, so
#: that the few out-of-range ones do not make most patterns invalid.
RANGE_NUMBERS: list[Any] = [0, 1, 1.5, -3, 300, 2.25, -0.5, 5e9]
OPERANDS = ["x", "y", "in", "In", "X", "a", "10", "", "é"]
WILDCARDS = ["x*", "*y", "*", "", "a\\*b", "I*-*", "*0.*", "*.*", "10.*.7", "*:*"]
CIDRS = [
    "10.0.0.0/24", "10.0.0.9/16", "10.1.2.77/24", "10.1.2.77/31", "0.0.0.0/0", "2001:db8::/64",
    "2001:db8::1234/64", "::/0", "10.0.0.0/8", "10.0.0.0/32",
]
NUMERIC = [
    [">", 0], [">=", 1.5], ["<", 300], ["<=", 0], ["=", 300], [">", -3, "<=", 1.5], [">=", 0, "<", 300],
    [">", 5e9], ["<", -5e9], ["=", 0.000001], [">", 1, "<", 1], [">=", 0, "<", 1e-6], ["=", 1.5], [">", 299.999999],
] * 3 + [["=", 5_000_000_001], ["<", 1e-7]]  # the last two: outside EventBridge's range (KNOWN)


def _operator(rng: random.Random) -> Any:
    kind = rng.randrange(17)
    if kind == 0:
        return rng.choice(STRINGS + LITERALS)
    if kind == 1:
        return rng.choice(PATTERN_NUMBERS)
    if kind in (2, 3):
        name = "prefix" if kind == 2 else "suffix"
        return {name: rng.choice(OPERANDS)} if rng.random() < 0.7 else {name: {"equals-ignore-case": rng.choice(OPERANDS)}}
    if kind == 4:
        return {"equals-ignore-case": rng.choice(STRINGS)}
    if kind == 5:
        return {"wildcard": rng.choice(WILDCARDS)}
    if kind == 6:
        return {"anything-but": rng.choice(STRINGS + (PATTERN_NUMBERS if rng.random() < 0.1 else RANGE_NUMBERS))}
    if kind == 7:
        return {"anything-but": rng.sample(STRINGS, rng.randrange(1, 4))}
    if kind == 8:
        return {"anything-but": rng.sample(PATTERN_NUMBERS if rng.random() < 0.1 else RANGE_NUMBERS, rng.randrange(1, 3))}
    if kind == 9:
        sub = rng.choice(["prefix", "suffix", "equals-ignore-case", "wildcard"])
        operand: Any = rng.choice(WILDCARDS if sub == "wildcard" else OPERANDS)
        if sub != "wildcard" and rng.random() < 0.3:
            operand = rng.sample(OPERANDS, 2)
        return {"anything-but": {sub: operand}}
    if kind == 10:
        return {"numeric": rng.choice(NUMERIC)}
    if kind == 11:
        return {"exists": rng.random() < 0.5}
    if kind == 12:
        return {"cidr": rng.choice(CIDRS)}
    if kind == 13:
        return {"equals": rng.choice(STRINGS)}
    if kind == 14:
        return rng.choice(NUMBERS)
    return rng.choice(STRINGS)


def _values(rng: random.Random) -> list[Any]:
    return [_operator(rng) for _ in range(rng.randrange(1, 4))]


def _pattern_object(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(rng.randrange(1, 3)):
        key = rng.choice(KEYS)
        out[key] = _values(rng) if depth == 0 or rng.random() < 0.6 else _pattern_object(rng, depth - 1)
    if depth > 0 and rng.random() < 0.15:
        out["$or"] = [_pattern_object(rng, depth - 1) for _ in range(rng.randrange(2, 4))]
    return out


def _scalar(rng: random.Random) -> Any:
    return rng.choice(STRINGS) if rng.random() < 0.55 else rng.choice(NUMBERS + LITERALS)


def _event_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth == 0 or roll < 0.45:
        return _scalar(rng)
    if roll < 0.6:
        return [_scalar(rng) for _ in range(rng.randrange(0, 4))]
    if roll < 0.85:
        return {rng.choice(KEYS): _event_value(rng, depth - 1) for _ in range(rng.randrange(0, 4))}
    return [{rng.choice(KEYS): _event_value(rng, depth - 1) for _ in range(rng.randrange(1, 3))} for _ in range(rng.randrange(1, 3))]


def make_cases(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` seeded (pattern, event) cases; the same seed gives the same cases."""
    rng = random.Random(seed)
    cases = []
    for number in range(count):
        pattern = _pattern_object(rng, 2)
        event = {key: _event_value(rng, 3) for key in rng.sample(KEYS, rng.randrange(0, 4))}
        cases.append({"name": f"case-{number}", "pattern": pattern, "event": event})
    return cases


def ensure_peer(peer_dir: Path) -> Path:
    """A built copy of the event-ruler peer harness (built here if missing)."""
    if (peer_dir / "target" / "classes" / "peer" / "Conf.class").exists():
        return peer_dir
    print(f"building the event-ruler peer in {peer_dir} ...", file=sys.stderr)
    shutil.copytree(PEER_SOURCE, peer_dir, dirs_exist_ok=True)
    subprocess.run(["mvn", "-q", "dependency:copy-dependencies", "-DoutputDirectory=lib"], cwd=peer_dir, check=True)
    subprocess.run(["mvn", "-q", "compile"], cwd=peer_dir, check=True)
    return peer_dir


def run_ruler(peer_dir: Path, cases_file: Path) -> dict[str, Any]:
    """event-ruler's answer per case name: True, False, "invalid" or "event-error"."""
    classpath = f"{peer_dir / 'target' / 'classes'}{os.pathsep}{peer_dir / 'lib' / '*'}"
    done = subprocess.run(
        ["java", "-cp", classpath, "peer.Conf", str(cases_file)], capture_output=True, text=True, check=True
    )
    answers = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        answers[row["name"]] = (row["result"], row.get("err"))
    return answers


def run_eventpipes(case: dict[str, Any]) -> tuple[Any, str | None]:
    try:
        compiled = compile_pattern(case["pattern"])
    except InvalidEventPattern as error:
        return "invalid", error.reason
    return compiled.matches(case["event"]), None


def is_unenforced_limit(ours: tuple[Any, str | None], theirs: tuple[Any, Any]) -> bool:
    """eventpipes refused a pattern for a complexity limit that event-ruler leaves to its callers."""
    return ours[0] == "invalid" and theirs[0] != "invalid" and (ours[1] or "").startswith("Rule is too complex")


#: EventBridge's numeric limits, which event-ruler 2.x no longer applies (it compares any double).
NUMBER_LIMIT_REASONS = ("Value must be between -5000000000 and 5000000000, inclusive", "Only values upto 6 decimals are supported")


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    return [number for item in items for number in _numbers(item)]


def _outside_range(number: float) -> bool:
    return abs(number) > 5e9 or round(number, 6) != number


def _star_and_ignore_case(pattern: Any) -> bool:
    """Whether some value list holds both a leading-star wildcard and an equals-ignore-case."""
    if isinstance(pattern, dict):
        return any(_star_and_ignore_case(value) for value in pattern.values())
    if not isinstance(pattern, list):
        return False
    operators = [item for item in pattern if isinstance(item, dict)]
    star = any(str(item.get("wildcard", "")).startswith("*") for item in operators)
    ignore_case = any(
        "equals-ignore-case" in item
        or (isinstance(item.get("anything-but"), dict) and "equals-ignore-case" in item["anything-but"])
        for item in operators
    )
    return (star and ignore_case) or any(
        _star_and_ignore_case(item) for item in pattern
    )


def known_difference(case: dict[str, Any], ours: tuple[Any, str | None], theirs: tuple[Any, Any]) -> str | None:
    """Which documented difference between event-ruler 2.1.0 and EventBridge explains a disagreement, if any.

    Each is a guess from the case's contents, so every one is printed with examples too.
    """
    if ours[0] == "invalid" and theirs[0] != "invalid" and ours[1] in NUMBER_LIMIT_REASONS:
        return "pattern number outside EventBridge's numeric range/precision (event-ruler 2.x accepts any double)"
    if ours[0] != "invalid" and theirs[0] != "invalid" and _star_and_ignore_case(case["pattern"]):
        return (
            "event-ruler 2.1.0 defect: a wildcard starting with '*' beside equals-ignore-case (plain or in"
            " anything-but) in one value list: [{\"wildcard\": \"*z\"}, {\"equals-ignore-case\": \"q\"}] matches"
            " \"r\"; [{\"wildcard\": \"*q\"}, {\"anything-but\": {\"equals-ignore-case\": \"a\"}}] fails \"b\""
        )
    if ours[0] != "invalid" and theirs[0] != "invalid":
        if '"cidr"' in json.dumps(case["pattern"]) and theirs[0] is True:
            return (
                "cidr block matching a value that is not an address of its IP version (event-ruler compares"
                " the value's text with the block's bounds as hex digits, so '::/0' holds '10.0.1.7')"
            )
        if any(_outside_range(n) for n in _numbers(case["pattern"]) + _numbers(case["event"])):
            return "a number outside EventBridge's numeric range/precision is compared (event-ruler 2.x compares it numerically)"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000, help="how many random cases (default 3000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR, help="built copy of the peer harness")
    parser.add_argument("--show", type=int, default=3, help="examples printed per kind of disagreement")
    parser.add_argument("--keep", type=Path, help="also write the cases file here")
    parser.add_argument(
        "--cases-file", type=Path,
        help="run this cases file (name, pattern, event per line) instead of random cases, for example"
        " /work/shared/conformance/event-patterns/aws-validated.jsonl",
    )
    args = parser.parse_args()

    if args.cases_file:
        lines = args.cases_file.read_text(encoding="utf-8").splitlines()
        cases = [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]
    else:
        cases = make_cases(args.cases, args.seed)
    peer = ensure_peer(args.peer_dir)
    with tempfile.TemporaryDirectory() as scratch:
        cases_file = Path(args.keep) if args.keep else Path(scratch) / "cases.jsonl"
        cases_file.write_text("".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases), encoding="utf-8")
        theirs_all = run_ruler(peer, cases_file)

    counts: dict[str, int] = defaultdict(int)
    kinds: dict[str, list[tuple[dict[str, Any], Any, Any]]] = defaultdict(list)
    known: dict[str, list[tuple[dict[str, Any], Any, Any]]] = defaultdict(list)
    for case in cases:
        ours = run_eventpipes(case)
        theirs = theirs_all[case["name"]]
        counts[f"event-ruler {theirs[0]}"] += 1
        if is_unenforced_limit(ours, theirs):
            counts["excluded: complexity limit event-ruler does not enforce"] += 1
        elif ours[0] != theirs[0]:
            explained = known_difference(case, ours, theirs)
            where = known if explained else kinds
            where[explained or f"eventpipes {ours[0]} / event-ruler {theirs[0]}"].append((case, ours, theirs))
    disagreements = sum(len(found) for found in kinds.values())
    source = args.cases_file or f"seed {args.seed}"
    print(f"{len(cases)} cases ({source}); " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"known differences (event-ruler 2.1.0 vs EventBridge): {sum(len(f) for f in known.values())}; "
          f"unexplained disagreements: {disagreements}")
    for title, groups in (("KNOWN", known), ("DISAGREEMENT", kinds)):
        for kind, found in sorted(groups.items(), key=lambda item: -len(item[1])):
            print(f"\n== {title}: {kind}: {len(found)} cases")
            for case, ours, theirs in found[: args.show]:
                print(f"  {case['name']}: pattern {json.dumps(case['pattern'], ensure_ascii=False)}")
                print(f"      event {json.dumps(case['event'], ensure_ascii=False)}")
                print(f"      eventpipes: {ours[0]} {ours[1] or ''} | event-ruler: {theirs[0]} {theirs[1] or ''}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
