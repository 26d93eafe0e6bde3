"""What the tamper-evident journal costs ``attempt()``: its rate with and without the journal.

    python benchmarks/journal.py [--calls 2000] [--repeat 5] [--postgres postgresql://…]

Each run records ``--calls`` allowed attempts on distinct numbers (every one decided and
recorded in one write transaction), on a fresh SQLite file and, when ``--postgres`` is given, a
fresh schema on that server. "without" replaces the journal append by nothing, which is what
``attempt()`` cost before the journal; "with" is the shipped code (one entry per attempt,
chained, in the same transaction). Rates are per CPU-second of this process (``process_time``:
the host's noise moves wall time far more), the median of ``--repeat`` interleaved runs; the
journal's cost is the difference of CPU time per attempt. The file's size per attempt is shown
too (the journal's share of the ledger).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callguard import Guard
from callguard.storage.journal import JournaledWrites

AT = datetime(2026, 3, 10, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))  # a Tuesday, Bloctel regime
NPV = "09 48 12 34 56"


def numbers(n: int) -> list[str]:
    return [f"+336{10_000_000 + i:08d}" for i in range(n)]


@contextmanager
def without_journal() -> Iterator[None]:
    # Every entry goes through _append; callguard before format 2 had only journal().
    name = "_append" if hasattr(JournaledWrites, "_append") else "journal"
    saved = getattr(JournaledWrites, name)

    def skip(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    setattr(JournaledWrites, name, skip)
    try:
        yield
    finally:
        setattr(JournaledWrites, name, saved)


def rate(location: str, calls: int) -> tuple[float, float]:
    """Attempts recorded per CPU-second of this process, and per second of wall time (what a
    server's round trips cost, on PostgreSQL)."""
    todo = numbers(calls)
    with Guard(location, professional="bench") as g:
        g.import_bloctel([], AT, submitted=todo)
        g.may_call(todo[0], NPV, AT)  # one-time costs (statement cache, tables) out of the timing
        start, wall = time.process_time(), time.perf_counter()
        for n in todo:
            d = g.attempt(n, NPV, AT)
            assert d.attempt_id is not None, d.reasons
        return calls / (time.process_time() - start), calls / (time.perf_counter() - wall)


def file_size(path: Path) -> int:
    """The ledger's bytes once its WAL is checkpointed into it."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


@contextmanager
def pg_schema(server: str) -> Iterator[str]:
    import psycopg

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = urllib.parse.urlsplit(server)
    query = urllib.parse.urlencode({"options": f"-csearch_path={schema}"})
    try:
        yield urllib.parse.urlunsplit(parts._replace(query=query))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=None, metavar="URL")
    args = parser.parse_args()
    rates: dict[tuple[str, str], list[tuple[float, float]]] = {}
    sizes: dict[str, list[float]] = {}
    modes = [("without", without_journal), ("with", contextmanager(_none))]
    # Interleaved rounds, the order flipped each round: warm-up and the host's noise hit both.
    for round_ in range(args.repeat):
        order = modes if round_ % 2 == 0 else modes[::-1]
        with tempfile.TemporaryDirectory() as work:
            for label, ctx in order:
                path = Path(work) / f"{label}{round_}.db"
                with ctx():
                    rates.setdefault(("SQLite", label), []).append(rate(str(path), args.calls))
                sizes.setdefault(label, []).append(file_size(path) / args.calls)
        if args.postgres:
            for label, ctx in order:
                with ctx(), pg_schema(args.postgres) as dsn:
                    rates.setdefault(("PostgreSQL", label), []).append(rate(dsn, args.calls))
    head = f"{'ledger':<12}{'journal':<10}{'attempts/CPU-s':>15}{'µs CPU each':>13}"
    print(f"{head}{'wall/s':>9}{'bytes each':>12}")
    cpu: dict[tuple[str, str], float] = {}
    for (backend, label), found in rates.items():
        r = cpu[(backend, label)] = statistics.median(c for c, _ in found)
        wall = statistics.median(w for _, w in found)
        size = f"{statistics.median(sizes[label]):,.0f}" if backend == "SQLite" else ""
        print(f"{backend:<12}{label:<10}{r:>15,.0f}{1e6 / r:>13.1f}{wall:>9,.0f}{size:>12}")
    for backend in ("SQLite", "PostgreSQL"):
        if (backend, "with") in cpu:
            cost = 1e6 / cpu[(backend, "with")] - 1e6 / cpu[(backend, "without")]
            print(f"{backend}: the journal costs {cost:.1f} µs of CPU per attempt")


def _none() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
