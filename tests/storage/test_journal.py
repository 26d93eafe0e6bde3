"""The tamper-evident journal: every fact is chained; ``verify`` names the first one changed,
removed or inserted outside callguard. Tampering is done as an intruder would: the ``sqlite3``
shell (or Python's sqlite3 module when the shell is absent), or psycopg on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import callguard
from callguard import Guard
from callguard._numbers import parse_number
from callguard.cli import cli
from callguard.storage.base import is_server_url
from callguard.storage.verdict import Problem
from conftest import NPV, paris

AT = paris(2026, 11, 24, 10, 30)
A, B, C = "06 12 34 56 78", "06 12 34 56 79", "06 98 76 54 32"


def tamper(location: str, statement: str) -> None:
    """Change the ledger outside callguard."""
    if is_server_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(statement)
        return
    shell = shutil.which("sqlite3")
    if shell:
        subprocess.run([shell, location, statement], check=True, capture_output=True)
        return
    with sqlite3.connect(location) as conn:
        conn.execute(statement)


def scalar(location: str, query: str) -> object:
    if is_server_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            row = conn.execute(query).fetchone()
    else:
        with sqlite3.connect(location) as conn:
            row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def every_kind_of_fact(g: Guard) -> int:
    """One fact of each kind; returns an attempt id."""
    g.record_consent(A, AT - timedelta(days=3), proof="form-1")
    g.record_consent(B, AT - timedelta(days=2), proof="form-2")
    g.withdraw_consent(B, AT - timedelta(days=1))
    g.add_optout(C, AT - timedelta(days=1))
    g.remove_optout(C, AT)
    g.record_slot_consent(B, AT, AT + timedelta(hours=1), proof="slot-1")
    g.record_contract(A, AT - timedelta(days=100), subject="box")
    g.import_bloctel([C], AT - timedelta(days=1), submitted=[A, B])
    attempt = g.attempt(A, NPV, AT)
    assert attempt.attempt_id is not None
    g.record_outcome(attempt.attempt_id, "REFUSED")
    g.record_outcome(attempt.attempt_id, "ANSWERED")
    g.record_refusal(B, AT)
    g.record_call(C, AT - timedelta(days=40), outcome="OBJECTED")
    g.record_consent(C, AT - timedelta(days=4), proof="form-3", off_hours=True, channel="web",
                     source="vendor", wording="v2", proof_sha256="ab" * 32)  # fmt: skip
    g.lift_refusal(B, AT + timedelta(minutes=1), reason="agent misclick", by="supervisor")
    g.lift_objection(C, AT + timedelta(minutes=1), reason="wrong key")
    return attempt.attempt_id


@pytest.fixture
def ledger(make_guard: Callable[..., Guard], ledger_location: str) -> str:
    g = make_guard()
    every_kind_of_fact(g)
    make_guard("other").record_consent(A, AT, proof="other-form")
    g.close()
    return ledger_location


def first(location: str) -> Problem:
    report = callguard.verify(location)
    assert not report.ok
    assert report.first is not None
    return report.first


def test_an_untouched_ledger_verifies(ledger: str) -> None:
    report = callguard.verify(ledger)
    assert report.ok, report.problems
    assert report.entries >= 15
    assert set(report.chains) == {"shared", "p1", "p2"}


def test_a_bloctel_import_of_no_rows_verifies(
    make_guard: Callable[..., Guard], ledger_location: str
) -> None:
    # A return file with no consumer line writes no rows: its entry says 0 rows, and the
    # ledger holds none at that instant — nothing is missing.
    g = make_guard()
    g.import_bloctel([], AT, submitted=[])
    g.import_bloctel(["not a number"], AT + timedelta(days=1), submitted=["0800 12 34 56"])
    g.close()
    report = callguard.verify(ledger_location)
    assert report.ok, report.problems


def test_a_lift_changed_outside_callguard_is_named(ledger: str) -> None:
    tamper(ledger, "UPDATE refusals SET lift_reason = 'other' WHERE lift_reason IS NOT NULL")
    problem = first(ledger)
    assert problem.table == "refusals"


def test_an_outcome_history_row_removed_is_named(ledger: str) -> None:
    tamper(ledger, "DELETE FROM attempt_outcomes WHERE outcome = 'REFUSED'")
    assert first(ledger).table == "attempt_outcomes"


def test_a_consents_proof_changed_is_named(ledger: str) -> None:
    tamper(ledger, "UPDATE consents SET proof = 'forged' WHERE proof = 'form-1'")
    problem = first(ledger)
    assert (problem.kind, problem.table) == ("changed", "consents")
    assert "proof is 'forged', journal says 'form-1'" in problem.detail
    row_id = scalar(ledger, "SELECT id FROM consents WHERE proof = 'forged'")
    assert problem.row_id == row_id


def test_a_deleted_attempt_is_named(ledger: str) -> None:
    row_id = scalar(ledger, "SELECT min(id) FROM attempts")
    tamper(ledger, f"DELETE FROM attempts WHERE id = {row_id}")  # noqa: S608
    problem = first(ledger)
    assert (problem.kind, problem.table, problem.row_id) == ("removed", "attempts", row_id)


def test_an_optout_inserted_outside_callguard_is_named(ledger: str) -> None:
    tamper(
        ledger,
        "INSERT INTO optouts (professional, number, at, source) VALUES (1, 33612345601, 0, 'x')",
    )
    problem = first(ledger)
    assert (problem.kind, problem.table) == ("inserted", "optouts")
    assert "33612345601" in problem.detail


def test_an_altered_journal_entry_is_named(ledger: str) -> None:
    tamper(ledger, "UPDATE journal SET body = replace(body, 'form-1', 'forged')")
    problem = first(ledger)
    assert problem.kind == "journal"
    assert "altered" in problem.detail


def test_a_journal_entry_removed_from_the_middle_is_named(ledger: str) -> None:
    tamper(ledger, "DELETE FROM journal WHERE chain = 'p1' AND seq = 3")
    problem = first(ledger)
    assert problem.kind == "journal"
    assert "removed" in problem.detail


def test_a_truncated_journal_tail_leaves_its_facts_unaccounted(ledger: str) -> None:
    last = scalar(ledger, "SELECT max(seq) FROM journal WHERE chain = 'p1'")
    tamper(ledger, f"DELETE FROM journal WHERE chain = 'p1' AND seq = {last}")  # noqa: S608
    problem = first(ledger)
    assert problem.kind in ("inserted", "changed")


def test_a_bloctel_result_flipped_is_named(ledger: str) -> None:
    tamper(ledger, "UPDATE bloctel_checks SET listed = 0")
    problem = first(ledger)
    assert (problem.kind, problem.table) == ("changed", "bloctel_checks")


def test_a_purge_still_verifies(make_guard: Callable[..., Guard], ledger_location: str) -> None:
    g = make_guard()
    old = paris(2024, 3, 5, 11)
    g.record_call(A, old, outcome="REFUSED")
    g.record_call(B, old + timedelta(days=1))
    g.add_optout(C, old, expires_at=old + timedelta(days=10))
    g.record_call(A, AT - timedelta(days=1))
    report = g.purge(paris(2025, 1, 1), now=AT)
    assert report.removed["attempts"] == 2
    verdict = g.verify()
    assert verdict.ok, verdict.problems
    purge = scalar(ledger_location, "SELECT body FROM journal WHERE op = 'purge'")
    assert json.loads(str(purge))["removed"]["attempts"]["rows"] == 2
    g.close()
    tamper(ledger_location, "DELETE FROM purge_log")
    assert first(ledger_location).table == "purge_log"


def test_an_old_ledger_is_sealed_by_a_genesis_and_verifies(ledger_location: str) -> None:
    with Guard(ledger_location, professional="acme") as g:
        every_kind_of_fact(g)
    # As a ledger made before the journal: no journal table, no journal steps.
    tamper(ledger_location, "DROP TABLE journal")
    migrations = "callguard_migrations" if is_server_url(ledger_location) else "_sqlite_migrations"
    tamper(
        ledger_location,
        f"DELETE FROM {migrations} WHERE name IN "  # noqa: S608
        "('m005_journal', 'm006_journal_v2', 'm008_journal_erasable')",
    )
    assert not callguard.verify(ledger_location).ok  # no journal yet
    with Guard(ledger_location, professional="acme") as g:
        g.record_consent(C, AT, proof="after-genesis")
        genesis = scalar(
            ledger_location, "SELECT op FROM journal WHERE seq = 1 AND chain = 'shared'"
        )
        assert genesis == "genesis"
        assert g.verify().ok, g.verify().problems
        g.record_outcome(int(str(scalar(ledger_location, "SELECT min(id) FROM attempts"))), "BUSY")
        assert g.verify().ok, g.verify().problems
    tamper(ledger_location, "UPDATE contracts SET subject = 'other'")
    problem = first(ledger_location)
    assert (problem.kind, problem.table) == ("changed", "contracts")


def test_api_keys_are_journaled(ledger_location: str) -> None:
    pytest.importorskip("starlette")
    from callguard.server.keys import create_key, revoke_key

    with Guard(ledger_location, professional="acme") as g:
        ledger = g.engine.ledger
        create_key(ledger, g.engine.pid, "acme", "dialer-1")
        revoke_key(ledger, "dialer-1")
        assert g.verify().ok
    tamper(ledger_location, "UPDATE api_keys SET revoked_at = NULL")
    problem = first(ledger_location)
    assert (problem.kind, problem.table) == ("changed", "api_keys")


def test_a_copied_ledger_verifies(ledger: str, tmp_path: Path) -> None:
    from callguard.storage.copy import migrate_ledger

    target = str(tmp_path / "copy.db")
    migrate_ledger(ledger, target)
    assert callguard.verify(target).ok


def test_cli_verify_exit_codes(ledger: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", "--db", ledger])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK  journal intact")
    tamper(ledger, "UPDATE consents SET proof = 'forged' WHERE proof = 'form-1'")
    bad = runner.invoke(cli, ["verify", "--db", ledger, "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert data["ok"] is False
    assert data["first"]["table"] == "consents"
    text = runner.invoke(cli, ["verify", "--db", ledger])
    assert text.exit_code == 1
    assert text.output.startswith("TAMPERED  consents row")


def test_cli_verify_refuses_a_missing_ledger(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 2
    assert "nope.db" in result.output


def test_postgres_chains_serialise_one_professional_not_the_others(postgres_server: str) -> None:
    """Appends to a professional's chain wait for each other; another professional's do not."""
    import psycopg

    from callguard.storage.journal import chain_lock_key
    from conftest import postgres_schema

    with postgres_schema(postgres_server) as dsn:
        acme = Guard(dsn, professional="acme", busy_timeout=0.5)
        rival = Guard(dsn, professional="rival", busy_timeout=0.5)
        try:
            for g in (acme, rival):
                g.record_consent(A, AT - timedelta(days=1), proof="form")
            chain = f"p{acme.engine.pid}"
            with psycopg.connect(dsn) as holder:  # a transaction holding acme's chain
                holder.execute(
                    "SELECT pg_advisory_xact_lock(%s)",
                    (chain_lock_key(chain, acme.engine.ledger.namespace),),
                )
                assert rival.attempt(A, NPV, AT).attempt_id is not None
                blocked = acme.attempt(A, NPV, AT)
                assert [r.code.value for r in blocked.reasons] == ["LEDGER_UNAVAILABLE"]
            assert acme.attempt(A, NPV, AT).attempt_id is not None
            assert acme.verify().ok
        finally:
            acme.close()
            rival.close()


def test_postgres_ledgers_in_two_schemas_never_wait_for_each_other(postgres_server: str) -> None:
    """Two ledgers in one database (a schema each) share no lock: a transaction holding one's
    chain and number locks leaves the other's attempts free."""
    import psycopg

    from callguard.storage.journal import chain_lock_key
    from callguard.storage.postgres import lock_key
    from conftest import postgres_schema

    with postgres_schema(postgres_server) as first, postgres_schema(postgres_server) as second:
        one = Guard(first, professional="acme", busy_timeout=0.5)
        other = Guard(second, professional="acme", busy_timeout=0.5)
        try:
            for g in (one, other):
                g.record_consent(A, AT - timedelta(days=1), proof="form")
            assert one.engine.pid == other.engine.pid  # the same chain name in both
            ledger = one.engine.ledger
            keys = [
                chain_lock_key(f"p{one.engine.pid}", ledger.namespace),
                chain_lock_key("shared", ledger.namespace),
                lock_key(one.engine.pid, parse_number(A).key, ledger.namespace),
            ]
            with psycopg.connect(first) as holder:  # a transaction holding the first's locks
                for key in keys:
                    holder.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                assert other.attempt(A, NPV, AT).attempt_id is not None
                blocked = one.attempt(A, NPV, AT)
                assert [r.code.value for r in blocked.reasons] == ["LEDGER_UNAVAILABLE"]
            assert other.verify().ok
        finally:
            one.close()
            other.close()
