"""The ledger: the facts a decision needs, behind a small interface.

The rules never see SQL: they receive the :class:`Facts` about one (professional, number) pair,
read in one statement. :class:`SQLiteLedger` is the embedded implementation; its hot-path read is
one prepared ``UNION ALL`` statement over indexed lookups, on one connection.

Instants are stored as integer microseconds since the Unix epoch, UTC. Numbers are stored as the
integer of their E.164 digits, which keeps the Bloctel table (millions of rows) compact.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from ._exceptions import LedgerError

__all__ = ["DEFAULT_BUSY_TIMEOUT", "Facts", "Ledger", "SQLiteLedger", "migrations"]

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a write waits for another process's lock before the call is refused (fail closed)."""


@dataclass(slots=True)
class Facts:
    """What the ledger knows about one number for one professional (instants in UTC µs)."""

    attempts: list[int] = field(default_factory=list)
    refusals: list[int] = field(default_factory=list)
    optouts: list[tuple[int, int | None]] = field(default_factory=list)
    """(from, until) — until is the expiry or removal, None when permanent."""
    consents: list[tuple[int, int | None]] = field(default_factory=list)
    """(given at, expires_at)."""
    withdrawals: list[int] = field(default_factory=list)
    slots: list[tuple[int, int]] = field(default_factory=list)
    contracts: list[tuple[int, int | None]] = field(default_factory=list)
    bloctel: list[tuple[int, bool]] = field(default_factory=list)
    """The latest check at or before ``now`` and every later one: (checked_at, listed)."""


class Ledger(Protocol):
    """What the decision and the ``record_*`` calls ask of storage.

    SQLite is the embedded implementation; a server-backed one only has to answer the same
    questions. ``write()`` must make a read-then-insert inside it atomic across processes.
    """

    def professional_id(self, name: str) -> int: ...

    def facts(self, professional: int, number: int, now: int, since: int) -> Facts: ...

    def write(self) -> AbstractContextManager[None]: ...

    def insert_attempt(
        self,
        professional: int,
        number: int,
        at: int,
        *,
        caller_id: str | None,
        outcome: str | None,
        campaign: str | None,
        purpose: str | None,
        recorded_at: int,
    ) -> int: ...

    def attempt_row(self, attempt_id: int) -> tuple[int, int, int] | None: ...

    def set_outcome(self, attempt_id: int, outcome: str) -> None: ...

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None: ...

    def delete_refusal_of(self, attempt_id: int) -> None: ...

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None: ...

    def remove_optouts(self, professional: int, number: int, at: int) -> int: ...

    def insert_consent(
        self, professional: int, number: int, at: int, expires_at: int | None, proof: str
    ) -> None: ...

    def insert_withdrawal(self, professional: int, number: int, at: int) -> None: ...

    def insert_slot(
        self, professional: int, number: int, start: int, end: int, proof: str
    ) -> None: ...

    def insert_contract(
        self, professional: int, number: int, start: int, end: int | None, subject: str | None
    ) -> None: ...

    def insert_bloctel(self, rows: Iterable[tuple[int, int, int]]) -> None: ...

    def close(self) -> None: ...


migrations = Migrations("callguard")


@migrations()
def m001_initial(db: Database) -> None:
    for sql in _SCHEMA_V1:
        db.execute(sql)


_SCHEMA_V1 = (
    "CREATE TABLE professionals (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    """CREATE TABLE attempts (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        at INTEGER NOT NULL, caller_id TEXT, outcome TEXT, campaign TEXT, purpose TEXT,
        recorded_at INTEGER NOT NULL)""",
    "CREATE INDEX attempts_lookup ON attempts (professional, number, at)",
    """CREATE TABLE refusals (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        at INTEGER NOT NULL, attempt_id INTEGER)""",
    "CREATE INDEX refusals_lookup ON refusals (professional, number, at)",
    """CREATE TABLE optouts (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        at INTEGER NOT NULL, expires_at INTEGER, removed_at INTEGER, source TEXT NOT NULL)""",
    "CREATE INDEX optouts_lookup ON optouts (professional, number)",
    """CREATE TABLE consents (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        at INTEGER NOT NULL, expires_at INTEGER, proof TEXT NOT NULL)""",
    "CREATE INDEX consents_lookup ON consents (professional, number)",
    """CREATE TABLE consent_withdrawals (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        at INTEGER NOT NULL)""",
    "CREATE INDEX consent_withdrawals_lookup ON consent_withdrawals (professional, number)",
    """CREATE TABLE slot_consents (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        start INTEGER NOT NULL, "end" INTEGER NOT NULL, proof TEXT NOT NULL)""",
    'CREATE INDEX slot_consents_lookup ON slot_consents (professional, number, "end")',
    """CREATE TABLE contracts (
        id INTEGER PRIMARY KEY, professional INTEGER NOT NULL, number INTEGER NOT NULL,
        start INTEGER NOT NULL, "end" INTEGER, subject TEXT)""",
    "CREATE INDEX contracts_lookup ON contracts (professional, number)",
    # Bloctel results are shared by every professional (one national list).
    """CREATE TABLE bloctel_checks (
        number INTEGER NOT NULL, checked_at INTEGER NOT NULL, listed INTEGER NOT NULL,
        PRIMARY KEY (number, checked_at)) WITHOUT ROWID""",
)

KNOWN_MIGRATIONS = ("m001_initial",)

# One statement, so one consistent snapshot and one round trip on the hot path. Every branch is
# an index range scan on (professional, number, ...) or (number, checked_at).
_FACTS_SQL = """
SELECT 0, at, NULL, NULL FROM attempts
 WHERE professional = :p AND number = :n AND at >= :since
UNION ALL SELECT 1, at, NULL, NULL FROM refusals
 WHERE professional = :p AND number = :n AND at >= :since
UNION ALL SELECT 2, at, expires_at, removed_at FROM optouts
 WHERE professional = :p AND number = :n
UNION ALL SELECT 3, at, expires_at, NULL FROM consents
 WHERE professional = :p AND number = :n
UNION ALL SELECT 4, at, NULL, NULL FROM consent_withdrawals
 WHERE professional = :p AND number = :n
UNION ALL SELECT 5, start, "end", NULL FROM slot_consents
 WHERE professional = :p AND number = :n AND "end" > :now
UNION ALL SELECT 6, start, "end", NULL FROM contracts
 WHERE professional = :p AND number = :n
UNION ALL SELECT 7, checked_at, listed, NULL FROM bloctel_checks
 WHERE number = :n AND checked_at >= coalesce(
   (SELECT max(checked_at) FROM bloctel_checks WHERE number = :n AND checked_at <= :now), 0)
"""


def _min_end(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


class SQLiteLedger:
    """The embedded ledger: one SQLite file in WAL mode, or ``:memory:``."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT):
        self.path = os.fspath(path)
        self.lock = threading.RLock()
        memory = self.path == ":memory:"
        if not memory:
            _create_private(self.path)
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {self.path!r}: {exc}") from exc
        try:
            if not memory:
                self.conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a committed attempt survives a crash of the process (the WAL is in the
            # OS's hands at COMMIT); a power cut may lose the last transactions. See README.
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LedgerError(f"{self.path!r} is not a usable callguard ledger: {exc}") from exc

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        db = Database(self.conn, execute_plugins=False)
        applied = {m.name for m in migrations.applied(db)}
        unknown = applied - set(KNOWN_MIGRATIONS)
        if unknown:
            raise LedgerError(
                f"ledger {self.path!r} was written by a newer callguard (schema steps "
                f"{', '.join(sorted(unknown))} are unknown to this version): upgrade callguard"
            )
        if not migrations.pending(db):
            return
        # Two processes opening a new file at once: the write lock makes one migrate, and the
        # other find nothing pending once it gets the lock.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            migrations.apply(db)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def professional_id(self, name: str) -> int:
        with self.lock:
            row = self.conn.execute(
                "SELECT id FROM professionals WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                self.conn.execute("INSERT OR IGNORE INTO professionals (name) VALUES (?)", (name,))
                row = self.conn.execute(
                    "SELECT id FROM professionals WHERE name = ?", (name,)
                ).fetchone()
            return int(row[0])

    # -- reads --------------------------------------------------------------------------------

    def facts(self, professional: int, number: int, now: int, since: int) -> Facts:
        """Every fact about ``number`` for ``professional``; attempts and refusals from ``since``."""
        facts = Facts()
        with self.lock:
            rows = self.conn.execute(
                _FACTS_SQL, {"p": professional, "n": number, "now": now, "since": since}
            ).fetchall()
        for kind, a, b, c in rows:
            if kind == 0:
                facts.attempts.append(a)
            elif kind == 1:
                facts.refusals.append(a)
            elif kind == 2:
                facts.optouts.append((a, _min_end(b, c)))
            elif kind == 3:
                facts.consents.append((a, b))
            elif kind == 4:
                facts.withdrawals.append(a)
            elif kind == 5:
                facts.slots.append((a, b))
            elif kind == 6:
                facts.contracts.append((a, b))
            else:
                facts.bloctel.append((a, bool(b)))
        facts.bloctel.sort()
        return facts

    # -- writes -------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction holding SQLite's write lock from its first statement.

        ``BEGIN IMMEDIATE`` takes the lock before the facts are read, so a check-then-insert
        inside it cannot interleave with another process's.
        """
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def insert_attempt(
        self,
        professional: int,
        number: int,
        at: int,
        *,
        caller_id: str | None,
        outcome: str | None,
        campaign: str | None,
        purpose: str | None,
        recorded_at: int,
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO attempts (professional, number, at, caller_id, outcome, campaign, "
            "purpose, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (professional, number, at, caller_id, outcome, campaign, purpose, recorded_at),
        )
        return int(cur.lastrowid or 0)

    def attempt_row(self, attempt_id: int) -> tuple[int, int, int] | None:
        """(professional, number, at) of an attempt, or None."""
        row = self.conn.execute(
            "SELECT professional, number, at FROM attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def set_outcome(self, attempt_id: int, outcome: str) -> None:
        self.conn.execute("UPDATE attempts SET outcome = ? WHERE id = ?", (outcome, attempt_id))

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None:
        self.conn.execute(
            "INSERT INTO refusals (professional, number, at, attempt_id) VALUES (?, ?, ?, ?)",
            (professional, number, at, attempt_id),
        )

    def delete_refusal_of(self, attempt_id: int) -> None:
        self.conn.execute("DELETE FROM refusals WHERE attempt_id = ?", (attempt_id,))

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO optouts (professional, number, at, expires_at, source) "
            "VALUES (?, ?, ?, ?, ?)",
            (professional, number, at, expires_at, source),
        )

    def remove_optouts(self, professional: int, number: int, at: int) -> int:
        cur = self.conn.execute(
            "UPDATE optouts SET removed_at = ? WHERE professional = ? AND number = ? "
            "AND removed_at IS NULL AND at <= ?",
            (at, professional, number, at),
        )
        return cur.rowcount

    def insert_consent(
        self, professional: int, number: int, at: int, expires_at: int | None, proof: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO consents (professional, number, at, expires_at, proof) "
            "VALUES (?, ?, ?, ?, ?)",
            (professional, number, at, expires_at, proof),
        )

    def insert_withdrawal(self, professional: int, number: int, at: int) -> None:
        self.conn.execute(
            "INSERT INTO consent_withdrawals (professional, number, at) VALUES (?, ?, ?)",
            (professional, number, at),
        )

    def insert_slot(self, professional: int, number: int, start: int, end: int, proof: str) -> None:
        self.conn.execute(
            'INSERT INTO slot_consents (professional, number, start, "end", proof) '
            "VALUES (?, ?, ?, ?, ?)",
            (professional, number, start, end, proof),
        )

    def insert_contract(
        self, professional: int, number: int, start: int, end: int | None, subject: str | None
    ) -> None:
        self.conn.execute(
            'INSERT INTO contracts (professional, number, start, "end", subject) '
            "VALUES (?, ?, ?, ?, ?)",
            (professional, number, start, end, subject),
        )

    def insert_bloctel(self, rows: Iterable[tuple[int, int, int]]) -> None:
        """(number, checked_at, listed) rows; a number both listed and clean stays listed."""
        self.conn.executemany(
            "INSERT INTO bloctel_checks (number, checked_at, listed) VALUES (?, ?, ?) "
            "ON CONFLICT (number, checked_at) DO UPDATE SET listed = max(listed, excluded.listed)",
            rows,
        )

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _create_private(path: str) -> None:
    """Create the ledger file readable by its owner only (it holds personal data, RGPD)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise LedgerError(f"cannot create ledger {path!r}: {exc.strerror}") from exc
    os.close(fd)
