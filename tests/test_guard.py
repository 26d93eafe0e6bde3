"""Guard: the ledger, attempt(), fail-closed behaviour, the module-level entry point."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import callguard
from callguard import Guard, LedgerError, Outcome, ReasonCode
from conftest import MOBILE, NPV, consented, paris

AT = paris(2026, 11, 23, 11)


def test_attempt_records_only_when_allowed(guard: Guard) -> None:
    refused = guard.attempt(MOBILE, NPV, AT)
    assert refused.codes == {ReasonCode.NO_CONSENT} and refused.attempt_id is None
    consented(guard, MOBILE, paris(2026, 9, 1))
    ids = [guard.attempt(MOBILE, NPV, AT.replace(day=d)).attempt_id for d in (23, 24, 25, 26)]
    assert all(ids) and len(set(ids)) == 4
    fifth = guard.attempt(MOBILE, NPV, paris(2026, 11, 27, 11))
    assert fifth.codes == {ReasonCode.FREQUENCY_CAP}
    assert fifth.next_allowed_at == paris(2026, 12, 23, 10)


def test_may_call_is_read_only(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 9, 1))
    for _ in range(10):
        assert guard.may_call(MOBILE, NPV, AT).allowed


def test_record_outcome_refused_starts_cooldown(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 9, 1))
    attempt_id = guard.attempt(MOBILE, NPV, AT).attempt_id
    assert attempt_id is not None
    guard.record_outcome(attempt_id, Outcome.REFUSED)
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 11))
    assert d.codes == {ReasonCode.REFUSAL_COOLDOWN}
    assert d.next_allowed_at == paris(2027, 1, 25, 10)  # 23 Nov + 61 days = 23 Jan (Saturday)
    guard.record_outcome(attempt_id, Outcome.ANSWERED)  # a late, weaker outcome: refusal stays
    assert guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 11)).codes == d.codes
    assert guard.lift_refusal(MOBILE, paris(2026, 11, 23, 12), reason="agent misclick") == 1
    assert guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 11)).allowed
    with pytest.raises(ValueError, match="no attempt 999"):
        guard.record_outcome(999, Outcome.ANSWERED)


def test_optout_expiry(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 9, 1))
    guard.add_optout(MOBILE, paris(2026, 11, 1), expires_at=paris(2026, 11, 24, 15, 30))
    d = guard.may_call(MOBILE, NPV, AT)
    assert d.codes == {ReasonCode.OPTED_OUT}
    assert d.next_allowed_at == paris(2026, 11, 24, 15, 30)
    assert guard.remove_optout(MOBILE, paris(2026, 11, 23, 10)) == 1
    assert guard.may_call(MOBILE, NPV, AT).allowed


def test_decision_to_dict_is_json(guard: Guard) -> None:
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 22, 11))
    data = json.loads(json.dumps(d.to_dict()))
    assert data["allowed"] is False
    assert data["number"] == "+33612345678"
    assert data["regime"] == "consent"
    assert data["callee_tz"] == "Europe/Paris"
    assert {r["code"] for r in data["reasons"]} == {"WEEKEND", "NO_CONSENT"}
    assert not bool(d)


def test_ledger_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Guard(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_garbage_file_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(LedgerError, match=r"garbage\.db"):
        Guard(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Guard(path).close()
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('callguard', 'm999_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="newer callguard"):
        Guard(path)


def test_ledger_lost_after_open_fails_closed(tmp_path: Path) -> None:
    guard = Guard(tmp_path / "l.db")
    consented(guard, MOBILE, paris(2026, 9, 1))
    guard.engine.ledger.conn.close()  # type: ignore[attr-defined]
    for decide in (guard.may_call, guard.attempt):
        d = decide(MOBILE, NPV, AT)
        assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
        assert not d.allowed and d.next_allowed_at is None
        assert (d.regime, d.number) == ("consent", "+33612345678")


def test_missing_directory_is_a_ledger_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="nowhere"):
        Guard(tmp_path / "nowhere" / "l.db")


def test_module_level_may_call_uses_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("CALLGUARD_DB", str(path))
    consented(Guard(path), MOBILE, paris(2026, 9, 1))
    assert callguard.may_call(MOBILE, NPV, AT).allowed
    assert callguard.may_call(MOBILE, NPV, paris(2026, 11, 23, 21)).codes == {
        ReasonCode.OUTSIDE_HOURS
    }


def test_module_level_may_call_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLGUARD_DB", str(tmp_path / "missing-dir" / "x.db"))
    d = callguard.may_call(MOBILE, NPV, AT)
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}


def _check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("callguard")
    return subprocess.run(
        [str(exe), "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CALLGUARD_DB": ""},
        check=False,
    )


def test_check_command_exit_codes(tmp_path: Path) -> None:
    consented(Guard(tmp_path / "callguard.db"), MOBILE, paris(2026, 9, 1))
    ok = _check(MOBILE, "--caller-id", NPV, "--at", "2026-11-23T11:00", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "ALLOWED" in ok.stdout
    refused = _check(MOBILE, "--caller-id", NPV, "--at", "2026-11-23T21:00", "--json", cwd=tmp_path)
    assert refused.returncode == 1
    data = json.loads(refused.stdout)
    assert [r["code"] for r in data["reasons"]] == ["OUTSIDE_HOURS"]
    assert data["next_allowed_at"] == "2026-11-24T10:00:00+01:00"
    bad = _check(MOBILE, "--caller-id", NPV, "--at", "yesterday-ish", cwd=tmp_path)
    assert bad.returncode == 2 and "yesterday-ish" in bad.stderr
    broken = _check(MOBILE, "--caller-id", NPV, "--db", str(tmp_path / "no" / "x.db"), cwd=tmp_path)
    assert broken.returncode == 2


def test_batch_is_all_or_nothing(guard: Guard) -> None:
    from callguard import InvalidNumberError

    with guard.batch():
        for day in (2, 3, 4, 5):
            guard.record_call(MOBILE, paris(2026, 11, day, 11))
        consented(guard, MOBILE, paris(2026, 9, 1))
    assert guard.may_call(MOBILE, NPV, paris(2026, 11, 6, 11)).codes == {ReasonCode.FREQUENCY_CAP}
    other = "06 98 76 54 32"
    with pytest.raises(InvalidNumberError), guard.batch():
        consented(guard, other, paris(2026, 9, 1))
        guard.record_refusal("not a number", paris(2026, 9, 1))
    assert guard.may_call(other, NPV, AT).codes == {ReasonCode.NO_CONSENT}


def test_server_passwords_stay_out_of_messages() -> None:
    from callguard.storage import describe as display_location

    shown = display_location("postgresql://dialer:s3cret@db.internal:5432/calls?password=x")
    assert shown == "postgresql://dialer@db.internal:5432/calls"
    assert display_location("/var/lib/callguard.db") == "/var/lib/callguard.db"


def test_a_nested_batch_belongs_to_the_outer_one(guard: Guard) -> None:
    # A helper that batches its own writes may be called inside a caller's batch: everything
    # commits when the outermost batch ends, or nothing does.
    other = "06 98 76 54 32"
    with pytest.raises(RuntimeError, match="later failure"), guard.batch():
        with guard.batch():
            consented(guard, MOBILE, paris(2026, 9, 1))
            with guard.batch():
                consented(guard, other, paris(2026, 9, 1))
        assert guard.engine.in_batch
        guard.record_call(MOBILE, paris(2026, 11, 2, 11))  # still the outer transaction
        raise RuntimeError("a later failure in the outer batch")
    assert not guard.engine.in_batch
    assert guard.may_call(MOBILE, NPV, AT).codes == {ReasonCode.NO_CONSENT}
    assert guard.may_call(other, NPV, AT).codes == {ReasonCode.NO_CONSENT}
    with guard.batch():
        with guard.batch():
            consented(guard, MOBILE, paris(2026, 9, 1))
        consented(guard, other, paris(2026, 9, 1))
    assert guard.may_call(MOBILE, NPV, AT).allowed
    assert guard.may_call(other, NPV, AT).allowed
