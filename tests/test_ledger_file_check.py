"""The file-identity check on the decision's read: one per write transaction, never fewer.

``attempt()`` checks the ledger file once when its write transaction begins; the first read of
facts in that transaction, under the same lock and with no statement between, relies on that
check; every later read checks again. A replaced or deleted file is never read as the ledger.
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


def test_attempt_checks_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
        assert len(seen) == 1
        seen.clear()
        g.may_call(DEST, NPV, paris(2026, 11, 23, 12))
        assert len(seen) == 1


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
