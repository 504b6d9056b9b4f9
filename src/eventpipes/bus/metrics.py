"""Routing and delivery counters, exposed in Prometheus' text format on the worker's web port."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

#: Delivery latency buckets (seconds): a local topic target takes milliseconds, an HTTP one up to its 5 s timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Per rule: matched. Per target: delivered, retried, failed, dead-lettered, latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._matched = Counter("eventpipes_rule_matched", "Events a rule matched", ["bus", "rule"], registry=self.registry)
        self._invalid = Counter("eventpipes_bus_invalid_events", "Bus records that were not events, set aside", ["bus"], registry=self.registry)
        labels = ["bus", "rule", "target"]
        self._delivered = Counter("eventpipes_target_delivered", "Events a target accepted", labels, registry=self.registry)
        self._retried = Counter("eventpipes_target_retried", "Delivery attempts that failed and were retried", labels, registry=self.registry)
        self._failed = Counter("eventpipes_target_failed", "Events given up on (dead-lettered or, without a DLQ, dropped and logged)", labels, registry=self.registry)
        self._dead_lettered = Counter("eventpipes_target_dead_lettered", "Events written to the target's dead-letter topic", labels, registry=self.registry)
        self._latency = Histogram(
            "eventpipes_target_delivery_latency_seconds", "From PutEvents to the target's acceptance", labels,
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )

        # labels() costs a lock and a tuple lookup per call; routing and delivery call these per event.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def matched(self, bus: str, rule: str, count: int = 1) -> None:
        self._child(self._matched, bus, rule).inc(count)

    def invalid_event(self, bus: str) -> None:
        self._child(self._invalid, bus).inc()

    def delivered(self, bus: str, rule: str, target: str, latency_seconds: float) -> None:
        self._child(self._delivered, bus, rule, target).inc()
        self._child(self._latency, bus, rule, target).observe(max(latency_seconds, 0.0))

    def delivered_all(self, bus: str, rule: str, target: str, latencies_seconds: list[float]) -> None:
        """``delivered`` for a batch: the counter moved once, each latency observed (one label lookup each)."""
        if not latencies_seconds:
            return
        self._child(self._delivered, bus, rule, target).inc(len(latencies_seconds))
        observe = self._child(self._latency, bus, rule, target).observe
        for latency in latencies_seconds:
            observe(latency if latency > 0.0 else 0.0)

    def retried(self, bus: str, rule: str, target: str) -> None:
        self._child(self._retried, bus, rule, target).inc()

    def failed(self, bus: str, rule: str, target: str, *, dead_lettered: bool) -> None:
        self._child(self._failed, bus, rule, target).inc()
        if dead_lettered:
            self._child(self._dead_lettered, bus, rule, target).inc()

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)
