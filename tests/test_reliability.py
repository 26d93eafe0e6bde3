"""Issue 4 guarantees, each with a test that fails if it breaks.

Contention and crashes use real processes on a real ledger file; faults are injected through
SQLite itself (a held write lock, a page limit, garbage bytes), never by mocking callguard.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callguard import (
    CallguardError,
    ConfigurationError,
    Guard,
    InvalidNumberError,
    LedgerError,
    Outcome,
    ReasonCode,
)
from conftest import NPV, paris

NUMBERS = ["06 12 34 56 78", "06 98 76 54 32", "0690 00 12 34"]
CONSENT_AT = paris(2026, 9, 1)


def _prepare(path: Path) -> None:
    with Guard(path, professional="acme") as g:
        for n in NUMBERS:
            g.record_consent(n, CONSENT_AT, proof="p")


def _business_instants(seed: int, count: int) -> list[datetime]:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        day = datetime(2026, 10, 1) + timedelta(days=rng.randrange(60))
        if day.weekday() >= 5:
            continue
        hour = rng.choice([10, 11, 12, 15, 16, 17, 18])
        out.append(
            day.replace(hour=hour, minute=rng.randrange(60), tzinfo=ZoneInfo("Europe/Paris"))
        )
    return out


def _worker(path: str, seed: int, count: int, allowed: mp.Queue) -> None:  # type: ignore[type-arg]
    rng = random.Random(seed)
    with Guard(path, professional="acme", busy_timeout=30) as g:
        mine = 0
        for at in _business_instants(seed, count):
            d = g.attempt(rng.choice(NUMBERS), NPV, at)
            assert ReasonCode.LEDGER_UNAVAILABLE not in d.codes, d.reasons
            mine += d.allowed
    allowed.put(mine)


def _windows_hold(path: Path, cap: int = 4) -> dict[int, list[int]]:
    """Local attempt dates per number; asserts no 30-day window holds more than ``cap``."""
    from callguard._numbers import parse_number

    conn = sqlite3.connect(path)
    by_number: dict[int, list[int]] = {}
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for raw in NUMBERS:
        parsed = parse_number(raw)
        tz = ZoneInfo(parsed.zones[0])
        rows = conn.execute("SELECT at FROM attempts WHERE number = ?", (parsed.key,)).fetchall()
        days = sorted(
            (epoch + timedelta(microseconds=r[0])).astimezone(tz).date().toordinal() for r in rows
        )
        for i, first in enumerate(days):
            inside = [d for d in days[i:] if d - first < 30]
            assert len(inside) <= cap, (raw, days)
        by_number[parsed.key] = days
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    return by_number


@pytest.mark.slow
def test_eight_processes_never_exceed_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "contended.db"
    _prepare(path)
    ctx = mp.get_context("spawn")
    allowed: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_worker, args=(str(path), seed, 150, allowed)) for seed in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    total_allowed = sum(allowed.get(timeout=5) for _ in procs)
    days = _windows_hold(path)
    assert total_allowed == sum(len(d) for d in days.values())
    # The contention was real: far more attempts were asked than the cap lets through.
    assert total_allowed < 8 * 150 / 4


def test_threads_sharing_one_guard_never_exceed_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    _prepare(path)
    guard = Guard(path, professional="acme", busy_timeout=30)
    other = Guard(path, professional="acme", busy_timeout=30)
    errors: list[BaseException] = []

    def run(seed: int, g: Guard) -> None:
        try:
            rng = random.Random(seed)
            for at in _business_instants(seed, 60):
                d = g.attempt(rng.choice(NUMBERS), NPV, at)
                assert ReasonCode.LEDGER_UNAVAILABLE not in d.codes
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s, guard if s % 2 else other)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    guard.close()
    other.close()
    _windows_hold(path)


_KILLABLE = textwrap.dedent(
    """
    import random, sys
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    from callguard import Guard
    numbers = {numbers!r}
    rng = random.Random(int(sys.argv[2]))
    g = Guard(sys.argv[1], professional="acme", busy_timeout=30)
    print("ready", flush=True)
    for _ in range(100000):
        day = datetime(2026, 10, 1) + timedelta(days=rng.randrange(60))
        at = day.replace(hour=rng.choice([10, 11, 15, 16]), tzinfo=ZoneInfo("Europe/Paris"))
        g.attempt(rng.choice(numbers), "09 48 12 34 56", at)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_keeps_cap_and_integrity(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    _prepare(path)
    script = tmp_path / "worker.py"
    script.write_text(_KILLABLE.format(numbers=NUMBERS))
    rng = random.Random(7)
    for round_ in range(4):
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(path), str(round_ * 10 + i)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(6)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            time.sleep(rng.uniform(0.01, 0.15))
            p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait(30)
            assert p.stdout is not None
            p.stdout.close()
            assert p.returncode == -signal.SIGKILL
    _windows_hold(path)
    # The ledger still opens and answers.
    assert Guard(path, professional="acme").may_call(NUMBERS[0], NPV, paris(2027, 3, 2, 11))


def test_a_lock_held_past_the_timeout_refuses_instead_of_waiting(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    _prepare(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        guard = Guard(path, professional="acme", busy_timeout=0.2)
        started = time.monotonic()
        d = guard.attempt(NUMBERS[0], NPV, paris(2026, 11, 23, 11))
        assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
        assert not d.allowed and d.attempt_id is None
        assert time.monotonic() - started < 5
        # Readers are not blocked by a writer in WAL mode: may_call still answers from the ledger.
        assert guard.may_call(NUMBERS[0], NPV, paris(2026, 11, 23, 11)).allowed
        with pytest.raises(LedgerError, match="locked"):
            guard.record_refusal(NUMBERS[0], paris(2026, 11, 23, 11))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert guard.attempt(NUMBERS[0], NPV, paris(2026, 11, 23, 11)).allowed


def test_full_disk_refuses_and_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    _prepare(path)
    guard = Guard(path, professional="acme")
    first = guard.attempt(NUMBERS[0], NPV, paris(2026, 11, 23, 11))
    assert first.allowed
    conn = guard.engine.ledger.conn  # type: ignore[attr-defined]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(50):  # fill what is left of the last pages, then the next write fails
        try:
            guard.record_call(
                NUMBERS[1], paris(2026, 1, 1) + timedelta(minutes=i), campaign="x" * 3000
            )
        except LedgerError as exc:
            assert "full" in str(exc)
            break
    else:
        pytest.fail("the page limit never filled")
    d = guard.attempt(NUMBERS[1], NPV, paris(2026, 11, 23, 11), campaign="y" * 3000)
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
    guard.close()
    assert Guard(path, professional="acme").may_call(NUMBERS[0], NPV, paris(2026, 11, 23, 11))
    conn = sqlite3.connect(path)
    assert (
        conn.execute("SELECT count(*) FROM attempts WHERE id = ?", (first.attempt_id,)).fetchone()[
            0
        ]
        == 1
    )
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_read_only_ledger_refuses_writes_but_answers(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    _prepare(path)
    guard = Guard(path, professional="acme")
    guard.engine.ledger.conn.execute("PRAGMA query_only = 1")  # type: ignore[attr-defined]
    assert guard.may_call(NUMBERS[0], NPV, paris(2026, 11, 23, 11)).allowed
    d = guard.attempt(NUMBERS[0], NPV, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
    with pytest.raises(LedgerError, match="readonly"):
        guard.record_call(NUMBERS[0], paris(2026, 11, 23, 11))


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_ledger_file(tmp_path: Path) -> None:  # pragma: no cover - not as root
    path = tmp_path / "secret.db"
    _prepare(path)
    path.chmod(0)
    with pytest.raises(LedgerError, match="secret"):
        Guard(path)


@pytest.mark.parametrize("keep", [0, 100, 4096])
def test_corrupt_ledger_never_allows(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "corrupt.db"
    _prepare(path)
    with Guard(path, professional="acme") as g:
        for d in range(1, 20):
            g.record_call(NUMBERS[0], paris(2026, 10, d, 11))
    data = path.read_bytes()
    rng = random.Random(keep)
    path.write_bytes(data[:keep] + bytes(rng.randrange(256) for _ in range(len(data) - keep)))
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    try:
        guard = Guard(path, professional="acme")
    except LedgerError as exc:
        assert "corrupt.db" in str(exc)
        return
    d = guard.may_call(NUMBERS[0], NPV, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}


_IMPORTER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from callguard import Guard
    g = Guard(sys.argv[1])
    numbers = ["06%08d" % i for i in range(int(sys.argv[2]))]
    print("importing", flush=True)
    g.import_bloctel(numbers, datetime(2025, 3, 1, tzinfo=timezone.utc))
    print("done", flush=True)
    """
)


def test_an_import_killed_halfway_leaves_the_ledger_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "import.db"
    with Guard(path) as g:
        g.import_bloctel(["06 00 00 00 01"], paris(2025, 1, 1))
    script = tmp_path / "importer.py"
    script.write_text(_IMPORTER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), "300000"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "importing"
    time.sleep(0.8)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    conn = sqlite3.connect(path)
    count = conn.execute("SELECT count(*) FROM bloctel_checks").fetchone()[0]
    assert count in (1, 300001)  # all or nothing, never a part
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_an_older_ledger_is_migrated_in_place(tmp_path: Path) -> None:
    from sqlite_utils import Database

    from callguard.storage.sqlite import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.apply(Database(conn, execute_plugins=False), stop_before="m002_purge_log")
    conn.execute("INSERT INTO professionals (name) VALUES ('acme')")
    conn.execute(
        "INSERT INTO consents (professional, number, at, proof) "
        "VALUES (1, 33612345678, 1780000000000000, 'old-form')"
    )
    conn.close()
    guard = Guard(path, professional="acme")
    assert guard.may_call(NUMBERS[0], NPV, paris(2026, 11, 23, 11)).allowed
    names = [
        r[0]
        for r in sqlite3.connect(path).execute("SELECT name FROM _sqlite_migrations ORDER BY id")
    ]
    assert names == [
        "m001_initial",
        "m002_purge_log",
        "m003_service",
        "m004_evidence",
        "m005_journal",
        "m006_journal_v2",
        "m007_ledger_id",
        "m008_journal_erasable",
        "m009_attempt_voids",
        "m010_facts_by_number",
    ]
    row = sqlite3.connect(path).execute("SELECT off_hours, channel FROM consents").fetchone()
    assert row == (0, None)  # the rows already there get the new columns' defaults
    assert guard.verify().ok  # the genesis sealed the rows written before the journal


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlite_utils import Database

    from callguard.storage import sqlite as _ledger

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    _ledger.migrations.apply(Database(conn, execute_plugins=False), stop_before="m002_purge_log")
    conn.close()
    before = path.read_bytes()

    def broken(db: Database) -> None:
        db.execute("CREATE TABLE purge_log (id INTEGER)")
        raise RuntimeError("disk pulled out mid-migration")

    step = next(m for m in _ledger.migrations._migrations if m.name == "m002_purge_log")
    monkeypatch.setattr(step, "fn", broken)
    with pytest.raises((LedgerError, RuntimeError)):
        Guard(path)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "purge_log" not in tables
    assert [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")] == ["m001_initial"]
    assert len(path.read_bytes()) == len(before)


# -- bad input, everywhere --------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=30),
    st.text(max_size=40),
    st.text(alphabet="0123456789 +-.()", max_size=25),
    st.just("x" * 10_000),
    st.lists(st.integers(), max_size=3),
)


@given(number=junk, caller=junk)
def test_decisions_never_raise_on_bad_numbers_or_caller_ids(number: object, caller: object) -> None:
    with Guard(":memory:") as g:
        d = g.may_call(number, caller, paris(2026, 11, 23, 11))
        if d.allowed:  # only a valid number with a consent could be allowed: there is none
            pytest.fail(f"allowed {number!r} from {caller!r}")
        d = g.attempt(number, caller, paris(2026, 11, 23, 11))
        assert not d.allowed and d.attempt_id is None


@given(number=junk)
def test_writes_reject_bad_numbers_and_lose_nothing(number: object) -> None:
    from callguard._numbers import parse_number

    try:
        parse_number(number)
    except InvalidNumberError:
        pass
    else:
        return  # a valid number: nothing to test here
    with Guard(":memory:") as g:
        g.record_call("06 12 34 56 78", paris(2026, 11, 2, 11))
        for write in (
            lambda: g.record_call(number, paris(2026, 11, 3, 11)),
            lambda: g.record_refusal(number, paris(2026, 11, 3, 11)),
            lambda: g.add_optout(number, paris(2026, 11, 3, 11)),
            lambda: g.record_consent(number, paris(2026, 11, 3, 11), proof="p"),
        ):
            with pytest.raises(InvalidNumberError):
                write()
        conn = g.engine.ledger.conn  # type: ignore[attr-defined]
        assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 1


@pytest.mark.parametrize(
    "now",
    [
        "2026-11-23T11:00",
        1_700_000_000,
        datetime(2026, 11, 23, 11),
        None.__class__,
        datetime(1999, 1, 1, tzinfo=timezone.utc),
        datetime(9999, 12, 31, tzinfo=timezone.utc),
    ],
)
def test_bad_times_are_clear_value_errors(now: object) -> None:
    with Guard(":memory:") as g, pytest.raises(ValueError) as info:
        g.may_call("06 12 34 56 78", NPV, now)  # type: ignore[arg-type]
    assert "now" in str(info.value) or "2016" in str(info.value) or "1999" in str(info.value)


def test_dst_gap_and_overlap_instants_are_judged() -> None:
    with Guard(":memory:") as g:
        paris_tz = ZoneInfo("Europe/Paris")
        gap = datetime(2027, 3, 28, 2, 30, tzinfo=paris_tz)  # does not exist
        overlap = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris_tz)  # exists twice
        for at in (gap, overlap):
            d = g.may_call("06 12 34 56 78", NPV, at)
            assert ReasonCode.OUTSIDE_HOURS in d.codes and ReasonCode.WEEKEND in d.codes


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cap_calls": 0},
        {"cap_calls": -1},
        {"cap_days": 0},
        {"refusal_cooldown_days": -5},
        {"consent_max_age_days": 0},
        {"bloctel_max_age_days": -1},
        {"cap_calls": "four"},
        {"own_caller_ids": []},
        {"unknown_setting": 1},
    ],
)
def test_nonsense_policies_are_refused_by_name(kwargs: dict[str, object]) -> None:
    from callguard import Policy

    with pytest.raises(ValueError) as info:
        Policy(**kwargs)  # type: ignore[arg-type]
    assert next(iter(kwargs)) in str(info.value)


def test_guard_arguments_are_checked() -> None:
    with pytest.raises(CallguardError, match="professional"):
        Guard(":memory:", professional="")
    with pytest.raises(CallguardError, match="busy_timeout"):
        Guard(":memory:", busy_timeout=-1)
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Guard(":memory:").may_call(
            "06 12 34 56 78", NPV, paris(2026, 11, 23, 11), callee_tz="Mars/Olympus"
        )


# -- purge ------------------------------------------------------------------------------------


def test_purge_removes_old_call_records_and_keeps_consent_proofs(tmp_path: Path) -> None:
    guard = Guard(tmp_path / "p.db", professional="acme")
    other = Guard(tmp_path / "p.db", professional="other")
    n = NUMBERS[0]
    guard.record_consent(n, paris(2024, 1, 10), proof="form-2024")
    guard.record_consent(n, paris(2021, 1, 10), proof="form-2021")
    guard.record_call(n, paris(2024, 2, 1, 11), outcome=Outcome.REFUSED)
    guard.record_call(n, paris(2026, 11, 2, 11))
    guard.add_optout(n, paris(2024, 1, 1), expires_at=paris(2024, 6, 1))
    guard.add_optout(NUMBERS[1], paris(2024, 1, 1))  # permanent: kept
    other.record_call(n, paris(2024, 2, 1, 11))
    report = guard.purge(paris(2026, 1, 1), now=paris(2026, 11, 23, 11))
    assert report.removed["attempts"] == 1
    assert report.removed["refusals"] == 1
    assert report.removed["optouts"] == 1
    assert report.removed["consents"] == 1  # 2021 (past three years); 2024 kept
    assert report.total == 4
    assert "attempts: 1" in str(report)
    conn = sqlite3.connect(tmp_path / "p.db")
    assert [r[0] for r in conn.execute("SELECT proof FROM consents")] == ["form-2024"]
    assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 2  # other's kept
    assert conn.execute("SELECT count(*) FROM purge_log").fetchone()[0] == 1
    assert not guard.may_call(NUMBERS[1], NPV, paris(2026, 11, 23, 11))  # still opted out


def test_purge_refuses_to_delete_what_the_rules_still_count(guard: Guard) -> None:
    with pytest.raises(ConfigurationError, match="2026-09-2"):
        guard.purge(paris(2026, 11, 1), now=paris(2026, 11, 23, 11))
    with pytest.raises(ConfigurationError, match="three years"):
        guard.purge(paris(2026, 1, 1), now=paris(2026, 11, 23, 11), proof_retention_days=30)
