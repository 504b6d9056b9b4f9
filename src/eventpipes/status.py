"""``eventpipes status``: what a topology's workers have done, from Kafka and from their metrics.

Two kinds of figures, kept apart because they mean different things after a crash:

* ``Kafka``: what the cluster knows, whether or not a worker runs, and across restarts:
  the consumer group's committed position, end and lag on every bus, delivery and retry
  topic (and each pipe's source), and how many records each dead-letter topic holds.
* ``SinceWorkerStart``: the running workers' ``/metrics`` counters, summed over every
  worker that answers (workers split the partitions or the roles). They start at zero
  when a worker starts, so they say what this run did, not what a crash cost.

A scheduled rule also shows its ``ScheduleExpression`` and its last and next fire times, from
the group's schedule progress in Kafka (``read_progress``), whichever worker fires it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from eventpipes.events.envelope import format_time
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.offsets import committed_offsets, end_offsets, group_position, records_in
from eventpipes.kafka.schedule_progress import read_progress
from eventpipes.kafka.topics import bus_topic, delivery_topic, retry_topic
from eventpipes.pipes.model import Pipe
from eventpipes.schedules import Progress, ScheduledRule, next_due
from eventpipes.topology.model import Rule, Topology

Labels = tuple[str, ...]


def read_metrics(url: str) -> dict[str, dict[Labels, float]] | None:
    """Samples by name and (bus, rule, target) labels; None when no worker answers at ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    samples: dict[str, dict[Labels, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sample.labels.get(k, "") for k in ("bus", "rule", "target"))
            samples[sample.name][key] = sample.value
    return samples


def lag(kafka: KafkaClientConfig, group: str, topic: str) -> int:
    """Records of ``topic`` the group has not committed past (all of them where it has no offset)."""
    ends = end_offsets(kafka, topic)
    committed = committed_offsets(kafka, group, topic)
    return sum(end - (committed.get(p) or 0) for p, end in ends.items())


def summed(samples: list[dict[str, dict[Labels, float]]]) -> dict[str, dict[Labels, float]]:
    """Several workers' samples added up, per name and labels."""
    total: dict[str, dict[Labels, float]] = defaultdict(dict)
    for worker in samples:
        for name, values in worker.items():
            for labels, value in values.items():
                total[name][labels] = total[name].get(labels, 0.0) + value
    return total


def status(topology: Topology, *, kafka: KafkaClientConfig, group: str, metrics_urls: list[str]) -> dict[str, Any]:
    """The status document `eventpipes status` prints."""
    answers = {url: read_metrics(url) for url in metrics_urls}
    reachable = [samples for samples in answers.values() if samples is not None]
    metrics = summed(reachable) if reachable else None

    def count(name: str, *labels: str) -> float | None:
        return None if metrics is None else metrics.get(name, {}).get(labels, 0.0)

    progress = read_progress(kafka, group) if any(r.schedule_expression for r in topology.rules) else {}
    rules = []
    for rule in topology.rules:
        bus = rule.event_bus_name
        targets = []
        for target in rule.targets:
            labels = (bus, rule.name, target.id)
            delivered = count("eventpipes_target_delivered_total", *labels)
            latency_sum = count("eventpipes_target_delivery_latency_seconds_sum", *labels)
            delivery = group_position(kafka, group, delivery_topic(bus, rule.name, target.id))
            retry = group_position(kafka, group, retry_topic(bus, rule.name, target.id))
            dlq = target.dead_letter_config.topic if target.dead_letter_config else None
            targets.append({
                "Id": target.id,
                "Kind": target.kind,
                "Lag": delivery["Lag"],
                "WaitingForRetry": retry["Lag"],
                "Kafka": {"Delivery": delivery, "Retry": retry,
                          "DeadLetter": {"Topic": dlq, "Records": records_in(kafka, dlq)} if dlq else None},
                "SinceWorkerStart": None if metrics is None else {
                    "Delivered": delivered,
                    "Retried": count("eventpipes_target_retried_total", *labels),
                    "Failed": count("eventpipes_target_failed_total", *labels),
                    "DeadLettered": count("eventpipes_target_dead_lettered_total", *labels),
                    "MeanLatencySeconds": round(latency_sum / delivered, 4) if delivered and latency_sum is not None else None,
                },
            })
        rules.append({
            "Name": rule.name,
            "EventBusName": bus,
            "State": rule.state,
            "SinceWorkerStart": None if metrics is None else {"Matched": count("eventpipes_rule_matched_total", bus, rule.name, "")},
            **(_schedule(rule, progress.get(rule.name)) if rule.schedule_expression is not None else {}),
            "Targets": targets,
        })
    buses = []
    for name in topology.bus_names():
        if topology.rules_on(name):
            position = group_position(kafka, group, bus_topic(name))
            buses.append({"Name": name, "Lag": position["Lag"], "Kafka": position})
    return {
        "Group": group,
        "Workers": [{"MetricsUrl": url, "Reachable": samples is not None} for url, samples in answers.items()],
        "EventBuses": buses,
        "Rules": rules,
        "Pipes": [pipe_status(pipe, kafka) for pipe in topology.pipes],
    }


def pipe_status(pipe: Pipe, kafka: KafkaClientConfig) -> dict[str, Any]:
    """A pipe's standing in Kafka: its consumer group on its source, and its dead-letter topic."""
    dlq = pipe.stream.dead_letter_config.topic if pipe.stream.dead_letter_config else None
    return {
        "Name": pipe.name,
        "DesiredState": pipe.desired_state,
        "ConsumerGroup": pipe.consumer_group,
        "Kafka": {"Source": group_position(kafka, pipe.consumer_group, pipe.source_topic),
                  "DeadLetter": {"Topic": dlq, "Records": records_in(kafka, dlq)} if dlq else None},
    }


def _schedule(rule: Rule, progress: Progress | None) -> dict[str, Any]:
    """A scheduled rule's expression, last fire time and next fire time (None: not yet, or never)."""
    assert rule.schedule is not None
    # The anchor comes from the progress: a topology's rule is anchored when its group's ticker first sees it.
    upcoming = None if rule.state != "ENABLED" else next_due(ScheduledRule(rule.name, "", rule.schedule, None),
                                                              progress, datetime.now(timezone.utc))
    return {
        "ScheduleExpression": rule.schedule_expression,
        "LastFireTime": _iso(progress.last_fired if progress else None),
        "NextFireTime": _iso(upcoming),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)
