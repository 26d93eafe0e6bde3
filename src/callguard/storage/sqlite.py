"""The embedded ledger: one SQLite file in WAL mode (or ``:memory:``).

The rules never see SQL: they receive the :class:`~callguard._facts.Facts` about one
(professional, number) pair, read in one statement. The hot-path read is one prepared
``UNION ALL`` statement over indexed lookups, on one connection.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .._exceptions import LedgerError
from .._facts import FactKind, Facts
from .._i18n import _
from . import path_watch
from .base import (
    DEFAULT_BUSY_TIMEOUT,
    KNOWN_MIGRATIONS,
    M010,
    ColumnType,
    counted,
    steps,
)
from .bloctel import checks_digest, json_chunks, merge_checks
from .checkpoints import CheckpointReads, insert_ledger_id
from .errors import DriverErrors, translates_its_own
from .fact_queries import (
    FACT_QUERIES,
    INDEX_TABLE,
    index_ddl,
    index_differences,
    index_triggers,
    sqlite_indexed_one,
    sqlite_many,
    sqlite_one,
)
from .journal import (
    ATTEMPT_FIELDS,
    FORMAT,
    HEAD_SQL,
    LEGACY,
    JournaledWrites,
    Problem,
    _insert_sql,
    append_after,
    encode_attempt,
    journal_copied_answers,
    seal,
    verify_with,
)
from .journal import VerifyReport as VerifyReport
from .operations import NamedOperations

if TYPE_CHECKING:
    from ._sqlite_utils import Database, Migrations

__all__ = ["SQLiteLedger", "migrations"]  # noqa: F822 (module __getattr__, built on first use)

TYPES = {
    ColumnType.ID: "INTEGER PRIMARY KEY",
    ColumnType.INT: "INTEGER",
    ColumnType.TEXT: "TEXT",
    ColumnType.FLAG: "INTEGER",
}
"""The schema's column types in SQLite."""

STEPS = steps(TYPES, suffix={"bloctel_checks": " WITHOUT ROWID"})
STEPS[M010] = index_ddl()
"""Each schema step's statements, derived from the one declaration (``storage.base.SCHEMA``), and
SQLite's index of facts by number (``storage.fact_queries``)."""


_UNIQUE_CODES = (2067, 1555)
"""SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY: a key already taken."""


def _step(statements: list[str]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        for sql in statements:
            db.execute(sql)

    return apply


def _journal_step(statements: list[str]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        for sql in statements:
            db.execute(sql)
        # The genesis: seal the rows written before the journal existed (in the entry format of
        # this step: the journal's ``v`` column comes with a later one).
        seal(db.conn.execute, time.time_ns() // 1000, v=LEGACY)

    return apply


def _ledger_id_step(statements: list[str]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        for sql in statements:
            db.execute(sql)
        insert_ledger_id(db.conn.execute, time.time_ns() // 1000)

    return apply


def _erasable_step(statements: list[str]) -> Callable[[Database], None]:
    def apply(db: Database) -> None:
        for sql in statements:
            db.execute(sql)
        # The stored answers copied into the rebuilt table enter the journal.
        journal_copied_answers(db.conn.execute, time.time_ns() // 1000, raw=True)

    return apply


_FACTORIES = {
    "m005_journal": _journal_step,
    "m007_ledger_id": _ledger_id_step,
    "m008_journal_erasable": _erasable_step,
}


@lru_cache(maxsize=1)
def _migrations() -> Migrations:
    """The schema steps as sqlite-utils migrations, built when a ledger needs one applied:
    opening an up-to-date ledger reads the applied steps with sqlite3 alone (sqlite-utils costs
    about 20 ms of CPU to import, a tenth of a ``callguard check``)."""
    from ._sqlite_utils import Migrations

    migrations = Migrations("callguard")
    for name, statements in STEPS.items():
        migrations(name=name)(_FACTORIES.get(name, _step)(statements))
    return migrations


def __getattr__(name: str) -> Any:
    if name == "migrations":
        return _migrations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _applied(conn: sqlite3.Connection) -> set[str]:
    """The schema steps applied to the ledger on ``conn`` (sqlite-utils' migrations table)."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone():
        return set()
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", ("callguard",)
    )
    return {row[0] for row in rows}


# The facts query: one branch per kind (``storage.fact_queries``), one statement, so one
# consistent snapshot and one round trip on the hot path.
_FACTS_SQL = sqlite_one(list(FactKind))

# The hot path binds a tuple to numbered parameters (a dict costs ~2 µs more per decision), and
# asks only the kinds the decision can read: one statement per set of kinds, prepared once each
# in the connection's statement cache.
_NUMBERED = {"p": "?1", "n": "?2", "now": "?3", "since": "?4"}


@lru_cache(maxsize=128)
def _facts_sql(kinds: frozenset[FactKind] | None, indexed: bool = True) -> str:
    """The facts statement for ``kinds`` (every kind when None): over the index of facts by
    number when the ledger has it (``indexed``), else one branch per kind."""
    chosen = [k for k in FactKind if kinds is None or k in kinds] or list(FactKind)
    sql = sqlite_indexed_one(chosen) if indexed else sqlite_one(chosen)
    sql = re.sub(r":(p|n|now|since)\b", lambda m: _NUMBERED[m.group(1)], sql)
    # A 4-tuple binds only if ?4 appears: an always true condition names the parameters the
    # chosen branches do not use (none of the statements a decision's kinds give lacks one).
    missing = [v for v in _NUMBERED.values() if v not in sql]
    if missing:
        sql = f"SELECT * FROM ({sql}) WHERE {' OR '.join(f'{v} IS NULL' for v in missing)} OR 1"  # noqa: S608
    return sql


_BLOCTEL, _ATTEMPT = int(FactKind.BLOCTEL), int(FactKind.ATTEMPT)

_INSERT_ATTEMPT = _insert_sql("attempts", ATTEMPT_FIELDS)
"""The INSERT of an attempt, every column in declared order (``JournaledWrites.insert_values``'
statement for it)."""


_INSERT_RECORDED = _insert_sql(
    "attempts", ATTEMPT_FIELDS, ("outcome", "campaign", "voided_at", "void_reason")
)
"""The INSERT of an attempt as ``attempt()`` records it without a campaign: the values bound are
(professional, number, at, caller_id, purpose, recorded_at)."""
_INSERT_RECORDED_CAMPAIGN = _insert_sql(
    "attempts", ATTEMPT_FIELDS, ("outcome", "voided_at", "void_reason")
)
"""The same with a campaign: (professional, number, at, caller_id, campaign, purpose,
recorded_at)."""


def _file_rows(rows: list[Any]) -> Facts:
    """The rows of the facts statement as :class:`Facts`: the kinds every decision meets
    (Bloctel checks, attempts) filed here, the others by :meth:`Facts.add`."""
    if len(rows) == 1:  # most numbers of a Bloctel regime: their latest check, nothing else
        kind, a, b, c = rows[0]
        if kind == _BLOCTEL:
            return Facts(bloctel=[(a, b != 0)])
    facts = Facts()
    if not rows:
        return facts
    bloctel = facts.bloctel
    attempts = facts.attempts
    add = facts.add
    for kind, a, b, c in rows:
        if kind == _BLOCTEL:
            bloctel.append((a, b != 0))  # listed: a flag, never NULL
        elif kind == _ATTEMPT:
            attempts.append(a)
        else:
            add(kind, a, b, c)
    if len(bloctel) > 1:
        bloctel.sort()  # (already in order on the primary key's scan: kept as a guarantee)
    return facts


def _file_many(result: dict[int, Facts], kind: int, rows: Iterable[Any]) -> None:
    """File one kind's rows of the bulk read, (number, instant, b, c), into ``result``: a
    number not in it yet gets its :class:`Facts` (``known_only``). As :func:`_file_rows`, the
    kinds every number meets (Bloctel checks, attempts) are appended here, the others by
    :meth:`Facts.add`."""
    get = result.get
    if kind == _BLOCTEL:
        for number, a, b, _ in rows:
            facts = get(number)
            if facts is None:
                facts = result[number] = Facts()
            facts.bloctel.append((a, b != 0))  # listed: a flag, never NULL
    elif kind == _ATTEMPT:
        for number, a, _, _ in rows:
            facts = get(number)
            if facts is None:
                facts = result[number] = Facts()
            facts.attempts.append(a)
    else:
        for number, a, b, c in rows:
            facts = get(number)
            if facts is None:
                facts = result[number] = Facts()
            facts.add(kind, a, b, c)


# The bulk form of _FACTS_SQL: the numbers sit in a temporary table, and each fact table is joined
# on it in one statement per kind (CROSS JOIN keeps the key table as the outer loop, so every
# branch stays an index range scan per number, as in _FACTS_SQL). Rows come grouped by number, in
# id order within a number, the order _FACTS_SQL returns them in.
_FACTS_MANY_SQL = tuple((int(kind), sqlite_many(kind)) for kind in FactKind)


@lru_cache(maxsize=64)
def _facts_many_sql(kinds: frozenset[FactKind] | None) -> tuple[tuple[int, str], ...]:
    """The statements of :data:`_FACTS_MANY_SQL` for ``kinds`` only (every kind when None): a
    kind the decision cannot read costs an index probe per number for nothing."""
    return tuple((k, sql) for k, sql in _FACTS_MANY_SQL if kinds is None or FactKind(k) in kinds)


_LATEST_BLOCTEL_SQL = """SELECT k.n, max(b.checked_at) FROM temp.callguard_keys AS k
  CROSS JOIN bloctel_checks AS b ON b.number = k.n GROUP BY k.n"""

_FILL_KEYS_SQL = "INSERT OR IGNORE INTO temp.callguard_keys (n) SELECT value FROM json_each(?1)"


def _json_keys(numbers: Iterable[int]) -> str:
    """The keys as a JSON array of integers, sorted (``int`` first: a key that is not an integer
    is a TypeError here, never text in the statement's input)."""
    return "[" + ",".join(map(str, sorted(map(int, numbers)))) + "]"


_WATCH_AFTER = 64
"""File checks made with a ``stat`` before the ledger watches its path instead
(``storage.path_watch``): a process that checks one number never sets a watch up."""

_FORKS = [0]
"""How many times this process is a fork's child: a ledger opened before a fork is not the
child's to use (compared on every read without a system call)."""


def _forked() -> None:
    _FORKS[0] += 1


if hasattr(os, "register_at_fork"):  # pragma: no branch - every POSIX system
    os.register_at_fork(after_in_child=_forked)


class _Write:
    """:meth:`SQLiteLedger.write`'s context: a class rather than a generator, since every
    ``attempt()`` opens one (a generator's context manager costs a microsecond more)."""

    __slots__ = ("_ledger", "_own")

    def __init__(self, ledger: SQLiteLedger) -> None:
        self._ledger = ledger
        self._own = False

    def __enter__(self) -> None:
        ledger = self._ledger
        ledger.lock.acquire()
        try:
            conn = ledger.conn
            try:
                if conn.in_transaction:
                    return  # joined: this thread's outer write commits (the service's attempt)
                ledger._write_cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:  # (a closed connection, a lock not granted in time)
                raise ledger.ledger_error(exc) from exc
            self._own = True
            ledger._pending, ledger._entries = None, 0
            try:
                ledger._check_file()
            except BaseException as exc:
                self._end(type(exc))
                raise
            ledger._checked, ledger._changes = True, conn.total_changes
        except BaseException:
            ledger.lock.release()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        ledger = self._ledger
        try:
            if self._own:
                self._end(kind)
            if isinstance(exc, sqlite3.Error):  # the body's driver error, translated
                raise ledger.ledger_error(exc) from exc
        finally:
            ledger.lock.release()

    def _end(self, failed: type[BaseException] | None) -> None:
        """COMMIT, or ROLLBACK when the body (or the file check) raised ``failed``."""
        ledger = self._ledger
        conn = ledger.conn
        ledger._checked = False
        try:
            if failed is not None:
                ledger._forget_heads()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return
            try:
                ledger._write_cursor.execute("COMMIT")
            except BaseException:
                ledger._forget_heads()
                raise
        except sqlite3.Error as exc:  # ROLLBACK or COMMIT: the driver's, translated
            raise ledger.ledger_error(exc) from exc
        ledger._committed()


class SQLiteLedger(DriverErrors, NamedOperations, JournaledWrites, CheckpointReads):
    """The embedded ledger: one SQLite file in WAL mode, or ``:memory:``."""

    driver_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    _raw_hash = True  # a journal entry's hash in 32 bytes, not 64 hex digits

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
            # 32 MB of page cache (SQLite's default is 2 MB): at Bloctel scale the index pages a
            # decision walks stay in memory, which keeps p99 down as the ledger grows.
            self.conn.execute("PRAGMA cache_size = -32768")
            # What is deleted or overwritten is overwritten with zeros in the file (and in the
            # pages the WAL receives), not left in free space: a purged number must not stay
            # readable in the file's bytes (RGPD art. 5(1)(e)). Measured: no cost on attempt().
            self.conn.execute("PRAGMA secure_delete = ON")
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LedgerError(f"{self.path!r} is not a usable callguard ledger: {exc}") from exc
        self._has_index = True  # (every ledger this version opens for writing is migrated)
        self._indexed = self._index_kept()
        """Decisions read the index of facts by number: the ledger has it, with exactly its
        triggers (else they read the tables, and ``verify`` says what was altered)."""
        self._read = self.conn.cursor()
        """The decision's cursor, used under the lock (a new one per read costs half a µs)."""
        self._write_cursor = self.conn.cursor()
        """The write path's cursor (BEGIN, the attempt's INSERT, its entry, COMMIT), under the
        lock: ``Connection.execute`` makes a cursor per statement."""
        self._identity = None if memory else self._file_identity()
        self._pid = os.getpid()
        self._forks = _FORKS[0]
        self._checks = 0
        """File checks made with a ``stat`` each, until :data:`_WATCH_AFTER` sets up a watch."""
        self._watch: path_watch.PathWatch | None = None
        self._checked = False
        """True between :meth:`write`'s file check and the transaction's first read of facts."""
        self._changes = 0
        """The connection's ``total_changes`` when :meth:`write` checked the file."""
        self._heads: dict[str, tuple[int, bytes | str]] = {}
        """The journal chains' heads as this connection's last commit left them (see
        :meth:`_append`)."""
        self._heads_version: int | None = None
        """``PRAGMA data_version`` when :attr:`_heads` were last known true."""
        self._heads_mark = -1
        """The connection's ``total_changes`` after the commit :attr:`_heads` hold for."""
        self._pending: tuple[str, tuple[int, bytes | str], int, int] | None = None
        """The head the open transaction's entry made: (chain, head, total_changes after it,
        data_version), kept once the transaction commits with nothing written after it."""
        self._entries = 0
        """Journal entries appended in the open write transaction."""

    # -- the file under the connection -----------------------------------------------------------

    def _file_identity(self) -> tuple[str, int, int]:
        """(absolute path, st_dev, st_ino) of the ledger file, taken while the connection holds it
        open: as long as it does, no other file can get that inode."""
        where = os.path.abspath(self.path)
        st = os.stat(where)
        return where, st.st_dev, st.st_ino

    def _check_file(self) -> None:
        """Fail closed when the file at the ledger's path is no longer the one this connection
        has open (deleted, moved away, or replaced by a copy or another ledger): every decision
        would read, and every write go to, a file no other process sees. One ``stat`` of the
        path: the open file's own link count would miss a move (``fstat`` cannot see a rename)."""
        identity = self._identity
        if identity is None:
            return
        if _FORKS[0] != self._forks:
            # SQLite's locks belong to the process that took them: a forked child using its
            # parent's connection would write without holding them.
            raise LedgerError(
                f"ledger {self.path!r} was opened in process {self._pid} and used in process "
                f"{os.getpid()} after a fork: open the ledger (a new Guard) in each process"
            )
        where, dev, ino = identity
        watched = self._watch
        if watched is not None:
            if watched.quiet():
                return  # nothing happened at the path since the last stat (storage.path_watch)
            watched.drain()
        else:
            self._checks += 1
            if self._checks == _WATCH_AFTER:
                self._watch = watched = path_watch.watch(where)
                if watched is not None:
                    watched.drain()  # (arms the backstop; the stat below is the first answer)
        try:
            st = os.stat(where)
        except OSError:
            raise LedgerError(
                f"ledger {self.path!r} was deleted or moved while open: refusing to decide or "
                "write on a file no other process sees"
            ) from None
        if st.st_ino != ino or st.st_dev != dev:
            raise LedgerError(
                f"ledger {self.path!r} was replaced by another file while open: refusing to "
                "decide or write until it is opened again"
            )

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        applied = _applied(self.conn)
        unknown = applied - set(KNOWN_MIGRATIONS)
        if unknown:
            raise LedgerError(
                f"ledger {self.path!r} was written by a newer callguard (schema steps "
                f"{', '.join(sorted(unknown))} are unknown to this version): upgrade callguard"
            )
        if applied >= set(STEPS):
            return
        from ._sqlite_utils import Database

        db = Database(self.conn, execute_plugins=False)
        # Two processes opening a new file at once: the write lock makes one migrate, and the
        # other find nothing pending once it gets the lock.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            _migrations().apply(db)
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
            if row is not None:
                return int(row[0])
            with self.write():
                row = self.conn.execute(
                    "SELECT id FROM professionals WHERE name = ?", (name,)
                ).fetchone()
                if row is not None:
                    return int(row[0])
                return self.insert_row("professionals", {"name": name})

    # -- reads --------------------------------------------------------------------------------

    @translates_its_own
    def facts(
        self,
        professional: int,
        number: int,
        now: int,
        since: int,
        kinds: frozenset[FactKind] | None = None,
    ) -> Facts:
        """Every fact about ``number`` for ``professional``; attempts and refusals from ``since``;
        only ``kinds`` when given."""
        sql = _facts_sql(kinds, self._indexed)
        with self.lock:
            if self._checked and self.conn.total_changes == self._changes:
                # The write that began this transaction checked the file an instant ago, under
                # the same lock, and has written nothing since: its first read needs no second
                # stat (attempt()'s read); any other read checks.
                self._checked = False
            else:
                self._checked = False
                self._check_file()
            try:
                rows = self._read.execute(sql, (professional, number, now, since)).fetchall()
            except sqlite3.Error as exc:
                raise self.ledger_error(exc) from exc
        return _file_rows(rows)

    # -- writes -------------------------------------------------------------------------------

    def write(self) -> _Write:
        """One write transaction holding SQLite's write lock from its first statement.

        ``BEGIN IMMEDIATE`` takes the lock before the facts are read, so a check-then-insert
        inside it cannot interleave with another process's. Inside another write of this
        thread, the outer one's transaction is joined (the service's attempt). The driver's
        errors raised inside, or by BEGIN, ROLLBACK and COMMIT, become ``LedgerError``.
        """
        return _Write(self)

    # -- the journal's chain heads ------------------------------------------------------------
    #
    # Appending an entry needs its chain's head (seq and hash). Reading it is a statement per
    # write; the head this connection's own last entry made is the head still, unless a row was
    # written since by another connection (``PRAGMA data_version`` moves: one cheap pragma, no
    # table read) or by this one outside the one-entry write that made it (``total_changes``
    # moves). Only a write transaction whose entry follows at most the one row it journals
    # reads or keeps a head this way: a transaction writing more reads every head, as before.

    def _append(
        self,
        chain: str,
        table: str,
        op: str,
        row_id: int | None,
        body: str,
        before: int | None = None,
    ) -> None:
        """Append the entry of the row just written; ``before``, the connection's
        ``total_changes`` before the statement that wrote it (the row and the index rows its
        triggers wrote), when the caller knows it."""
        conn = self.conn
        run = self._write_cursor.execute
        head: Any = None
        version: int | None = None
        first = not self._entries
        self._entries += 1
        if before is None:  # only the row itself is known to have been written since BEGIN
            before = conn.total_changes - 1
        if first and before == self._changes:
            version = int(run("PRAGMA data_version").fetchone()[0])
            if version == self._heads_version and self._heads_mark == self._changes:
                head = self._heads.get(chain)
            else:
                self._forget_heads()
        else:
            self._forget_heads()
        if head is None:
            head = run(HEAD_SQL, (chain,)).fetchone()
        made = append_after(run, head, chain, self._now(), table, op, row_id, body, FORMAT, True)
        self._pending = None if version is None else (chain, made, conn.total_changes, version)

    def _forget_heads(self) -> None:
        self._heads.clear()
        self._heads_version, self._heads_mark = None, -1

    def _committed(self) -> None:
        """After :meth:`write`'s COMMIT: keep the head its one entry made when nothing was
        written after it; else forget every head."""
        pending, self._pending = self._pending, None
        changes = self.conn.total_changes
        if pending is None or self._entries != 1 or pending[2] != changes:
            self._forget_heads()
            return
        chain, head, _, version = pending
        self._heads[chain] = head
        self._heads_version, self._heads_mark = version, changes

    def _run(self, query: str, params: tuple[Any, ...]) -> Any:
        return self.conn.execute(query, params)

    def _now(self) -> int:
        return time.time_ns() // 1000

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
        """:meth:`JournaledWrites.insert_attempt` (call inside :meth:`write`), written out for
        ``attempt()``: one prepared INSERT and its journal entry on the professional's chain,
        the same row and the same entry."""
        # Never voided when recorded (trailing NULLs: the entry is the one before m009).
        row = (
            professional, number, at, caller_id, outcome, campaign, purpose, recorded_at, None,
            None,
        )  # fmt: skip
        before = self.conn.total_changes
        cursor = self._write_cursor
        if outcome is not None:
            cursor.execute(_INSERT_ATTEMPT, row)
        elif campaign is None:
            cursor.execute(
                _INSERT_RECORDED, (professional, number, at, caller_id, purpose, recorded_at)
            )
        else:
            cursor.execute(
                _INSERT_RECORDED_CAMPAIGN,
                (professional, number, at, caller_id, campaign, purpose, recorded_at),
            )
        row_id = int(cursor.fetchone()[0])
        body = encode_attempt(row)
        self._append(f"p{int(professional)}", "attempts", "insert", row_id, body, before)
        return row_id

    def attempt_row(self, attempt_id: int) -> tuple[int, int, int] | None:
        """(professional, number, at) of an attempt, or None."""
        row = self.conn.execute(
            "SELECT professional, number, at FROM attempts WHERE id = ?", (attempt_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def import_bloctel(
        self, listed: Iterable[int], submitted: Iterable[int], checked_at: int
    ) -> tuple[int, int]:
        """Record one Bloctel return at ``checked_at``; call inside :meth:`write`.

        ``listed`` numbers are flagged; ``submitted`` numbers not flagged are clean. The keys are
        sorted and merged in memory first (:func:`storage.bloctel.merge_checks`: duplicates
        collapse, a number both listed and clean stays listed), then written in key order, a
        JSON array of 65 536 entries per statement: one sequential pass over the B-tree instead
        of random-order inserts. A number both listed and clean stays listed against an earlier
        import of the same instant too (the upsert keeps the max). Returns the distinct
        (listed, clean) counts.
        """
        merged, n_listed, n_clean = merge_checks(listed, submitted)
        conn = self.conn
        # Rows already at this instant (an earlier import of the same return) are merged with
        # this one's, so the journal's digest must then be read back from the table.
        earlier = conn.execute(
            "SELECT 1 FROM bloctel_checks WHERE checked_at = ? LIMIT 1", (checked_at,)
        ).fetchone()
        upsert = (
            "INSERT INTO bloctel_checks (number, checked_at, listed) "
            "SELECT value >> 1, ?, value & 1 FROM json_each(?) WHERE true "
            "ON CONFLICT (number, checked_at) DO UPDATE SET listed = max(listed, excluded.listed)"
        )
        try:
            conn.execute("SELECT count(*) FROM json_each('[1]')").fetchone()
        except sqlite3.OperationalError:  # a SQLite built without JSON: one row per call
            conn.executemany(
                "INSERT INTO bloctel_checks (number, checked_at, listed) VALUES (?, ?, ?) "
                "ON CONFLICT (number, checked_at) DO UPDATE SET listed = max(listed, excluded.listed)",
                ((entry >> 1, checked_at, entry & 1) for entry in map(int, merged)),
            )
        else:
            for chunk in json_chunks(merged):
                conn.execute(upsert, (checked_at, chunk))
        digest = None if earlier is not None else checks_digest(merged)
        del merged
        self.journal_bloctel(checked_at, n_listed, n_clean, digest=digest)
        return n_listed, n_clean

    def scrub(self) -> None:
        """After a purge (committed): copy the WAL's pages into the file and truncate the WAL,
        so that no older page image holding a purged value stays in it. ``secure_delete`` has
        already zeroed the purged rows' bytes in the pages written. A reader holding an old
        snapshot delays the truncation up to the busy timeout; then a ``LedgerError`` says the
        WAL still holds them."""
        if self._identity is None:
            return
        with self.lock:
            busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise LedgerError(
                f"ledger {self.path!r}: the purge is committed, but another process is reading "
                "an older snapshot, so its write-ahead log still holds the purged pages: run "
                "the purge again once it is done (nothing more is removed; the log is truncated)"
            )

    # -- the pre-dial service's own tables (callguard.server) ----------------------------------

    def _rows(self, query: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Rows of one declared statement; refused, as a decision is, when the file at the path
        is no longer the one open (the service's keys and ``/healthz`` then fail closed with the
        decisions)."""
        with self.lock:
            self._check_file()
            return [tuple(r) for r in self.conn.execute(query, params).fetchall()]

    def service_rows(self, query: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Rows of any read statement (``?`` placeholders): for tests reading a ledger back.
        The package's own code asks the named operations (``storage.operations``)."""
        return self._rows(query, params)

    def has_table(self, name: str) -> bool:
        return bool(
            self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        )

    def is_conflict(self, exc: BaseException) -> bool:
        return (
            isinstance(exc, sqlite3.IntegrityError)
            and getattr(exc, "sqlite_errorcode", None) in _UNIQUE_CODES
        )

    def close(self) -> None:
        if self._identity is not None and _FORKS[0] != self._forks:
            return  # a forked child: the connection is its parent's, left to it
        with self.lock:
            self.conn.close()
            if self._watch is not None:
                self._watch.close()

    # -- bulk reads ---------------------------------------------------------------------------

    @classmethod
    def open_read_only(
        cls, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> SQLiteLedger:
        """Open an existing ledger so that nothing can be written to it (an audit reads only).

        A missing file is a ``LedgerError`` rather than a new empty ledger, so a mistyped path
        is not audited as a ledger without facts.
        """
        self = cls.__new__(cls)
        self.path = os.fspath(path)
        self.lock = threading.RLock()
        self._identity = None
        self._pid = os.getpid()
        self._forks = _FORKS[0]
        self._checked, self._changes = False, 0
        self._checks, self._watch = 0, None
        if not os.path.isfile(self.path):
            raise LedgerError(_("no ledger at {location}", location=repr(self.path)))
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
        try:
            self.conn = sqlite3.connect(
                uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {self.path!r}: {exc}") from exc
        try:
            applied = _applied(self.conn)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise LedgerError(f"{self.path!r} is not a usable callguard ledger: {exc}") from exc
        # Reading needs the first schema only; a newer callguard's steps may mean new meanings.
        unknown = applied - set(KNOWN_MIGRATIONS)
        if KNOWN_MIGRATIONS[0] not in applied or unknown:
            self.conn.close()
            why = (
                f"it was written by a newer callguard (schema steps {', '.join(sorted(unknown))})"
                if unknown
                else "it has no callguard schema"
            )
            raise LedgerError(f"cannot read {self.path!r} as a callguard ledger: {why}")
        self._has_index = M010 in applied
        self._indexed = self._has_index and self._index_kept()
        self._read = self.conn.cursor()
        self._write_cursor = self.conn.cursor()
        return self

    def find_professional(self, name: str) -> int | None:
        """The id of professional ``name``, or None; unlike :meth:`professional_id`, never writes."""
        with self.lock:
            row = self.conn.execute(
                "SELECT id FROM professionals WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    @contextmanager
    def _keys(self, numbers: Iterable[int]) -> Iterator[None]:
        """Fill the temporary key table and hold one read snapshot while it is queried.

        The temporary table lives in SQLite's temp database: filling it takes no lock on the
        ledger, so bulk reads never block writers (nor need write access to the file).
        """
        with self.lock:
            own = not self.conn.in_transaction
            if own:
                self.conn.execute("BEGIN")
            try:
                self._check_file()
                self.conn.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS callguard_keys (n INTEGER PRIMARY KEY)"
                )
                self.conn.execute("DELETE FROM temp.callguard_keys")
                # One statement, the keys as one JSON array (a row per key through executemany
                # costs several times more), in key order (the table's B-tree is appended to).
                self.conn.execute(_FILL_KEYS_SQL, (_json_keys(numbers),))
                yield
                self.conn.execute("DELETE FROM temp.callguard_keys")
            except BaseException:
                if own and self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            if own:
                self.conn.execute("COMMIT")

    def facts_many(
        self,
        professional: int,
        numbers: Iterable[int],
        now: int,
        since: int,
        kinds: frozenset[FactKind] | None = None,
        *,
        known_only: bool = False,
    ) -> dict[int, Facts]:
        """:meth:`facts` for many numbers at once: one statement per fact table, one snapshot.

        Returns a :class:`Facts` for every distinct number given (empty when the ledger knows
        nothing about it), equal to what :meth:`facts` returns for that number with ``kinds``.
        With ``known_only``, numbers without any row of those kinds are left out: most numbers
        of a prospect list have none, and a scrub gives them all one shared verdict instead of
        an empty :class:`Facts` each.
        """
        keys = numbers if isinstance(numbers, (set, frozenset, dict)) else set(numbers)
        result: dict[int, Facts] = {} if known_only else {n: Facts() for n in keys}
        if not keys:
            return result
        params = {"p": professional, "now": now, "since": since}
        with self._keys(keys):
            for kind, sql in _facts_many_sql(kinds):
                # Row by row, not fetchall(): each row is let go once filed, so a large read
                # does not hold every row at once.
                _file_many(result, kind, self.conn.execute(sql, params))
        for facts in result.values():
            if len(facts.bloctel) > 1:
                facts.bloctel.sort()
        return result

    def latest_bloctel_checks(self, numbers: Iterable[int]) -> dict[int, int]:
        """The latest Bloctel check of each number that has one (listed or clean)."""
        keys = set(numbers)
        if not keys:
            return {}
        with self._keys(keys):
            rows = self.conn.execute(_LATEST_BLOCTEL_SQL).fetchall()
        return {int(n): int(at) for n, at in rows}

    def has_attempt(self, professional: int, number: int, at: int) -> bool:
        """Whether an attempt of ``professional`` to ``number`` at exactly ``at`` is recorded
        and counted (a call log's line for a voided attempt proves the call: it is imported)."""
        with self.lock:
            row = self.conn.execute(
                "SELECT 1 FROM attempts WHERE professional = ? AND number = ? AND at = ? "  # noqa: S608
                f"AND {counted()} LIMIT 1",
                (professional, number, at),
            ).fetchone()
        return row is not None

    def optout_rows(self, professional: int) -> list[tuple[int, int, int | None, int | None, str]]:
        """Every opt-out of ``professional``: (number, at, expires_at, removed_at, source)."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT number, at, expires_at, removed_at, source FROM optouts "
                "WHERE professional = ? ORDER BY at, id",
                (professional,),
            ).fetchall()
        return [(int(n), int(a), e, r, str(s)) for n, a, e, r, s in rows]

    def verify(self) -> VerifyReport:
        """Check the journal and the facts against it, in one read snapshot."""
        with self.lock:
            has = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'"
            ).fetchone()
            if has is None:
                return _no_journal()
            own = not self.conn.in_transaction
            if own:
                self.conn.execute("BEGIN")
            try:
                report = verify_with(self._run)
                if self._has_index:
                    report.problems += self._index_problems()
                return report
            finally:
                if own:
                    self.conn.execute("COMMIT")

    def _index_kept(self) -> bool:
        """Whether the index of facts by number is kept by exactly its triggers, none dropped,
        altered or added: one read of the schema when the ledger opens (a trigger dropped by
        hand would leave later facts out of the index; the tables hold them all)."""
        try:
            return self._triggers() == _INDEX_TRIGGERS
        except sqlite3.Error:
            return False

    def _triggers(self) -> dict[str, str]:
        """Every trigger of the ledger, by name: its SQL as it was created."""
        return dict(self.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))

    def _index_problems(self) -> list[Problem]:
        """The index of facts by number held against its tables and its triggers. It is derived,
        so not journaled: a row of it altered by hand, or a trigger dropped or added before a
        write, would change decisions without changing a journaled fact."""
        found = []
        kept = self._triggers()
        for name in sorted(set(kept) | set(_INDEX_TRIGGERS)):
            if kept.get(name) != _INDEX_TRIGGERS.get(name):
                found.append(
                    Problem.of(
                        "index",
                        INDEX_TABLE,
                        None,
                        _(
                            "trigger {name} is missing, altered or not callguard's: facts written "
                            "since may be missing from the index decisions read",
                            name=name,
                        ),
                    )
                )
        extra_sql, missing_sql = index_differences()
        for sql, message in (
            (extra_sql, _("filed in the index decisions read, not so in its table")),
            (missing_sql, _("missing from the index decisions read")),
        ):
            for _number, _professional, kind, row_id in self.conn.execute(sql).fetchmany(1000):
                table = FACT_QUERIES[FactKind(kind)].table
                found.append(Problem.of("index", table, int(row_id), message))
        return found


_INDEX_TRIGGERS = index_triggers()


def _no_journal() -> VerifyReport:
    report = VerifyReport()
    report.problems.append(
        Problem.of(
            "journal",
            "journal",
            None,
            _(
                "this ledger has no journal: open it once with this version of callguard "
                "(not read-only) to seal it"
            ),
        )
    )
    return report


def _create_private(path: str) -> None:
    """Create the ledger file readable by its owner only (it holds personal data, RGPD)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise LedgerError(f"cannot create ledger {path!r}: {exc.strerror}") from exc
    os.close(fd)
