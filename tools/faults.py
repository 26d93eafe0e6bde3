"""Seeded fault injection: dialers attempt while their processes, connections and files fail.

    python tools/faults.py [--seed N] [--seconds S] [--workers W] [--backend sqlite|postgres|both]

Worker processes call ``Guard.attempt()`` on five numbers at random business hours and log the
id of every allowed attempt (after ``attempt()`` returned it, flushed at once). Meanwhile the
harness, driven by one seeded random generator, picks a fault every few hundred milliseconds:

- ``kill``: SIGKILL a worker (and start another);
- ``terminate`` (PostgreSQL): ``pg_terminate_backend`` on every connection of the run's schema;
- ``replace`` (SQLite): while holding the ledger's write lock, copy it and put the copy in its
  place (the old ``-wal``/``-shm`` moved aside), as a restore under running dialers would.
  Workers must notice that their file is gone and reopen, never count the cap on the old one.

Afterwards it checks, per backend: no 30-day window (the consumer's local days) holds more than 4
attempts to a number; every attempt a worker was told was allowed is in the ledger; no call took
longer than its bound (each worker reports its slowest call, and the run ends in bounded time).
It prints the seed and the figures; it exits 1 if a check fails. The timing of faults makes a
run differ from another with the same seed; the seed fixes the choices made.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

NUMBERS = ["06 12 34 56 78", "06 98 76 54 32", "0690 00 12 34", "06 11 22 33 44", "06 55 44 33 22"]
NPV = "09 48 12 34 56"
CALL_BOUND = 20.0
"""The slowest a single attempt may be: busy_timeout (5 s) for a lock, plus reconnecting."""
APP = "callguard-faults"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# -- the worker ------------------------------------------------------------------------------------


def worker(location: str, log: str, seed: int) -> None:
    from callguard import Guard, LedgerError, ReasonCode

    rng = random.Random(seed)
    out = open(log, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    guard: Guard | None = None
    slowest = 0.0
    calls = 0
    while True:
        started = time.monotonic()
        try:
            if guard is None:
                guard = Guard(location, professional="acme")
            # A year of days under one consent: about 60 allowed attempts a number.
            day = date(2026, 9, 2) + timedelta(days=rng.randrange(360))
            if day.weekday() >= 5:
                continue
            at = datetime(
                day.year,
                day.month,
                day.day,
                rng.choice([10, 11, 15, 16]),
                rng.randrange(60),
                tzinfo=ZoneInfo("Europe/Paris"),
            )
            d = guard.attempt(rng.choice(NUMBERS), NPV, at)
            if d.attempt_id is not None:
                out.write(f"ok {d.attempt_id}\n")
            elif ReasonCode.LEDGER_UNAVAILABLE in d.codes:
                guard.close()  # the file may have been replaced: open it again
                guard = None
        except LedgerError:
            guard = None
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        calls += 1
        if elapsed > slowest:
            slowest = elapsed
            out.write(f"slowest {slowest:.3f}\n")
        if calls % 10 == 0:
            out.write(f"calls {calls}\n")


# -- the harness ---------------------------------------------------------------------------------


def _prepare(location: str) -> None:
    from callguard import Guard

    with Guard(location, professional="acme") as g:
        for n in NUMBERS:
            g.record_consent(n, datetime(2026, 9, 1, tzinfo=ZoneInfo("Europe/Paris")), proof="p")


def _replace_sqlite(path: Path, rng: random.Random) -> None:
    """Put a consistent copy of the ledger in its place while holding its write lock."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")  # no worker commits from here on
        reader = sqlite3.connect(path)
        copy = path.with_name(f"copy-{rng.randrange(10**9)}.db")
        dest = sqlite3.connect(copy)
        reader.backup(dest)
        dest.close()
        reader.close()
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                side.rename(path.with_name(f"old-{rng.randrange(10**9)}{suffix}"))
        os.replace(copy, path)
    finally:
        holder.close()  # the file it holds has moved: SQLite neither checkpoints nor deletes


def _terminate(server: str, schema: str) -> int:
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (f"{APP}-{schema}",),
        ).fetchall()
    return len(rows)


def _attempts(location: str, schema: str | None) -> list[tuple[int, int, int]]:
    """(id, number, at) of every attempt in the ledger."""
    if schema is None:
        conn = sqlite3.connect(location)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return [tuple(r) for r in conn.execute("SELECT id, number, at FROM attempts")]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(location, autocommit=True, connect_timeout=5) as pg:
        return [tuple(r) for r in pg.execute("SELECT id, number, at FROM attempts").fetchall()]


def _check(rows: list[tuple[int, int, int]], logged: set[int]) -> list[str]:
    from callguard._numbers import parse_number

    problems = []
    ids = {r[0] for r in rows}
    missing = logged - ids
    if missing:
        problems.append(
            f"{len(missing)} allowed attempts missing from the ledger: {sorted(missing)[:10]}"
        )
    for raw in NUMBERS:
        parsed = parse_number(raw)
        tz = ZoneInfo(parsed.zones[0])
        days = sorted(
            (_EPOCH + timedelta(microseconds=at)).astimezone(tz).date().toordinal()
            for _, number, at in rows
            if number == parsed.key
        )
        for i, first in enumerate(days):
            inside = [d for d in days[i:] if d - first < 30]
            if len(inside) > 4:
                problems.append(f"{raw}: {len(inside)} attempts within 30 days from day {first}")
                break
    return problems


@dataclass
class _Faults:
    """The worker processes of one run and the faults done to them."""

    location: str
    scratch: Path
    backend: str
    rng: random.Random
    logs: list[Path] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: int = 0
    terminations: int = 0
    replacements: int = 0

    def spawn(self) -> None:
        log = self.scratch / f"{self.backend}-{len(self.logs)}.log"
        self.logs.append(log)
        self.procs.append(subprocess.Popen(
            [sys.executable, __file__, "--worker", self.location, str(log),
             str(self.rng.randrange(10**9))]
        ))  # fmt: skip

    def inject(self, server: str, schema: str | None, seconds: float) -> float:
        """Kill a worker, terminate a backend or replace the file, at random, for ``seconds``;
        then stop every worker. Returns the seconds it ran."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(self.rng.uniform(0.2, 1.0))
            if self.rng.choice(["kill", "other", "other"]) == "kill":
                victim = self.rng.choice([p for p in self.procs if p.poll() is None])
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                self.kills += 1
                self.spawn()
            elif schema is not None:
                self.terminations += _terminate(server, schema)
            else:
                _replace_sqlite(Path(self.location), self.rng)
                self.replacements += 1
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait(10)
        return time.monotonic() - started


def _read_logs(logs: list[Path]) -> tuple[set[int], float, int]:
    """The allowed attempts the workers logged, the slowest call, and about how many calls."""
    logged: set[int] = set()
    slowest = 0.0
    calls = 0
    for log in logs:
        if not log.exists():
            continue
        last_calls = 0
        for line in log.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "ok":
                logged.add(int(value))
            elif kind == "slowest":
                slowest = max(slowest, float(value))
            elif kind == "calls":
                last_calls = int(value)
        calls += last_calls
    return logged, slowest, calls


def run(backend: str, seed: int, seconds: float, workers: int, scratch: Path) -> bool:
    rng = random.Random(f"{seed}-{backend}")
    schema = None
    server = os.environ.get("CALLGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    if backend == "sqlite":
        location = str(scratch / "ledger.db")
    else:
        import psycopg

        schema = f"cg_faults_{secrets.token_hex(4)}"
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in server else "?"
        location = f"{server}{sep}options=-csearch_path%3D{schema}&application_name={APP}-{schema}"
    try:
        _prepare(location)
        faults = _Faults(location, scratch, backend, rng)
        for _ in range(workers):
            faults.spawn()
        duration = faults.inject(server, schema, seconds)
        logged, slowest, calls = _read_logs(faults.logs)
        rows = _attempts(location, schema)
        problems = _check(rows, logged)
        if slowest > CALL_BOUND:
            problems.append(f"a call took {slowest:.1f} s (bound {CALL_BOUND:.0f} s)")
        print(
            f"{backend}: seed {seed}, {duration:.1f} s, {len(faults.procs)} worker processes, "
            f"about {calls} calls, {len(logged)} allowed attempts logged, {len(rows)} in the "
            f"ledger, {faults.kills} kills, {faults.terminations} backend terminations, "
            f"{faults.replacements} file replacements, slowest call {slowest:.2f} s"
        )
        for problem in problems:
            print(f"  FAIL {problem}")
        return not problems
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
                _terminate(server, schema)
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    print(f"fault injection, seed {seed} (rerun with --seed {seed})", flush=True)
    import tempfile

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        scratch = args.scratch or Path(tmp)
        for backend in backends:
            ok = run(backend, seed, args.seconds, args.workers, scratch) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
