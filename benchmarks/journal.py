"""What the tamper-evident journal costs ``attempt()``: its rate with and without the journal.

    python benchmarks/journal.py [--calls 2000] [--repeat 5] [--postgres postgresql://…]

Each run records ``--calls`` allowed attempts on distinct numbers (every one decided and
recorded in one write transaction), on a fresh SQLite file and, when ``--postgres`` is given, a
fresh schema on that server. Three modes, interleaved in one process (the order turned each
round, so warm-up and the host's noise hit them all):

* "without" replaces the journal append by nothing: what ``attempt()`` cost before the journal;
* "format 2" appends entries as callguard did before schema step ``m008_journal_erasable`` (the
  body hashed in the entry, no salt) on a SQLite connection without ``secure_delete``;
* "format 3" is the shipped code: the body's salted digest in the entry's hash, the salt stored,
  ``PRAGMA secure_delete = ON``.

Rates are per CPU-second of this process (``process_time``: the host's noise moves wall time
far more); the median and the best of ``--repeat`` runs are shown (on a loaded host the best is
the steadier figure). The journal's cost is the difference of CPU time per attempt with
"without". The file's size per attempt is shown too (the journal's share of the ledger).
With ``--answers``, each attempt also stores its idempotent answer as the service does for a
request with an ``Idempotency-Key`` (journaled in formats 3, not at all before).
"""

from __future__ import annotations

import argparse
import json
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
from callguard.storage import journal
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


@contextmanager
def format_2() -> Iterator[None]:
    """Entries written as before step m008 (format 2, no salt), no ``secure_delete``."""
    from callguard.storage import postgres

    original = journal.append_after

    def v2(run: Any, last: Any, chain: str, at: int, table: str, op: str, row_id: int | None,
           body: str, v: int = journal.FORMAT, raw: bool = False) -> None:  # fmt: skip
        original(run, last, chain, at, table, op, row_id, body,
                 journal.FORMAT_2 if v == journal.FORMAT else v, raw)  # fmt: skip

    journal.append_after = v2  # type: ignore[assignment]
    postgres.append_after = v2  # type: ignore[assignment]
    global SECURE_DELETE
    SECURE_DELETE = False
    try:
        yield
    finally:
        journal.append_after = original  # type: ignore[assignment]
        postgres.append_after = original  # type: ignore[assignment]
        SECURE_DELETE = True


SECURE_DELETE = True


def rate(location: str, calls: int, answers: bool = False) -> tuple[float, float]:
    """Attempts recorded per CPU-second of this process, and per second of wall time (what a
    server's round trips cost, on PostgreSQL)."""
    todo = numbers(calls)
    with Guard(location, professional="bench") as g:
        ledger: Any = g.engine.ledger
        if not SECURE_DELETE and hasattr(ledger, "conn"):
            ledger.conn.execute("PRAGMA secure_delete = OFF")
        key = 0
        if answers:
            from callguard.server.keys import create_key, lookup_key

            found = lookup_key(ledger, create_key(ledger, g.engine.pid, "bench", "bench"))
            assert found is not None
            key = found.id
        g.import_bloctel([], AT, submitted=todo)
        g.may_call(todo[0], NPV, AT)  # one-time costs (statement cache, tables) out of the timing
        start, wall = time.process_time(), time.perf_counter()
        for i, n in enumerate(todo):
            if answers:
                with ledger.write():
                    d = g.attempt(n, NPV, AT)
                    store_answer(ledger, g.engine.pid, key, f"k{i}", json.dumps(d.to_dict()))
            else:
                d = g.attempt(n, NPV, AT)
            assert d.attempt_id is not None, d.reasons
        return calls / (time.process_time() - start), calls / (time.perf_counter() - wall)


def store_answer(ledger: Any, pid: int, key: int, idem: str, response: str) -> None:
    """What the service stores for a request with an Idempotency-Key."""
    now = time.time_ns() // 1000
    if hasattr(ledger, "store_answer"):
        if journal.append_after.__name__ == "v2":  # before m008: a plain INSERT, not journaled
            ledger.service_exec(
                "INSERT INTO idempotency (api_key, key, request, status, response, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, idem, "digest", 200, response, now),
            )
        else:
            ledger.store_answer(pid, key, idem, "digest", 200, response, now)
        ledger.expire_answers(now - 48 * 3600 * 1_000_000)
    else:
        ledger.service_exec(
            "INSERT INTO idempotency (api_key, key, request, status, response, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, idem, "digest", 200, response, now),
        )
        ledger.service_exec("DELETE FROM idempotency WHERE created_at < ?", (now - 1,))


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
    parser.add_argument("--answers", action="store_true", help="store idempotent answers too")
    args = parser.parse_args()
    rates: dict[tuple[str, str], list[tuple[float, float]]] = {}
    sizes: dict[str, list[float]] = {}
    modes = [
        ("without", without_journal),
        ("format 2", format_2),
        ("format 3", contextmanager(_none)),
    ]
    # Interleaved rounds, the order turned each round: warm-up and the host's noise hit all.
    for round_ in range(args.repeat):
        shift = round_ % len(modes)
        order = modes[shift:] + modes[:shift]
        with tempfile.TemporaryDirectory() as work:
            for label, ctx in order:
                path = Path(work) / f"{label.replace(' ', '')}{round_}.db"
                with ctx():
                    found = rate(str(path), args.calls, args.answers)
                    rates.setdefault(("SQLite", label), []).append(found)
                sizes.setdefault(label, []).append(file_size(path) / args.calls)
        if args.postgres:
            for label, ctx in order:
                with ctx(), pg_schema(args.postgres) as dsn:
                    found = rate(dsn, args.calls, args.answers)
                    rates.setdefault(("PostgreSQL", label), []).append(found)
    head = f"{'ledger':<12}{'journal':<10}{'attempts/CPU-s':>15}{'µs CPU each':>13}{'best':>8}"
    print(f"{head}{'wall/s':>9}{'bytes each':>12}")
    cpu: dict[tuple[str, str], tuple[float, float]] = {}
    for (backend, label), found in sorted(rates.items()):
        r = statistics.median(c for c, _ in found)
        best = max(c for c, _ in found)
        cpu[(backend, label)] = (1e6 / r, 1e6 / best)
        wall = statistics.median(w for _, w in found)
        size = f"{statistics.median(sizes[label]):,.0f}" if backend == "SQLite" else ""
        print(
            f"{backend:<12}{label:<10}{r:>15,.0f}{1e6 / r:>13.1f}{1e6 / best:>8.1f}"
            f"{wall:>9,.0f}{size:>12}"
        )
    for backend in ("SQLite", "PostgreSQL"):
        if (backend, "without") not in cpu:
            continue
        base = cpu[(backend, "without")]
        for label in ("format 2", "format 3"):
            median, best = (a - b for a, b in zip(cpu[(backend, label)], base, strict=True))
            print(
                f"{backend}: the journal in {label} costs {median:.1f} µs of CPU per attempt "
                f"(best runs: {best:.1f} µs)"
            )


def _none() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
