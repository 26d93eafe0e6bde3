"""Storage owns its errors and its SQL: the driver's exceptions never leave a backend, and the
service, the evidence and the control pack ask named operations, not statements."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from callguard import Guard, LedgerError, ReasonCode
from callguard._exceptions import LedgerConflictError
from callguard.server.keys import create_key, list_keys, lookup_key, revoke_key
from callguard.storage import kind_of, open_ledger
from callguard.storage.base import Ledger
from callguard.storage.errors import DriverErrors
from callguard.storage.operations import render

NPV = "09 48 12 34 56"
AT = datetime(2026, 11, 24, 10, 30, tzinfo=timezone.utc)


def _driver(location: str) -> type[BaseException]:
    if kind_of(location) == "postgresql":
        import psycopg

        return psycopg.Error
    return sqlite3.Error


def _break(ledger: Ledger) -> None:
    """Make the next read of the facts fail in the driver: its table is gone."""
    with ledger.write():
        ledger.insert_row("professionals", {"name": "breaker"})
    raw = getattr(ledger, "conn", None)
    if raw is not None:
        raw.execute("DROP TABLE attempts")
        raw.execute("DROP TABLE facts_by_number")  # what SQLite's decision reads
        return
    with ledger.connection() as conn:  # type: ignore[attr-defined]
        conn.execute("DROP TABLE attempts CASCADE")


def test_a_driver_error_is_a_ledger_error_with_the_original_as_cause(
    ledger_location: str,
) -> None:
    ledger = open_ledger(ledger_location)
    try:
        _break(ledger)
        with pytest.raises(LedgerError) as caught:
            ledger.attempt_voided(1)
        assert not isinstance(caught.value, LedgerConflictError)
        assert isinstance(caught.value.__cause__, _driver(ledger_location))
        assert ledger.errors == (LedgerError,)
        # The decision's own read translates its errors itself (no wrapper on the hot path).
        with pytest.raises(LedgerError) as caught:
            ledger.facts(1, 33612345678, 0, 0)
        assert isinstance(caught.value.__cause__, _driver(ledger_location))
        # And a write's statement, translated by the write it runs in.
        with pytest.raises(LedgerError) as caught, ledger.write():
            ledger.insert_attempt(
                1,
                33612345678,
                0,
                caller_id=None,
                outcome=None,
                campaign=None,
                purpose=None,
                recorded_at=0,
            )
        assert isinstance(caught.value.__cause__, _driver(ledger_location))
    finally:
        ledger.close()


def test_a_decision_on_a_broken_ledger_is_ledger_unavailable(ledger_location: str) -> None:
    with Guard(ledger_location, professional="acme") as guard:
        _break(guard.engine.ledger)
        decision = guard.may_call("06 12 34 56 78", NPV, AT)
        assert not decision.allowed
        assert ReasonCode.LEDGER_UNAVAILABLE in decision.codes


def test_a_duplicate_idempotency_key_is_a_conflict(ledger_location: str) -> None:
    ledger = open_ledger(ledger_location)
    try:
        pid = ledger.professional_id("acme")
        key = lookup_key(ledger, create_key(ledger, pid, "acme", "k"))
        assert key is not None
        with ledger.write():
            ledger.store_answer(pid, key.id, "idem-1", "digest", 200, "{}", 1)
        with pytest.raises(LedgerConflictError) as caught, ledger.write():
            ledger.store_answer(pid, key.id, "idem-1", "digest", 200, "{}", 2)
        assert isinstance(caught.value.__cause__, _driver(ledger_location))
        # The failed write rolled back; the first answer stands, named operations read it.
        stored = ledger.stored_answer(key.id, "idem-1")
        assert stored is not None and (stored.request, stored.response) == ("digest", "{}")
        assert ledger.stored_answer(key.id, "idem-2") is None
    finally:
        ledger.close()


def test_a_duplicate_key_name_is_a_conflict(ledger_location: str) -> None:
    ledger = open_ledger(ledger_location)
    try:
        pid = ledger.professional_id("acme")
        row = {"professional": pid, "name": "twice", "prefix": "cg_x", "created_at": 1}
        with ledger.write():
            ledger.insert_row("api_keys", {**row, "hash": "a" * 64})
        with pytest.raises(LedgerConflictError), ledger.write():
            ledger.insert_row("api_keys", {**row, "hash": "b" * 64})
        assert ledger.api_key_exists("twice") and ledger.api_key_count() == 1
    finally:
        ledger.close()


def test_the_key_operations_round_trip(ledger_location: str) -> None:
    ledger = open_ledger(ledger_location)
    try:
        pid = ledger.professional_id("acme")
        secret = create_key(ledger, pid, "acme", "first")
        found = lookup_key(ledger, secret)
        assert found is not None and found.professional == "acme"
        assert [k.name for k in list_keys(ledger)] == ["first"]
        assert ledger.live_api_key_ids("first") == [found.id]
        revoked = revoke_key(ledger, "first")
        assert revoked.revoked_at is not None
        assert lookup_key(ledger, secret) is None
        assert ledger.live_api_key_ids("first") == []
        assert ledger.api_key_count() == 1
    finally:
        ledger.close()


def test_a_fact_read_refuses_what_is_not_the_schemas() -> None:
    ledger = open_ledger(":memory:")
    try:
        with pytest.raises(ValueError, match="no such table"):
            ledger.fact_rows("sqlite_master", ["sql"], 1, None, ["name"])
        with pytest.raises(ValueError, match="no such table"):
            ledger.fact_rows("consents", ["proof; DROP TABLE consents"], 1, None, ["at"])
        assert ledger.number_of_row("professionals", 1) is None
    finally:
        ledger.close()


def test_statements_are_declared_once_and_rendered_per_dialect() -> None:
    assert render("SELECT 1 WHERE a = ? AND b = ?", "?") == "SELECT 1 WHERE a = ? AND b = ?"
    assert render("SELECT 1 WHERE a = ? AND b = ?", "%s") == "SELECT 1 WHERE a = %s AND b = %s"


def test_no_backend_hands_out_raw_sql_writes() -> None:
    from callguard.storage.sqlite import SQLiteLedger

    assert issubclass(SQLiteLedger, DriverErrors)
    assert not hasattr(SQLiteLedger, "service_exec")
    assert "service_rows" not in vars(Ledger)
