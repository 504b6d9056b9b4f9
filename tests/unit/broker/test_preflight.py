"""What the local broker checks before it starts: Java, Maven, KAFKA_HOME, ports."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from eventpipes.broker import maven, process
from eventpipes.broker.errors import JarResolutionFailed, JavaNotFound, JavaTooOld, MavenNotFound, PortInUse


def fake_java(folder: Path, version_line: str) -> None:
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only an empty folder, and no JAVA_HOME."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return folder


def test_no_java_is_named(bare_path: Path) -> None:
    with pytest.raises(JavaNotFound, match="Java is not installed"):
        process.check_java()


@pytest.mark.parametrize(("line", "major"), [('java version "1.8.0_292"', 8), ('openjdk version "10.0.2" 2018-07-17', 10)])
def test_old_java_is_named_with_its_version(bare_path: Path, line: str, major: int) -> None:
    fake_java(bare_path, line)
    with pytest.raises(JavaTooOld, match=f"is Java {major};"):
        process.check_java()


def test_java_17_is_accepted(bare_path: Path) -> None:
    fake_java(bare_path, 'openjdk version "17.0.15" 2025-04-15')
    assert process.check_java() == str(bare_path / "java")


def test_no_maven_and_no_kafka_home_is_named(bare_path: Path, tmp_path: Path) -> None:
    with pytest.raises(MavenNotFound, match="KAFKA_HOME"):
        maven.cached_jars(tmp_path / "empty-cache")


def test_a_kafka_home_without_kafka_jars_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "libs").mkdir()
    with pytest.raises(JarResolutionFailed, match="not an Apache Kafka distribution"):
        maven.kafka_home_jars(tmp_path)


def test_a_kafka_home_with_jars_is_used(tmp_path: Path) -> None:
    (tmp_path / "libs").mkdir()
    for name in ("kafka_2.13-3.9.1.jar", "kafka-clients-3.9.1.jar"):
        (tmp_path / "libs" / name).write_bytes(b"")
    assert [jar.name for jar in maven.kafka_home_jars(tmp_path)] == ["kafka-clients-3.9.1.jar", "kafka_2.13-3.9.1.jar"]


def test_a_port_in_use_is_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} "):
            process.ensure_port_free(port)
    assert os.environ.get("PATH")
