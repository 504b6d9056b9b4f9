"""The local broker's jars: from ``KAFKA_HOME``, or resolved once from Maven Central.

Resolution runs ``mvn dependency:copy-dependencies`` on the pom bundled with the
package into a per-user cache; a marker file written only after a complete copy
makes the second start download nothing and an interrupted first one start over.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from eventpipes.broker.errors import JarResolutionFailed, MavenNotFound

#: Must equal the Kafka version in resources/pom.xml.
KAFKA_VERSION = "3.9.1"

#: Maven's first run on a new machine downloads its plugins too; seen here: 4 s warm, ~40 s cold.
RESOLVE_TIMEOUT_SECONDS = 600


def kafka_home_jars(kafka_home: Path) -> list[Path]:
    """The jars of an Apache Kafka distribution.

    Raises:
        JarResolutionFailed: ``KAFKA_HOME`` has no ``libs/kafka_*.jar``.
    """
    jars = sorted((kafka_home / "libs").glob("*.jar"))
    if not any(jar.name.startswith("kafka_") for jar in jars):
        raise JarResolutionFailed(f"KAFKA_HOME={kafka_home} is not an Apache Kafka distribution: no libs/kafka_*.jar")
    return jars


def cached_jars(cache_dir: Path) -> list[Path]:
    """The jars of the pinned Kafka version, resolving them on first use.

    Raises:
        MavenNotFound: no ``mvn`` on PATH.
        JarResolutionFailed: Maven ran but could not resolve them.
    """
    libs = cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"
    marker = libs / ".complete"
    if not marker.exists():
        _resolve_into(libs)
        marker.write_text(KAFKA_VERSION)
    return sorted(libs.glob("*.jar"))


def _resolve_into(libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFound(
            "Maven (mvn) is not on PATH and KAFKA_HOME is not set: install Maven, point KAFKA_HOME "
            "at an Apache Kafka distribution, or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
        )
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with resources.as_file(resources.files("eventpipes.broker") / "resources" / "pom.xml") as pom:
        command = [
            mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise JarResolutionFailed(f"Maven did not finish resolving Kafka {KAFKA_VERSION} in {RESOLVE_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise JarResolutionFailed(f"Maven could not resolve Kafka {KAFKA_VERSION} (exit {done.returncode}):\n{tail}")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
