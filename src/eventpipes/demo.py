"""The demo `make demo` runs: topologies/orders.yaml end to end on the local broker.

It serves the high-value rule's HTTP endpoint itself, starts a worker, puts the
sample entries on the orders bus, and shows where each event went: the webhook,
the audit topic (reshaped by an input transformer) and the dead-letter topic.

Run after run it leaves nothing new behind: the worker's log is one file in the state
directory (``demo/worker.log``, replaced each run), the pipe runs with a state directory
of its own that is removed afterwards, and the replay is forgotten once shown, so the
user's ``pipe list`` and ``replay list`` stay as they were.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from eventpipes.bus.put_events import EventBusClient
from eventpipes.errors import NonRetryableError
from eventpipes.kafka.consumer import StartAt
from eventpipes.settings import Settings
from eventpipes.testing import HttpReceiver, KafkaCluster, ReceivedRequest, WorkerProcess, free_port, wait_until

#: The endpoint topologies/orders.yaml's API destination points at.
WEBHOOK_PORT = 8090


def refuse_shipping_notice(payload: Any) -> None:
    """The `shipped` rule's target: refuses every notice, so the demo shows a dead letter."""
    raise NonRetryableError("the notification service is not built yet")


def run_demo(root: Path, settings: Settings, echo: Any = click.echo) -> None:
    """Run the demo; raises TimeoutError if an expected delivery does not happen within a minute."""
    seen: list[ReceivedRequest] = []

    def webhook(request: ReceivedRequest) -> tuple[int, bytes]:
        seen.append(request)
        return 202, b'{"accepted": true}'

    receiver = HttpReceiver(webhook, port=WEBHOOK_PORT)
    cluster = KafkaCluster(settings)
    since = StartAt("timestamp", int(time.time() * 1000))
    log_file = settings.state_dir / "demo" / "worker.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_bytes(b"")  # one log, this run's: WorkerProcess appends
    worker = WorkerProcess(str(root / "topologies" / "orders.yaml"), group="eventpipes.orders-demo", web_port=free_port(),
                           env={"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}, log_file=str(log_file))
    try:
        worker.wait_ready()
        echo(f"== worker running topologies/orders.yaml (log {worker.log_path})")
        entries = json.loads((root / "topologies" / "orders-sample-entries.json").read_text())
        with EventBusClient(settings) as client:
            result = client.put_events(entries, bus="orders").to_dict()
        echo("== put-events on bus orders:")
        echo(json.dumps(result, indent=2))
        wait_until(lambda: seen, timeout=60, what="the webhook call")
        echo(f"== webhook (rule high-value, detail.total > 1000) got {seen[0].method} {seen[0].path} "
             f"x-api-key={seen[0].headers.get('x-api-key')}:")
        echo("   " + seen[0].body.decode())
        audit = wait_until(lambda: _read(cluster, "orders.audit", since, 2), timeout=60, what="two audit records")
        echo("== topic orders.audit (rule order-audit, input transformer), key = customer id:")
        for record in audit:
            echo(f"   key={(record.key or b'').decode()} {record.value.decode() if record.value else ''}")
        dead = wait_until(lambda: _read(cluster, "orders.dlq", since, 1), timeout=60, what="the dead letter")
        echo("== topic orders.dlq (rule shipped, the function refused it):")
        for record in dead:
            attributes = {k: v.decode() for k, v in record.headers}
            echo(f"   {attributes['ERROR_CODE']}: {attributes['ERROR_MESSAGE']} (retries {attributes['RETRY_ATTEMPTS']})")
            echo(f"   {record.value.decode() if record.value else ''}")
        run_pipe_demo(root, settings, cluster, echo)
        _replay_step(settings, cluster, since, echo)
        echo(f"== done at {datetime.now(timezone.utc):%H:%M:%S}; metrics were on http://127.0.0.1:{worker.web_port}/metrics")
    finally:
        worker.stop()
        receiver.close()
        cluster.close()


def run_pipe_demo(root: Path, settings: Settings, cluster: KafkaCluster, echo: Any = click.echo) -> None:
    """pipes/orders-paid.yaml: feed four order updates, show the paid ones as they reached orders.paid."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import uuid

    run = uuid.uuid4().hex[:6]
    cluster.create_topic("orders.events", partitions=2)
    cluster.create_topic("orders.paid")
    since = StartAt("timestamp", int(time.time() * 1000))
    # The pipe's state files go to a directory of its own, removed at the end: the demo's pipe
    # is not one of the user's (its offsets, in Kafka, carry on from run to run).
    state_dir = tempfile.TemporaryDirectory(prefix="eventpipes-demo-")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers, "EVENTPIPES_STATE_DIR": state_dir.name}
    pipe = subprocess.Popen([sys.executable, "-m", "eventpipes", "pipe", "start", str(root / "pipes" / "orders-paid.yaml")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    try:
        updates = [{"orderId": f"o-{run}-1", "customer": "c-7", "status": "new", "total": 40},
                   {"orderId": f"o-{run}-1", "customer": "c-7", "status": "paid", "total": 40},
                   {"orderId": f"o-{run}-2", "customer": "c-9", "status": "paid", "total": 1250},
                   {"orderId": f"o-{run}-3", "customer": "c-2", "status": "cancelled", "total": 15}]
        cluster.seed_topic("orders.events", updates, key=lambda v: str(v["orderId"]).encode())
        echo("== pipe orders-paid (pipes/orders-paid.yaml): 4 order updates on orders.events, 2 of them paid")

        def paid_orders() -> list[Any]:
            mine = [r for r in _read(cluster, "orders.paid", since, 1) if run.encode() in (r.value or b"")]
            return mine if len(mine) >= 2 else []

        paid = wait_until(paid_orders, timeout=60, what="two paid orders")
        echo("== topic orders.paid (filter value.status = paid, input template):")
        for record in paid:
            echo(f"   {record.value.decode() if record.value else ''}")
    finally:
        if pipe.poll() is None:
            os.killpg(pipe.pid, signal.SIGTERM)
            try:
                pipe.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pipe.pid, signal.SIGKILL)
                pipe.wait(timeout=15)
        state_dir.cleanup()


def _replay_step(settings: Settings, cluster: KafkaCluster, since: StartAt, echo: Any) -> None:
    """Replay this run's events from the archive into a plain topic and print them."""
    from eventpipes.archive.errors import IllegalStatusException
    from eventpipes.archive.replay import ReplayJob, ReplayRequest, start_replay
    from eventpipes.archive.store import ArchiveStore

    start_ms = (since.timestamp_ms or 0) // 1000 * 1000
    name = f"demo-{int(time.time())}"
    since = StartAt("timestamp", start_ms)  # archived and replayed records carry the event time, in whole seconds
    with ArchiveStore(settings) as store:
        # the shipping notice has an explicit Time months back: past the archive's 7-day retention, so not kept
        wait_until(lambda: _read(cluster, "eventpipes.archive.orders-archive", since, 2), timeout=60, what="two archived events")
        request = ReplayRequest(name=name, archive="orders-archive", start_ms=start_ms, end_ms=int(time.time() * 1000),
                                to_topic="orders.replayed")
        try:
            final = ReplayJob(store, start_replay(store, request)).run()
        finally:
            if name in store.replays()[0]:
                with contextlib.suppress(IllegalStatusException):  # interrupted while running: describe says so
                    store.delete_replay(name)  # shown below; not kept in the user's `replay list`
    echo(f"== replay {name} of archive orders-archive ({final.state.value}, {final.progress.events_replayed} events) into topic orders.replayed:")
    for record in _read(cluster, "orders.replayed", since, 1):
        body = json.loads(record.value or b"{}")
        if body.get("replay-name") == name:
            echo(f"   {body['detail-type']} {body['id']} replay-name={body['replay-name']}")


def _read(cluster: KafkaCluster, topic: str, since: StartAt, count: int) -> list[Any]:
    from eventpipes.kafka.consumer import read_topic

    found = list(read_topic(cluster.client, topic, since, timeout_seconds=5, stop_at_end=True))
    return found if len(found) >= count else []
