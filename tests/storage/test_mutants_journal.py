"""The journal's behaviours the mutation run found unpinned: what an entry's salt is, what a seal
sums, the advisory-lock key's range, and which erased entries ``verify`` refuses to read.

Everything goes through ``Guard``, ``callguard.verify`` and the stored rows a SQLite ledger holds
(an intruder's view), so the tests survive a reorganisation of the journal's code."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

import callguard
from callguard import Guard
from callguard.storage.journal import chain_lock_key, chain_of, entry_text
from conftest import NPV, consented, paris

AT = paris(2026, 11, 24, 10, 30)
A, B, C = "06 12 34 56 78", "06 12 34 56 79", "06 98 76 54 32"


def _rows(location: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(location) as conn:
        return conn.execute(query, params).fetchall()


def _erase_outside(location: str, entry_id: int) -> None:
    """Erase one format 3 entry as a purge would (body and salt gone, digest kept): its hash,
    and so its chain, still check."""
    ((salt, body),) = _rows(location, "SELECT salt, body FROM journal WHERE id = ?", entry_id)
    assert isinstance(salt, bytes) and isinstance(body, str)  # SQLite keeps the salt's bytes
    digest = hashlib.sha256(salt + body.encode()).digest()
    with sqlite3.connect(location) as conn:
        conn.execute(
            "UPDATE journal SET body = '', salt = NULL, digest = ? WHERE id = ?", (digest, entry_id)
        )


def _ledger(tmp_path: Path) -> str:
    location = str(tmp_path / "ledger.db")
    g = Guard(location, professional="acme")
    try:
        for i, number in enumerate((A, B, C)):
            g.record_consent(number, AT - timedelta(days=3 - i), proof=f"form-{i}")
        g.import_bloctel([C], AT - timedelta(days=1), submitted=[A, B])
        g.attempt(A, NPV, AT)
    finally:
        g.close()
    return location


# -- salts --------------------------------------------------------------------------------------


def test_every_entry_has_a_salt_of_its_own_of_sixteen_bytes(tmp_path: Path) -> None:
    # A salt shared by two entries, or an empty one, would let an erased body be guessed.
    location = _ledger(tmp_path)
    salts = [s for (s,) in _rows(location, "SELECT salt FROM journal WHERE v = 3")]
    assert len(salts) >= 5
    assert all(isinstance(s, bytes) and len(s) == 16 for s in salts)
    assert len(set(salts)) == len(salts)
    # Consecutive salts share no bytes: one does not begin where the one before ends.
    overlaps = sum(a[-1:] == b[:1] for a, b in itertools.pairwise(salts))
    assert overlaps < len(salts) // 2


# -- the advisory-lock key ----------------------------------------------------------------------


def test_a_chain_lock_key_fits_a_signed_64_bit_integer() -> None:
    # PostgreSQL's advisory locks take a bigint: an unsigned 64-bit key overflows it.
    keys = [chain_lock_key(f"p{i}", "public") for i in range(200)]
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert any(k < 0 for k in keys)
    assert len(set(keys)) == len(keys)


# -- erased entries verify refuses --------------------------------------------------------------


def test_an_import_entry_erased_outside_callguard_cannot_be_read(tmp_path: Path) -> None:
    location = _ledger(tmp_path)
    ((entry_id,),) = _rows(location, "SELECT id FROM journal WHERE op = 'import'")
    assert isinstance(entry_id, int)
    _erase_outside(location, entry_id)
    report = callguard.verify(location)
    assert not report.ok
    assert report.first is not None
    assert report.first.row_id == entry_id
    assert "never erased" in report.first.detail


def test_a_consent_entry_erased_outside_callguard_is_named(tmp_path: Path) -> None:
    location = _ledger(tmp_path)
    ((entry_id,),) = _rows(
        location, "SELECT min(id) FROM journal WHERE tbl = 'consents' AND op = 'insert'"
    )
    assert isinstance(entry_id, int)
    _erase_outside(location, entry_id)
    report = callguard.verify(location)
    assert not report.ok
    assert report.first is not None
    assert report.first.row_id == entry_id
    assert "no purge names it" in report.first.detail


# -- what a seal sums ---------------------------------------------------------------------------


def _row_hash(table: str, row_id: int, values: dict[str, object]) -> int:
    """A row's hash as the journal's format defines it: SHA-256 of the canonical JSON
    ``[table, id, values by column name, NULLs left out]``, read as a big-endian integer."""
    text = json.dumps([table, row_id, values], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)  # fmt: skip
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def test_a_copied_ledger_is_sealed_by_the_sum_of_its_row_hashes(tmp_path: Path) -> None:
    # Every table's seal: its row count, largest id and the sum of its rows' hashes modulo
    # 2**256, in 64 hex digits (a sum of several tables is over 2**255 about half the time).
    from callguard.storage.copy import migrate_ledger

    source = _ledger(tmp_path)
    target = str(tmp_path / "copy.db")
    migrate_ledger(source, target)
    assert callguard.verify(target).ok
    ((body,),) = _rows(target, "SELECT body FROM journal WHERE op = 'seal'")
    assert isinstance(body, str)
    seals = json.loads(body)
    checked = 0
    for table, sealed in seals.items():
        if table == "bloctel_checks":
            continue
        with sqlite3.connect(target) as conn:
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        total = 0
        for row in rows:
            values = {n: v for n, v in zip(names, row, strict=True) if n != "id" and v is not None}
            total += _row_hash(table, row[0], values)
        assert sealed["rows"] == len(rows), table
        assert sealed["max_id"] == max((r[0] for r in rows), default=0), table
        assert sealed["sum"] == f"{total % (1 << 256):064x}", table
        checked += bool(rows)
    assert checked >= 3  # professionals, consents, attempts at least


# -- rows sealed by a copy, then changed and purged ---------------------------------------------

OLD = paris(2024, 3, 5, 11)


def test_a_copied_attempt_given_an_outcome_then_purged_still_verifies(tmp_path: Path) -> None:
    # The attempt is sealed by the copy; its outcome is the first entry naming it; the purge
    # erases that entry and removes the row: the seal must count the row out exactly once.
    from callguard.storage.copy import migrate_ledger

    source = str(tmp_path / "source.db")
    with Guard(source, professional="acme") as g:
        first = g.record_call(A, OLD)
        g.record_call(B, OLD + timedelta(days=1))
        g.record_consent(C, AT - timedelta(days=2), proof="form-kept")
    target = str(tmp_path / "copy.db")
    migrate_ledger(source, target)
    with Guard(target, professional="acme") as g:
        g.record_outcome(first, "ANSWERED", OLD + timedelta(minutes=3))
        assert g.verify().ok
        report = g.purge(paris(2025, 1, 1), now=AT)
        assert report.removed["attempts"] == 2
        after = g.verify()
    assert after.ok, after.problems
    erased = _rows(target, "SELECT count(*) FROM journal WHERE body = '' AND tbl = 'attempts'")
    assert erased[0][0] >= 1


# -- a row deleted through the journaled writes -------------------------------------------------


def test_a_row_deleted_through_the_journal_verifies_and_one_put_back_is_named(
    tmp_path: Path,
) -> None:
    from callguard.storage.open import open_ledger

    location = _ledger(tmp_path)
    ((row_id,),) = _rows(location, "SELECT min(id) FROM consents")
    assert isinstance(row_id, int)
    ((row,),) = [_rows(location, "SELECT * FROM consents WHERE id = ?", row_id)]
    ledger = open_ledger(location)
    try:
        with ledger.write():
            ledger.delete_row("consents", row_id)
    finally:
        ledger.close()
    report = callguard.verify(location)
    assert report.ok, report.problems
    marks = ", ".join("?" * len(row))
    with sqlite3.connect(location) as conn:
        conn.execute(f"INSERT INTO consents VALUES ({marks})", row)  # noqa: S608
    report = callguard.verify(location)
    assert not report.ok
    assert report.first is not None
    assert (report.first.table, report.first.row_id) == ("consents", row_id)


def test_a_purge_of_more_rows_than_one_statement_takes_removes_them_all(tmp_path: Path) -> None:
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g, g.batch():
        for i in range(620):
            g.record_call(f"06 12 34 {i // 100:02d} {i % 100:02d}", OLD + timedelta(minutes=i))
    with Guard(location, professional="acme") as g:
        report = g.purge(paris(2025, 1, 1), now=AT)
        assert report.removed["attempts"] == 620
        assert g.verify().ok
    assert _rows(location, "SELECT count(*) FROM attempts") == [(0,)]
    # and every entry about them erased, however many statements that takes
    left = "SELECT count(*) FROM journal WHERE tbl = 'attempts' AND body <> ''"
    assert _rows(location, left) == [(0,)]


# -- the chain a write belongs to ---------------------------------------------------------------


def test_a_fact_without_a_professional_is_on_the_shared_chain() -> None:
    assert chain_of("idempotency", {"professional": None, "key": "k"}) == "shared"
    assert chain_of("idempotency", {"professional": 7}) == "p7"
    assert chain_of("professionals", {"name": "acme"}) == "shared"
    assert chain_of("consents", {"professional": 3, "number": 33612345678}) == "p3"


# -- writes whose queries name the number and the instant ---------------------------------------


def test_a_lifted_objection_ends_the_opt_out_it_wrote(tmp_path: Path) -> None:
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        consented(g, C, AT - timedelta(days=60))
        g.record_call(C, AT - timedelta(days=40), outcome="OBJECTED")
        assert not g.may_call(C, NPV, AT).allowed
        assert g.lift_objection(C, AT - timedelta(days=39), reason="wrong key") == 1
        assert g.may_call(C, NPV, AT).allowed
        assert g.verify().ok


def test_an_opt_out_removed_is_removed(tmp_path: Path) -> None:
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        consented(g, C, AT - timedelta(days=60))
        g.add_optout(C, AT - timedelta(days=2))
        assert not g.may_call(C, NPV, AT).allowed
        assert g.remove_optout(C, AT - timedelta(days=1)) == 1
        assert g.may_call(C, NPV, AT).allowed


def test_two_bloctel_imports_at_one_instant_verify(tmp_path: Path) -> None:
    # The second import's digest is read back from the rows of that instant (both imports').
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        g.import_bloctel([C], AT, submitted=[A])
        g.import_bloctel([B], AT, submitted=[])
        report = g.verify()
    assert report.ok, report.problems


# -- a forged entry verify refuses --------------------------------------------------------------


def test_an_expiry_forged_in_format_2_is_refused(tmp_path: Path) -> None:
    # Expiries came with format 3: one in format 2, however well chained, is not callguard's.
    location = _ledger(tmp_path)
    ((seq, prev),) = _rows(
        location, "SELECT seq, hash FROM journal WHERE chain = 'p1' ORDER BY seq DESC LIMIT 1"
    )
    assert isinstance(seq, int) and isinstance(prev, bytes)
    at = 1_795_000_000_000_000
    body = json.dumps({"removed": {}, "erased": []})
    text = entry_text("p1", seq + 1, at, "idempotency", "expire", None, body, prev.hex())
    with sqlite3.connect(location) as conn:
        conn.execute(
            "INSERT INTO journal (chain, seq, at, tbl, op, row_id, body, prev, hash, v) "
            "VALUES ('p1', ?, ?, 'idempotency', 'expire', NULL, ?, '', ?, 2)",
            (seq + 1, at, body, hashlib.sha256(text.encode()).hexdigest()),
        )
    report = callguard.verify(location)
    assert not report.ok
    assert report.first is not None
    assert "format 3" in report.first.detail


# -- what the entries of an import and a purge say ----------------------------------------------


def test_a_bloctel_import_entry_holds_its_listed_and_clean_counts(tmp_path: Path) -> None:
    location = _ledger(tmp_path)  # one number listed (C), two submitted clean (A, B)
    ((body,),) = _rows(location, "SELECT body FROM journal WHERE op = 'import'")
    assert isinstance(body, str)
    entry = json.loads(body)
    assert (entry["listed"], entry["clean"], entry["rows"]) == (1, 2, 3)
    assert len(entry["digest"]) == 64


def test_a_purge_entry_spans_every_table_and_an_expiry_names_the_answers(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        g.record_call(A, OLD)
        g.purge(paris(2025, 1, 1), now=AT)
    assert _rows(location, "SELECT tbl FROM journal WHERE op = 'purge'") == [("*",)]


# -- a purge of format 2 (before entries could be erased) of rows a copy sealed ------------------


def test_a_format_2_purge_of_sealed_rows_keeps_the_rest_of_the_seal_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The purge names the sealed rows it removed and their hashes' sum: verify takes that sum
    # off the seal's, and the rows left sealed are still checked value by value.
    from callguard.storage.copy import migrate_ledger
    from test_journal_forget import _v2_purge_rows, _write_format_2

    source = str(tmp_path / "source.db")
    with Guard(source, professional="acme") as g:
        g.record_call(A, OLD)
        g.record_call(B, OLD + timedelta(days=1))
        g.record_call(C, AT - timedelta(days=2))
    target = str(tmp_path / "copy.db")
    migrate_ledger(source, target)
    with Guard(target, professional="acme") as g:
        g.record_call(A, OLD + timedelta(days=2))  # after the copy: journaled, not sealed
        _write_format_2(monkeypatch)
        monkeypatch.setattr(type(g.engine.ledger), "purge_rows", _v2_purge_rows)
        assert g.purge(paris(2025, 1, 1), now=AT).removed["attempts"] == 3
        monkeypatch.undo()
        report = g.verify()
    assert report.ok, report.problems
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE attempts SET at = at + 1")
    report = callguard.verify(target)
    assert not report.ok
    assert report.first is not None
    assert report.first.table == "attempts"


def test_a_copied_row_changed_twice_verifies(tmp_path: Path) -> None:
    # The first change takes the row out of the seal; the second is of a row already tracked.
    from callguard.storage.copy import migrate_ledger

    source = str(tmp_path / "source.db")
    with Guard(source, professional="acme") as g:
        first = g.record_call(A, AT - timedelta(days=2))
        g.record_call(B, AT - timedelta(days=1))
    target = str(tmp_path / "copy.db")
    migrate_ledger(source, target)
    with Guard(target, professional="acme") as g:
        g.record_outcome(first, "NO_ANSWER", AT - timedelta(days=2, minutes=-1))
        g.record_outcome(first, "ANSWERED", AT - timedelta(days=2, minutes=-5))
        report = g.verify()
    assert report.ok, report.problems


def test_a_row_given_the_id_of_one_a_format_2_purge_removed_keeps_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite gives the id of a removed last row to the next one: the next purge erases the
    # entries of the removed row, written before its purge, and not those of the new row.
    from test_journal_forget import _v2_purge_rows, _write_format_2

    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        _write_format_2(monkeypatch)
        g.record_call(C, AT - timedelta(days=2))
        gone = g.record_call(A, OLD)
        monkeypatch.setattr(type(g.engine.ledger), "purge_rows", _v2_purge_rows)
        g.purge(paris(2025, 1, 1), now=AT)
        monkeypatch.undo()
        assert g.record_call(B, AT - timedelta(days=1)) == gone
        g.record_call(A, OLD)
        g.purge(paris(2025, 1, 1), now=AT)
        report = g.verify()
    assert report.ok, report.problems
    kept = "SELECT body FROM journal WHERE tbl = 'attempts' AND row_id = ? AND body <> ''"
    assert len(_rows(location, kept, gone)) == 1


def test_a_sealed_row_deleted_then_its_id_given_again_and_purged_verifies(tmp_path: Path) -> None:
    # The new row's insert, erased by the purge, is of a row outside the seal, though its id is
    # one the seal covers.
    from callguard.storage.copy import migrate_ledger
    from callguard.storage.open import open_ledger

    source = str(tmp_path / "source.db")
    with Guard(source, professional="acme") as g:
        g.record_call(A, OLD)
        last = g.record_call(B, OLD + timedelta(days=1))
    target = str(tmp_path / "copy.db")
    migrate_ledger(source, target)
    ledger = open_ledger(target)
    try:
        with ledger.write():
            ledger.delete_row("attempts", last)
    finally:
        ledger.close()
    with Guard(target, professional="acme") as g:
        assert g.record_call(C, OLD + timedelta(days=2)) == last
        assert g.purge(paris(2025, 1, 1), now=AT).removed["attempts"] == 2
        report = g.verify()
    assert report.ok, report.problems
