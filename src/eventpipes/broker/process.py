"""Start, stop and report on the local single-node KRaft broker.

The broker runs detached from the caller (its own session, output to files) so
that ``eventpipes broker start`` returns while it keeps running, and a test run
or demo can reuse it the next time.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import SecretStr

from eventpipes.broker import maven, secure
from eventpipes.broker.errors import (
    BrokerError,
    BrokerExited,
    BrokerStartTimeout,
    JavaNotFound,
    JavaTooOld,
    PortInUse,
)
from eventpipes.broker.state import BrokerPaths, RunningBroker
from eventpipes.settings import Settings

#: Kafka 3.9 runs on Java 11 or newer (Kafka 4 will need 17, which the README asks for).
MIN_JAVA = 11

#: A KRaft node starts in under 10 s here; the rest is room for a loaded CI machine.
START_TIMEOUT_SECONDS = 90.0

#: Kafka flushes and closes its logs on SIGTERM; past this we SIGKILL.
STOP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What ``broker status`` reports."""

    running: bool
    bootstrap: str
    external: bool = False
    pid: int | None = None
    kafka_version: str | None = None
    uptime_seconds: float | None = None
    log: str | None = None
    client_properties: str | None = None
    """With the secured listener: the client properties file for it."""
    secure_bootstrap: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "Running": self.running,
            "BootstrapServers": self.bootstrap,
            "External": self.external,
            "Pid": self.pid,
            "KafkaVersion": self.kafka_version,
            "UptimeSeconds": None if self.uptime_seconds is None else round(self.uptime_seconds, 1),
            "Log": self.log,
            **({"SecureBootstrapServers": self.secure_bootstrap, "ClientProperties": self.client_properties}
               if self.client_properties else {}),
        }


def status(settings: Settings) -> BrokerStatus:
    """Report the broker eventpipes would use, without starting anything."""
    if settings.kafka_bootstrap_servers:
        return BrokerStatus(running=True, bootstrap=settings.bootstrap_servers, external=True)
    paths = BrokerPaths.under(settings.state_dir)
    running = RunningBroker.load(paths)
    if running is None:
        return BrokerStatus(running=False, bootstrap=settings.bootstrap_servers, log=str(paths.server_log))
    return BrokerStatus(
        running=True,
        bootstrap=running.bootstrap,
        pid=running.pid,
        kafka_version=running.kafka_version,
        uptime_seconds=time.time() - running.started_at,
        log=str(paths.server_log),
        client_properties=_secure_files(settings)[0] if running.secure else None,
        secure_bootstrap=_secure_files(settings)[1] if running.secure else None,
    )


def _secure_files(settings: Settings) -> tuple[str, str]:
    """The client properties file and the SASL_SSL address of a broker started with --secure."""
    files = secure.SecureFiles.under(settings.state_dir)
    return str(files.client_properties), f"{secure.HOST}:{secure.secure_port(settings)}"


def start(settings: Settings) -> BrokerStatus:
    """Start the local broker (or find it running) and wait until it serves metadata.

    With ``KAFKA_BOOTSTRAP_SERVERS`` set, nothing is started.

    Raises:
        BrokerError: a subclass naming what is missing or what went wrong.
    """
    current = status(settings)
    if current.running:
        if settings.broker_secure and not current.external and current.client_properties is None:
            raise BrokerError("the local broker runs without the secured listener; stop it first "
                              "(eventpipes broker stop), then start it with --secure")
        return current
    paths = BrokerPaths.under(settings.state_dir)
    java = check_java()
    jars = maven.kafka_home_jars(settings.kafka_home) if settings.kafka_home else maven.cached_jars(settings.cache_dir)
    ports = (settings.broker_port, controller_port(settings)) + (
        (secure.secure_port(settings), secure.mtls_port(settings)) if settings.broker_secure else ())
    for port in ports:
        ensure_port_free(port)
    material = secure.ensure_material(settings) if settings.broker_secure else None
    _write_config(paths, settings, material)
    classpath = os.pathsep.join(str(jar) for jar in jars)
    if not paths.formatted_marker.exists():
        _format_storage(java, classpath, paths)
    process = _launch(java, classpath, paths, settings)
    started_at = time.time()
    record = RunningBroker(process.pid, settings.bootstrap_servers, _kafka_version(jars), started_at, secure=material is not None)
    record.save(paths)
    _wait_until_ready(process, paths, settings.bootstrap_servers)
    if material is not None:
        try:
            _secure_ready(process, paths, settings, material)
        except BaseException:
            _terminate(process.pid)  # a half-secured broker is not left behind
            paths.pid_file.unlink(missing_ok=True)
            raise
    return status(settings)


def _secure_ready(process: subprocess.Popen[bytes], paths: BrokerPaths, settings: Settings, material: secure.SecureMaterial) -> None:
    """Users created and the client properties file written, once a SCRAM login over TLS succeeds."""
    from eventpipes.kafka.admin import cluster_answers
    from eventpipes.kafka.client_config import KafkaClientConfig

    secure.create_users(settings, material)
    secure.write_client_properties(settings, material)
    # What the properties file says, built directly: the environment's KAFKA_* must not change the probe.
    client = KafkaClientConfig(f"{secure.HOST}:{secure.secure_port(settings)}", "SASL_SSL", "SCRAM-SHA-512", secure.USER,
                               SecretStr(material.user_password), ssl_ca_location=material.files.ca)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not cluster_answers(client, timeout_seconds=2.0):
        if process.poll() is not None or time.monotonic() > deadline:
            raise BrokerStartTimeout(f"the SASL_SSL listener did not accept {secure.USER} within "
                                     f"{START_TIMEOUT_SECONDS:.0f} s; its log ends:\n{log_tail(paths)}")
        time.sleep(0.25)


def stop(settings: Settings) -> BrokerStatus:
    """Stop the local broker if it runs: SIGTERM, then SIGKILL after a grace period."""
    paths = BrokerPaths.under(settings.state_dir)
    running = RunningBroker.load(paths)
    if running is not None and not settings.kafka_bootstrap_servers:
        _terminate(running.pid)
        paths.pid_file.unlink(missing_ok=True)
    return status(settings)


def controller_port(settings: Settings) -> int:
    return settings.broker_port + 1


def check_java() -> str:
    """The ``java`` executable, checked to be new enough.

    Raises:
        JavaNotFound: no java on PATH or under JAVA_HOME.
        JavaTooOld: older than MIN_JAVA.
    """
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home and (Path(java_home) / "bin" / "java").exists() else shutil.which("java")
    if java is None:
        raise JavaNotFound(f"Java is not installed (no java on PATH or under JAVA_HOME); the local broker needs Java {MIN_JAVA}+, 17 recommended")
    output = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise JavaNotFound(f"could not read the version of {java}: {output.strip()[:200]}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_292" is Java 8
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise JavaTooOld(f"{java} is Java {major}; the local broker needs Java {MIN_JAVA} or newer (17 recommended)")
    return java


def ensure_port_free(port: int) -> None:
    """Raises PortInUse when something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUse(port) from exc


def _write_config(paths: BrokerPaths, settings: Settings, material: secure.SecureMaterial | None = None) -> None:
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    port, controller = settings.broker_port, controller_port(settings)
    # With --secure, a SASL_SSL listener beside the plaintext one; the broker's own traffic stays plaintext.
    extra, advertised, protocols = secure.listeners(settings) if material else ("", "", "")
    secured = [f"{key}={value}" for key, value in secure.listener_lines(settings, material).items()] if material else []
    # Sized for a 2-core machine shared with workers and tests: few threads, small
    # internal topics, no rebalance delay (a single-node broker has nobody to wait for).
    paths.config.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}{extra}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}{advertised}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                f"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT{protocols}",
                f"log.dirs={paths.data}",
                "num.partitions=1",
                "num.network.threads=2",
                "num.io.threads=4",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "group.initial.rebalance.delay.ms=0",
                # eventpipes creates every topic it uses with explicit partitions and configs.
                "auto.create.topics.enable=false",
                *secured,
                "",
            ]
        )
    )
    paths.config.chmod(0o600)  # it holds the keystore's password when secured
    with resources.as_file(resources.files("eventpipes.broker") / "resources" / "log4j.properties") as log4j:
        shutil.copyfile(log4j, paths.log4j)


def new_cluster_id(random_uuid: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """A KRaft cluster id, as Kafka's own Uuid.randomUuid() draws them.

    One in 64 base64 encodings starts with "-", which the storage tool's argument
    parser reads as an option ("argument --cluster-id/-t: expected one argument");
    Kafka redraws those, and so do we.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(random_uuid().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_storage(java: str, classpath: str, paths: BrokerPaths) -> None:
    cluster_id = new_cluster_id()
    done = subprocess.run(
        [java, "-Xmx256m", *_log_flags(paths), "-cp", classpath, "kafka.tools.StorageTool",
         "format", "-t", cluster_id, "-c", str(paths.config)],
        capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        raise BrokerError(f"formatting the KRaft storage in {paths.data} failed:\n{(done.stdout + done.stderr).strip()[-2000:]}")


def _log_flags(paths: BrokerPaths) -> list[str]:
    return [f"-Dlog4j.configuration=file:{paths.log4j}", f"-Dkafka.logs.dir={paths.logs}"]


def _launch(java: str, classpath: str, paths: BrokerPaths, settings: Settings) -> subprocess.Popen[bytes]:
    command = [
        java,
        f"-Xmx{settings.broker_heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        *_log_flags(paths),
        "-cp",
        classpath,
        "kafka.Kafka",
        str(paths.config),
    ]
    with open(paths.console_log, "ab") as console:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the CLI, untouched by its Ctrl-C
            cwd=paths.root,
        )


def _wait_until_ready(process: subprocess.Popen[bytes], paths: BrokerPaths, bootstrap: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise BrokerExited(f"the broker exited with code {process.returncode} while starting; its log ends:\n{log_tail(paths)}")
        if _answers_metadata(bootstrap):
            return
        time.sleep(0.25)
    _terminate(process.pid)
    paths.pid_file.unlink(missing_ok=True)
    raise BrokerStartTimeout(f"the broker did not answer on {bootstrap} within {START_TIMEOUT_SECONDS:.0f} s; its log ends:\n{log_tail(paths)}")


def _answers_metadata(bootstrap: str) -> bool:
    # Imported here: kafka-python is only needed once a broker is up.
    from eventpipes.kafka.admin import cluster_answers
    from eventpipes.kafka.client_config import KafkaClientConfig

    # The plaintext listener on loopback, whatever the clients use: the broker's own readiness.
    return cluster_answers(KafkaClientConfig(bootstrap), timeout_seconds=2.0)


def log_tail(paths: BrokerPaths, lines: int = 25) -> str:
    """The last lines of the broker's console and server logs, for error messages."""
    parts = []
    for log in (paths.console_log, paths.server_log):
        if log.exists():
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(parts) or "(no log written)"


def _terminate(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        return state != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def _kafka_version(jars: list[Path]) -> str:
    for jar in jars:
        match = re.match(r"kafka_2\.\d+-(.+)\.jar$", jar.name)
        if match:
            return match.group(1)
    return "unknown"
