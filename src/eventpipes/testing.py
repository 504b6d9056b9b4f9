"""Test helpers shared by eventpipes' own tests and by users testing their topologies.

A ``KafkaCluster`` is either the cluster named by ``KAFKA_BOOTSTRAP_SERVERS`` or the
local broker, started through the same code as ``eventpipes broker start``; the
helpers (``producer``, ``admin``, ``create_topic``, ``seed_topic``, ``read``) are the
same either way. Names come from ``unique_name`` so tests never share data.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaProducer

from eventpipes.broker import process
from eventpipes.cli.run import READY as WORKER_READY
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.consumer import StartAt, read_topic
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import TopicSpec, bus_topic_spec
from eventpipes.records import Record
from eventpipes.settings import Settings

T = TypeVar("T")


#: Opens every name this process makes, so a test run cleans up its own topics and never
#: those of another run or benchmark sharing the broker.
RUN_TOKEN = uuid.uuid4().hex[:4]


def unique_name(prefix: str = "t") -> str:
    """A name no other test uses: ``prefix`` plus 10 hex digits, the first four this process's ``RUN_TOKEN``."""
    return f"{prefix}-{RUN_TOKEN}{uuid.uuid4().hex[:6]}"


def made_by_this_run(name: str) -> bool:
    """Whether ``name`` holds a ``unique_name`` made by this process."""
    return re.search(rf"-{RUN_TOKEN}[0-9a-f]{{6}}(?![0-9a-f])", name) is not None


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Raises:
        TimeoutError: ``timeout`` seconds passed first; the message names ``what``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


@dataclass
class KafkaCluster:
    """A reachable Kafka cluster and helpers to use it."""

    settings: Settings
    started_here: bool = False
    admin: Admin = field(init=False)
    _producer: KafkaProducer | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.admin = Admin(self.client)

    @property
    def bootstrap(self) -> str:
        """The address as configured (with its protocol prefix, if any), for a subprocess's environment."""
        return self.settings.bootstrap_servers

    @property
    def client(self) -> KafkaClientConfig:
        """The client configuration (TLS, SASL) every helper here connects with."""
        return client_config(self.settings)

    def env(self) -> dict[str, str]:
        """Environment variables that give a subprocess (``eventpipes run``, ``pipe start``) this cluster and its security settings."""
        return self.settings_env(self.settings)

    @staticmethod
    def settings_env(settings: Settings) -> dict[str, str]:
        env = {"KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers}
        if settings.kafka_client_properties is not None:
            env["KAFKA_CLIENT_PROPERTIES"] = str(settings.kafka_client_properties)
        return env

    def producer(self) -> KafkaProducer:
        """A shared producer (acks=all)."""
        if self._producer is None:
            self._producer = make_producer(self.client)
        return self._producer

    def create_topic(self, name: str | None = None, *, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        """Create a topic (a unique name unless given) and return its name."""
        topic = name or unique_name("topic")
        self.admin.ensure_topic(TopicSpec(topic, partitions, config or {}))
        return topic

    def create_bus(self, name: str | None = None, *, partitions: int | None = None) -> str:
        """Create an event bus's topic as CreateEventBus does (a unique name unless given) and return the bus name.

        PutEvents and ``tail`` accept only buses whose topic exists (``eventpipes.bus.existing``);
        a test that puts events without a topology file or a control plane makes its bus here.
        A ``unique_name`` bus is deleted with the run's other topics.
        """
        bus = name or unique_name("bus")
        self.admin.ensure_topic(bus_topic_spec(bus, partitions or self.settings.bus_partitions))
        return bus

    def seed_topic(self, topic: str, values: Iterable[Any], *, key: Callable[[Any], bytes | None] | None = None) -> None:
        """Produce ``values`` (JSON-encoded unless bytes) and wait until all are acknowledged."""
        producer = self.producer()
        futures = []
        for value in values:
            data = value if isinstance(value, bytes) else json.dumps(value).encode()
            futures.append(producer.send(topic, value=data, key=key(value) if key else None))
        producer.flush()
        for future in futures:
            future.get(timeout=30)

    def read(self, topic: str, count: int, *, timeout: float = 30.0, start: StartAt | None = None) -> list[Record]:
        """Read up to ``count`` records from the beginning (or ``start``), waiting at most ``timeout`` s."""
        return list(read_topic(self.client, topic, start or StartAt("beginning"), max_records=count, timeout_seconds=timeout))

    def read_all(self, topic: str, *, timeout: float = 30.0) -> list[Record]:
        """Every record the topic holds now (whatever was acknowledged before the call)."""
        return list(read_topic(self.client, topic, StartAt("beginning"), timeout_seconds=timeout, stop_at_end=True))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
        self.admin.close()


def connect(settings: Settings) -> KafkaCluster:
    """The external cluster if ``KAFKA_BOOTSTRAP_SERVERS`` is set, else the local broker (started if needed)."""
    if settings.kafka_bootstrap_servers:
        return KafkaCluster(settings)
    already = process.status(settings).running
    process.start(settings)
    return KafkaCluster(settings, started_here=not already)


class ProcessGroup:
    """A test's subprocess in a session of its own, logging to ``_log``, with a hard-kill fallback.

    ``stop`` sends SIGTERM to the whole process group, waits ``grace`` seconds, then SIGKILLs
    it, so a process stuck on shutdown cannot hang a test. Subclasses set ``process`` and ``_log``.
    """

    process: Any
    _log: Any
    GRACE_SECONDS = 15.0

    def kill(self) -> None:
        """SIGKILL at once, as a crash would."""
        import os
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, grace: float | None = None) -> None:
        import os
        import signal
        import subprocess

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=self.GRACE_SECONDS if grace is None else grace)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class WorkerProcess(ProcessGroup):
    """``eventpipes run`` in a subprocess, for tests and demos, with a hard-kill fallback.

    ``stop`` sends SIGTERM (the worker finishes its batches in flight and commits), waits
    ``grace`` seconds, then SIGKILLs the whole process group, so a worker stuck in a
    handler (a target that never answers, a bug under test) cannot hang a test or the demo.
    """

    READY = WORKER_READY

    def __init__(self, topology_file: str | None, *, group: str, web_port: int, env: dict[str, str] | None = None,
                 log_file: str | None = None, roles: tuple[str, ...] = (), args: tuple[str, ...] = ()) -> None:
        import os
        import subprocess
        import sys
        import tempfile

        self.log_path = log_file or tempfile.mktemp(prefix="eventpipes-worker-", suffix=".log")
        self._log = open(self.log_path, "ab")
        self.web_port = web_port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventpipes", "run", *([topology_file] if topology_file else []), "--group", group, "--web-port", str(web_port),
             "--loglevel", "info", *(arg for role in roles for arg in ("--role", role)), *args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def wait_ready(self, timeout: float = 60.0) -> "WorkerProcess":
        """Wait until the worker has fixed its starting offsets and its web server answers."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            return self.READY in self.log() and bool(self.metrics())

        wait_until(ready, timeout=timeout, what="worker ready")
        return self

    def metrics(self) -> str:
        """The worker's /metrics text ('' while it does not answer yet)."""
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=2) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, OSError):
            return ""



def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text (0 when absent)."""
    import re

    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in exposition.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


@dataclass(frozen=True)
class ReceivedRequest:
    """One request an ``HttpReceiver`` got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class HttpReceiver:
    """A local HTTP endpoint that records every request; ``respond`` picks each status.

    ``respond(request) -> (status, body)`` or ``(status, body, headers)``; by default every
    request gets 200. ``host`` may be another loopback address (127.0.0.2) to stand for
    another host.
    """

    def __init__(self, respond: Callable[[ReceivedRequest], tuple[Any, ...]] | None = None, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        receiver = self
        responder = respond or (lambda request: (200, b"{}"))

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = ReceivedRequest(self.command, self.path, dict(self.headers.items()), self.rfile.read(length), time.time())
                with receiver._lock:
                    receiver.requests.append(request)
                status, body, *extra = responder(request)
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self.host = host
        class Server(ThreadingHTTPServer):
            # socketserver's default backlog of 5 refused connections when a delivery batch sent
            # hundreds of requests at once, turning a test of retries into a test of the backlog.
            request_queue_size = 256

        self._server = Server((host, port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def received(self, path_prefix: str = "") -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port_pair(count: int = 2) -> int:
    """A port whose ``count - 1`` successors are free too (a local broker takes two: client and controller; four secured)."""
    import socket

    for _ in range(50):
        port = free_port()
        try:
            for successor in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + successor))
        except OSError:
            continue
        return port
    raise RuntimeError("no two free ports in a row")


class OwnBroker:
    """A local broker of a test's own (own state dir, own ports), for faults the shared one must not see.

    ``stop()`` and ``start()`` restart it on the same data, as an operator's restart would.
    """

    def __init__(self, state_dir: Path, *, heap: str = "384m", secure: bool = False) -> None:
        self.settings = Settings(state_dir=state_dir, broker_port=free_port_pair(4 if secure else 2), broker_heap=heap,
                                 kafka_bootstrap_servers=None, broker_secure=secure)

    def client_settings(self, *, mtls: bool = False) -> Settings:
        """Settings of a client of the SASL_SSL listener (or the mTLS one) of a ``secure=True`` broker.

        The properties file is the one ``start()`` wrote, as ``eventpipes broker start --secure`` prints it.
        """
        from eventpipes.broker.secure import HOST, SecureFiles, mtls_port, secure_port

        files = SecureFiles.under(self.settings.state_dir)
        address = f"SSL://{HOST}:{mtls_port(self.settings)}" if mtls else f"SASL_SSL://{HOST}:{secure_port(self.settings)}"
        return Settings(kafka_bootstrap_servers=address,
                        kafka_client_properties=files.mtls_properties if mtls else files.client_properties,
                        kafka_security_protocol=None, kafka_sasl_mechanism=None, kafka_sasl_username=None,
                        kafka_sasl_password=None, kafka_ssl_ca_location=None)

    def start(self) -> "OwnBroker":
        process.start(self.settings)
        return self

    def stop(self) -> None:
        process.stop(self.settings)

    def __enter__(self) -> "OwnBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
