"""callguard.audit: replaying a call log, each call judged by the rules of its own time."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import callguard
from callguard import ConfigurationError, Guard, LedgerError, Outcome
from callguard._bulk import import_calls
from callguard._reports import AuditReport
from conftest import NPV, clean_on_bloctel, consented, paris

DATA = Path(__file__).parent / "data"
A = "06 12 00 00 21"
B = "06 12 00 00 22"


HEADER = "number;caller_id;started_at;outcome"


def log(tmp_path: Path, rows: list[tuple[str, ...]], header: str = HEADER) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(header + "\n" + "\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def at(d: int, h: int = 11, m: int = 11) -> str:
    """A naive ISO time in November 2026 (Europe/Paris, consent regime)."""
    return datetime(2026, m, d, h).isoformat()


def codes(report: AuditReport) -> dict[int, tuple[str, ...]]:
    return {v.line: v.codes for v in report.violations}


@pytest.fixture
def g(guard: Guard) -> Guard:
    for n in (A, B):
        consented(guard, n, paris(2026, 9, 1))
    return guard


def test_fifth_call_in_the_log_breaks_the_cap_and_violations_still_count(
    g: Guard, tmp_path: Path
) -> None:
    rows = [(A, NPV, at(d), "NO_ANSWER") for d in (16, 17, 18, 19, 20, 23)]
    rows[1] = (A, NPV, at(17, 21), "NO_ANSWER")  # outside hours: a violation, still an attempt
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert report.calls == 6
    assert codes(report) == {
        3: ("OUTSIDE_HOURS",),
        6: ("FREQUENCY_CAP",),
        7: ("FREQUENCY_CAP",),
    }
    assert report.summary == {"OUTSIDE_HOURS": 1, "FREQUENCY_CAP": 2}
    assert not report.compliant


def test_calls_are_replayed_in_time_order_not_file_order(g: Guard, tmp_path: Path) -> None:
    days = [20, 16, 23, 18, 17, 19]
    report = callguard.audit(log(tmp_path, [(A, NPV, at(d), "") for d in days]), db=g)
    # The fifth call in time is 20 Nov (line 2), the sixth 23 Nov (line 4).
    assert codes(report) == {2: ("FREQUENCY_CAP",), 4: ("FREQUENCY_CAP",)}


def test_refused_starts_the_cooldown_objected_opts_out(g: Guard, tmp_path: Path) -> None:
    rows = [
        (A, NPV, at(16), "REFUSED"),
        (A, NPV, at(17), "NO_ANSWER"),
        (B, NPV, at(16), "OBJECTED"),
        (B, NPV, at(18), "ANSWERED"),
    ]
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert codes(report) == {3: ("REFUSAL_COOLDOWN",), 5: ("OPTED_OUT",)}


def test_cooldown_ends_after_sixty_full_days(g: Guard, tmp_path: Path) -> None:
    # Refused 2026-11-16: refused through 2027-01-15, callable from 2027-01-16 (docs/rules.md §4).
    rows = [
        (A, NPV, at(16), "REFUSED"),
        (A, NPV, datetime(2027, 1, 15, 11).isoformat(), ""),
        (A, NPV, datetime(2027, 1, 18, 11).isoformat(), ""),
    ]
    consented(g, A, paris(2026, 12, 20))
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert codes(report) == {3: ("REFUSAL_COOLDOWN",)}


def test_each_call_is_judged_by_the_rules_of_its_own_day(guard: Guard, tmp_path: Path) -> None:
    clean_on_bloctel(guard, A, paris(2022, 6, 1))
    clean_on_bloctel(guard, A, paris(2024, 6, 1))
    rows = [
        (A, NPV, datetime(2022, 6, 4, 21).isoformat(), ""),  # Saturday night, bloctel regime
        (A, NPV, datetime(2024, 6, 8, 21).isoformat(), ""),  # Saturday night, D223-9 in force
        (A, NPV, datetime(2026, 11, 16, 11).isoformat(), ""),  # consent regime, no consent
    ]
    report = callguard.audit(log(tmp_path, rows), db=guard)
    assert codes(report) == {3: ("WEEKEND", "OUTSIDE_HOURS"), 4: ("NO_CONSENT",)}


def test_ledger_facts_are_used(guard: Guard, tmp_path: Path) -> None:
    guard.import_bloctel([A], paris(2025, 11, 20), submitted=[A, B])
    guard.add_optout(B, paris(2025, 11, 21))
    rows = [
        (A, NPV, datetime(2025, 11, 24, 11).isoformat(), ""),
        (B, NPV, datetime(2025, 11, 20, 11).isoformat(), ""),
        (B, NPV, datetime(2025, 11, 24, 11).isoformat(), ""),
        (B, NPV, datetime(2026, 1, 5, 11).isoformat(), ""),  # the check is 46 days old
    ]
    report = callguard.audit(log(tmp_path, rows), db=guard)
    assert codes(report) == {
        2: ("BLOCTEL_LISTED",),
        4: ("OPTED_OUT",),
        5: ("OPTED_OUT", "BLOCTEL_UNCHECKED"),
    }


def test_contract_purpose_and_sector_columns(guard: Guard, tmp_path: Path) -> None:
    guard.record_contract(A, paris(2026, 1, 1))
    header = "number;caller_id;started_at;purpose;sector"
    rows = [
        (A, NPV, at(16), "CONTRACT", ""),
        (B, NPV, at(16), "CONTRACT", ""),
        (A, NPV, at(17), "PROSPECTION", "ENERGY_RENOVATION"),
    ]
    report = callguard.audit(log(tmp_path, rows, header), db=guard)
    assert codes(report) == {3: ("NO_CONTRACT",), 4: ("SECTOR_BANNED", "NO_CONSENT")}


def test_caller_id_of_the_log_is_judged(g: Guard, tmp_path: Path) -> None:
    rows = [(A, "06 12 34 56 78", at(16), ""), (B, "", at(16), ""), (B, "anonymous", at(17), "")]
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert codes(report) == {
        2: ("CALLER_ID_MOBILE", "CALLER_ID_NOT_NPV"),
        3: ("CALLER_ID_INVALID",),
        4: ("CALLER_ID_INVALID",),
    }


def test_ledger_attempts_before_the_log_count(g: Guard, tmp_path: Path) -> None:
    for d in (9, 10, 12, 13):
        g.record_call(A, paris(2026, 11, d, 11))
    report = callguard.audit(log(tmp_path, [(A, NPV, at(16), ""), (B, NPV, at(16), "")]), db=g)
    assert codes(report) == {2: ("FREQUENCY_CAP",)}


def test_a_log_already_imported_is_not_counted_twice(g: Guard, tmp_path: Path) -> None:
    rows = [
        (A, NPV, at(16), "NO_ANSWER"),
        (A, NPV, at(17), "REFUSED"),
        (B, NPV, at(16), "OBJECTED"),
        (B, NPV, at(17), ""),
        (A, NPV, at(18), ""),
    ]
    path = log(tmp_path, rows)
    before = callguard.audit(path, db=g)
    assert import_calls(g, path).imported == 5
    after = callguard.audit(path, db=g)
    assert codes(after) == codes(before) == {5: ("OPTED_OUT",), 6: ("REFUSAL_COOLDOWN",)}


def test_a_refusal_recorded_by_hand_counts_for_later_calls(g: Guard, tmp_path: Path) -> None:
    g.record_refusal(A, paris(2026, 11, 16, 15))
    rows = [(A, NPV, at(16), ""), (A, NPV, at(17), "")]
    assert codes(callguard.audit(log(tmp_path, rows), db=g)) == {3: ("REFUSAL_COOLDOWN",)}


def test_professionals_keep_their_own_counters(g: Guard, tmp_path: Path) -> None:
    header = "number;caller_id;started_at;professional"
    rows = [(A, NPV, at(d), "acme") for d in (16, 17, 18, 19)] + [(A, NPV, at(20), "other")]
    report = callguard.audit(log(tmp_path, rows, header), db=g)
    # "other" has no consent from A: its call fails on that, not on acme's four calls.
    assert codes(report) == {6: ("NO_CONSENT",)}


def test_the_ledger_file_is_not_modified(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Guard(db, professional="acme") as guard:
        consented(guard, A, paris(2026, 9, 1))
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    rows = [(A, NPV, at(d), "REFUSED") for d in (16, 17)] + [(B, NPV, at(16), "OBJECTED")]
    report = callguard.audit(log(tmp_path, rows), db=db, professional="acme")
    assert codes(report) == {3: ("REFUSAL_COOLDOWN",), 4: ("NO_CONSENT",)}
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM professionals").fetchone() == (1,)


def test_a_professional_unknown_to_the_ledger_sees_the_shared_bloctel(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Guard(db) as guard:
        guard.import_bloctel([A], paris(2025, 11, 20), submitted=[A])
    rows = [(A, NPV, datetime(2025, 11, 24, 11).isoformat(), "")]
    report = callguard.audit(log(tmp_path, rows), db=db, professional="newcomer")
    assert codes(report) == {2: ("BLOCTEL_LISTED",)}


def test_times_naive_paris_offset_utc_and_french(g: Guard, tmp_path: Path) -> None:
    rows = [
        (A, NPV, "2026-11-16T19:59:59", ""),  # Paris: in hours
        (A, NPV, "2026-11-16T19:00:00Z", ""),  # 20:00 Paris: out
        (A, NPV, "2026-11-17 09:30:00+00:00", ""),  # 10:30 Paris: in
        (B, NPV, "17/11/2026 09:59", ""),  # French Excel form, Paris: out
    ]
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert codes(report) == {3: ("OUTSIDE_HOURS",), 5: ("OUTSIDE_HOURS",)}
    assert report.violations[0].started_at.isoformat() == "2026-11-16T19:00:00+00:00"


def test_rows_that_cannot_be_judged_are_reported(g: Guard, tmp_path: Path) -> None:
    rows = [
        (A, NPV, at(16), ""),
        (A, NPV, "yesterday", ""),
        ("", NPV, at(16), ""),
        (A, NPV, at(16), "MAYBE"),
        (A, NPV, "2015-05-04T11:00:00", ""),
        (A, NPV, at(17), "", "extra"),
        ("abc", NPV, at(17), ""),
    ]
    report = callguard.audit(log(tmp_path, rows), db=g)
    assert report.calls == 2
    assert codes(report) == {8: ("INVALID_NUMBER",)}
    assert [(r.line, r.value) for r in report.rejected] == [
        (3, "yesterday"),
        (4, ""),
        (5, "MAYBE"),
        (6, "2015-05-04T11:00:00+02:00"),
        (7, f"{A};{NPV};{at(17)};;extra"),
    ]
    assert "before 2016-06-01" in report.rejected[3].reason
    assert "5 fields where the header has 4" in report.rejected[4].reason
    assert report.calls + len(report.rejected) == len(rows)


def test_mappings_are_a_call_log(g: Guard) -> None:
    rows = [
        {"number": A, "caller_id": NPV, "started_at": paris(2026, 11, d, 11), "outcome": o}
        for d, o in ((16, Outcome.REFUSED), (17, "NO_ANSWER"))
    ]
    report = callguard.audit(rows, db=g)
    assert codes(report) == {2: ("REFUSAL_COOLDOWN",)}
    with pytest.raises(ConfigurationError):
        callguard.audit({"number": A}, db=g)  # type: ignore[arg-type]


def test_empty_header_only_and_missing_columns(g: Guard, tmp_path: Path) -> None:
    assert callguard.audit(DATA / "empty.csv", db=g).to_dict() == {
        "calls": 0, "violations": [], "summary": {}, "rejected": [], "skipped": 0
    }  # fmt: skip
    assert callguard.audit(log(tmp_path, []).with_name("calls.csv"), db=g).calls == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("number;when\n0612345678;2026-11-16T11:00\n")
    with pytest.raises(ConfigurationError, match="no 'caller_id', 'started_at' column"):
        callguard.audit(bad, db=g)


def test_ledger_must_exist_unless_memory(tmp_path: Path) -> None:
    path = log(tmp_path, [(A, NPV, at(16), "")])
    with pytest.raises(LedgerError, match="no ledger at"):
        callguard.audit(path, db=tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    report = callguard.audit(path, db=":memory:")
    assert codes(report) == {2: ("NO_CONSENT",)}
    not_a_ledger = tmp_path / "x.db"
    not_a_ledger.write_bytes(b"hello")
    with pytest.raises(LedgerError):
        callguard.audit(path, db=not_a_ledger)


def test_default_ledger_is_callguard_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    with Guard(db) as guard:
        consented(guard, A, paris(2026, 9, 1))
    monkeypatch.setenv("CALLGUARD_DB", str(db))
    assert callguard.audit(log(tmp_path, [(A, NPV, at(16), "")])).compliant


def test_the_fixture_log(make_guard: Callable[..., Guard]) -> None:
    guard = make_guard("default")
    guard.import_bloctel([], paris(2025, 11, 20), submitted=["0698765432", "0781234567"])
    guard.import_bloctel(["0612345678"], paris(2025, 11, 20))
    report = callguard.audit(DATA / "calls_2025q4.csv", db=guard)
    assert report.to_dict() == {
        "calls": 6,
        "violations": [
            {"line": 4, "number": "+33698765432", "started_at": "2025-11-26T11:00:00+01:00",
             "codes": ["REFUSAL_COOLDOWN"]},
            {"line": 5, "number": "+33612345678", "started_at": "2025-11-24T21:15:00+01:00",
             "codes": ["BLOCTEL_LISTED", "OUTSIDE_HOURS"]},
            {"line": 6, "number": "+33781234567", "started_at": "2025-11-25T10:30:00+01:00",
             "codes": ["CALLER_ID_MOBILE", "CALLER_ID_NOT_NPV"]},
            {"line": 7, "number": "+33612000001", "started_at": "2025-11-23T11:00:00+01:00",
             "codes": ["BLOCTEL_UNCHECKED", "WEEKEND"]},
        ],
        "summary": {"CALLER_ID_MOBILE": 1, "CALLER_ID_NOT_NPV": 1, "WEEKEND": 1,
                    "OUTSIDE_HOURS": 1, "REFUSAL_COOLDOWN": 1, "BLOCTEL_LISTED": 1,
                    "BLOCTEL_UNCHECKED": 1},
        "rejected": [{"line": 8, "value": "not a time",
                      "reason": "started_at 'not a time' is not an ISO 8601 time "
                                "(e.g. 2026-11-23T10:30:00+01:00)"}],
        "skipped": 0,
    }  # fmt: skip


def test_policy_of_the_audit(g: Guard, tmp_path: Path) -> None:
    from callguard import Policy

    path = log(tmp_path, [(A, "01 23 45 67 89", at(16), "")])
    assert codes(callguard.audit(path, db=g)) == {2: ("CALLER_ID_NOT_NPV",)}
    assert callguard.audit(path, db=g, policy=Policy(automated=False)).compliant
    with pytest.raises(ConfigurationError, match="policy must be"):
        callguard.audit(path, db=g, policy={"automated": False})  # type: ignore[arg-type]
