"""What ``pipe describe`` and ``pipe list`` report: state from the state directory, offsets and lag from Kafka.

The shape follows DescribePipe (``Name``, ``Arn``, ``DesiredState``, ``CurrentState``,
``StateReason``, ``Source``, ``Target``, ...) with eventpipes' additions: per-partition
committed offset, end offset and lag of the pipe's consumer group, and the runner's counters.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from eventpipes.arns import pipe_arn

from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.pipes import state
from eventpipes.pipes.errors import PipeNotFound
from eventpipes.pipes.model import Pipe
from eventpipes.settings import Settings

LIVE_STATES = ("STARTING", "RUNNING", "STOPPING")


def current_state(settings: Settings, name: str) -> tuple[str, str | None]:
    """The pipe's state now and, when it is not what was asked for, why."""
    status = state.read_status(settings, name) or {}
    desired = (state.read_desired(settings, name) or {}).get("DesiredState", "STOPPED")
    reported = status.get("CurrentState", "STOPPED")
    alive = state.process_alive(status.get("Pid"))
    if reported in LIVE_STATES and not alive:
        return "STOPPED", f"the pipe's process {status.get('Pid')} ended without stopping the pipe (crashed or killed)"
    if not alive:
        reason = "not running: start it with `eventpipes pipe start`" if desired == "RUNNING" else None
        return "STOPPED", reason
    return str(reported), None


def partition_offsets(kafka: KafkaClientConfig, group: str, topic: str) -> list[dict[str, Any]]:
    """Committed offset, end offset and lag of ``group`` on every partition of ``topic``."""
    try:
        consumer = KafkaConsumer(**kafka.kafka_python(), group_id=group, enable_auto_commit=False,
                                 client_id="eventpipes-describe")
    except (KafkaError, OSError) as exc:
        raise BrokerUnavailable(kafka.bootstrap, repr(exc)) from exc
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        rows = []
        for tp in partitions:
            committed = consumer.committed(tp)
            rows.append({"Partition": tp.partition, "CommittedOffset": committed, "EndOffset": ends[tp],
                         "Lag": ends[tp] - (committed or 0)})
        return rows
    finally:
        consumer.close()


def describe(settings: Settings, name: str, pipe: Pipe | None = None) -> dict[str, Any]:
    """DescribePipe for a pipe that was started from this state directory, or given as ``pipe``.

    Raises:
        PipeNotFound: neither.
    """
    status = state.read_status(settings, name)
    desired = state.read_desired(settings, name)
    if pipe is None and status is None and desired is None:
        raise PipeNotFound(name, str(state.pipes_dir(settings)))
    status = status or {}
    current, reason = current_state(settings, name)
    group = pipe.consumer_group if pipe is not None else status.get("ConsumerGroup", f"eventpipes.pipe.{name}")
    topic = pipe.source_topic if pipe is not None else status.get("Source")
    body: dict[str, Any] = {
        "Name": name,
        "Arn": pipe.arn(settings.region, settings.account) if pipe else pipe_arn(settings.region, settings.account, name),
        "DesiredState": (desired or {}).get("DesiredState", "STOPPED"),
        "CurrentState": current,
    }
    if reason:
        body["StateReason"] = reason
    if pipe is not None:
        body.update({"Source": pipe.source, "Target": pipe.target, "Enrichment": pipe.enrichment})
    body.update({"ConsumerGroup": group, "Pid": status.get("Pid"), "StartedAt": status.get("StartedAt"),
                 "LastReportAt": status.get("UpdatedAt")})
    body["Partitions"] = partition_offsets(client_config(settings), group, topic) if topic else []
    body["Lag"] = sum(row["Lag"] for row in body["Partitions"])
    body["Counters"] = status.get("Counters", {})
    return {key: value for key, value in body.items() if value is not None}


def list_pipes(settings: Settings) -> dict[str, Any]:
    """ListPipes over this state directory."""
    pipes = []
    for name in state.known_pipes(settings):
        current, _ = current_state(settings, name)
        desired = (state.read_desired(settings, name) or {}).get("DesiredState", "STOPPED")
        status = state.read_status(settings, name) or {}
        pipes.append({"Name": name, "DesiredState": desired, "CurrentState": current,
                      "Source": status.get("Source"), "Definition": (state.read_desired(settings, name) or {}).get("Definition")})
    return {"Pipes": pipes}
