"""Same-run A/B: eventpipes' ``Ruler`` (JSON text in) against aws/event-ruler on gen_bench's workload.

    .venv/bin/python benchmarks/matcher_vs_ruler.py [--dir DIR] [--counts 100,1000,10000]
        [--rounds 3] [--passes 3] [--ab OTHER_SRC] [--java PEER_DIR]

Both sides get each event as JSON text, so parsing is inside the timer for both (as
issue 21 asks). Per rule count and round: eventpipes' Ruler, then (``--ab``) the same Ruler
imported from another source tree (for before/after of a change), then event-ruler through
the peer harness (``peer.Bench``, ``--java``: a built copy of ``/work/wt/shared/peers/event-ruler``;
``--java-warmup`` untimed passes first, 10 by default as its README runs it). Each
contender runs in a process of its own, with one untimed pass first (Python). Rounds alternate so that load on the shared machine
hits every contender alike; the medians are printed at the end.

The workload is ``gen_bench.py gen --rules 10000 --events 10000`` (seed 20250301); the
match counts are a checksum (40,805 / 383,520 / 3,915,573 at 100 / 1,000 / 10,000 rules).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

GEN_BENCH = Path("/work/wt/shared/peers/event-ruler/gen_bench.py")


def _workload(directory: Path) -> tuple[list[dict[str, object]], list[str]]:
    if not (directory / "rules.json").exists():
        subprocess.run([sys.executable, str(GEN_BENCH), "gen", "--out", str(directory),
                        "--rules", "10000", "--events", "10000"], check=True)
    rules = json.loads((directory / "rules.json").read_text())
    events = [line for line in (directory / "events.jsonl").read_text().splitlines() if line.strip()]
    return [r["pattern"] for r in rules], events


def time_python(directory: Path, count: int, passes: int) -> list[tuple[float, int]]:
    """events/s and match count of each timed pass (one warm-up pass first)."""
    from eventpipes.patterns import Ruler

    patterns, events = _workload(directory)
    ruler = Ruler({f"r{i}": p for i, p in enumerate(patterns[:count])})
    gc.collect()
    out = []
    for number in range(passes + 1):
        hits = 0
        start = time.perf_counter()
        for line in events:
            hits += len(ruler.matches(line))
        seconds = time.perf_counter() - start
        if number:
            out.append((len(events) / seconds, hits))
    return out


def _python_in(src: str | None, directory: Path, count: int, passes: int) -> list[tuple[float, int]]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    result = subprocess.run([sys.executable, __file__, "--child", str(count), "--dir", str(directory),
                             "--passes", str(passes)], env=env, check=True, capture_output=True, text=True)
    return [tuple(json.loads(line)) for line in result.stdout.splitlines()]  # type: ignore[misc]


def _java(peer: Path, directory: Path, count: int, warmup: int, passes: int) -> list[tuple[float, int]]:
    result = subprocess.run(["java", "-cp", f"{peer}/target/classes:{peer}/lib/*", "peer.Bench", str(directory),
                             str(count), str(warmup), str(passes)], check=True, capture_output=True, text=True)
    found = re.findall(r"pass=\d+ seconds=\S+ events/s=(\S+) matches=(\d+)", result.stdout)
    return [(float(rate), int(hits)) for rate, hits in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/eventpipes-gen-bench-10k"))
    parser.add_argument("--counts", default="100,1000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--ab", help="another source tree (its src/) to time the same way, e.g. main's")
    parser.add_argument("--java", type=Path, help="a built copy of the event-ruler peer harness")
    parser.add_argument("--java-warmup", type=int, default=10, help="event-ruler's untimed passes (JIT warm-up)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        for rate, hits in time_python(args.dir, args.child, args.passes):
            print(json.dumps([rate, hits]))
        return 0
    _workload(args.dir)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    here = str(Path(__file__).resolve().parent.parent / "src")
    contenders: dict[str, object] = {"this": here}
    if args.ab:
        contenders["ab"] = args.ab
    if args.java:
        contenders["event-ruler"] = args.java
    results: dict[tuple[str, int], list[float]] = {}
    hits_of: dict[tuple[str, int], set[int]] = {}
    for count in [int(c) for c in args.counts.split(",")]:
        for round_ in range(args.rounds):
            for name, where in contenders.items():
                if name == "event-ruler":
                    passes = _java(Path(str(where)), args.dir, count, args.java_warmup, args.passes)
                else:
                    passes = _python_in(str(where), args.dir, count, args.passes)
                best = max(rate for rate, _ in passes)
                results.setdefault((name, count), []).append(best)
                hits_of.setdefault((name, count), set()).update(h for _, h in passes)
                print(f"rules={count} round={round_} {name}: best of {args.passes} passes {best:,.0f} events/s "
                      f"matches={sorted(hits_of[(name, count)])}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print("\nmedian over rounds of each round's best pass (events/s, JSON parsing included):")
    names = list(contenders)
    print("rules | " + " | ".join(names) + (" | this / event-ruler" if "event-ruler" in names else ""))
    for count in [int(c) for c in args.counts.split(",")]:
        medians = {n: statistics.median(results[(n, count)]) for n in names}
        row = f"{count} | " + " | ".join(f"{medians[n]:,.0f}" for n in names)
        if "event-ruler" in names:
            row += f" | {medians['this'] / medians['event-ruler']:.2f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
