"""The journal's entry formats: format 2 (one array per row, hashed once) is canonical and
unambiguous, ledgers written in format 1 still verify and go on in format 2, and writers in
several processes keep one valid chain per professional."""

from __future__ import annotations

import json
import multiprocessing
import random
import shutil
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import callguard
from callguard import Guard
from callguard.storage import journal
from callguard.storage.base import SCHEMA, is_server_url
from callguard.storage.journal import (
    FORMAT,
    LEGACY,
    encode_values,
    entry_text,
    row_values,
    values_array,
)
from conftest import NPV
from test_journal import AT, A, B, C, every_kind_of_fact, first, scalar, tamper

V1_LEDGER = Path(__file__).parent.parent / "data" / "journal_v1.db"
"""A ledger written by callguard before the format 2 step: every kind of fact, outcomes, lifts,
a purge and two professionals, all journaled in format 1."""

ROW_TABLES = [t for t in SCHEMA if t.journaled and t.name != "bloctel_checks"]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),
)


# -- format 2: canonical and unambiguous -----------------------------------------------------------


@given(st.lists(values, max_size=12))
def test_encode_values_is_the_canonical_json_of_the_array_without_trailing_nulls(
    row: list[Any],
) -> None:
    trimmed = list(row)
    while trimmed and trimmed[-1] is None:
        trimmed.pop()
    as_json = [int(v) if isinstance(v, bool) else v for v in trimmed]
    expected = json.dumps(as_json, separators=(",", ":"), ensure_ascii=False)
    assert encode_values(row) == expected
    assert json.loads(encode_values(row)) == as_json


def test_encode_values_refuses_what_no_column_holds() -> None:
    with pytest.raises(TypeError, match=r"1\.5"):
        encode_values([1, 1.5])


@st.composite
def table_rows(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    table = draw(st.sampled_from(ROW_TABLES))
    names = [c.name for c in table.columns if c.name != "id"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True))
    return table, {n: draw(values) for n in chosen}


@given(table_rows())
def test_a_row_read_back_from_its_array_is_the_row_read_from_the_table(
    case: tuple[Any, dict[str, Any]],
) -> None:
    """What verify replays from a format 2 body equals what it reads from the row itself."""
    table, given_values = case
    body = encode_values(values_array(table, given_values))
    as_stored = [None if n == "id" else given_values.get(n) for n in table.column_names]
    as_stored = [int(v) if isinstance(v, bool) else v for v in as_stored]
    assert journal._from_array(table.name, json.loads(body)) == row_values(table, as_stored)


names = st.text(st.characters(blacklist_characters="\n"), max_size=8)
entries = st.tuples(
    names,
    st.integers(min_value=0, max_value=2**40),
    st.integers(min_value=0, max_value=2**62),
    names,
    names,
    st.none() | st.integers(min_value=0, max_value=2**40),
    st.text(alphabet="0123456789abcdef", max_size=64),
    st.text(),
)


@given(entries, entries)
def test_two_different_entries_never_hash_the_same_text(
    a: tuple[Any, ...], b: tuple[Any, ...]
) -> None:
    chain_a, seq_a, at_a, table_a, op_a, rid_a, prev_a, body_a = a
    chain_b, seq_b, at_b, table_b, op_b, rid_b, prev_b, body_b = b
    text_a = entry_text(chain_a, seq_a, at_a, table_a, op_a, rid_a, body_a, prev_a)
    text_b = entry_text(chain_b, seq_b, at_b, table_b, op_b, rid_b, body_b, prev_b)
    assert (text_a == text_b) == (a == b)


# -- what is written -------------------------------------------------------------------------------


def test_entries_are_written_in_format_2_once_encoded(ledger_location: str) -> None:
    with Guard(ledger_location, professional="acme") as g:
        g.record_consent(A, AT - timedelta(days=1), proof="form")
        attempt = g.attempt(A, NPV, AT)
        assert attempt.attempt_id is not None
        g.record_outcome(attempt.attempt_id, "ANSWERED")
        assert g.verify().ok
    rows = _journal(ledger_location, "WHERE tbl = 'attempts' ORDER BY id")
    insert, update = rows
    assert insert["v"] == update["v"] == FORMAT
    assert insert["prev"] == update["prev"] == ""
    body = json.loads(insert["body"])
    assert body[:3] == [1, 33612345678, int(AT.timestamp() * 1_000_000)]
    before, after = json.loads(update["body"])
    assert len(after) == len(before) == 8
    assert before[4] is None and after[4] == "ANSWERED"  # outcome, in declared column order
    genesis = _journal(ledger_location, "WHERE op = 'genesis'")[0]
    assert genesis["v"] is None  # the m005 step writes its genesis in the format of its time


def _journal(location: str, where: str) -> list[dict[str, Any]]:
    query = f"SELECT chain, seq, body, prev, hash, v, salt, digest FROM journal {where}"  # noqa: S608
    if is_server_url(location):
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(location, autocommit=True, row_factory=dict_row) as conn:
            return list(conn.execute(query).fetchall())
    with sqlite3.connect(location) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(query)]


def test_a_format_2_entry_is_smaller(tmp_path: Path) -> None:
    """The journal of an attempt takes about 40 % less room than in format 1."""
    path = str(tmp_path / "ledger.db")
    with Guard(path, professional="acme") as g:
        g.record_consent(A, AT - timedelta(days=1), proof="form")
        assert g.attempt(A, NPV, AT).attempt_id is not None
    row = _journal(path, "WHERE tbl = 'attempts'")[0]
    size = len(row["body"]) + len(row["prev"]) + len(row["hash"])
    legacy = json.loads(row["body"])
    names = [c.name for c in SCHEMA[1].columns if c.name != "id"]
    legacy_body = journal.canonical(
        {n: v for n, v in zip(names, legacy, strict=False) if v is not None}
    )
    assert size < 0.65 * (len(legacy_body) + 64 + 64)


# -- tampering with format 2 entries ---------------------------------------------------------------


@pytest.fixture
def ledger(make_guard: Callable[..., Guard], ledger_location: str) -> str:
    g = make_guard()
    every_kind_of_fact(g)
    make_guard("other").record_consent(A, AT, proof="other-form")
    g.close()
    return ledger_location


@pytest.mark.parametrize(
    "statement",
    [
        # the entry's format changed: it would be hashed another way
        "UPDATE journal SET v = NULL WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET v = 2 WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET v = 4 WHERE chain = 'p1' AND seq = 2",
        # format 3: the salt is covered through the body's digest
        "UPDATE journal SET salt = NULL WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET digest = salt WHERE chain = 'p1' AND seq = 2",
        # a previous hash written beside a format 2 entry is not one callguard writes
        "UPDATE journal SET prev = 'x' WHERE chain = 'p1' AND seq = 2",
        # any field of a format 2 entry is covered by its hash
        "UPDATE journal SET at = at + 1 WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET row_id = row_id + 1 WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET tbl = 'optouts' WHERE chain = 'p1' AND seq = 2",
        "UPDATE journal SET body = replace(body, '\"form-1\"', '\"forged\"')",
        # two entries swapped
        "UPDATE journal SET seq = 5 - seq WHERE chain = 'p1' AND seq IN (2, 3)",
    ],
)
def test_an_altered_format_2_entry_is_named(ledger: str, statement: str) -> None:
    assert callguard.verify(ledger).ok
    tamper(ledger, statement)
    problem = first(ledger)
    assert problem.kind == "journal", problem


def test_a_body_rewritten_with_its_hash_is_reported_not_raised(ledger: str) -> None:
    """Someone who recomputes the hashes can write a body callguard cannot read: verify names
    the entry instead of failing with the parser's exception (it raised before)."""
    with Guard(ledger, professional="acme") as g:
        g.record_consent(C, AT, proof="last")  # the chain's last entry: no hash follows it
    last = int(str(scalar(ledger, "SELECT max(seq) FROM journal WHERE chain = 'p1'")))
    prev = journal._hex(_journal(ledger, f"WHERE chain = 'p1' AND seq = {last - 1}")[0]["hash"])
    at, rid = (
        scalar(ledger, f"SELECT at FROM journal WHERE chain = 'p1' AND seq = {last}"),  # noqa: S608
        scalar(ledger, f"SELECT row_id FROM journal WHERE chain = 'p1' AND seq = {last}"),  # noqa: S608
    )
    salt = bytes.fromhex(
        journal._hex(_journal(ledger, f"WHERE chain = 'p1' AND seq = {last}")[0]["salt"])
    )
    for body in ("not json", '{"a": 1}', "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"):
        text = journal.entry_text_v3("p1", last, int(str(at)), "consents", "insert",
                                     int(str(rid)), journal.body_digest(salt, body), prev)  # fmt: skip
        digest = journal._sha256(text)
        tamper(
            ledger,
            f"UPDATE journal SET body = '{body}', hash = '{digest}' "  # noqa: S608
            f"WHERE chain = 'p1' AND seq = {last}",
        )
        problem = first(ledger)
        assert problem.kind == "journal" and "cannot be read" in problem.detail, problem


# -- ledgers written in format 1 -------------------------------------------------------------------


def test_a_format_1_ledger_verifies_and_goes_on_in_format_2(tmp_path: Path) -> None:
    path = str(tmp_path / "v1.db")
    shutil.copy(V1_LEDGER, path)
    assert callguard.verify(path).ok  # read only: no v column yet
    with Guard(path, professional="acme") as g:
        report = g.verify()
        assert report.ok, report.problems
        old = report.entries
        attempt = g.attempt(C, NPV, AT + timedelta(days=1))
        assert attempt.attempt_id is not None
        g.record_outcome(attempt.attempt_id, "BUSY")
        first_attempt = int(str(scalar(path, "SELECT min(id) FROM attempts")))
        g.record_outcome(first_attempt, "ANSWERED")  # a format 1 row updated in format 2
        report = g.verify()
        assert report.ok, report.problems
        assert report.entries == old + 5
    formats = _journal(path, "ORDER BY id")
    assert {r["v"] for r in formats[:old]} == {None}
    assert {r["v"] for r in formats[old:]} == {FORMAT}


@pytest.mark.parametrize(
    ("statement", "kind", "table"),
    [
        ("UPDATE consents SET proof = 'forged' WHERE proof = 'form-1'", "changed", "consents"),
        ("DELETE FROM attempt_outcomes WHERE outcome = 'REFUSED'", "removed", "attempt_outcomes"),
        ("UPDATE journal SET body = replace(body, 'form-1', 'forged')", "journal", "journal"),
        ("UPDATE journal SET prev = 'x' WHERE chain = 'p1' AND seq = 3", "journal", "journal"),
        ("UPDATE journal SET v = 2 WHERE chain = 'p1' AND seq = 3", "journal", "journal"),
        ("DELETE FROM journal WHERE chain = 'p1' AND seq = 3", "journal", "journal"),
    ],
)
def test_tampering_with_a_format_1_ledger_is_still_named(
    tmp_path: Path, statement: str, kind: str, table: str
) -> None:
    path = str(tmp_path / "v1.db")
    shutil.copy(V1_LEDGER, path)
    with Guard(path, professional="acme") as g:
        g.record_consent(B, AT + timedelta(days=1), proof="format-2")
    tamper(path, statement)
    problem = first(path)
    assert (problem.kind, problem.table) == (kind, table), problem
    if kind == "changed":
        assert "proof is 'forged', journal says 'form-1'" in problem.detail


_append = journal.append


def _format_1_append(
    run: Any,
    chain: str,
    at: int,
    table: str,
    op: str,
    row_id: int | None,
    body: str,
    v: int = 0,
    raw: bool = False,
) -> None:
    """What callguard wrote before format 2: a row's values as a JSON object by name (NULLs
    left out), ``before``/``after`` for an update, ``before`` for a delete, hashed as format 1."""
    if row_id is not None and op in ("insert", "update", "delete"):
        value = json.loads(body)
        rows = journal._from_array
        if op == "insert":
            body = journal.canonical(rows(table, value))
        elif op == "update":
            body = journal.canonical(
                {"before": rows(table, value[0]), "after": rows(table, value[1])}
            )
        else:
            body = journal.canonical({"before": rows(table, value)})
    _append(run, chain, at, table, op, row_id, body, LEGACY)


def test_format_1_entries_written_on_either_backend_still_verify(
    ledger_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger whose chains hold format 1 entries, then format 2 ones, on each backend."""
    with Guard(ledger_location, professional="acme") as g:
        monkeypatch.setattr(journal, "append", _format_1_append)
        every_kind_of_fact(g)
        monkeypatch.undo()
        g.record_consent(C, AT + timedelta(days=2), proof="format-2")
        attempt = int(str(scalar(ledger_location, "SELECT min(id) FROM attempts")))
        g.record_outcome(attempt, "BUSY")
        report = g.verify()
        assert report.ok, report.problems
    formats = {r["v"] for r in _journal(ledger_location, "")}
    assert formats == {None, FORMAT}
    tamper(
        ledger_location, "UPDATE refusals SET lift_reason = 'other' WHERE lift_reason IS NOT NULL"
    )
    assert first(ledger_location).table == "refusals"


# -- several processes writing one file ------------------------------------------------------------


def _writer(path: str, professional: str, first_number: int, count: int) -> int:
    recorded = 0
    with Guard(path, professional=professional, busy_timeout=60) as g:
        for i in range(count):
            number = f"+3361{first_number + i:07d}"
            g.record_consent(number, AT - timedelta(days=1), proof=f"{professional}-{i}")
            d = g.attempt(number, NPV, AT + timedelta(seconds=i))
            if d.attempt_id is not None:
                recorded += 1
                if i % 3 == 0:
                    g.record_outcome(d.attempt_id, "REFUSED")
    return recorded


@pytest.mark.slow
def test_writers_in_several_processes_keep_one_valid_chain_each(ledger_location: str) -> None:
    """Four processes, three of them on one professional's chain, append concurrently: every
    chain stays numbered 1, 2, 3… without gap nor repeat, and verifies."""
    Guard(ledger_location, professional="acme").close()
    jobs = [("acme", 0, 60), ("acme", 1000, 60), ("rival", 2000, 60), ("acme", 3000, 60)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(jobs)) as pool:
        recorded = pool.starmap(_writer, [(ledger_location, *job) for job in jobs])
    assert recorded == [60, 60, 60, 60]
    report = callguard.verify(ledger_location)
    assert report.ok, report.problems
    assert set(report.chains) == {"shared", "p1", "p2"}
    for chain, count in report.chains.items():
        top = scalar(ledger_location, f"SELECT max(seq) FROM journal WHERE chain = '{chain}'")  # noqa: S608
        assert top == count, chain
    # each job: 60 consents, 60 attempts, and 20 REFUSED outcomes (the attempt updated, the
    # outcome kept, the refusal recorded)
    assert report.chains["p1"] == 3 * (60 + 60 + 20 * 3)
    assert scalar(ledger_location, "SELECT count(*) FROM attempts") == 240


def test_an_unreadable_format_1_body_with_its_hash_recomputed_is_reported(tmp_path: Path) -> None:
    """The same for a format 1 entry: before, verify raised the JSON parser's error."""
    path = str(tmp_path / "v1.db")
    shutil.copy(V1_LEDGER, path)
    with sqlite3.connect(path) as conn:
        last, at, tbl, op, rid, prev = conn.execute(
            "SELECT seq, at, tbl, op, row_id, prev FROM journal WHERE chain = 'p1' "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    digest = journal.entry_hash("p1", last, at, tbl, op, rid, "not json", prev)
    tamper(
        path,
        f"UPDATE journal SET body = 'not json', hash = '{digest}' "  # noqa: S608
        f"WHERE chain = 'p1' AND seq = {last}",
    )
    problem = first(path)
    assert problem.kind == "journal" and "cannot be read" in problem.detail, problem


def test_insert_attempt_writes_what_insert_row_writes(ledger_location: str) -> None:
    """attempt()'s insert (values in declared order, no mapping) equals the general one: the same
    row and the same journal entry, for random attempts, on each backend."""
    rng = random.Random(13)
    texts = [None, "", "PROSPECTION", "+33948123456", 'l\'été "x"\n', "\u2028\U0001f600"]
    with Guard(ledger_location, professional="acme") as g:
        ledger = g.engine.ledger
        for _ in range(40):
            row = {
                "professional": g.engine.pid,
                "number": rng.randrange(33_100_000_000, 33_999_999_999),
                "at": rng.randrange(0, 2**62),
                "caller_id": rng.choice(texts),
                "outcome": rng.choice(texts),
                "campaign": rng.choice(texts),
                "purpose": rng.choice(texts),
                "recorded_at": rng.randrange(0, 2**62),
            }
            with ledger.write():
                fast = ledger.insert_attempt(**row)
                general = ledger.insert_row("attempts", row)
            read = ledger.service_rows(
                "SELECT * FROM attempts WHERE id IN (?, ?) ORDER BY id", (fast, general)
            )
            # Never voided when recorded (voided_at, void_reason: NULL).
            assert read[0][1:] == read[1][1:] == (*row.values(), None, None)
            bodies = ledger.service_rows(
                "SELECT body FROM journal WHERE tbl = 'attempts' AND row_id IN (?, ?) ORDER BY id",
                (fast, general),
            )
            assert bodies[0] == bodies[1]
        assert g.verify().ok


def test_sqlite_keeps_a_hash_in_32_bytes_and_still_reads_one_in_hex(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    with Guard(path, professional="acme") as g:
        g.record_consent(A, AT, proof="one")
        g.record_consent(B, AT, proof="two")
    stored = _journal(path, "WHERE chain = 'p1' ORDER BY seq")
    assert [type(r["hash"]) for r in stored] == [bytes, bytes]
    assert all(len(r["hash"]) == 32 for r in stored)
    tamper(path, "UPDATE journal SET hash = lower(hex(hash)) WHERE chain = 'p1' AND seq = 1")
    assert callguard.verify(path).ok  # the same hash, written as text
    tamper(path, "UPDATE journal SET hash = zeroblob(32) WHERE chain = 'p1' AND seq = 2")
    assert first(path).kind == "journal"


def test_the_journal_is_format_then_verification_then_writes() -> None:
    """The format knows nothing of verification or writes; verification nothing of writes;
    the names the rest of storage imports from ``storage.journal`` stay there."""
    import ast
    from pathlib import Path

    import callguard.storage.journal as writes
    import callguard.storage.journal_format as fmt
    import callguard.storage.journal_verify as verification

    def imported(module: object) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
        return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    assert not {"journal", "journal_verify"} & imported(fmt)
    assert "journal" not in imported(verification)
    for name in ("verify", "verify_with", "Entry", "canonical", "FORMAT", "append_after"):
        assert hasattr(writes, name), name
    assert writes.verify is verification.verify and writes.canonical is fmt.canonical
