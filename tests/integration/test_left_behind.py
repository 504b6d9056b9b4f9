"""The suite's end check: a run that leaves an archive, a replay or a pipe state it created fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventpipes.archive.store import ArchiveStore
from eventpipes.testing import KafkaCluster

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

LEAKING = """
from eventpipes.archive.model import Archive
from eventpipes.archive.store import ArchiveStore
from eventpipes.pipes import state
from eventpipes.testing import unique_name


def test_leaves_an_archive_and_a_pipe_state(kafka):
    with ArchiveStore(kafka.settings) as store:
        store.create_archive(Archive(ArchiveName=unique_name("leak"), EventBusName=unique_name("bus")))
    state.write_desired(kafka.settings, unique_name("leak"), "RUNNING")
"""


def test_a_run_that_leaves_what_it_created_fails_and_the_leftovers_are_removed(
    kafka: KafkaCluster, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTPIPES_STATE_DIR", str(tmp_path / "state"))  # the inner run's pipe states go here
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap)  # the same broker, not one of its own
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(LEAKING)
    topics = kafka.admin.topics()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "markers=kafka: needs Kafka")
    found = re.findall(r"archive leak-([0-9a-f]{4})[0-9a-f]{6}", result.stdout.str())
    # The inner run, on a cluster it was told is external, leaves its topics: remove them here.
    kafka.admin.delete_topics(sorted(t for t in kafka.admin.topics() - topics if found and f"-{found[0]}" in t))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the run left 2 resource(s) it created*archive leak-*pipe state leak-*"])
    with ArchiveStore(kafka.settings) as store:
        assert not [name for name in store.archives() if name.startswith(f"leak-{found[0]}")]  # the check removed what it found
    assert list((tmp_path / "state" / "pipes").glob("*.json")) == []
