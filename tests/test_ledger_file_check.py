"""The file-identity check on the decision's read: one per write transaction, never fewer.

``attempt()`` checks the ledger file once when its write transaction begins; the first read of
facts in that transaction, under the same lock and with no statement between, relies on that
check; every later read checks again. A replaced or deleted file is never read as the ledger.

Every test runs twice: with a ``stat`` of the path per check, and with the path watched from
the first check (``storage.path_watch``), which a process sets up after 64 checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callguard import Guard, LedgerError, ReasonCode
from callguard.storage import sqlite as sqlite_ledger
from callguard.storage.sqlite import SQLiteLedger
from conftest import NPV, paris

DEST = "06 11 22 33 44"
KEY = 33_611_223_344


@pytest.fixture(autouse=True, params=["stat", "watch"])
def how(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sqlite_ledger, "_WATCH_AFTER", 1 if request.param == "watch" else 10**9)
    return str(request.param)


def test_attempt_checks_the_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with Guard(tmp_path / "l.db") as g:
        g.record_consent(DEST, paris(2026, 11, 1), proof="p")
        g.may_call(DEST, NPV, paris(2026, 11, 23, 10))  # one-time work out of the count
        seen: list[object] = []
        real = os.stat

        def counting(path: object, *args: object, **kw: object) -> os.stat_result:
            seen.append(path)
            return real(path, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(sqlite_ledger.os, "stat", counting)
        d = g.attempt(DEST, NPV, paris(2026, 11, 23, 11))
        assert d.attempt_id is not None
        once = 1 if how == "stat" else 0  # nothing happened at the path: the watch answers
        assert len(seen) == once
        seen.clear()
        g.may_call(DEST, NPV, paris(2026, 11, 23, 12))
        assert len(seen) == once


def test_a_second_read_in_a_write_checks_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    other = tmp_path / "other.db"
    SQLiteLedger(other).close()
    ledger = SQLiteLedger(path)
    try:
        with pytest.raises(LedgerError, match="replaced"), ledger.write():
            ledger.facts(1, KEY, 0, 0)  # the write's own check stands for this one
            os.replace(other, path)
            ledger.facts(1, KEY, 0, 0)
    finally:
        ledger.close()


def test_a_read_after_a_write_checks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = SQLiteLedger(path)
    try:
        with ledger.write():
            pass  # a write that read nothing leaves no check behind for the next read
        os.unlink(path)
        with pytest.raises(LedgerError, match="deleted"):
            ledger.facts(1, KEY, 0, 0)
    finally:
        ledger.close()


def test_an_attempt_on_a_replaced_file_is_refused_and_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    other = tmp_path / "other.db"
    Guard(other).close()
    with Guard(path) as g:
        g.attempt(DEST, NPV, paris(2026, 11, 23, 10), purpose="PRESS")
        os.replace(other, path)
        d = g.attempt(DEST, NPV, paris(2026, 11, 23, 11), purpose="PRESS")
        assert [r.code for r in d.reasons] == [ReasonCode.LEDGER_UNAVAILABLE]
        assert d.attempt_id is None


def test_a_first_read_after_a_write_in_the_transaction_checks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    other = tmp_path / "other.db"
    SQLiteLedger(other).close()
    ledger = SQLiteLedger(path)
    try:
        with pytest.raises(LedgerError, match="replaced"), ledger.write():
            pid = ledger.professional_id("acme")  # a write inside the transaction
            ledger.insert_attempt(
                pid, KEY, 1, caller_id=None, outcome=None, campaign=None, purpose=None,
                recorded_at=1,
            )  # fmt: skip
            os.replace(other, path)
            ledger.facts(pid, KEY, 0, 0)
    finally:
        ledger.close()


# -- the adversary: what can be done to the file at the path between two decisions ---------------


def test_a_ledger_moved_away_and_another_put_in_its_place_is_seen(tmp_path: Path) -> None:
    """The open file keeps its one link through a rename: only the path tells it moved."""
    path, moved = tmp_path / "l.db", tmp_path / "moved.db"
    with Guard(path) as g:
        assert g.may_call(DEST, NPV, paris(2026, 11, 23, 10), purpose="PRESS").allowed
        os.rename(path, moved)
        d = g.may_call(DEST, NPV, paris(2026, 11, 23, 11), purpose="PRESS")
        assert [r.code for r in d.reasons] == [ReasonCode.LEDGER_UNAVAILABLE]
        Guard(path).close()  # a new ledger at the path, as a restore would leave it
        d = g.attempt(DEST, NPV, paris(2026, 11, 23, 12), purpose="PRESS")
        assert [r.code for r in d.reasons] == [ReasonCode.LEDGER_UNAVAILABLE]
        assert d.attempt_id is None


def test_a_hard_link_then_a_replacement_is_still_seen(tmp_path: Path) -> None:
    """An adversary keeps the old file reachable under another name, then replaces it: the link
    count went 1 → 2 → 1 between two decisions, and the path's inode is another one."""
    path, kept, other = tmp_path / "l.db", tmp_path / "kept.db", tmp_path / "other.db"
    SQLiteLedger(other).close()
    with Guard(path) as g:
        assert g.may_call(DEST, NPV, paris(2026, 11, 23, 10), purpose="PRESS").allowed
        os.link(path, kept)
        assert g.may_call(DEST, NPV, paris(2026, 11, 23, 11), purpose="PRESS").allowed
        os.replace(other, path)
        d = g.may_call(DEST, NPV, paris(2026, 11, 23, 12), purpose="PRESS")
        assert [r.code for r in d.reasons] == [ReasonCode.LEDGER_UNAVAILABLE]


def test_a_hard_link_made_and_removed_leaves_the_ledger_usable(tmp_path: Path) -> None:
    path, kept = tmp_path / "l.db", tmp_path / "kept.db"
    with Guard(path) as g:
        os.link(path, kept)
        assert g.may_call(DEST, NPV, paris(2026, 11, 23, 10), purpose="PRESS").allowed
        os.unlink(kept)
        assert g.attempt(DEST, NPV, paris(2026, 11, 23, 11), purpose="PRESS").attempt_id
        os.unlink(path)
        d = g.may_call(DEST, NPV, paris(2026, 11, 23, 12), purpose="PRESS")
        assert [r.code for r in d.reasons] == [ReasonCode.LEDGER_UNAVAILABLE]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")
def test_a_ledger_used_in_a_forked_child_fails_closed(tmp_path: Path) -> None:
    with Guard(tmp_path / "l.db") as g:
        g.may_call(DEST, NPV, paris(2026, 11, 23, 10), purpose="PRESS")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            try:
                d = g.may_call(DEST, NPV, paris(2026, 11, 23, 11), purpose="PRESS")
                os.write(write, b"|".join(r.code.value.encode() for r in d.reasons) or b"-")
            finally:
                os._exit(0)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        said = os.read(read, 200)
        os.close(read)
        assert status == 0
        assert said == b"LEDGER_UNAVAILABLE"
        # The parent's ledger is untouched by the child.
        assert g.may_call(DEST, NPV, paris(2026, 11, 23, 12), purpose="PRESS").allowed
