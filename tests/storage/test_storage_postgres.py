"""What only the PostgreSQL ledger has to prove: its locking across processes, failing closed when
the server goes away or a lock is held too long, schema versions, and its session settings.

The behaviour suite runs on PostgreSQL through the ``ledger_location`` fixture; these tests need
a server too and are skipped, with the reason, when none answers (see conftest.py).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard, LedgerError, ReasonCode
from conftest import NPV, paris, postgres_schema

psycopg = pytest.importorskip("psycopg")

from callguard._facts import Facts  # noqa: E402
from callguard._numbers import parse_number  # noqa: E402
from callguard.storage.postgres import PostgresLedger, lock_key  # noqa: E402

NUMBERS = ["06 12 34 56 78", "06 98 76 54 32", "0690 00 12 34"]
CONSENT_AT = paris(2026, 9, 1)
AT = paris(2026, 11, 23, 11)


@pytest.fixture
def dsn(postgres_server: str) -> Iterator[str]:
    with postgres_schema(postgres_server) as location:
        yield location


def _prepare(dsn: str) -> None:
    with Guard(dsn, professional="acme") as g:
        for n in NUMBERS:
            g.record_consent(n, CONSENT_AT, proof="p")


def _admin(dsn: str) -> Any:
    """A connection of the test's own, in the ledger's schema (autocommit)."""
    return psycopg.connect(dsn, autocommit=True)


def _local_days(dsn: str, raw: str) -> list[int]:
    parsed = parse_number(raw)
    tz = ZoneInfo(parsed.zones[0])
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    with _admin(dsn) as conn:
        rows = conn.execute("SELECT at FROM attempts WHERE number = %s", (parsed.key,)).fetchall()
    return sorted(
        (epoch + timedelta(microseconds=r[0])).astimezone(tz).date().toordinal() for r in rows
    )


def _assert_cap_holds(dsn: str, cap: int = 4) -> dict[str, list[int]]:
    """Local attempt dates per number; asserts no 30-day window of local dates holds > cap."""
    out = {}
    for raw in NUMBERS:
        days = _local_days(dsn, raw)
        for i, first in enumerate(days):
            assert len([d for d in days[i:] if d - first < 30]) <= cap, (raw, days)
        out[raw] = days
    return out


# -- the cap across processes -------------------------------------------------------------------


def _plan(seed: int) -> list[tuple[str, datetime]]:
    """Every worker asks for every number on every weekday from 2 Nov to 11 Dec 2026 at 11:00
    local time; half of them in date order (they race for the same call), half shuffled (later
    dates first, as hosts with skewed clocks or a replayed log would)."""
    plan = []
    day = datetime(2026, 11, 2, 11)
    while day < datetime(2026, 12, 12):
        if day.weekday() < 5:
            plan += [(n, day.replace(tzinfo=ZoneInfo(parse_number(n).zones[0]))) for n in NUMBERS]
        day += timedelta(days=1)
    if seed % 2:
        random.Random(seed).shuffle(plan)
    return plan


def _worker(dsn: str, seed: int, start: Any, results: Any) -> None:
    allowed = unavailable = 0
    plan = _plan(seed)
    with Guard(dsn, professional="acme", busy_timeout=30) as g:
        start.wait(60)
        for number, at in plan:
            d = g.attempt(number, NPV, at)
            allowed += d.allowed
            unavailable += ReasonCode.LEDGER_UNAVAILABLE in d.codes
    results.put((allowed, unavailable))


@pytest.mark.slow
def test_eight_processes_never_exceed_the_cap(dsn: str) -> None:
    _prepare(dsn)
    workers = 8
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(dsn, s, start, results)) for s in range(workers)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert sum(u for _, u in outcomes) == 0, "a timeout refused calls: the test proved nothing"
    days = _assert_cap_holds(dsn)
    # Every allowed decision is exactly one row, and the cap did bite hard.
    assert sum(a for a, _ in outcomes) == sum(len(d) for d in days.values())
    asked = workers * len(_plan(0))
    assert all(len(d) >= 4 for d in days.values())
    assert sum(len(d) for d in days.values()) < asked / 20


def test_the_facts_read_after_the_lock_include_the_previous_holders_attempt(
    postgres_server: str,
) -> None:
    """The lock protocol itself, step by step, with the server defaulting to REPEATABLE READ
    (where a snapshot taken by the lock statement would miss the holder's commit)."""
    with postgres_schema(postgres_server, default_transaction_isolation="repeatable read") as dsn:
        _prepare(dsn)
        guard = Guard(dsn, professional="acme")
        key = parse_number(NUMBERS[0]).key
        for d in (16, 17, 18):
            guard.record_call(NUMBERS[0], paris(2026, 11, d, 11))
        with _admin(dsn) as holder, _admin(dsn) as watcher:
            assert holder.execute("SHOW default_transaction_isolation").fetchone()[0] == (
                "repeatable read"
            )
            holder.execute("BEGIN")
            holder.execute(
                "SELECT pg_advisory_xact_lock(%s)",
                (lock_key(guard.engine.pid, key, guard.engine.ledger.namespace),),
            )
            holder.execute(
                "INSERT INTO attempts (professional, number, at, recorded_at) "
                "VALUES (%s, %s, %s, 0)",
                (guard.engine.pid, key, int(paris(2026, 11, 19, 11).timestamp() * 1_000_000)),
            )
            decisions = []
            thread = threading.Thread(
                target=lambda: decisions.append(guard.attempt(NUMBERS[0], NPV, AT))
            )
            thread.start()
            _wait_for(lambda: _advisory_waiters(watcher) == 1)
            holder.execute("COMMIT")
            thread.join(10)
        assert decisions[0].codes == {ReasonCode.FREQUENCY_CAP}
        assert len(_local_days(dsn, NUMBERS[0])) == 4
        guard.close()


def _advisory_waiters(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return int(row[0])


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    """Poll a server-side condition (not a sleep standing in for one)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- failing closed -----------------------------------------------------------------------------


def _terminate(dsn: str, application_name: str) -> int:
    with _admin(dsn) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    return int(row[0])


def test_connection_lost_refuses_then_recovers(dsn: str) -> None:
    _prepare(dsn)
    name = f"cg-test-{random.randrange(10**9)}"
    guard = Guard(f"{dsn}&application_name={name}", professional="acme")
    assert guard.may_call(NUMBERS[0], NPV, AT).allowed
    # The server ends the session (failover, restart, an administrator): fail closed, once.
    assert _terminate(dsn, name) >= 1
    lost = guard.may_call(NUMBERS[0], NPV, AT)
    assert lost.codes == {ReasonCode.LEDGER_UNAVAILABLE} and not lost.allowed
    assert guard.may_call(NUMBERS[0], NPV, AT).allowed  # the pool reconnected
    # The same during attempt(): no allow, nothing recorded, then back to normal.
    assert _terminate(dsn, name) >= 1
    refused = []
    for _ in range(5):  # one refusal per connection the pool held
        d = guard.attempt(NUMBERS[0], NPV, AT)
        if d.allowed:
            break
        assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE} and d.attempt_id is None
        refused.append(d)
    assert refused and d.allowed and d.attempt_id is not None
    assert len(_local_days(dsn, NUMBERS[0])) == 1
    guard.close()


def test_server_unreachable_refuses_at_open_without_showing_the_password() -> None:
    with pytest.raises(LedgerError, match="cannot open ledger") as info:
        Guard("postgresql://callguard:s3cret@127.0.0.1:1/ledger", busy_timeout=1)
    assert "s3cret" not in str(info.value)


def test_a_lock_held_past_the_timeout_refuses_instead_of_waiting(dsn: str) -> None:
    _prepare(dsn)
    guard = Guard(dsn, professional="acme", busy_timeout=0.2)
    key = parse_number(NUMBERS[0]).key
    with _admin(dsn) as holder:
        holder.execute("BEGIN")
        holder.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            (lock_key(guard.engine.pid, key, guard.engine.ledger.namespace),),
        )
        started = time.monotonic()
        d = guard.attempt(NUMBERS[0], NPV, AT)
        assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE} and d.attempt_id is None
        assert time.monotonic() - started < 5
        # Reads take no lock: may_call still answers, and other numbers are not held up.
        assert guard.may_call(NUMBERS[0], NPV, AT).allowed
        assert guard.attempt(NUMBERS[1], NPV, AT).allowed
        # Recording a call that already took place gates nothing, so it does not wait either.
        started = time.monotonic()
        guard.record_call(NUMBERS[0], AT - timedelta(days=1))
        assert time.monotonic() - started < 1
        holder.execute("ROLLBACK")
    assert guard.attempt(NUMBERS[0], NPV, AT).allowed
    guard.close()


def test_a_table_locked_past_the_timeout_refuses_reads_too(dsn: str) -> None:
    _prepare(dsn)
    guard = Guard(dsn, professional="acme", busy_timeout=0.2)
    with _admin(dsn) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE attempts IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        assert guard.may_call(NUMBERS[0], NPV, AT).codes == {ReasonCode.LEDGER_UNAVAILABLE}
        assert guard.attempt(NUMBERS[0], NPV, AT).codes == {ReasonCode.LEDGER_UNAVAILABLE}
        assert time.monotonic() - started < 5
        holder.execute("ROLLBACK")
    assert guard.attempt(NUMBERS[0], NPV, AT).allowed
    guard.close()


_HOLD_LOCK = textwrap.dedent(
    """
    import sys, time, psycopg
    conn = psycopg.connect(sys.argv[1], autocommit=True)
    conn.execute("BEGIN")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int(sys.argv[2]),))
    print("locked", flush=True)
    time.sleep(600)
    """
)


def test_a_killed_dialer_does_not_leave_the_number_locked(dsn: str) -> None:
    _prepare(dsn)
    guard = Guard(dsn, professional="acme", busy_timeout=10)
    namespace = guard.engine.ledger.namespace
    key = lock_key(guard.engine.pid, parse_number(NUMBERS[0]).key, namespace)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, dsn, str(key)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        proc.kill()  # SIGKILL: no ROLLBACK sent; the server ends the session, and the lock
    finally:
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()
    assert guard.attempt(NUMBERS[0], NPV, AT).allowed
    guard.close()


# -- schema -------------------------------------------------------------------------------------


def test_a_newer_schema_is_refused(dsn: str) -> None:
    _prepare(dsn)
    with _admin(dsn) as conn:
        conn.execute("INSERT INTO callguard_migrations (name) VALUES ('m999_from_the_future')")
    with pytest.raises(LedgerError, match=r"newer callguard.*m999_from_the_future"):
        Guard(dsn, professional="acme")
    with pytest.raises(LedgerError, match="newer callguard"):
        PostgresLedger.open_read_only(dsn)


def test_an_older_schema_is_migrated_in_place(dsn: str) -> None:
    _prepare(dsn)
    with _admin(dsn) as conn:
        conn.execute("DROP TABLE purge_log")
        conn.execute("DELETE FROM callguard_migrations WHERE name = 'm002_purge_log'")
    with Guard(dsn, professional="acme") as g:
        assert g.may_call(NUMBERS[0], NPV, AT).allowed  # the consent survived
    with _admin(dsn) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM callguard_migrations ORDER BY 1")]
        assert conn.execute("SELECT to_regclass('purge_log') IS NOT NULL").fetchone()[0]
    from callguard.storage.base import KNOWN_MIGRATIONS

    assert tuple(names) == KNOWN_MIGRATIONS


def test_the_schema_steps_are_sqlites() -> None:
    from callguard.storage.base import KNOWN_MIGRATIONS
    from callguard.storage.postgres import STEPS

    assert tuple(STEPS) == KNOWN_MIGRATIONS


def test_concurrent_first_opens_migrate_once(dsn: str) -> None:
    errors: list[BaseException] = []
    guards: list[Guard] = []

    def open_one(i: int) -> None:
        try:
            guards.append(Guard(dsn, professional=f"p{i % 2}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g in guards:
        g.close()
    assert not errors
    from callguard.storage.base import KNOWN_MIGRATIONS

    with _admin(dsn) as conn:
        count = conn.execute("SELECT count(*) FROM callguard_migrations").fetchone()[0]
        assert count == len(KNOWN_MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM professionals").fetchone()[0] == 2


def test_read_only_ledger_answers_and_writes_nothing(postgres_server: str) -> None:
    with postgres_schema(postgres_server) as dsn:
        with pytest.raises(LedgerError, match="no callguard schema"):
            PostgresLedger.open_read_only(dsn)
        _prepare(dsn)
        ledger = PostgresLedger.open_read_only(dsn)
        try:
            assert ledger.find_professional("acme") is not None
            assert ledger.find_professional("nobody") is None
            with pytest.raises(LedgerError, match="read-only") as caught, ledger.write():
                ledger.insert_withdrawal(1, parse_number(NUMBERS[0]).key, 0)
            assert isinstance(caught.value.__cause__, psycopg.Error)
        finally:
            ledger.close()


# -- the bulk reads agree with the hot path -----------------------------------------------------


def test_facts_many_equals_facts_per_number(make_guard: Any, ledger_location: str) -> None:
    guard: Guard = make_guard()
    start = paris(2026, 9, 1)
    for i, n in enumerate(NUMBERS):
        guard.record_consent(n, start, proof="p")
        guard.add_optout(n, start + timedelta(days=i), expires_at=start + timedelta(days=40))
        guard.record_slot_consent(n, AT, AT + timedelta(hours=1), proof="s")
        guard.record_contract(n, start, subject="c")
        for d in range(i + 2):
            guard.record_call(n, paris(2026, 11, 2 + d, 11))
        guard.record_refusal(n, paris(2026, 10, 5 + i))
        guard.import_bloctel([n] if i else [], start, submitted=[n])
        guard.import_bloctel([], start + timedelta(days=60), submitted=[n])
    ledger = guard.engine.ledger
    keys = [parse_number(n).key for n in NUMBERS] + [33100000000]
    now, since = int(AT.timestamp() * 1e6), int((AT - timedelta(days=62)).timestamp() * 1e6)
    many = ledger.facts_many(guard.engine.pid, keys + keys[:1], now, since)
    assert set(many) == set(keys)
    for k in keys:
        assert many[k] == ledger.facts(guard.engine.pid, k, now, since), k
    # known_only: the same facts, without the numbers the ledger knows nothing about
    known = ledger.facts_many(guard.engine.pid, keys, now, since, known_only=True)
    assert known == {k: f for k, f in many.items() if f != Facts()}
    assert 33100000000 not in known
    assert ledger.latest_bloctel_checks(keys) == {
        k: int((start + timedelta(days=60)).timestamp() * 1e6) for k in keys[:3]
    }


def test_threads_sharing_one_guard_never_exceed_the_cap(dsn: str) -> None:
    _prepare(dsn)
    guards = [Guard(dsn, professional="acme", busy_timeout=30) for _ in range(2)]
    errors: list[BaseException] = []

    def run(seed: int, g: Guard) -> None:
        try:
            for number, at in _plan(seed)[:45]:
                d = g.attempt(number, NPV, at)
                assert ReasonCode.LEDGER_UNAVAILABLE not in d.codes, d.reasons
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s, guards[s % 2])) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g in guards:
        g.close()
    assert not errors
    _assert_cap_holds(dsn)


def test_postgres_ledger_answers_every_question_sqlite_does() -> None:
    """Same methods, same parameters: the Ledger protocol, as SQLiteLedger implements it."""
    import inspect

    from callguard.storage.base import Ledger
    from callguard.storage.sqlite import SQLiteLedger

    members = [
        name for name, value in vars(Ledger).items() if callable(value) and not name.startswith("_")
    ]
    assert "facts" in members and "write" in members
    for name in members:
        mine = inspect.signature(getattr(PostgresLedger, name))
        theirs = inspect.signature(getattr(SQLiteLedger, name))
        assert list(mine.parameters.values()) == list(theirs.parameters.values()), name
    assert PostgresLedger.errors and all(issubclass(e, Exception) for e in PostgresLedger.errors)


def test_the_hot_path_is_one_prepared_statement(dsn: str) -> None:
    _prepare(dsn)
    guard = Guard(dsn, professional="acme")
    ledger: Any = guard.engine.ledger
    assert guard.may_call(NUMBERS[0], NPV, AT).allowed
    assert guard.attempt(NUMBERS[0], NPV, AT).allowed
    with ledger._pool.connection() as conn:
        statements = [
            " ".join(r[0].split())
            for r in conn.execute("SELECT statement FROM pg_prepared_statements")
        ]
    assert any(s.startswith("SELECT 0, at,") and "bloctel_checks" in s for s in statements)
    assert "SELECT pg_advisory_xact_lock($1)" in statements
    assert any(s.startswith("INSERT INTO attempts") for s in statements)
    guard.close()


@pytest.mark.slow
def test_a_batch_of_thousands_of_numbers_fits_in_one_transaction(dsn: str) -> None:
    # Recording calls takes no per-number lock: an import of more numbers than the server's lock
    # table holds (max_locks_per_transaction × max_connections, 6 400 by default) still commits.
    numbers = [f"0{730_000_000 + i * 7919 % 70_000_000}" for i in range(7_000)]
    with Guard(dsn, professional="acme") as guard:
        with guard.batch():
            for number in numbers:
                guard.record_call(number, paris(2026, 11, 2, 11))
        with _admin(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 7_000
        # attempt() still serialises on its number: the cap holds after the import.
        guard.record_consent(numbers[0], paris(2026, 9, 1), proof="p")
        for day in (3, 4, 5):
            assert guard.attempt(numbers[0], NPV, paris(2026, 11, day, 11)).allowed
        assert not guard.attempt(numbers[0], NPV, paris(2026, 11, 6, 11)).allowed
