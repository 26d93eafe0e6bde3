"""Prometheus metrics of the pre-dial service (one registry per app, so tests can run several).

* ``callguard_decisions_total{route,result}``: one per decision answered (``allowed`` or
  ``refused``), however many reasons a refusal has.
* ``callguard_decision_reasons_total{reason}``: one per reason code of each refusal.
* ``callguard_idempotent_replays_total``: stored answers replayed for a retried
  ``Idempotency-Key`` — not decisions: nothing was judged or recorded again.
* ``callguard_request_seconds{route,status}``: time to answer, HTTP routes and FastAGI sessions
  (``route="agi/check"`` / ``"agi/attempt"``).
* ``callguard_ledger_errors_total{route}``: requests the ledger failed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .._decision import Decision

__all__ = ["AGI_ROUTES", "CONTENT_TYPE_LATEST", "Metrics", "agi_session"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

AGI_ROUTES = ("agi/check", "agi/attempt")
"""The FastAGI scripts' route labels."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "callguard_decisions",
            "Decisions answered, by route and result: one per decision.",
            ["route", "result"],
            registry=self.registry,
        )
        self.reasons = Counter(
            "callguard_decision_reasons",
            "Reasons of the refusals answered: one per reason code of each refusal.",
            ["reason"],
            registry=self.registry,
        )
        self.replays = Counter(
            "callguard_idempotent_replays",
            "Stored answers replayed for a retried Idempotency-Key (not counted as decisions).",
            registry=self.registry,
        )
        self.latency = Histogram(
            "callguard_request_seconds",
            "Time to answer a request, by route and status (FastAGI sessions: agi/check, "
            "agi/attempt).",
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

        # Each series' child, bound once: ``.labels()`` hashes and locks on every call.
        self._decisions: dict[tuple[str, bool], Any] = {}
        self._reasons: dict[str, Any] = {}

    def decision(self, route: str, decision: Decision, *, replayed: bool = False) -> None:
        """Count one decision answered on ``route``; a replayed one only as a replay."""
        if replayed:
            self.replays.inc()
            return
        allowed = decision.allowed
        child = self._decisions.get((route, allowed))
        if child is None:
            child = self.decisions.labels(route, "allowed" if allowed else "refused")
            self._decisions[(route, allowed)] = child
        child.inc()
        for reason in decision.reasons:
            code = reason.code.value
            counter = self._reasons.get(code)
            if counter is None:
                counter = self._reasons[code] = self.reasons.labels(code)
            counter.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def agi_session(metrics: Metrics | None, info: Mapping[str, Any], started: float) -> None:
    """One FastAGI session, begun at ``started`` (``time.perf_counter()``), in the latency
    histogram: route ``agi/check`` or ``agi/attempt`` (any other script ``agi/unknown``: a label
    taken from the request would let a peer grow the series without bound), status ``allowed``,
    ``refused`` or ``error`` (a bad key, a malformed session: nothing was decided)."""
    if metrics is None:
        return
    route = str(info.get("route"))
    label = route if route in AGI_ROUTES else "agi/unknown"
    if "error" in info and "allowed" not in info:
        status = "error"
    else:
        status = "allowed" if info.get("allowed") else "refused"
    metrics.latency.labels(label, status).observe(time.perf_counter() - started)
