"""``eventpipes apply`` and ``eventpipes export`` on the real broker.

Each test has a control topic of its own (``EVENTPIPES_CONTROL_TOPIC``) and uniquely named
resources. Archives live in the broker's one archive store, shared with every test and every
developer, so whatever lists or prunes archives here sees only this test's own (``Ours``),
and every archive made is deleted at the end.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from eventpipes.apply import apply_topology, plan_topology, run_plan
from eventpipes.archive.model import Archive, StoredArchive
from eventpipes.archive.store import ArchiveStore
from eventpipes.cli.main import cli
from eventpipes.control import ControlPlane
from eventpipes.control.errors import StepFailed
from eventpipes.settings import Settings, get_settings
from eventpipes.testing import KafkaCluster, unique_name
from eventpipes.topology import load_text

ORDERS = Path(__file__).parents[2] / "topologies" / "orders.yaml"

TOPOLOGY = """
EventBuses:
  - {{Name: {u}-orders, Description: orders}}
  - {{Name: {u}-audit}}
Connections:
  - Name: {u}-conn
    AuthorizationType: API_KEY
    AuthParameters: {{ApiKeyAuthParameters: {{ApiKeyName: x-api-key, ApiKeyValue: very-secret-value}}}}
ApiDestinations:
  - {{Name: {u}-hook, ConnectionName: {u}-conn, InvocationEndpoint: "http://127.0.0.1:9/*", HttpMethod: POST}}
Rules:
  - Name: paid
    EventBusName: {u}-orders
    EventPattern: {{detail-type: [{paid}]}}
    Targets:
      - {{Id: topic, Topic: {u}-paid, RetryPolicy: {{MaximumRetryAttempts: 3}}}}
      - {{Id: hook, ApiDestination: {u}-hook, HttpParameters: {{PathParameterValues: [x]}}}}
      - {{Id: mirror, EventBus: {u}-audit}}
  - Name: big
    EventBusName: {u}-orders
    EventPattern: {{detail: {{total: [{{numeric: [">", 100]}}]}}}}
    Targets: [{{Id: big, Topic: {u}-big}}]
Archives:
  - {{ArchiveName: {u}-arch, EventBusName: {u}-orders, RetentionDays: 3}}
Pipes:
  - Name: {u}-pipe
    Source: {u}-in
    DesiredState: STOPPED
    SourceParameters: {{SelfManagedKafkaParameters: {{BatchSize: 5}}}}
    Target: topic:{u}-out
"""


class Ours:
    """The shared archive store, seen as holding only this test's archives (those named with ``prefix``)."""

    def __init__(self, store: ArchiveStore, prefix: str) -> None:
        self.store, self.prefix = store, prefix

    def archives(self) -> dict[str, StoredArchive]:
        return {name: stored for name, stored in self.store.archives().items() if name.startswith(self.prefix)}

    def create_archive(self, archive: Archive) -> Any:
        return self.store.create_archive(archive)

    def ensure_archive(self, archive: Archive) -> Any:
        return self.store.ensure_archive(archive)

    def delete_archive(self, name: str) -> None:
        self.store.delete_archive(name)


@pytest.fixture
def store(kafka: KafkaCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A control topic of this test's own and a key for connection secrets, in the environment the CLI reads."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap)
    monkeypatch.setenv("EVENTPIPES_CONTROL_TOPIC", unique_name("control"))
    monkeypatch.setenv("EVENTPIPES_CONTROL_KEY", base64.b64encode(os.urandom(32)).decode())
    get_settings.cache_clear()
    settings = get_settings()
    try:
        yield settings
    finally:
        get_settings.cache_clear()


@pytest.fixture
def u(store: Settings) -> Iterator[str]:
    """This test's name prefix; its archives are deleted at the end."""
    prefix = unique_name("ap")
    yield prefix
    with ArchiveStore(store) as archives:
        for name in Ours(archives, prefix).archives():
            archives.delete_archive(name)


def cli_run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write(tmp_path: Path, text: str, name: str = "topology.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def records(kafka: KafkaCluster, settings: Settings) -> int:
    """Records in the control topic: every change is one."""
    return len(kafka.read_all(settings.control_topic, timeout=10))


def test_apply_creates_everything_then_changes_nothing_then_only_what_changed(kafka: KafkaCluster, store: Settings, u: str,
                                                                             tmp_path: Path) -> None:
    file = write(tmp_path, TOPOLOGY.format(u=u, paid="OrderPaid"))
    first = cli_run("apply", file)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"+ bus {u}-orders", f"+ bus {u}-audit", f"+ connection {u}-conn", f"+ api-destination {u}-hook", f"+ rule {u}-orders/paid",
        f"+ rule {u}-orders/big", f"+ target {u}-orders/paid/topic", f"+ target {u}-orders/paid/hook", f"+ target {u}-orders/paid/mirror",
        f"+ target {u}-orders/big/big", f"+ archive {u}-arch", f"+ pipe {u}-pipe"]
    assert "very-secret-value" not in first.output

    with ControlPlane(store) as plane:
        assert plane.invoke("DescribeEventBus", {"Name": f"{u}-orders"})["Description"] == "orders"
        rule = plane.invoke("DescribeRule", {"Name": "paid", "EventBusName": f"{u}-orders"})
        assert rule["EventPattern"] == '{"detail-type": ["OrderPaid"]}' and rule["State"] == "ENABLED"
        targets = plane.invoke("ListTargetsByRule", {"Rule": "paid", "EventBusName": f"{u}-orders"})["Targets"]
        assert [(t["Id"], t["Arn"]) for t in targets] == [
            ("topic", f"kafka:topic/{u}-paid"),
            ("hook", f"arn:aws:events:{store.region}:{store.account}:api-destination/{u}-hook"),
            ("mirror", f"arn:aws:events:{store.region}:{store.account}:event-bus/{u}-audit")]
        assert targets[0]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}
        connection = plane.invoke("DescribeConnection", {"Name": f"{u}-conn"})
        assert connection["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}  # never the secret
        assert plane.invoke("DescribeApiDestination", {"Name": f"{u}-hook"})["InvocationEndpoint"] == "http://127.0.0.1:9/*"
        pipe = plane.invoke("DescribePipe", {"Name": f"{u}-pipe"})
        assert (pipe["DesiredState"], pipe["Source"], pipe["Target"]) == ("STOPPED", f"kafka:topic/{u}-in", f"topic:{u}-out")
    with ArchiveStore(store) as archives:
        described = archives.describe_archive(f"{u}-arch")
        assert described["RetentionDays"] == 3 and described["EventSourceArn"].endswith(f":event-bus/{u}-orders")
        created = archives.get_archive(f"{u}-arch").creation_time_ms

    written = records(kafka, store)
    second = cli_run("apply", file)
    assert (second.exit_code, second.stdout) == (0, "No changes.\n"), second.output
    assert records(kafka, store) == written
    with ArchiveStore(store) as archives:
        assert archives.get_archive(f"{u}-arch").creation_time_ms == created

    changed = write(tmp_path, TOPOLOGY.format(u=u, paid="OrderRefunded"))
    dry = cli_run("apply", "--dry-run", changed)
    assert dry.exit_code == 0 and dry.stdout.splitlines() == [
        f"~ rule {u}-orders/paid (EventPattern)", "Dry run: 1 change planned, nothing changed."]
    assert records(kafka, store) == written
    third = cli_run("apply", changed)
    assert (third.exit_code, third.stdout) == (0, f"~ rule {u}-orders/paid (EventPattern)\n"), third.output
    assert records(kafka, store) == written + 1
    with ControlPlane(store) as plane:
        assert plane.invoke("DescribeRule", {"Name": "paid", "EventBusName": f"{u}-orders"})["EventPattern"] == (
            '{"detail-type": ["OrderRefunded"]}')
        assert len(plane.invoke("ListTargetsByRule", {"Rule": "paid", "EventBusName": f"{u}-orders"})["Targets"]) == 3


def test_prune_deletes_what_the_file_no_longer_declares(store: Settings, u: str) -> None:
    full = load_text(TOPOLOGY.format(u=u, paid="OrderPaid"))
    smaller = load_text(TOPOLOGY.format(u=u, paid="OrderPaid").split("  - Name: big")[0] + "Pipes: []\n")
    with ControlPlane(store) as plane, ArchiveStore(store) as shared:
        archives = Ours(shared, u)
        apply_topology(plane, archives, full)
        changed = load_text(TOPOLOGY.format(u=u, paid="OrderPaid").replace("RetentionDays: 3", "RetentionDays: 4")
                            .replace("BatchSize: 5", "BatchSize: 6"))
        assert apply_topology(plane, archives, changed).changes == [
            f"~ archive {u}-arch (RetentionDays)", f"~ pipe {u}-pipe (SourceParameters.SelfManagedKafkaParameters.BatchSize)"]
        assert shared.describe_archive(f"{u}-arch")["RetentionDays"] == 4
        assert plane.invoke("DescribePipe", {"Name": f"{u}-pipe"})["SourceParameters"]["SelfManagedKafkaParameters"]["BatchSize"] == 6
        assert apply_topology(plane, archives, smaller).changes == []  # without --prune, nothing is deleted
        assert plane.invoke("DescribeRule", {"Name": "big", "EventBusName": f"{u}-orders"})["Name"] == "big"
        pruned = apply_topology(plane, archives, smaller, prune=True)
        assert pruned.changes == [f"- target {u}-orders/big/big", f"- rule {u}-orders/big", f"- pipe {u}-pipe", f"- archive {u}-arch"]
        assert [r["Name"] for r in plane.invoke("ListRules", {"EventBusName": f"{u}-orders"})["Rules"]] == ["paid"]
        assert plane.invoke("ListPipes", {"NamePrefix": u})["Pipes"] == [] and archives.archives() == {}
        assert apply_topology(plane, archives, smaller, prune=True).changes == []


def test_export_writes_no_secret_and_applying_the_export_changes_nothing(kafka: KafkaCluster, store: Settings, u: str,
                                                                        tmp_path: Path) -> None:
    assert cli_run("apply", write(tmp_path, TOPOLOGY.format(u=u, paid="OrderPaid"))).exit_code == 0
    exported = tmp_path / "export.yaml"
    result = cli_run("export", "-o", str(exported))
    assert result.exit_code == 0, result.output
    text = exported.read_text()
    assert "very-secret-value" not in text and "ApiKeyValue: <stored secret>" in text
    # The archive store is the broker's: keep only this test's archive, as if the store held nothing else.
    yaml = YAML()
    document = yaml.load(text)
    document["Archives"] = [a for a in document.get("Archives", []) if a["ArchiveName"].startswith(u)]
    with exported.open("w") as out:
        yaml.dump(document, out)
    written = records(kafka, store)
    again = cli_run("apply", str(exported))
    assert (again.exit_code, again.stdout) == (0, "No changes.\n"), again.output
    assert records(kafka, store) == written

    run = cli_run("run", str(exported))  # the secret is in the store, not in the file: a worker of the file cannot use it
    assert run.exit_code == 2
    assert "Connections[0].AuthParameters.ApiKeyAuthParameters.ApiKeyValue is '<stored secret>'" in run.stderr


def test_the_example_topology_applies_cleanly(store: Settings, u: str, tmp_path: Path) -> None:
    text = ORDERS.read_text().replace("orders-archive", f"{u}-orders-archive")  # the archive store is shared: a name of our own
    result = cli_run("apply", write(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "+ bus orders", "+ connection fulfilment-api", "+ api-destination fulfilment-webhook", "+ rule orders/high-value",
        "+ rule orders/order-audit", "+ rule orders/shipped", "+ target orders/high-value/fulfilment-webhook",
        "+ target orders/order-audit/audit-topic", "+ target orders/shipped/notify", f"+ archive {u}-orders-archive"]
    assert cli_run("apply", write(tmp_path, text)).stdout == "No changes.\n"


def test_a_step_refused_by_the_store_names_itself_and_leaves_the_earlier_ones(store: Settings, u: str) -> None:
    desired = load_text(f"EventBuses: [{{Name: {u}-a}}, {{Name: {u}-b}}]\nRules: [{{Name: r, EventBusName: {u}-b, EventPattern: {{source: [x]}}}}]")
    with ControlPlane(store) as plane, ArchiveStore(store) as shared:
        archives = Ours(shared, u)
        steps = plan_topology(plane, archives, desired)
        plane.invoke("CreateEventBus", {"Name": f"{u}-b"})  # another writer, between the plan and its second step
        done: list[str] = []
        with pytest.raises(StepFailed) as caught:
            run_plan(plane, archives, steps, lambda step: done.extend(step.changes))
        assert caught.value.code == "ResourceAlreadyExistsException" and done == [f"+ bus {u}-a"]
        assert caught.value.message == (f"step 2 of 3 (CreateEventBus bus {u}-b) failed: Event bus {u}-b already exists. "
                                        "(the step before it stays applied)")
        assert plane.bus_exists(f"{u}-a")
        assert apply_topology(plane, archives, desired).changes == [f"+ rule {u}-b/r"]  # applying again finishes the job


def test_without_the_key_a_connection_step_fails_and_says_so(store: Settings, u: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTPIPES_CONTROL_KEY")
    get_settings.cache_clear()
    text = f"EventBuses: [{{Name: {u}-a}}]\n" + "Connections:\n" + TOPOLOGY.format(u=u, paid="x").split("Connections:\n")[1].split("ApiDestinations:")[0]
    result = cli_run("apply", write(tmp_path, text))
    assert result.exit_code == 2 and result.stdout == f"+ bus {u}-a\n"
    assert re.fullmatch(rf"ValidationException: step 2 of 2 \(CreateConnection connection {u}-conn\) failed: Connection {u}-conn has "
                        r"secrets and this process has no EVENTPIPES_CONTROL_KEY .* \(the step before it stays applied\)\n", result.stderr)


def test_a_file_that_does_not_validate_is_reported_problem_by_problem(store: Settings, tmp_path: Path) -> None:
    file = write(tmp_path, "Rules:\n  - Name: r\n    EventBusName: nowhere\n    EventPattern: {source: [a]}\n    Targest: []\n")
    result = cli_run("apply", file)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"{file}:3:5: Rules[0].EventBusName: no bus named 'nowhere' under EventBuses",
                                          f"{file}:5:5: Rules[0].Targest: unknown key (keys are EventBridge's; check the spelling)"]
