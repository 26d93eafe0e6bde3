"""The journal's chain heads as the SQLite ledger keeps them between its own one-entry writes
(``attempt()``'s path): an entry always follows the head the file holds, whoever wrote it —
another connection, this one outside ``write()``, or a transaction rolled back — and the
journal written with heads kept is the journal written reading every head."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callguard import Guard, LedgerError, Outcome
from callguard.storage import journal
from callguard.storage.journal_format import encode_attempt, encode_values
from callguard.storage.sqlite import SQLiteLedger
from conftest import NPV, paris

AT = paris(2026, 11, 24, 10, 30)
NUMBERS = [f"06 12 34 56 {i:02d}" for i in range(40)]


def ledger_of(g: Guard) -> SQLiteLedger:
    ledger = g.engine.ledger
    assert isinstance(ledger, SQLiteLedger)
    return ledger


def chains(path: Path) -> list[tuple[str, int, str, str, int | None]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT chain, seq, tbl, op, row_id FROM journal ORDER BY id")
        return [tuple(r) for r in rows]


def assert_numbered(path: Path) -> None:
    """Every chain numbered 1, 2, 3… in order."""
    last: dict[str, int] = {}
    for chain, seq, *_ in chains(path):
        assert seq == last.get(chain, 0) + 1, (chain, seq, last.get(chain))
        last[chain] = seq


def assert_chained(g: Guard, path: Path) -> None:
    """Every chain numbered 1, 2, 3… in order, and ``verify`` finds nothing."""
    report = g.verify()
    assert report.ok, report.problems
    assert_numbered(path)


@contextmanager
def traced(g: Guard) -> Iterator[list[str]]:
    statements: list[str] = []
    conn = ledger_of(g).conn
    conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)


def heads_read(statements: list[str]) -> int:
    """How many of the traced ``statements`` read a chain's head (the trace gives them with
    their parameters written in, so they are matched on the text before the first ``?``)."""
    head = journal.HEAD_SQL.split("?")[0]
    return sum(s.startswith(head) for s in statements)


def test_an_attempt_after_the_connections_own_reads_no_head(tmp_path: Path) -> None:
    g = Guard(tmp_path / "l.db", professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    with traced(g) as statements:
        # the attempt's row and its row in the index of facts by number: one entry's write
        assert g.attempt(NUMBERS[1], NPV, AT, purpose="PRESS").attempt_id is not None
    assert any(s.startswith("INSERT INTO journal") for s in statements)
    assert heads_read(statements) == 0
    assert_chained(g, tmp_path / "l.db")


def test_an_entry_written_before_the_attempts_row_is_followed(tmp_path: Path) -> None:
    """An entry appended in the same transaction by other code than the journaled writes
    moves the head: the attempt's entry follows it (read from the file), never the head kept
    from the connection's last commit."""
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    ledger = ledger_of(g)
    with traced(g) as statements, ledger.write():
        journal.append(
            ledger.conn.execute, "p1", 1, "attempts", "void", None, "[]", journal.FORMAT, True
        )
        ledger.insert_attempt(
            1, 33612345699, 1, caller_id=None, outcome=None, campaign=None, purpose="PRESS",
            recorded_at=1,
        )  # fmt: skip
    assert heads_read(statements) == 2  # the raw append's own read, then the attempt's
    assert [seq for chain, seq, *_ in chains(path) if chain == "p1"] == [1, 2, 3]


def test_another_connections_entry_is_followed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    a = Guard(path, professional="acme")
    b = Guard(path, professional="acme")
    for i, n in enumerate(NUMBERS[:12]):
        (a if i % 3 else b).attempt(n, NPV, AT + timedelta(seconds=i), purpose="PRESS")
    assert_chained(a, path)


def test_a_raw_append_by_another_process_is_followed(tmp_path: Path) -> None:
    """The floor of the benchmark writes as another process would: ``journal.append`` on its
    own connection, between two attempts of the guard."""
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    pid = g.engine.pid
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    row = (pid, 33612345699, 1_795_512_600_000_000, None, None, None, "PRESS", 1, None, None)
    rid = other.execute(journal._insert_sql("attempts", journal.ATTEMPT_FIELDS), row).fetchone()
    journal.append(other.execute, f"p{pid}", 1, "attempts", "insert", rid[0],
                   encode_values(row), journal.FORMAT, True)  # fmt: skip
    other.execute("COMMIT")
    other.close()
    g.attempt(NUMBERS[1], NPV, AT, purpose="PRESS")
    assert_chained(g, path)


def test_the_same_connection_writing_outside_write_is_followed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    ledger = ledger_of(g)
    conn = ledger.conn
    conn.execute("BEGIN IMMEDIATE")
    journal.append(conn.execute, f"p{g.engine.pid}", 1, "*", "note", None, "{}", journal.FORMAT,
                   True)  # fmt: skip
    conn.execute("COMMIT")
    g.attempt(NUMBERS[1], NPV, AT, purpose="PRESS")
    with sqlite3.connect(path) as raw:
        ops = [r[0] for r in raw.execute("SELECT op FROM journal ORDER BY id DESC LIMIT 3")]
    assert ops == ["insert", "note", "insert"]
    assert_numbered(path)


def test_a_rolled_back_entry_is_not_followed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    ledger = ledger_of(g)
    with pytest.raises(RuntimeError), ledger.write():
        ledger.insert_attempt(g.engine.pid, 33612345698, 1, caller_id=None, outcome=None,
                              campaign=None, purpose="PRESS", recorded_at=1)  # fmt: skip
        raise RuntimeError("rolled back after its entry")
    g.attempt(NUMBERS[1], NPV, AT, purpose="PRESS")
    assert_chained(g, path)


def test_a_failed_commit_forgets_the_heads(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    ledger = ledger_of(g)
    with pytest.raises(LedgerError), ledger.write():
        ledger.insert_attempt(g.engine.pid, 33612345698, 1, caller_id=None, outcome=None,
                              campaign=None, purpose="PRESS", recorded_at=1)  # fmt: skip
        # The transaction ended under the write: its COMMIT fails, as one the driver refuses.
        ledger.conn.execute("ROLLBACK")
    assert not ledger._heads
    g.attempt(NUMBERS[1], NPV, AT, purpose="PRESS")
    assert_chained(g, path)


def test_a_write_of_several_entries_reads_every_head(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    g = Guard(path, professional="acme")
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    with g.batch():
        g.record_call(NUMBERS[1], AT - timedelta(days=1))
        g.record_call(NUMBERS[2], AT - timedelta(days=1))
    g.attempt(NUMBERS[3], NPV, AT, purpose="PRESS")
    assert_chained(g, path)


def test_a_driver_error_inside_write_is_a_ledger_error(tmp_path: Path) -> None:
    g = Guard(tmp_path / "l.db", professional="acme")
    ledger = ledger_of(g)
    with pytest.raises(LedgerError), ledger.write():
        ledger.conn.execute("SELECT * FROM no_such_table")
    with pytest.raises(LedgerError), ledger.write(), ledger.write():  # joined
        ledger.conn.execute("SELECT * FROM no_such_table")
    assert not ledger.conn.in_transaction
    g.attempt(NUMBERS[0], NPV, AT, purpose="PRESS")
    assert_chained(g, tmp_path / "l.db")


# -- random histories: heads kept or read, the same journal -----------------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["attempt", "other-attempt", "call", "outcome", "batch", "rollback", "raw"]
        ),
        st.integers(0, len(NUMBERS) - 1),
    ),
    max_size=25,
)


def _replay(path: Path, ops: list[tuple[str, int]]) -> list[tuple[str, int, str, str, int | None]]:
    a = Guard(path, professional="acme")
    b = Guard(path, professional="acme")
    ids: list[int] = []
    for k, (op, i) in enumerate(ops):
        at = AT + timedelta(seconds=k)
        number = NUMBERS[i]
        if op in ("attempt", "other-attempt"):
            d = (a if op == "attempt" else b).attempt(number, NPV, at, purpose="PRESS")
            if d.attempt_id is not None:
                ids.append(d.attempt_id)
        elif op == "call":
            ids.append(a.record_call(number, at - timedelta(days=1)))
        elif op == "outcome" and ids:
            a.record_outcome(ids[i % len(ids)], Outcome.ANSWERED, at)
        elif op == "batch":
            with a.batch():
                a.record_call(number, at - timedelta(days=2))
                a.record_call(NUMBERS[(i + 1) % len(NUMBERS)], at - timedelta(days=2))
        elif op == "rollback":
            ledger = ledger_of(a)
            with pytest.raises(RuntimeError), ledger.write():
                ledger.insert_attempt(a.engine.pid, 33612345698, k, caller_id=None,
                                      outcome=None, campaign=None, purpose="PRESS",
                                      recorded_at=k)  # fmt: skip
                raise RuntimeError("rolled back")
        elif op == "raw":
            conn = ledger_of(a).conn
            conn.execute("BEGIN IMMEDIATE")
            journal.append(conn.execute, f"p{a.engine.pid}", k, "*", "note", None, "{}",
                           journal.FORMAT, True)  # fmt: skip
            conn.execute("COMMIT")
    report = a.verify()
    assert report.ok, report.problems
    a.close()
    b.close()
    return chains(path)


@settings(max_examples=25, deadline=None)
@given(_OPS)
def test_heads_kept_write_the_journal_heads_read_write(ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kept = _replay(Path(tmp) / "kept.db", ops)
        original = SQLiteLedger._committed
        SQLiteLedger._committed = SQLiteLedger._forget_heads  # type: ignore[method-assign]
        try:
            read = _replay(Path(tmp) / "read.db", ops)
        finally:
            SQLiteLedger._committed = original  # type: ignore[method-assign]
    assert kept == read


# -- the attempt's entry body -------------------------------------------------------------------

_TEXT = st.one_of(st.none(), st.text(max_size=12))
_INT = st.integers(-(2**62), 2**62)
_ID = st.one_of(_INT, st.booleans())
_STAMP = st.one_of(_INT, st.none())


@given(
    st.tuples(_ID, _INT, _INT, _TEXT, _TEXT, _TEXT, _TEXT, _STAMP, _STAMP, _TEXT),
)
def test_encode_attempt_is_encode_values(row: tuple[Any, ...]) -> None:
    assert encode_attempt(row) == encode_values(row)


_ROW_SQL = (
    "SELECT professional, number, at, caller_id, outcome, campaign, purpose, recorded_at, "
    "voided_at, void_reason FROM attempts WHERE id = ?"
)


@settings(max_examples=30, deadline=None)
@given(_TEXT, st.sampled_from([None, "answered", "refused"]), _TEXT, _TEXT)
def test_insert_attempt_stores_and_journals_the_row_given(
    caller_id: str | None, outcome: str | None, campaign: str | None, purpose: str | None
) -> None:
    """The attempt's INSERT writes the NULLs it need not bind as NULL in its text: the row
    stored and its entry's body are those of the row given, whichever values are None."""
    with tempfile.TemporaryDirectory() as tmp:
        g = Guard(Path(tmp) / "l.db", professional="acme")
        ledger = ledger_of(g)
        pid = g.engine.pid
        with ledger.write():
            rid = ledger.insert_attempt(
                pid, 33612345678, 5, caller_id=caller_id, outcome=outcome, campaign=campaign,
                purpose=purpose, recorded_at=7,
            )  # fmt: skip
        row = (pid, 33612345678, 5, caller_id, outcome, campaign, purpose, 7, None, None)
        assert ledger.service_rows(_ROW_SQL, (rid,)) == [row]
        body = ledger.service_rows(
            "SELECT body FROM journal WHERE tbl = 'attempts' AND row_id = ?", (rid,)
        )
        assert body == [(encode_values(row),)]
        assert g.verify().ok
        g.close()
