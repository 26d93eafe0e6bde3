"""What the tamper-evident journal costs ``attempt()``: its rate with and without the journal.

    python benchmarks/journal.py [--calls 2000] [--postgres postgresql://…]

Each run records ``--calls`` allowed attempts on distinct numbers (every one decided and
recorded in one write transaction), on a fresh SQLite file and, when ``--postgres`` is given, a
fresh schema on that server. "without" replaces the journal append by nothing, which is what
``attempt()`` cost before the journal; "with" is the shipped code (one entry per attempt,
chained, in the same transaction).
"""

from __future__ import annotations

import argparse
import secrets
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
    saved = JournaledWrites.journal

    def skip(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    JournaledWrites.journal = skip  # type: ignore[method-assign]
    try:
        yield
    finally:
        JournaledWrites.journal = saved  # type: ignore[method-assign]


def rate(location: str, calls: int) -> float:
    todo = numbers(calls)
    with Guard(location, professional="bench") as g:
        g.import_bloctel([], AT, submitted=todo)
        start = time.perf_counter()
        for n in todo:
            d = g.attempt(n, NPV, AT)
            assert d.attempt_id is not None, d.reasons
        return calls / (time.perf_counter() - start)


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
    parser.add_argument("--postgres", default=None, metavar="URL")
    args = parser.parse_args()
    best: dict[tuple[str, str], float] = {}
    modes = (("without", without_journal), ("with", contextmanager(_none)))
    # Three alternating rounds, best of each: warm-up and the host's noise hit both alike.
    for round_ in range(3):
        with tempfile.TemporaryDirectory() as work:
            for label, ctx in modes:
                with ctx():
                    r = rate(str(Path(work) / f"{label}{round_}.db"), args.calls)
                best[("SQLite", label)] = max(best.get(("SQLite", label), 0.0), r)
        if args.postgres:
            for label, ctx in modes:
                with ctx(), pg_schema(args.postgres) as dsn:
                    r = rate(dsn, args.calls)
                best[("PostgreSQL", label)] = max(best.get(("PostgreSQL", label), 0.0), r)
    rows = [(backend, label, r) for (backend, label), r in best.items()]
    print(f"{'ledger':<12}{'journal':<10}{'attempt()/s':>12}")
    for backend, label, r in rows:
        print(f"{backend:<12}{label:<10}{r:>12,.0f}")


def _none() -> Iterator[None]:
    yield


if __name__ == "__main__":
    main()
