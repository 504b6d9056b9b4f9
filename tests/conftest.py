"""Fixtures for the whole suite: one real Kafka for the run, unique names per test.

Tests under tests/integration/ are marked ``kafka``. A ``kafka`` test is never
allowed to skip: a missing broker fails the run (it does not quietly pass). A run
that leaves an archive, a replay or a pipe state it created fails too (``left_behind``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, connect, made_by_this_run, unique_name, wait_until

INTEGRATION = Path(__file__).parent / "integration"

# Hypothesis profiles. Property tests that leave ``max_examples`` to the profile run a
# tenth of their examples in everyday runs (``dev``, the default: the unit suite's four
# slowest tests took 19 of its 26 s with 150-300 examples each) and all of them in CI
# (``HYPOTHESIS_PROFILE=ci``, set by .ci/run). 30 examples still reach every strategy
# branch of the pattern generators in a few runs; the full count is what CI guards.
# No deadline in either: a slow example on a busy machine is not a failure.
hypothesis_settings.register_profile("ci", max_examples=300, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=30, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kafka)


_skipped_kafka_tests: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "kafka" in report.keywords:
        _skipped_kafka_tests.append(report.nodeid)


#: Archives, replays and pipe states this run created and did not remove (see ``left_behind``).
_left_behind: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped_kafka_tests:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: {len(_skipped_kafka_tests)} test(s) that need Kafka were skipped: {_skipped_kafka_tests}")
    if _left_behind:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: the run left {len(_left_behind)} resource(s) it created on the broker or in the state "
              f"directory (removed now; the tests that made them must remove them): {_left_behind}")


def left_behind(settings: Settings) -> list[str]:
    """Archives, replays and pipe states named by this run's ``unique_name`` that still exist.

    A developer's broker and state directory outlive the run: what a test leaves there shows
    up in their ``archive list``, ``replay list`` and ``pipe list``.
    """
    from eventpipes.archive.store import ArchiveStore

    found: list[str] = []
    with ArchiveStore(settings) as store:
        found += [f"archive {name}" for name in store.archives() if made_by_this_run(name)]
        found += [f"replay {name}" for name in store.replays()[0] if made_by_this_run(name)]
    pipes = settings.state_dir / "pipes"
    if pipes.is_dir():
        found += sorted({f"pipe state {path.name.split('.')[0]}" for path in pipes.glob("*.json") if made_by_this_run(path.name)})
    return found


def remove_left_behind(settings: Settings) -> None:
    """Remove what ``left_behind`` found, so a failed check does not leave it to the developer either."""
    import contextlib

    from eventpipes.archive.errors import ArchiveError
    from eventpipes.archive.store import ArchiveStore

    with ArchiveStore(settings) as store:
        for name in [n for n in store.replays()[0] if made_by_this_run(n)]:
            with contextlib.suppress(ArchiveError):
                store.delete_replay(name)
        for name in [n for n in store.archives() if made_by_this_run(n)]:
            store.delete_archive(name)
    pipes = settings.state_dir / "pipes"
    if pipes.is_dir():
        for path in pipes.glob("*.json"):
            if made_by_this_run(path.name):
                path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaCluster]:
    """The real cluster: KAFKA_BOOTSTRAP_SERVERS, or the local broker (left running for the next run).

    On the local broker, the topics the run created are deleted at its end: a run makes
    hundreds, and a broker that kept thousands of partitions ran out of its 512 MB heap
    at start-up. An external cluster is left as it is (its topics are not ours to judge).
    """
    cluster = connect(Settings())
    before = cluster.admin.topics()
    yield cluster
    # Checked on any cluster: archives, replays and pipe states are named by this run alone.
    _left_behind.extend(left_behind(cluster.settings))
    if _left_behind:
        remove_left_behind(cluster.settings)
    if not cluster.settings.kafka_bootstrap_servers:
        # Only names this run made with unique_name: a topic a person, a benchmark or
        # another test run created meanwhile on the same broker is never touched.
        delete_created_topics(cluster, before)
    cluster.close()


def delete_created_topics(cluster: KafkaCluster, before: set[str]) -> None:
    """Delete the topics this run made, listing them again while Kafka still lists one being deleted.

    A test that deleted a topic of its own (``archive delete`` does) can leave it listed for a
    moment; naming it again fails the whole request with UnknownTopicOrPartitionError.
    """
    from kafka.errors import UnknownTopicOrPartitionError

    def deleted() -> bool:
        created = sorted(t for t in cluster.admin.topics() - before if made_by_this_run(t))
        try:
            cluster.admin.delete_topics(created)
        except UnknownTopicOrPartitionError:
            return False
        return True

    wait_until(deleted, timeout=30, interval=0.5, what="the run's topics deleted")


@pytest.fixture
def settings(kafka: KafkaCluster) -> Settings:
    """Settings that point at the test cluster."""
    return kafka.settings


@pytest.fixture
def bus_name() -> str:
    """A bus name no other test uses."""
    return unique_name("bus")


@pytest.fixture
def created_bus(kafka: KafkaCluster) -> str:
    """A bus no other test uses, created as CreateEventBus does: PutEvents puts only on a bus that exists."""
    return kafka.create_bus()
