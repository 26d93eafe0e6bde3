"""SQLite's index of facts by number: kept by triggers equal to its tables through every write
callguard makes, read by decisions exactly as the tables would be, rebuilt for a ledger written
before it, and held against its tables by ``verify`` when someone alters it by hand."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callguard import CallguardError, Guard, Outcome
from callguard._facts import FactKind, Facts
from callguard.storage.base import M010
from callguard.storage.fact_queries import INDEX_TABLE, index_differences
from callguard.storage.sqlite import SQLiteLedger, _facts_sql, _file_rows
from conftest import NPV, paris

NUMBERS = ("06 11 22 33 44", "06 55 66 77 88", "06 98 76 54 32")
START = paris(2026, 9, 1, 10)


def _differences(path: Path) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    conn = sqlite3.connect(path)
    try:
        extra, missing = (conn.execute(sql).fetchall() for sql in index_differences())
    finally:
        conn.close()
    return extra, missing


def _both_reads(ledger: SQLiteLedger, pid: int, key: int, now: int, since: int) -> None:
    """The index's statement and the tables' statement give the same facts, for every set of
    kinds a decision asks (one kind, all of them, all but Bloctel)."""
    params = (pid, key, now, since)
    run = ledger.conn.execute
    every = [None, frozenset(set(FactKind) - {FactKind.BLOCTEL})]
    for kinds in every + [frozenset([k]) for k in FactKind]:
        via_index = ledger.facts(pid, key, now, since, kinds)
        via_tables = _file_rows(run(_facts_sql(kinds, False), params).fetchall())
        assert via_index == via_tables, kinds


# One write callguard makes, drawn: (what, which number, how many hours after START).
_WRITES = st.tuples(
    st.sampled_from(
        [
            "call", "refused", "objected", "void", "outcome", "refusal", "lift", "optout",
            "remove", "consent", "withdraw", "slot", "contract", "attempt", "lift_objection",
        ]
    ),
    st.integers(0, len(NUMBERS) - 1),
    st.integers(0, 24 * 90),
)  # fmt: skip


def _attempt(g: Guard, number: str, at: datetime, ids: list[tuple[int, datetime]]) -> None:
    d = g.attempt(number, NPV, at, purpose="PRESS")
    if d.attempt_id is not None:
        ids.append((d.attempt_id, at))


def _void(g: Guard, ids: list[tuple[int, datetime]]) -> None:
    if ids:
        attempt_id, placed = ids[-1]
        with contextlib.suppress(CallguardError):  # voided already: refused, nothing written
            g.void_attempt(attempt_id, "never placed", at=placed + timedelta(minutes=1))


def _outcome(g: Guard, ids: list[tuple[int, datetime]]) -> None:
    if ids:
        attempt_id, placed = ids[0]
        g.record_outcome(attempt_id, Outcome.ANSWERED, at=placed + timedelta(minutes=2))


_BY_NAME: dict[str, Callable[[Guard, str, datetime], object]] = {
    "call": lambda g, n, at: g.record_call(n, at, caller_id=NPV, outcome=Outcome.NO_ANSWER),
    "refused": lambda g, n, at: g.record_call(n, at, caller_id=NPV, outcome=Outcome.REFUSED),
    "objected": lambda g, n, at: g.record_call(n, at, caller_id=NPV, outcome=Outcome.OBJECTED),
    "refusal": lambda g, n, at: g.record_refusal(n, at),
    "lift": lambda g, n, at: g.lift_refusal(n, at, reason="entered by mistake"),
    "lift_objection": lambda g, n, at: g.lift_objection(n, at, reason="entered by mistake"),
    "optout": lambda g, n, at: g.add_optout(n, at, expires_at=at + timedelta(days=30)),
    "remove": lambda g, n, at: g.remove_optout(n, at),
    "consent": lambda g, n, at: g.record_consent(
        n, at, proof="form 12", off_hours=at.hour % 2 == 0
    ),
    "withdraw": lambda g, n, at: g.withdraw_consent(n, at),
    "slot": lambda g, n, at: g.record_slot_consent(
        n, at, at + timedelta(hours=2), proof="asked for a call"
    ),
    "contract": lambda g, n, at: g.record_contract(n, at, at + timedelta(days=20)),
}


def _write(g: Guard, what: str, number: str, at: datetime, ids: list[tuple[int, datetime]]) -> None:
    if what == "attempt":
        _attempt(g, number, at, ids)
    elif what == "void":
        _void(g, ids)
    elif what == "outcome":
        _outcome(g, ids)
    else:
        _BY_NAME[what](g, number, at)


_READS = (0, 24 * 45, 24 * 100, -24 * 50)
"""The instants the property reads at (hours after START)."""
_CHECK_HOURS = sorted({r + d for r in _READS for d in (-25, -1, 0, 1)})
"""Bloctel checks on, just before and just after each read's instant (and a day before)."""


@example(writes=[], purge_after=None, checks=[(0, -1, True), (0, 0, False), (0, 1, True)])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    writes=st.lists(_WRITES, max_size=25),
    purge_after=st.none() | st.integers(0, 24 * 90),
    checks=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(_CHECK_HOURS), st.booleans())),
)
def test_the_index_equals_its_tables_after_any_writes(
    tmp_path_factory: pytest.TempPathFactory,
    writes: list[tuple[str, int, int]],
    purge_after: int | None,
    checks: list[tuple[int, int, bool]],
) -> None:
    path = tmp_path_factory.mktemp("index") / "l.db"
    ids: list[tuple[int, datetime]] = []
    with Guard(path, clock=lambda: START + timedelta(days=400)) as g:
        for what, n, hours in writes:
            _write(g, what, NUMBERS[n], START + timedelta(hours=hours), ids)
        if purge_after is not None:
            g.purge(START + timedelta(hours=purge_after))
        ledger = g.engine.ledger
        assert isinstance(ledger, SQLiteLedger)
        for n, hours, listed in checks:  # Bloctel checks, before, around and after the reads
            at = int((START + timedelta(hours=hours)).timestamp() * 1_000_000)
            ledger.conn.execute(
                "INSERT OR IGNORE INTO bloctel_checks (number, checked_at, listed) VALUES (?, ?, ?)",
                (33_000_000_000 + int(NUMBERS[n].replace(" ", "")[1:]), at, listed),
            )
        for number in NUMBERS:
            key = 33_000_000_000 + int(number.replace(" ", "")[1:])
            for hours in _READS:
                now = int((START + timedelta(hours=hours)).timestamp() * 1_000_000)
                _both_reads(ledger, g.engine.pid, key, now, now - 62 * 86_400_000_000)
    assert _differences(path) == ([], [])


def test_a_ledger_written_before_the_index_gets_it_on_open(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Guard(path) as g:
        g.record_refusal(NUMBERS[0], START)
        g.add_optout(NUMBERS[1], START)
        g.record_call(NUMBERS[2], START, caller_id=NPV)
    # As an earlier callguard left it: no index, no triggers, the step not applied.
    conn = sqlite3.connect(path)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(f"DROP TABLE {INDEX_TABLE}")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", (M010,))
    conn.commit()
    conn.close()
    # Read-only, it cannot be migrated: decisions read the tables.
    ro = SQLiteLedger.open_read_only(path)
    try:
        assert not ro._indexed
        pid = ro.find_professional("default")
        assert pid is not None
        facts = ro.facts(pid, 33_611_223_344, int(START.timestamp() * 1e6), 0)
        assert len(facts.refusals) == 1
    finally:
        ro.close()
    with Guard(path) as g:
        d = g.may_call(NUMBERS[0], NPV, START + timedelta(days=1), purpose="PRESS")
        assert [r.code.value for r in d.reasons] == ["REFUSAL_COOLDOWN"]
        assert g.verify().ok
    assert _differences(path) == ([], [])


# -- the adversary: the index altered by hand ----------------------------------------------------


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    with Guard(path) as g:
        g.record_refusal(NUMBERS[0], START)
        assert g.verify().ok
    return path


def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _index_problems(path: Path) -> list[str]:
    with Guard(path) as g:
        return [str(p) for p in g.verify().problems if p.kind == "index"]


def test_verify_finds_a_fact_removed_from_the_index(refused: Path) -> None:
    _tamper(refused, "DELETE FROM facts_by_number WHERE kind = 1")
    assert _index_problems(refused) == ["refusals row 1: missing from the index decisions read"]


def test_verify_finds_a_fact_altered_in_the_index(refused: Path) -> None:
    _tamper(refused, "UPDATE facts_by_number SET a = a - 86400000000 * 90 WHERE kind = 1")
    problems = _index_problems(refused)
    assert "refusals row 1: filed in the index decisions read, not so in its table" in problems
    assert "refusals row 1: missing from the index decisions read" in problems


def test_verify_finds_a_dropped_trigger_and_the_fact_written_since(refused: Path) -> None:
    _tamper(refused, "DROP TRIGGER facts_by_number_refusals_insert")
    with Guard(refused) as g:
        g.record_refusal(NUMBERS[1], START)
    problems = _index_problems(refused)
    assert any("trigger facts_by_number_refusals_insert is missing" in p for p in problems)
    assert "refusals row 2: missing from the index decisions read" in problems


def test_verify_finds_a_trigger_callguard_does_not_declare(refused: Path) -> None:
    _tamper(
        refused,
        "CREATE TRIGGER hide AFTER INSERT ON facts_by_number WHEN NEW.kind = 1 BEGIN "
        "DELETE FROM facts_by_number WHERE number = NEW.number AND kind = 1; END",
    )
    with Guard(refused) as g:
        g.record_refusal(NUMBERS[1], START)
    problems = _index_problems(refused)
    assert any("trigger hide is missing, altered or not callguard's" in p for p in problems)
    assert "refusals row 2: missing from the index decisions read" in problems


def test_deleting_the_step_record_rebuilds_a_tampered_index(refused: Path) -> None:
    """The documented repair: the next open applies the step again, from the tables."""
    _tamper(
        refused,
        "DELETE FROM facts_by_number",
        "DROP TRIGGER facts_by_number_refusals_update",
        "DELETE FROM _sqlite_migrations WHERE name = 'm010_facts_by_number'",
    )
    assert _index_problems(refused) == []
    with Guard(refused) as g:
        d = g.may_call(NUMBERS[0], NPV, START + timedelta(days=1), purpose="PRESS")
        assert [r.code.value for r in d.reasons] == ["REFUSAL_COOLDOWN"]


def test_a_ledger_whose_triggers_were_altered_is_decided_from_its_tables(refused: Path) -> None:
    """A trigger dropped by hand leaves later facts out of the index: the next open notices it
    and decides from the tables, which hold them all (verify names the trigger)."""
    _tamper(refused, "DROP TRIGGER facts_by_number_refusals_insert")
    with Guard(refused) as g:
        assert not g.engine.ledger._indexed  # type: ignore[attr-defined]
        g.record_refusal(NUMBERS[1], START)
        d = g.may_call(NUMBERS[1], NPV, START + timedelta(days=1), purpose="PRESS")
        assert [r.code.value for r in d.reasons] == ["REFUSAL_COOLDOWN"]
    ro = SQLiteLedger.open_read_only(refused)
    try:
        assert not ro._indexed
    finally:
        ro.close()


_ROWS = st.lists(
    st.tuples(
        st.sampled_from([int(k) for k in FactKind]),
        st.integers(0, 10**6),
        st.one_of(st.none(), st.integers(0, 10**6)),
        st.one_of(st.none(), st.integers(0, 1)),
    ),
    max_size=4,
)


@given(rows=_ROWS)
@example(rows=[(int(FactKind.BLOCTEL), 5, 0, None)])
@example(rows=[(int(FactKind.BLOCTEL), 5, 1, None)])
@example(rows=[(int(FactKind.ATTEMPT), 5, None, None)])
def test_filing_rows_is_adding_them_one_by_one(
    rows: list[tuple[int, int, int | None, int | None]],
) -> None:
    """``_file_rows`` (with its shortcut for a number's one Bloctel check) files the statement's
    rows as :meth:`Facts.add` does, one by one, the checks in order."""
    rows = [
        (k, a, 0 if b is None else b, c) if k == FactKind.BLOCTEL
        else (k, a, a + 1 if b is None else b, c) if k == FactKind.SLOT
        else (k, a, b, c)
        for k, a, b, c in rows
    ]  # fmt: skip
    expected = Facts()
    for row in rows:
        expected.add(*row)
    expected.bloctel.sort()
    assert _file_rows(rows) == expected
