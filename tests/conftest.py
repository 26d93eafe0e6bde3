from __future__ import annotations

import os
import secrets
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard, Policy

# The service's test harness (tests/server/test_server_http.py, openapi_check.py) is imported by the
# French walk and the structured errors' tests too, wherever pytest starts collecting.
sys.path.insert(0, str(Path(__file__).parent / "server"))

PARIS = ZoneInfo("Europe/Paris")
NPV = "09 48 12 34 56"  # a verified caller ID (ARCEP NPV range 09 48)
MOBILE = "06 12 34 56 78"


def paris(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=PARIS)


POSTGRES_ENV = "CALLGUARD_TEST_POSTGRES"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
NO_POSTGRES = "no PostgreSQL server: set CALLGUARD_TEST_POSTGRES or run one on 127.0.0.1:5432"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The DSN of the test PostgreSQL server, probed once per session; skips when none answers.

    ``$CALLGUARD_TEST_POSTGRES`` names it (a ``postgresql://`` URL; CI sets it, and a server it
    names must answer), else a local server on 127.0.0.1:5432 is used when one is there.
    """
    dsn = os.environ.get(POSTGRES_ENV)
    if dsn and not dsn.startswith(("postgresql://", "postgres://")):
        pytest.fail(f"{POSTGRES_ENV}={dsn!r} must be a postgresql:// URL")
    try:
        import psycopg
    except ImportError:
        if dsn:
            pytest.fail(f"{POSTGRES_ENV} is set but psycopg is not installed: pip install .[test]")
        pytest.skip(f"{NO_POSTGRES} (and pip install .[postgres])")
    try:
        psycopg.connect(dsn or LOCAL_POSTGRES, connect_timeout=1).close()
    except psycopg.Error as exc:
        if dsn:  # asked for, so its absence is a failure, not a skip
            pytest.fail(f"{POSTGRES_ENV} names a server that does not answer: {exc}")
        pytest.skip(NO_POSTGRES)
    return dsn or LOCAL_POSTGRES


@contextmanager
def postgres_schema(server: str, **settings: str) -> Iterator[str]:
    """A fresh schema on ``server``, dropped afterwards; yields a DSN whose tables live there
    (and whose sessions start with ``settings``, e.g. ``default_transaction_isolation``).

    Commits need not wait for the disk in tests (``synchronous_commit=off``): the ledger's own
    guarantees do not depend on it, and it keeps the suite fast.
    """
    import psycopg

    schema = f"cg_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = urllib.parse.urlsplit(server)
    query = urllib.parse.parse_qsl(parts.query)
    # libpq splits options on spaces: a space inside a value is escaped with a backslash.
    extra = ["-c{}={}".format(k, v.replace(" ", "\\ ")) for k, v in settings.items()]
    options = " ".join(
        [v for k, v in query if k == "options"]
        + [f"-csearch_path={schema}", "-csynchronous_commit=off", *extra]
    )
    query = [(k, v) for k, v in query if k != "options"] + [("options", options)]
    try:
        yield urllib.parse.urlunsplit(
            parts._replace(query=urllib.parse.urlencode(query, quote_via=urllib.parse.quote))
        )
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's fresh ledger lives, once per backend the behaviour suite runs against:
    a SQLite file, or a schema of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    server: str = request.getfixturevalue("postgres_server")
    with postgres_schema(server) as dsn:
        yield dsn


@pytest.fixture
def make_guard(ledger_location: str) -> Iterator[Callable[..., Guard]]:
    """Guards on one fresh ledger: ``make_guard(professional="acme", policy=None)``."""
    guards: list[Guard] = []

    def make(professional: str = "acme", policy: Policy | None = None) -> Guard:
        g = Guard(ledger_location, professional=professional, policy=policy)
        guards.append(g)
        return g

    yield make
    for g in guards:
        g.close()


@pytest.fixture
def guard(make_guard: Callable[..., Guard]) -> Guard:
    return make_guard()


def clean_on_bloctel(guard: Guard, number: str, at: datetime) -> None:
    """Record a clean Bloctel check of ``number`` at ``at``."""
    guard.import_bloctel([], at, submitted=[number])


def consented(guard: Guard, number: str, at: datetime) -> None:
    guard.record_consent(number, at, proof=f"form-{number}")


def voided_attempt(guard: Guard, number: str, at: datetime, *, answered: bool = False) -> int:
    """An attempt at ``at`` that was never placed (voided 30 s later); with ``answered`` the PBX
    then reports it answered after all, so it counts again. Written as the service's attempt()
    writes it (no outcome), whatever the cap says at ``at``."""
    from callguard._numbers import parse_number
    from callguard._time import now_utc, to_us

    with guard.engine.write("record the attempt") as ledger:
        attempt_id = ledger.insert_attempt(
            guard.engine.pid, parse_number(number).key, to_us(at), caller_id=None,
            outcome=None, campaign=None, purpose="PROSPECTION", recorded_at=to_us(now_utc()),
        )  # fmt: skip
    guard.void_attempt(attempt_id, "never placed", at + timedelta(seconds=30))
    if answered:
        guard.record_outcome(attempt_id, "ANSWERED", at + timedelta(minutes=1))
    return attempt_id
