"""Benchmark: one compiled rule set (Ruler) versus evaluating each compiled pattern in turn.

Realistic rules (exact source and detail-type, numeric ranges, prefixes,
anything-but, nested detail fields, some arrays of objects) against a fixed,
seeded set of realistic events, at 1, 100, 1,000 and 10,000 rules. Prints
events/second for both ways in the same run, and the two ratios the project
targets:

- at 1,000 rules the Ruler is at least 20x faster than one-by-one;
- going from 100 to 10,000 rules costs the Ruler at most 3x.

One-by-one at 10,000 rules over 10,000 events would take minutes, so it runs on
the first events only (the count is printed); events/second stays comparable.

Then, against aws/event-ruler (issue 21): gen_bench's rules and events (the peer in
``../shared/peers/event-ruler/``, see ``event_ruler.py``) at 100, 1,000 and 10,000 rules,
timed in the same run by event-ruler's Maven harness (Java) and by eventpipes' ``Ruler``,
each event handed over as its JSON text, so JSON parsing is inside the timer for both.
Prints the median events/s of the timed passes of each and their ratio; without Java or
Maven that column is skipped with a message.

Run: ``.venv/bin/python benchmarks/patterns.py`` (``--quick`` for a small run;
``--only event-ruler`` or ``--only ruler`` for one part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from datetime import date
from typing import Any

from eventpipes.patterns import Pattern, Ruler, compile_pattern
from eventpipes.patterns.flatten import flatten

import event_ruler

SEED = 20240601
RULE_COUNTS = (1, 100, 1_000, 10_000)
#: One-by-one evaluates about this many (event, pattern) pairs per rule count, at most.
ONE_BY_ONE_BUDGET = 3_000_000

DOMAINS = (
    "orders", "payments", "shipping", "inventory", "users", "billing", "search", "reviews", "catalog", "support",
    "auth", "notifications", "analytics", "pricing", "returns", "loyalty", "fraud", "warehouse", "tax", "ads",
)
UNITS = ("retail", "travel", "media", "bank", "health", "games", "cloud", "food", "auto", "energy")
AWS_SOURCES = [f"aws.{service}" for service in ("ec2", "s3", "lambda", "rds", "ecs", "sqs", "sns", "dynamodb", "iam", "kms")]
#: A bus with 10,000 rules serves many teams: 200 application sources and 10 AWS ones.
DIVERSE_SOURCES = [f"com.{unit}.{domain}" for unit in UNITS for domain in DOMAINS] + AWS_SOURCES
#: The stress case: the same 10,000 rules crowded onto 30 sources (about 40 rules per
#: source and detail-type), so that each event matches about a dozen rules.
DENSE_SOURCES = [f"com.retail.{domain}" for domain in DOMAINS] + AWS_SOURCES
DETAIL_TYPES = ["Created", "Updated", "Deleted", "StateChanged", "Failed", "Completed", "Retried", "Expired"]
STATES = ["pending", "running", "stopped", "failed", "initializing", "terminated", "succeeded"]
TIERS = ["free", "basic", "pro", "enterprise"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "ap-northeast-1"]
SKU_PREFIXES = ["BK", "EL", "HM", "TY", "GR", "SP"]


def make_event(rng: random.Random, number: int, sources: list[str]) -> dict[str, Any]:
    """One EventBridge event with a detail shaped like real application events."""
    source = rng.choice(sources)
    detail: dict[str, Any] = {
        "state": rng.choice(STATES),
        "amount": round(rng.uniform(0, 5000), rng.choice((0, 2))),
        "customer": {
            "id": f"C-{rng.choice(TIERS)[:2].upper()}-{rng.randrange(100000):05d}",
            "tier": rng.choice(TIERS),
            "region": rng.choice(REGIONS),
        },
        "attempt": rng.randrange(1, 6),
        "flags": rng.sample(["gift", "express", "fragile", "bulk"], rng.randrange(0, 3)),
    }
    if rng.random() < 0.3:  # some events carry arrays of objects (line items)
        detail["items"] = [
            {"sku": f"{rng.choice(SKU_PREFIXES)}-{rng.randrange(1000)}", "qty": rng.randrange(1, 10)}
            for _ in range(rng.randrange(1, 4))
        ]
    return {
        "version": "0",
        "id": f"{number:08d}-0000-4000-8000-{rng.randrange(16**12):012x}",
        "detail-type": rng.choice(DETAIL_TYPES),
        "source": source,
        "account": "123456789012",
        "time": f"2024-06-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "region": rng.choice(REGIONS),
        "resources": [f"arn:aws:{source.split('.')[-1]}:us-east-1:123456789012:thing/{rng.randrange(10**6)}"],
        "detail": detail,
    }


def _detail_condition(rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(8)
    if kind == 0:
        low = rng.randrange(0, 4000)
        return {"amount": [{"numeric": [">=", low, "<", low + rng.randrange(100, 1000)]}]}
    if kind == 1:
        return {"amount": [{"numeric": [">", rng.randrange(0, 5000)]}]}
    if kind == 2:
        return {"state": [{"anything-but": rng.sample(STATES, 2)}]}
    if kind == 3:
        return {"state": rng.sample(STATES, rng.randrange(1, 3))}
    if kind == 4:
        return {"customer": {"tier": [rng.choice(TIERS)], "region": [{"prefix": rng.choice(REGIONS)[:3]}]}}
    if kind == 5:
        return {"customer": {"id": [{"prefix": f"C-{rng.choice(TIERS)[:2].upper()}-{rng.randrange(10)}"}]}}
    if kind == 6:
        return {"items": {"sku": [{"prefix": rng.choice(SKU_PREFIXES)}], "qty": [{"numeric": [">=", rng.randrange(1, 8)]}]}}
    return {"attempt": [{"numeric": [">", 2]}], "flags": [{"exists": rng.random() < 0.5}]}


def make_rule(rng: random.Random, sources: list[str]) -> dict[str, Any]:
    """One rule as teams write them: who and what exactly, then a few detail conditions."""
    rule: dict[str, Any] = {"source": [rng.choice(sources)]}
    if rng.random() < 0.85:
        rule["detail-type"] = rng.sample(DETAIL_TYPES, rng.choice((1, 1, 2)))
    detail: dict[str, Any] = {}
    for _ in range(rng.randrange(1, 4)):
        for key, value in _detail_condition(rng).items():
            detail[key] = value
    rule["detail"] = detail
    return rule


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(
    event_count: int, rule_counts: tuple[int, ...], budget: int, sources: list[str]
) -> dict[int, tuple[float, float, int]]:
    rng = random.Random(SEED)
    events = [make_event(rng, n, sources) for n in range(event_count)]
    all_rules = [make_rule(rng, sources) for _ in range(max(rule_counts))]
    results: dict[int, tuple[float, float, int]] = {}
    print(f"{event_count} events from {len(sources)} sources; rules drawn from one seeded list (seed {SEED})")
    print(f"{'rules':>7} {'build s':>8} {'Ruler ev/s':>12} {'matches/ev':>10} {'1-by-1 ev/s':>12} {'(events)':>9} {'speedup':>8}")
    for count in rule_counts:
        named = {f"rule-{i}": pattern for i, pattern in enumerate(all_rules[:count])}
        started = time.perf_counter()
        ruler = Ruler(named)
        build = time.perf_counter() - started
        compiled: list[tuple[str, Pattern]] = [(name, compile_pattern(p)) for name, p in named.items()]

        for event in events[:200]:  # warm up caches and the allocator before timing
            ruler.matches(event)
        started = time.perf_counter()
        total_matches = sum(len(ruler.matches(event)) for event in events)
        ruler_rate = _rate(len(events), time.perf_counter() - started)

        subset = events[: max(20, min(len(events), budget // count))]
        started = time.perf_counter()
        alone: list[set[str]] = []
        for event in subset:
            flat = flatten(event)  # flattened once per event, as a fair loop would
            alone.append({name for name, pattern in compiled if pattern.matches(flat)})
        one_rate = _rate(len(subset), time.perf_counter() - started)
        if alone != [ruler.matches(event) for event in subset]:
            raise SystemExit(f"Ruler and one-by-one disagree at {count} rules")

        results[count] = (ruler_rate, one_rate, len(subset))
        print(
            f"{count:>7} {build:>8.2f} {ruler_rate:>12,.0f} {total_matches / len(events):>10.2f} "
            f"{one_rate:>12,.0f} {len(subset):>9} {ruler_rate / one_rate:>7.1f}x"
        )
    return results


#: gen_bench's rule counts compared with event-ruler, and the passes each side times.
PEER_RULE_COUNTS = (100, 1_000, 10_000)


def eventpipes_rates(workload: event_ruler.Workload, count: int, warm_up: int, passes: int) -> tuple[list[float], int]:
    """The Ruler's events/s per timed pass over gen_bench's events (parsed inside the timer), and its match count."""
    ruler = Ruler({rule["name"]: rule["pattern"] for rule in workload.rules[:count]})
    loads, matches = json.loads, ruler.matches
    for _ in range(warm_up):
        for line in workload.lines:
            matches(loads(line))
    rates, total = [], 0
    for _ in range(passes):
        started = time.perf_counter()
        total = sum(len(matches(loads(line))) for line in workload.lines)
        rates.append(_rate(len(workload.lines), time.perf_counter() - started))
    return rates, total


def against_event_ruler(event_count: int, warm_up: int, passes: int) -> None:
    """gen_bench's workload, eventpipes' Ruler and event-ruler, in the same run."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            workload = event_ruler.generate(Path(folder), max(PEER_RULE_COUNTS), event_count)
        except event_ruler.Unavailable as why:
            print(f"skipped: {why}")
            return
        print(f"gen_bench workload: {len(workload.lines):,} events; rules: the first 100, 1,000 and 10,000 of one seeded list")
        print(f"medians of {passes} timed passes, after {warm_up} (eventpipes: 1) untimed; JSON parsing inside the timer for both")
        try:
            peer: dict[int, tuple[list[float], int]] | None = event_ruler.rates(workload, list(PEER_RULE_COUNTS), warm_up=warm_up, passes=passes)
        except event_ruler.Unavailable as why:
            print(f"event-ruler column skipped: {why}")
            peer = None
        print(f"{'rules':>7} {'eventpipes ev/s':>16} {'event-ruler ev/s':>17} {'eventpipes / event-ruler':>25} {'matches/ev':>10}")
        for count in PEER_RULE_COUNTS:
            ours, matches = eventpipes_rates(workload, count, 1, passes)
            mine = statistics.median(ours)
            line = f"{count:>7,} {mine:>16,.0f}"
            if peer is not None and count in peer:
                theirs, their_matches = statistics.median(peer[count][0]), peer[count][1]
                line += f" {theirs:>17,.0f} {mine / theirs:>24.0%}"
                if their_matches != matches:
                    line += f"  (match counts differ: eventpipes {matches:,}, event-ruler {their_matches:,})"
            else:
                line += f" {'-':>17} {'-':>25}"
            print(f"{line} {matches / len(workload.lines):>10.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 events and a smaller one-by-one budget; 2,000 gen_bench events")
    parser.add_argument("--only", choices=("ruler", "event-ruler"), help="run one part: Ruler vs one-by-one, or vs event-ruler")
    args = parser.parse_args()
    event_count, budget = (1_000, 300_000) if args.quick else (10_000, ONE_BY_ONE_BUDGET)
    print(f"{date.today()} | {platform.python_implementation()} {platform.python_version()} | "
          f"{platform.machine()} | {os.cpu_count()} CPUs")
    if args.only != "event-ruler":
        for title, sources in (("Diverse bus (the target scenario)", DIVERSE_SOURCES), ("Dense bus (stress case)", DENSE_SOURCES)):
            print(f"\n== {title} ==")
            results = run(event_count, RULE_COUNTS, budget, sources)
            speedup = results[1_000][0] / results[1_000][1]
            slowdown = results[100][0] / results[10_000][0]
            print(f"Ruler vs one-by-one at 1,000 rules: {speedup:.1f}x faster (target >= 20x): "
                  f"{'met' if speedup >= 20 else 'NOT met'}")
            print(f"Ruler cost from 100 to 10,000 rules: {slowdown:.2f}x slower (target <= 3x): "
                  f"{'met' if slowdown <= 3 else 'NOT met'}")
    if args.only != "ruler":
        print("\n== Against aws/event-ruler (gen_bench workload) ==")
        against_event_ruler(*((2_000, 20, 5) if args.quick else (10_000, 10, 5)))


if __name__ == "__main__":
    main()
