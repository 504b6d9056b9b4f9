"""aws/event-ruler as a peer: gen_bench's workload, and event-ruler's own timings of it (issue 21).

The peer lives outside this repository, in ``../shared/peers/event-ruler/`` (``EVENT_RULER_PEER``
names another folder): ``gen_bench.py`` writes a deterministic workload of rules and events
(the 100 and 1,000 rules are the first entries of the larger sets), and a Maven harness
(``peer.Bench``) times event-ruler on it, JSON parsing included. The harness is copied to
``~/.cache/eventpipes/event-ruler-harness`` and built there, so the shared folder is never
written to; a rebuild happens only when its sources change.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PEER = Path(os.environ.get("EVENT_RULER_PEER", Path(__file__).resolve().parents[2] / "shared" / "peers" / "event-ruler"))
CACHE = Path.home() / ".cache" / "eventpipes" / "event-ruler-harness"


class Unavailable(Exception):
    """The peer cannot be used here (no peer folder, no Java or Maven, a failed build); the message says why."""


@dataclass(frozen=True, slots=True)
class Workload:
    """gen_bench's rules and events, as files (for the harness) and as values."""

    folder: Path
    rules: list[dict[str, Any]]
    """``{"name", "pattern"}`` per rule, in gen_bench's order."""
    lines: list[str]
    """Each event as gen_bench wrote it (one JSON text per event)."""


def generate(folder: Path, rules: int, events: int) -> Workload:
    """gen_bench's workload of ``rules`` rules and ``events`` events, written to ``folder``.

    Raises:
        Unavailable: no gen_bench.py in the peer folder.
    """
    script = PEER / "gen_bench.py"
    if not script.exists():
        raise Unavailable(f"gen_bench.py not found at {script}: set EVENT_RULER_PEER to the event-ruler peer folder")
    subprocess.run([sys.executable, str(script), "gen", "--out", str(folder), "--rules", str(rules), "--events", str(events)],
                   check=True, stdout=subprocess.DEVNULL)
    lines = [line for line in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return Workload(folder, json.loads((folder / "rules.json").read_text(encoding="utf-8")), lines)


def build() -> Path:
    """The harness, built in the cache folder (once per version of its sources).

    Raises:
        Unavailable: Java or Maven missing, the peer folder missing, or the build failed.
    """
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise Unavailable(f"{' and '.join(missing)} not found on PATH")
    if not (PEER / "pom.xml").exists():
        raise Unavailable(f"no event-ruler harness at {PEER} (set EVENT_RULER_PEER)")
    sources = sorted([PEER / "pom.xml", *(PEER / "src").rglob("*.java")])
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    if (CACHE / "stamp").exists() and (CACHE / "stamp").read_text() == stamp:
        return CACHE
    shutil.rmtree(CACHE, ignore_errors=True)
    shutil.copytree(PEER, CACHE, ignore=shutil.ignore_patterns("lib", "target", "*.py", "*.md"))
    for path in CACHE.rglob("*"):  # the shared copy is read-only
        path.chmod(path.stat().st_mode | 0o200)
    CACHE.chmod(CACHE.stat().st_mode | 0o200)
    for goal in (["dependency:copy-dependencies", "-DoutputDirectory=lib"], ["compile"]):
        done = subprocess.run(["mvn", "-q", *goal], cwd=CACHE, capture_output=True, text=True)
        if done.returncode != 0:
            raise Unavailable(f"mvn {goal[0]} failed in {CACHE}: {(done.stdout + done.stderr).strip()[-500:]}")
    (CACHE / "stamp").write_text(stamp)
    return CACHE


_PASS = re.compile(r"^rules=(\d+) pass=\d+ seconds=\S+ events/s=([\d.]+) matches=(\d+)")


def rates(workload: Workload, counts: list[int], *, warm_up: int = 5, passes: int = 5) -> dict[int, tuple[list[float], int]]:
    """event-ruler's events/s per timed pass, and its match count, per rule count.

    Raises:
        Unavailable: see ``build``; or the harness failed.
    """
    harness = build()
    classpath = f"{harness / 'target' / 'classes'}{os.pathsep}{harness / 'lib'}{os.sep}*"
    done = subprocess.run(["java", "-cp", classpath, "peer.Bench", str(workload.folder), ",".join(map(str, counts)), str(warm_up), str(passes)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise Unavailable(f"event-ruler harness failed: {done.stderr.strip()[-500:]}")
    found: dict[int, tuple[list[float], int]] = {}
    for line in done.stdout.splitlines():
        if match := _PASS.match(line):
            count, rate, matches = int(match[1]), float(match[2]), int(match[3])
            found.setdefault(count, ([], matches))[0].append(rate)
    return found
