"""Signed checkpoints: the journal's heads fixed outside the ledger, so that its own keeper can
no longer cut, recompute or roll it back unseen.

Each attack is done as the keeper would, with write access to the ledger and the published
hash function (``storage.journal``), and first shown to pass ``verify`` without checkpoints:
that is the hole the checkpoints close.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import callguard
from callguard import Guard, ReasonCode
from callguard.cli import cli
from callguard.storage import open_ledger
from callguard.storage.base import SCHEMA, is_server_url
from callguard.storage.journal import append
from conftest import NPV, paris

AT = paris(2026, 11, 24, 10, 30)
A, B = "06 12 34 56 78", "06 12 34 56 79"
DAY_US = 86_400_000_000


# -- the keeper's tools ---------------------------------------------------------------------------


class Raw:
    """The ledger's tables, reached outside callguard (sqlite3, or psycopg)."""

    def __init__(self, location: str) -> None:
        self.server = is_server_url(location)
        if self.server:
            import psycopg

            self.conn: Any = psycopg.connect(location, autocommit=False)
        else:
            self.conn = sqlite3.connect(location, isolation_level=None)
            self.conn.execute("BEGIN")

    def run(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(query.replace("?", "%s") if self.server else query, params)

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.run(query, params).fetchall()]

    def commit(self) -> None:
        self.run("COMMIT") if not self.server else self.conn.commit()
        self.conn.close()


def chain_of(guard: Guard) -> str:
    return f"p{guard.engine.pid}"


def cut_tail(location: str, chain: str, after_seq: int) -> None:
    """Delete every entry of ``chain`` after ``after_seq`` and the rows they inserted."""
    raw = Raw(location)
    for table, rid in raw.rows(
        "SELECT tbl, row_id FROM journal WHERE chain = ? AND seq > ? AND op = 'insert'",
        (chain, after_seq),
    ):
        raw.run(f"DELETE FROM {table} WHERE id = ?", (rid,))  # noqa: S608
    raw.run("DELETE FROM journal WHERE chain = ? AND seq > ?", (chain, after_seq))
    raw.commit()


def recompute(location: str, chain: str, edit: Callable[[str, str, int | None, Any], Any]) -> None:
    """Rewrite ``chain`` entry by entry: ``edit(table, op, row_id, body)`` returns the new body
    (parsed JSON) or None to drop the entry; the kept ones are renumbered and re-hashed with
    callguard's own append (the published hash function)."""
    raw = Raw(location)
    entries = raw.rows(
        "SELECT at, tbl, op, row_id, body FROM journal WHERE chain = ? ORDER BY seq", (chain,)
    )
    raw.run("DELETE FROM journal WHERE chain = ?", (chain,))
    for at, table, op, row_id, body in entries:
        new = edit(table, op, row_id, json.loads(body))
        if new is None:
            continue
        text = json.dumps(new, separators=(",", ":"), ensure_ascii=False)
        append(raw.run, chain, at, table, op, row_id, text, raw=not raw.server)
    raw.commit()


def snapshot(location: str, where: Path) -> Callable[[], None]:
    """Keep a copy of the ledger now; the returned function puts it back (last week's copy)."""
    if not is_server_url(location):
        shutil.copy(location, where)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(location + suffix):
                shutil.copy(location + suffix, str(where) + suffix)

        def restore_file() -> None:
            for suffix in ("-wal", "-shm"):
                if os.path.exists(location + suffix):
                    os.unlink(location + suffix)
                if os.path.exists(str(where) + suffix):
                    shutil.copy(str(where) + suffix, location + suffix)
            shutil.copy(where, location)

        return restore_file
    names = [t.name for t in SCHEMA]
    raw = Raw(location)
    for name in names:
        raw.run(f"CREATE TABLE backup_{name} AS SELECT * FROM {name}")  # noqa: S608
    raw.commit()

    def restore_tables() -> None:
        raw = Raw(location)
        for name in names:
            raw.run(f"DELETE FROM {name}")  # noqa: S608
            raw.run(f"INSERT INTO {name} SELECT * FROM backup_{name}")  # noqa: S608
        raw.commit()

    return restore_tables


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    path.parent.mkdir()
    callguard_key = __import__("callguard._checkpoint", fromlist=["create_signing_key"])
    callguard_key.create_signing_key(path)
    return path


@pytest.fixture
def refused(make_guard: Callable[..., Guard]) -> Iterator[Guard]:
    """A: consented, then four calls in the window and a refusal at the last one: refused on
    two counts (cap and cooldown), which the last two facts of its chain make."""
    g = make_guard()
    g.record_call(B, AT - timedelta(days=12), caller_id=NPV)
    g.record_consent(A, AT - timedelta(days=30), proof="form-1")
    for day in (9, 6, 3, 1):
        g.record_call(A, AT - timedelta(days=day), caller_id=NPV)
    g.record_refusal(A, AT - timedelta(days=1))
    yield g


def codes(g: Guard) -> set[ReasonCode]:
    return {r.code for r in g.may_call(A, NPV, AT).reasons}


def verify_with(location: str, cps: Path, key: Path) -> callguard.VerifyReport:
    return callguard.verify(location, checkpoints=cps, public_key=f"{key}.pub")


# -- the ledger's id ------------------------------------------------------------------------------


def test_a_ledger_gets_an_id_at_creation_and_keeps_it(ledger_location: str) -> None:
    g = Guard(ledger_location)
    first = g.engine.ledger.ledger_id()
    g.close()
    assert first is not None and len(first) == 36
    g = Guard(ledger_location)
    assert g.engine.ledger.ledger_id() == first
    g.close()


def test_an_older_ledger_gets_an_id_when_migrated(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    Guard(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE ledger_identity")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_ledger_id'")
    assert callguard.verify(path).ok
    g = Guard(path)
    assert g.engine.ledger.ledger_id() is not None
    assert g.verify().ok
    g.close()


# -- taking one -----------------------------------------------------------------------------------


def test_a_checkpoint_signs_every_head_and_holds_no_personal_data(
    refused: Guard, key: Path, tmp_path: Path
) -> None:
    path = refused.checkpoint(key, tmp_path / "cps", now=AT)
    doc = json.loads(path.read_text())
    heads = refused.engine.ledger.chain_heads()
    # Its own journal entry comes after the heads it signed.
    assert doc["heads"][chain_of(refused)] == {
        "seq": heads[chain_of(refused)][0],
        "hash": heads[chain_of(refused)][1],
    }
    assert doc["heads"]["shared"]["seq"] == heads["shared"][0] - 1
    assert doc["ledger"] == refused.engine.ledger.ledger_id()
    assert doc["rows"]["attempts"] == 5 and doc["rows"]["refusals"] == 1
    assert doc["at"] == "2026-11-24T09:30:00.000000+00:00"
    text = path.read_text()
    # Whole numbers only: a hash in hex may hold any four digits by chance.
    for secret in ("33612345678", "612345678", "acme", "33948123456", "948123456"):
        assert secret not in text
    entry = refused.engine.ledger.service_rows(
        "SELECT body FROM journal WHERE op = 'checkpoint'", ()
    )
    assert len(entry) == 1 and path.name in str(entry[0][0])
    assert refused.verify().ok


def test_a_signing_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "k.pem"
    result = runner.invoke(cli, ["signing-key", "create", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SHA256:") and len(result.output.strip()) == 71
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert (tmp_path / "k.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = out.read_bytes()
    again = runner.invoke(cli, ["signing-key", "create", "--out", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert out.read_bytes() == before


def test_a_signing_key_is_not_written_through_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "k.pem").symlink_to(target)
    result = CliRunner().invoke(cli, ["signing-key", "create", "--out", str(tmp_path / "k.pem")])
    assert result.exit_code == 2
    assert target.read_text() == "keep"


def test_the_checkpoint_command_prints_its_path_alone(tmp_path: Path, key: Path) -> None:
    db = str(tmp_path / "l.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(
        cli, ["checkpoint", "--db", db, "--signing-key", str(key), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and Path(lines[0]).is_file()
    ok = runner.invoke(
        cli, ["verify", "--db", db, "--checkpoints", str(tmp_path / "c"),
              "--public-key", f"{key}.pub"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(
        cli, ["checkpoint", "--db", str(tmp_path / "nope.db"), "--signing-key", str(key),
              "--out", str(tmp_path / "c")],
    )  # fmt: skip
    assert missing.exit_code == 2 and "callguard init" in missing.output


# -- the attacks ----------------------------------------------------------------------------------


def test_a_cut_tail_passes_the_chain_alone_but_not_the_checkpoint(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    ledger = refused.engine.ledger
    assert codes(refused) == {ReasonCode.FREQUENCY_CAP, ReasonCode.REFUSAL_COOLDOWN}
    path = refused.checkpoint(key, cps, now=AT)
    # The last call and the refusal are the chain's last entries.
    last_call = ledger.service_rows(
        "SELECT max(seq) FROM journal WHERE chain = ? AND tbl = 'attempts' AND op = 'insert'",
        (chain_of(refused),),
    )
    refused.close()
    cut_tail(ledger_location, chain_of(refused), int(last_call[0][0]) - 1)  # type: ignore[call-overload]
    # The hole: the chain alone still verifies, and the number flips to allowed.
    assert callguard.verify(ledger_location).ok
    g = Guard(ledger_location, professional="acme")
    assert g.may_call(A, NPV, AT).allowed
    g.close()
    report = verify_with(ledger_location, cps, key)
    assert not report.ok
    assert report.first is not None and report.first.kind == "checkpoint"
    assert path.name in str(report.first) and "no longer in the ledger" in str(report.first)
    result = CliRunner().invoke(
        cli, ["verify", "--db", ledger_location, "--checkpoints", str(cps),
              "--public-key", f"{key}.pub"],
    )  # fmt: skip
    assert result.exit_code == 1 and path.name in result.output


def test_a_recomputed_chain_passes_alone_but_not_the_checkpoint(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    path = refused.checkpoint(key, cps, now=AT)
    chain = chain_of(refused)
    refused.close()
    shift = 40 * DAY_US

    def edit(table: str, op: str, row_id: int | None, body: Any) -> Any:
        if table == "refusals":
            return None  # the refusal goes
        if table == "attempts":  # the calls move 40 days back (index 2: ``at``)
            arrays = body if op == "update" else [body]
            for values in arrays:
                values[2] -= shift
        return body

    recompute(ledger_location, chain, edit)
    raw = Raw(ledger_location)
    raw.run("DELETE FROM refusals")
    raw.run("UPDATE attempts SET at = at - ?", (shift,))
    raw.commit()
    assert callguard.verify(ledger_location).ok  # the hole
    g = Guard(ledger_location, professional="acme")
    assert g.may_call(A, NPV, AT).allowed
    g.close()
    report = verify_with(ledger_location, cps, key)
    assert not report.ok and report.first is not None
    assert path.name in str(report.first)
    assert "rewritten" in str(report.first) or "no longer in the ledger" in str(report.first)


def test_an_older_copy_put_back_passes_alone_but_not_the_checkpoint(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    refused.checkpoint(key, cps, now=AT - timedelta(days=7))
    restore = snapshot(ledger_location, tmp_path / "last-week.db")
    refused.record_call(A, AT, caller_id=NPV, outcome="REFUSED")
    refused.add_optout(B, AT)
    newest = refused.checkpoint(key, cps, now=AT + timedelta(hours=1))
    refused.close()
    restore()
    assert callguard.verify(ledger_location).ok  # the hole
    report = verify_with(ledger_location, cps, key)
    assert not report.ok
    failed = [c for c in report.checkpoints if not c.ok]
    assert [Path(c.path).name for c in failed] == [newest.name]
    assert any(newest.name in str(p) for p in report.problems)


def test_a_forged_or_edited_checkpoint_does_not_verify(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    path = refused.checkpoint(key, cps, now=AT)
    assert verify_with(ledger_location, cps, key).ok
    doc = json.loads(path.read_text())
    doc["rows"]["refusals"] = 0
    path.write_text(json.dumps(doc))
    report = verify_with(ledger_location, cps, key)
    assert not report.ok and "signature does not verify" in str(report.first)
    # Signed with another key: the controller's public key does not vouch for it.
    path.unlink()
    other = tmp_path / "other.pem"
    __import__("callguard._checkpoint", fromlist=["x"]).create_signing_key(other)
    refused.checkpoint(other, cps, now=AT)
    report = verify_with(ledger_location, cps, key)
    assert not report.ok and "signature does not verify" in str(report.first)


def test_a_checkpoint_of_another_ledger_does_not_verify(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    other = Guard(str(tmp_path / "other.db"))
    path = other.checkpoint(key, cps, now=AT)
    other.close()
    report = verify_with(ledger_location, cps, key)
    assert not report.ok and path.name in str(report.first)
    assert "of ledger" in str(report.first)


def test_an_empty_checkpoint_folder_fails(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    report = verify_with(ledger_location, tmp_path / "empty", key)
    assert not report.ok and "no checkpoint" in str(report.first)


def test_facts_after_the_newest_checkpoint_verify_as_before(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    cps = tmp_path / "cps"
    refused.checkpoint(key, cps, now=AT)
    refused.record_call(B, AT + timedelta(hours=1), caller_id=NPV)
    refused.record_consent(A, AT + timedelta(hours=2), proof="form-9")
    report = verify_with(ledger_location, cps, key)
    assert report.ok
    newest = report.newest_checkpoint
    assert newest is not None and newest.entries_after >= 3  # two facts and the checkpoint's own
    # A fact after the checkpoint changed outside callguard is still named by the chain.
    refused.close()
    raw = Raw(ledger_location)
    raw.run("UPDATE consents SET proof = 'forged'")
    raw.commit()
    report = verify_with(ledger_location, cps, key)
    assert not report.ok and report.first is not None and report.first.table == "consents"


def test_verify_wants_the_folder_and_the_key_together(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    Guard(db).close()
    result = CliRunner().invoke(cli, ["verify", "--db", db, "--checkpoints", str(tmp_path)])
    assert result.exit_code == 2 and "--public-key" in result.output
    with pytest.raises(callguard.ConfigurationError, match="public key"):
        callguard.verify(db, checkpoints=tmp_path)


def test_a_read_only_ledger_opened_for_verify_is_not_written(
    refused: Guard, ledger_location: str, key: Path, tmp_path: Path
) -> None:
    refused.checkpoint(key, tmp_path / "cps", now=AT)
    ledger = open_ledger(ledger_location, read_only=True)
    try:
        before = ledger.chain_heads()
    finally:
        ledger.close()
    assert verify_with(ledger_location, tmp_path / "cps", key).ok
    ledger = open_ledger(ledger_location, read_only=True)
    try:
        assert ledger.chain_heads() == before
    finally:
        ledger.close()
