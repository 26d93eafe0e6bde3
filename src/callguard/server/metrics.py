"""Prometheus metrics of the pre-dial service (one registry per app, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .._decision import Decision

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "callguard_decisions",
            "Decisions answered, by route, result and reason code (one count per reason).",
            ["route", "result", "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "callguard_request_seconds",
            "Time to answer a request, by route and status.",
            ["route", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ledger_errors = Counter(
            "callguard_ledger_errors",
            "Requests answered 503 (or LEDGER_UNAVAILABLE) because the ledger failed.",
            ["route"],
            registry=self.registry,
        )

    def decision(self, route: str, decision: Decision) -> None:
        result = "allowed" if decision.allowed else "refused"
        if not decision.reasons:
            self.decisions.labels(route, result, "").inc()
        for reason in decision.reasons:
            self.decisions.labels(route, result, reason.code.value).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
