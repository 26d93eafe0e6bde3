"""A journal that can forget, and that covers every table whose rows change an answer.

* ``purge`` erases: after it, a purged fact's number is in no table, no journal body and no byte
  of the SQLite file or its WAL, while ``verify`` still passes and every entry keeps its hash
  (checkpoints of (chain, seq, hash) stay valid);
* a body erased outside callguard (no purge names it) is named by ``verify``;
* ledgers journaled in formats 1 and 2 are erased too;
* the stored idempotent answers are journaled: a row forged in them is named, their expiry is a
  journaled removal that erases their entries.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import callguard
from callguard import Guard
from callguard.cli import cli
from callguard.storage import journal
from callguard.storage.base import is_server_url
from conftest import NPV, paris
from test_journal import AT, tamper
from test_journal_format import _format_1_append

PURGED = "06 12 34 56 78"
PURGED_E164 = "+33612345678"
PURGED_INT = 33612345678
KEPT = "06 98 76 54 32"
OLD = paris(2024, 3, 5, 11)
V1_LEDGER = Path(__file__).parent.parent / "data" / "journal_v1.db"


def encodings(number: int) -> dict[str, bytes]:
    """Every form the ledger may store ``number`` in: its digits as text (JSON bodies, indexes
    of text), E.164 text, and the integer as SQLite's record stores it (big-endian, 6 or 8
    bytes) and as PostgreSQL's int8 (little-endian on this host)."""
    return {
        "digits": str(number).encode(),
        "e164": f"+{number}".encode(),
        "int48-be": number.to_bytes(6, "big"),
        "int64-be": number.to_bytes(8, "big"),
        "int64-le": number.to_bytes(8, "little"),
    }


def found_in_file(path: Path, number: int) -> set[str]:
    """Which encodings of ``number`` occur in the bytes of ``path`` and of its WAL."""
    found: set[str] = set()
    for f in (path, Path(f"{path}-wal")):
        if not f.exists():
            continue
        data = f.read_bytes()
        found |= {name for name, raw in encodings(number).items() if raw in data}
    return found


def rows_of(location: str, query: str) -> list[tuple[Any, ...]]:
    if is_server_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            return [tuple(r) for r in conn.execute(query).fetchall()]
    with sqlite3.connect(location) as conn:
        return [tuple(r) for r in conn.execute(query).fetchall()]


def facts_to_purge(g: Guard) -> None:
    """Old facts of every purged kind about PURGED, and recent ones about KEPT."""
    g.record_call(PURGED, OLD, outcome="REFUSED", caller_id=NPV, campaign="spring")
    attempt = g.record_call(PURGED, OLD + timedelta(days=1))
    g.record_outcome(attempt, "ANSWERED", OLD + timedelta(days=1, minutes=2))
    g.add_optout(PURGED, OLD, expires_at=OLD + timedelta(days=10))
    g.record_slot_consent(PURGED, OLD, OLD + timedelta(hours=1), proof="slot-proof")
    g.record_contract(PURGED, OLD - timedelta(days=30), OLD, subject="old box")
    g.lift_refusal(PURGED, OLD + timedelta(days=2), reason="misclick", by="supervisor")
    g.record_call(KEPT, AT - timedelta(days=1))
    g.record_consent(KEPT, AT - timedelta(days=2), proof="form-kept")


def text_mentions(location: str, number: int) -> list[str]:
    """Where the ledger's tables or journal still hold ``number`` (as a value or in a body)."""
    where: list[str] = []
    for table in (t for t in journal.JOURNALED if "number" in t.column_names):
        n = rows_of(location, f"SELECT count(*) FROM {table.name} WHERE number = {number}")  # noqa: S608
        if n[0][0]:
            where.append(table.name)
    bodies = rows_of(
        location,
        f"SELECT chain, seq FROM journal WHERE body LIKE '%{number}%'",  # noqa: S608
    )
    where += [f"journal {c}#{s}" for c, s in bodies]
    return where


def heads(location: str) -> dict[tuple[str, int], str]:
    return {
        (str(c), int(s)): journal._hex(h)
        for c, s, h in rows_of(location, "SELECT chain, seq, hash FROM journal")
    }


# -- purge erases ---------------------------------------------------------------------------------


def test_a_purge_leaves_the_number_in_no_table_and_no_journal_body(
    make_guard: Callable[..., Guard], ledger_location: str
) -> None:
    g = make_guard()
    facts_to_purge(g)
    assert text_mentions(ledger_location, PURGED_INT)  # before: in the tables and the journal
    before = heads(ledger_location)
    report = g.purge(paris(2025, 1, 1), now=AT)
    assert report.removed["attempts"] == 2 and report.removed["lifts"] == 1
    assert text_mentions(ledger_location, PURGED_INT) == []
    assert callguard.verify(ledger_location).ok, callguard.verify(ledger_location).problems
    # Every entry keeps its hash: a checkpoint of (chain, seq, hash) taken before still holds.
    after = heads(ledger_location)
    assert {k: after[k] for k in before} == before
    # The kept number is untouched and its facts still decide.
    assert text_mentions(ledger_location, 33698765432)
    erased = rows_of(ledger_location, "SELECT count(*) FROM journal WHERE body = ''")[0][0]
    assert erased >= 9
    purge = json.loads(
        str(rows_of(ledger_location, "SELECT body FROM journal WHERE op = 'purge'")[0][0])
    )
    assert len(purge["erased"]) == erased
    assert str(PURGED_INT) not in json.dumps(purge)


def test_a_purge_leaves_the_number_in_no_byte_of_the_file_nor_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Guard(path, professional="acme") as g:
        facts_to_purge(g)
        # Many more writes, so that pages split and cells move around the file.
        for i in range(300):
            g.record_consent(f"+3361{i:07d}", AT - timedelta(days=1), proof=f"p{i}" * 20)
        found = found_in_file(path, PURGED_INT)
        assert {"digits", "int48-be"} <= found, found  # the bodies' text, the records' integer
        g.purge(paris(2025, 1, 1), now=AT)
        assert found_in_file(path, PURGED_INT) == set()
        assert g.verify().ok
        # still a working ledger
        assert g.may_call(KEPT, NPV, AT).attempt_id is None
    assert found_in_file(path, PURGED_INT) == set()


def test_a_purge_erases_entries_of_a_format_1_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger journaled in format 1: a purge erases the format 1 entries of the rows it
    removes, and those of the rows an earlier (format 1) purge removed; it still verifies and
    every entry keeps its hash."""
    path = tmp_path / "v1.db"
    shutil.copy(V1_LEDGER, path)
    with Guard(path, professional="acme") as g:
        monkeypatch.setattr(journal, "append", _format_1_append)
        g.record_call("06 55 44 33 22", OLD, caller_id=NPV)  # a format 1 entry to purge
        monkeypatch.undo()
        g.record_call(KEPT, OLD + timedelta(days=3))  # format 3, on the format 1 chain
        earlier = rows_of(
            str(path), "SELECT seq FROM journal WHERE chain = 'p1' AND seq IN (22, 23, 24)"
        )
        assert len(earlier) == 3  # the rows the V1 ledger's own purge removed (seq 25)
        before = heads(str(path))
        g.purge(paris(2025, 1, 1), now=AT)
        report = g.verify()
        assert report.ok, report.problems
    after = heads(str(path))
    assert {k: after[k] for k in before} == before
    erased = rows_of(str(path), "SELECT seq, v FROM journal WHERE chain = 'p1' AND body = ''")
    assert {22, 23, 24} <= {int(s) for s, _ in erased}
    assert {v for _, v in erased} == {None, journal.FORMAT}
    assert text_mentions(str(path), 33655443322) == []
    assert found_in_file(path, 33655443322) == set()


def test_an_earlier_purge_s_leftovers_are_erased_by_the_next(
    make_guard: Callable[..., Guard], ledger_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows purged before entries could be erased (a format 2 purge kept their entries'
    bodies), on either backend: the next purge erases them."""
    g = make_guard()
    _write_format_2(monkeypatch)
    g.record_call(PURGED, OLD)
    g.record_call(KEPT, OLD + timedelta(days=1))
    monkeypatch.setattr(type(g.engine.ledger), "purge_rows", _v2_purge_rows)
    g.purge(paris(2025, 1, 1), now=AT)
    monkeypatch.undo()
    assert text_mentions(ledger_location, PURGED_INT)  # the format 2 purge left the bodies
    assert g.verify().ok, g.verify().problems
    before = heads(ledger_location)
    g.purge(paris(2025, 1, 1), now=AT)
    assert text_mentions(ledger_location, PURGED_INT) == []
    report = g.verify()
    assert report.ok, report.problems
    after = heads(ledger_location)
    assert {k: after[k] for k in before} == before
    tamper(ledger_location, "UPDATE journal SET body = 'x' WHERE body = '' AND v = 2")
    assert not callguard.verify(ledger_location).ok


def _write_format_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries written as callguard did before format 3."""
    from callguard.storage import postgres, sqlite

    original = journal.append_after

    def v2(run: Any, last: Any, chain: str, at: int, table: str, op: str, row_id: int | None,
           body: str, v: int = journal.FORMAT, raw: bool = False) -> tuple[int, str]:  # fmt: skip
        return original(run, last, chain, at, table, op, row_id, body,
                        journal.FORMAT_2 if v == journal.FORMAT else v, raw)  # fmt: skip

    monkeypatch.setattr(journal, "append_after", v2)
    monkeypatch.setattr(postgres, "append_after", v2)
    monkeypatch.setattr(sqlite, "append_after", v2)


def _v2_purge_rows(self: Any, professional: int, conditions: Any, extra: Any) -> dict[str, int]:
    """The purge of format 2: rows deleted, one entry naming them and the sum of their hashes;
    no body erased."""
    removed: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for table, condition, cut in conditions:
        t = journal.TABLES[table]
        cur = self._run(
            f"SELECT {journal._cols(t)} FROM {table} WHERE professional = ? AND {condition} "  # noqa: S608
            "ORDER BY id",
            (professional, *([cut] * condition.count("?"))),
        )
        ids, total = [], 0
        for row in cur.fetchall():
            ids.append(int(row[0]))
            total += journal.row_hash(table, int(row[0]), journal.row_values(t, row))
        for rid in ids:
            self._run(f"DELETE FROM {table} WHERE id = ?", (rid,))  # noqa: S608
        counts[table] = len(ids)
        removed[table] = {"rows": len(ids), "ids": ids, "sum": f"{total % (1 << 256):064x}"}
    self._lock_chain(f"p{professional}")
    last = self._run(journal.HEAD_SQL, (f"p{professional}",)).fetchone()
    journal.append_after(
        self._run, last, f"p{professional}", self._now(), "*", "purge", None,
        journal.canonical({**extra, "removed": removed}), journal.FORMAT_2, self._raw_hash,
    )  # fmt: skip
    return counts


# -- erasing outside callguard is named -----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        # a format 3 body erased as a purge would, its digest put back: no purge names it
        "UPDATE journal SET body = '', salt = NULL, digest = {digest} "
        "WHERE chain = 'p1' AND seq = {seq}",
        # erased and its digest left out
        "UPDATE journal SET body = '', salt = NULL WHERE chain = 'p1' AND seq = {seq}",
    ],
)
def test_a_body_erased_without_a_purge_naming_it_is_named(
    make_guard: Callable[..., Guard], ledger_location: str, statement: str
) -> None:
    g = make_guard()
    g.record_call(PURGED, AT - timedelta(days=1))
    g.record_call(KEPT, AT - timedelta(days=1))
    seq, body, salt = rows_of(
        ledger_location,
        "SELECT seq, body, salt FROM journal WHERE chain = 'p1' AND tbl = 'attempts' ORDER BY seq",
    )[0]
    digest = journal.body_digest(bytes.fromhex(journal._hex(salt)), str(body))
    value = f"'{digest}'" if is_server_url(ledger_location) else f"X'{digest}'"
    tamper(ledger_location, statement.format(digest=value, seq=seq))
    problem = callguard.verify(ledger_location).first
    assert problem is not None and problem.kind == "journal", problem
    result = CliRunner().invoke(cli, ["verify", "--db", ledger_location])
    assert result.exit_code == 1, result.output


def test_a_purged_row_put_back_is_named(
    make_guard: Callable[..., Guard], ledger_location: str
) -> None:
    """A row whose entries were erased by a purge, inserted again outside callguard."""
    g = make_guard()
    g.record_call(PURGED, OLD)
    g.record_call(KEPT, AT - timedelta(days=1))
    rid = rows_of(ledger_location, f"SELECT id FROM attempts WHERE number = {PURGED_INT}")[0][0]  # noqa: S608
    g.purge(paris(2025, 1, 1), now=AT)
    at = int(OLD.timestamp() * 1_000_000)
    tamper(
        ledger_location,
        "INSERT INTO attempts (id, professional, number, at, recorded_at) "  # noqa: S608
        f"VALUES ({rid}, 1, {PURGED_INT}, {at}, {at})",
    )
    problem = callguard.verify(ledger_location).first
    assert problem is not None and (problem.table, problem.row_id) == ("attempts", rid), problem


# -- the stored idempotent answers ----------------------------------------------------------------


def _service(location: str) -> tuple[Any, Any]:
    pytest.importorskip("starlette")
    from callguard.server import Service
    from callguard.server.keys import ApiKey, create_key

    with Guard(location, professional="acme") as g:
        create_key(g.engine.ledger, g.engine.pid, "acme", "dialer-1")
        g.record_consent(PURGED, AT - timedelta(days=1), proof="form")
    service = Service(location, clock=lambda: AT)
    kid = rows_of(location, "SELECT id FROM api_keys")[0][0]
    return service, ApiKey(int(kid), "acme")


def _attempt(service: Any, key: Any, idem: str) -> dict[str, Any]:
    args = {"number": PURGED, "caller_id": NPV}
    answer = service.attempt(key, dict(args), idem, json.dumps(args).encode())
    return dict(answer.body)


def test_stored_answers_are_journaled_and_a_forged_one_is_named(ledger_location: str) -> None:
    service, key = _service(ledger_location)
    try:
        first = _attempt(service, key, "call-1")
        assert first["allowed"] is True
        assert _attempt(service, key, "call-1") == first  # replayed
    finally:
        service.close()
    assert callguard.verify(ledger_location).ok, callguard.verify(ledger_location).problems
    entry = rows_of(ledger_location, "SELECT chain, op FROM journal WHERE tbl = 'idempotency'")
    assert entry == [("p1", "insert")]
    # The attack: an answer written with SQL, "allowed" with an attempt that does not exist.
    forged = json.dumps({**first, "attempt_id": 999, "number": "+33698765432"})
    tamper(
        ledger_location,
        "INSERT INTO idempotency (api_key, key, request, status, response, created_at, "  # noqa: S608
        f"professional) VALUES ({key.id}, 'call-2', 'x', 200, '{forged}', 1, 1)",
    )
    problem = callguard.verify(ledger_location).first
    assert problem is not None, "a forged stored answer verified"
    assert (problem.kind, problem.table) == ("inserted", "idempotency"), problem
    assert problem.row_id is not None and "call-2" in problem.detail
    result = CliRunner().invoke(cli, ["verify", "--db", ledger_location])
    assert result.exit_code == 1
    assert f"idempotency row {problem.row_id}" in result.output


def test_a_stored_answer_changed_is_named(ledger_location: str) -> None:
    service, key = _service(ledger_location)
    try:
        _attempt(service, key, "call-1")
    finally:
        service.close()
    tamper(ledger_location, "UPDATE idempotency SET response = replace(response, 'true', 'false')")
    problem = callguard.verify(ledger_location).first
    assert problem is not None and (problem.kind, problem.table) == ("changed", "idempotency")


def test_expired_answers_go_with_their_journal_bodies(ledger_location: str) -> None:
    service, key = _service(ledger_location)
    try:
        _attempt(service, key, "call-1")
        _attempt(service, key, "call-2")
    finally:
        service.close()
    assert rows_of(ledger_location, "SELECT count(*) FROM journal WHERE body LIKE '%+33612345678%'")
    with Guard(ledger_location, professional="acme") as g:
        ledger: Any = g.engine.ledger
        far = 2**62
        with ledger.write():
            assert ledger.expire_answers(far, batch=0) == 2
        with ledger.write():
            assert ledger.expire_answers(far, batch=0) == 0
        assert g.verify().ok, g.verify().problems
    assert rows_of(ledger_location, "SELECT count(*) FROM idempotency")[0][0] == 0
    bodies = rows_of(
        ledger_location,
        f"SELECT count(*) FROM journal WHERE body LIKE '%{PURGED_E164}%' AND tbl = 'idempotency'",  # noqa: S608
    )
    assert bodies[0][0] == 0
    expire = rows_of(ledger_location, "SELECT body FROM journal WHERE op = 'expire'")
    assert len(expire) == 1 and len(json.loads(str(expire[0][0]))["erased"]) == 2


def test_answers_are_not_expired_before_their_hour_is_up(ledger_location: str) -> None:
    """Expiry runs by the hour's worth: an answer just past its time waits for the others."""
    service, key = _service(ledger_location)
    try:
        _attempt(service, key, "call-1")
    finally:
        service.close()
    created = int(rows_of(ledger_location, "SELECT created_at FROM idempotency")[0][0])
    with Guard(ledger_location, professional="acme") as g:
        ledger: Any = g.engine.ledger
        with ledger.write():
            assert ledger.expire_answers(created + 1) == 0
        with ledger.write():
            assert ledger.expire_answers(created + 3_600_000_001) == 1


def test_answers_stored_before_the_upgrade_are_journaled_by_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger of step m003's answers table (no id, outside the journal) and format 2 entries:
    step m008 rebuilds the table, keeps its rows and journals them."""
    pytest.importorskip("starlette")
    from callguard.server.keys import create_key

    path = tmp_path / "old.db"
    _write_format_2(monkeypatch)
    with Guard(path, professional="acme") as g:
        create_key(g.engine.ledger, g.engine.pid, "acme", "dialer-1")
        g.record_consent(PURGED, AT - timedelta(days=1), proof="form")
    monkeypatch.undo()
    answer = json.dumps({"allowed": False, "number": PURGED_E164})
    with sqlite3.connect(path) as conn:  # the answers table as m003 made it, the journal m006's
        conn.executescript(
            """
            DROP TABLE idempotency;
            CREATE TABLE idempotency (api_key INTEGER NOT NULL, key TEXT NOT NULL,
              request TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,
              created_at INTEGER NOT NULL, PRIMARY KEY (api_key, key));
            CREATE INDEX idempotency_created ON idempotency (created_at);
            INSERT INTO idempotency VALUES (1, 'call-1', 'digest', 200, 'ANSWER', 5);
            DROP INDEX journal_answers;
            ALTER TABLE journal DROP COLUMN salt;
            ALTER TABLE journal DROP COLUMN digest;
            DELETE FROM _sqlite_migrations WHERE name = 'm008_journal_erasable';
            """.replace("ANSWER", answer)
        )
    assert callguard.verify(str(path)).ok  # read-only, before the step: the old shape reads
    with Guard(path, professional="acme") as g:
        report = g.verify()
        assert report.ok, report.problems
    kept = rows_of(str(path), "SELECT id, key, response, professional FROM idempotency")
    assert kept == [(1, "call-1", answer, 1)]
    entries = rows_of(str(path), "SELECT chain, op, v FROM journal WHERE tbl = 'idempotency'")
    assert entries == [("p1", "insert", journal.FORMAT)]
    tamper(str(path), "UPDATE idempotency SET status = 201")
    problem = callguard.verify(str(path)).first
    assert problem is not None and problem.table == "idempotency"
