"""Copy a ledger between backends: ``migrate_ledger("callguard.db", "postgresql://…")`` and back.

Every table is copied, row for row and id for id (a dialer may hold attempt ids for
``record_outcome``); professionals are matched by name, since the target may already know some
of them under other ids (a ``Guard`` opened on it registers its professional). The copy is one
transaction on the target: it lands whole or not at all, and its counts are checked against the
source's before it commits.

The target must hold no facts yet. Merging two ledgers' facts is refused rather than guessed:
attempt ids would collide, and the ids a dialer already holds would then name other calls.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from .._exceptions import ConfigurationError, LedgerError
from .._i18n import _
from .base import DEFAULT_BUSY_TIMEOUT, SCHEMA, ColumnType, Ledger, describe, is_server_url
from .journal import chain_lock_key, seal
from .open import open_ledger
from .sqlite import SQLiteLedger

__all__ = ["TABLES", "migrate_ledger"]

_COPY_TYPES = {
    ColumnType.ID: "int8",
    ColumnType.INT: "int8",
    ColumnType.TEXT: "text",
    ColumnType.FLAG: "int2",
}
"""The schema's column types in PostgreSQL's binary COPY."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table as the copy reads it: its columns in order, their COPY types, its natural order."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    order: str = "id"

    @property
    def professional(self) -> int | None:
        """Index of the professional column (remapped by name), if any."""
        return self.columns.index("professional") if "professional" in self.columns else None


TABLES: tuple[Table, ...] = tuple(
    Table(t.name, t.column_names, tuple(_COPY_TYPES[c.type] for c in t.columns), t.order)
    for t in SCHEMA
    if t.name not in ("professionals", "journal", "ledger_identity")
)
"""Every table but ``professionals`` (copied first, by name), the journal and the ledger's id,
in copy order:
derived from the one schema declaration (``storage.base.SCHEMA``). The target's journal seals
the copied rows instead (a ``seal`` entry): professionals may be renumbered, which the source's
chains would not survive, and ``callguard verify`` on the source vouches for what was copied.
The target keeps its own ledger id: its chains start afresh, so the source's checkpoints cannot
vouch for it (take a checkpoint of the target after the copy)."""

_BATCH = 10_000


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _where(location: str) -> str:
    """A location fit for a message: a PostgreSQL URL loses its password."""
    return repr(describe(location))


class _Reader(Protocol):
    def professionals(self) -> list[tuple[int, str]]: ...
    def count(self, table: Table) -> int: ...
    def rows(self, table: Table) -> Iterator[tuple[Any, ...]]: ...


class _Writer(_Reader, Protocol):
    def add_professional(self, name: str, id_: int | None) -> int: ...
    def write(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> None: ...
    def finish(self) -> None: ...


# -- SQLite ---------------------------------------------------------------------------------------


class _SQLite:
    def __init__(self, ledger: SQLiteLedger) -> None:
        self.conn = ledger.conn
        self.tables = {
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def professionals(self) -> list[tuple[int, str]]:
        return [
            (int(i), str(n))
            for i, n in self.conn.execute("SELECT id, name FROM professionals ORDER BY id")
        ]

    def count(self, table: Table) -> int:
        if table.name not in self.tables:  # a source older than this version's schema
            return 0
        return int(self.conn.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()[0])  # noqa: S608

    def rows(self, table: Table) -> Iterator[tuple[Any, ...]]:
        if table.name not in self.tables:
            return
        cur = self.conn.execute(
            f'SELECT {_quoted(table.columns)} FROM "{table.name}" ORDER BY {table.order}'  # noqa: S608
        )
        while batch := cur.fetchmany(_BATCH):
            yield from batch

    def add_professional(self, name: str, id_: int | None) -> int:
        if id_ is None:
            cur = self.conn.execute("INSERT INTO professionals (name) VALUES (?)", (name,))
        else:
            cur = self.conn.execute(
                "INSERT INTO professionals (id, name) VALUES (?, ?)", (id_, name)
            )
        return int(cur.lastrowid or 0)

    def write(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(table.columns))
        self.conn.executemany(
            f'INSERT INTO "{table.name}" ({_quoted(table.columns)}) VALUES ({marks})',  # noqa: S608
            rows,
        )

    def finish(self) -> None:
        """SQLite's INTEGER PRIMARY KEY continues after the largest id; the journal seals
        what was copied."""
        seal(self.conn.execute, time.time_ns() // 1000, "seal")


@contextmanager
def _sqlite_reader(ledger: SQLiteLedger) -> Iterator[_Reader]:
    """One read transaction: every table is read from the same snapshot."""
    with ledger.lock:
        ledger.conn.execute("BEGIN")
        try:
            yield _SQLite(ledger)
        finally:
            ledger.conn.execute("ROLLBACK")


@contextmanager
def _sqlite_writer(ledger: SQLiteLedger) -> Iterator[_Writer]:
    with ledger.lock:
        ledger.conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLite(ledger)
        except BaseException:
            if ledger.conn.in_transaction:
                ledger.conn.execute("ROLLBACK")
            raise
        ledger.conn.execute("COMMIT")


# -- PostgreSQL -----------------------------------------------------------------------------------


class _Postgres:
    def __init__(self, conn: Any) -> None:
        from psycopg import sql

        self.conn = conn
        self.sql = sql

    def professionals(self) -> list[tuple[int, str]]:
        rows = self.conn.execute("SELECT id, name FROM professionals ORDER BY id").fetchall()
        return [(int(i), str(n)) for i, n in rows]

    def count(self, table: Table) -> int:
        sql = self.sql
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.name))
        return int(self.conn.execute(query).fetchone()[0])

    def rows(self, table: Table) -> Iterator[tuple[Any, ...]]:
        sql = self.sql
        query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT (FORMAT BINARY)").format(
            sql.SQL(", ").join(map(sql.Identifier, table.columns)),
            sql.Identifier(table.name),
            sql.SQL(table.order),  # a constant of TABLES
        )
        with self.conn.cursor().copy(query) as copy:
            copy.set_types(list(table.types))
            yield from copy.rows()

    def add_professional(self, name: str, id_: int | None) -> int:
        if id_ is None:
            row = self.conn.execute(
                "INSERT INTO professionals (name) VALUES (%s) RETURNING id", (name,)
            ).fetchone()
        else:
            row = self.conn.execute(
                "INSERT INTO professionals (id, name) VALUES (%s, %s) RETURNING id", (id_, name)
            ).fetchone()
        return int(row[0])

    def write(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> None:
        sql = self.sql
        query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns))
        )
        with self.conn.cursor().copy(query) as copy:
            copy.set_types(list(table.types))
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        """Identity columns continue after the largest id copied, not from 1."""
        sql = self.sql
        for name in ("professionals", *(t.name for t in TABLES if t.columns[0] == "id")):
            self.conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), max(id)) FROM {} "
                    "HAVING max(id) IS NOT NULL"
                ).format(sql.Literal(name), sql.Identifier(name))
            )
        row = self.conn.execute("SELECT coalesce(current_schema(), '')").fetchone()
        key = chain_lock_key("shared", row[0] if row else "")
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        seal(
            lambda q, p: self.conn.execute(q.replace("?", "%s"), p),
            time.time_ns() // 1000,
            "seal",
        )


@contextmanager
def _postgres_reader(ledger: Any) -> Iterator[_Reader]:
    """One REPEATABLE READ, READ ONLY transaction: every table from the same snapshot."""
    with ledger.connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # A big ledger takes longer than a dial decision, and idles while the target writes.
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        yield _Postgres(conn)


@contextmanager
def _postgres_writer(ledger: Any) -> Iterator[_Writer]:
    with ledger.connection() as conn, conn.transaction():
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        # No dialer writes while the copy runs (readers are not blocked): the emptiness checked
        # below stays true until COMMIT.
        names = ", ".join(["professionals", *(t.name for t in TABLES)])
        conn.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        yield _Postgres(conn)


# -- the copy -------------------------------------------------------------------------------------


def _reader(ledger: Ledger) -> AbstractContextManager[_Reader]:
    if isinstance(ledger, SQLiteLedger):
        return _sqlite_reader(ledger)
    return _postgres_reader(ledger)


def _writer(ledger: Ledger) -> AbstractContextManager[_Writer]:
    if isinstance(ledger, SQLiteLedger):
        return _sqlite_writer(ledger)
    return _postgres_writer(ledger)


def migrate_ledger(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> dict[str, int]:
    """Copy every row of the ledger at ``source`` into the ledger at ``target``.

    Either may be a SQLite file or a ``postgresql://`` URL; the target is created and migrated
    if need be, and must hold no facts yet (professionals it already knows are matched by name).
    Ids are kept. One transaction on the target, checked row counts: all or nothing. The source
    is only read. Returns the rows copied per table, ``professionals`` first.
    """
    src_text, dst_text = os.fspath(source), os.fspath(target)
    if src_text == dst_text or (
        not is_server_url(src_text)
        and not is_server_url(dst_text)
        and os.path.abspath(src_text) == os.path.abspath(dst_text)
    ):
        raise ConfigurationError(
            _("source and target are the same ledger: {where}", where=_where(src_text)),
            field="target",
            value=target,
        )
    if src_text == ":memory:":
        raise ConfigurationError(
            _("cannot migrate from ':memory:': it holds nothing once closed"),
            field="source",
            value=source,
        )
    # Read-only, and a missing file is an error rather than an empty ledger copied with success.
    src = open_ledger(src_text, read_only=True, busy_timeout=busy_timeout)
    try:
        dst = open_ledger(dst_text, busy_timeout=busy_timeout)
        try:
            errors: tuple[type[BaseException], ...] = (
                LedgerError,
                *src.driver_errors,
                *dst.driver_errors,
            )
            try:
                with _reader(src) as reader, _writer(dst) as writer:
                    return _copy(reader, writer, _where(dst_text))
            except errors as exc:
                raise LedgerError(
                    f"cannot migrate {_where(src_text)} to {_where(dst_text)}: {exc}; "
                    "the target is as it was"
                ) from exc
        finally:
            dst.close()
    finally:
        src.close()


def _copy(reader: _Reader, writer: _Writer, where: str) -> dict[str, int]:
    held = {t.name: n for t in TABLES if (n := writer.count(t))}
    if held:
        listed = ", ".join(f"{n} {name}" for name, n in held.items())
        raise LedgerError(
            f"target {where} already holds facts ({listed}): migrate into an empty ledger; "
            "merging two ledgers would renumber attempts that dialers may hold"
        )
    known = {name: id_ for id_, name in writer.professionals()}
    taken = set(known.values())
    mapping: dict[int, int] = {}
    professionals = reader.professionals()
    for id_, name in professionals:
        if name not in known:
            known[name] = writer.add_professional(name, None if id_ in taken else id_)
            taken.add(known[name])
        mapping[id_] = known[name]
    counts = {"professionals": len(professionals)}
    for table in TABLES:
        writer.write(table, _remapped(reader.rows(table), table, mapping))
        counts[table.name] = reader.count(table)
        copied = writer.count(table)
        if copied != counts[table.name]:  # pragma: no cover - a guard, not an expected path
            raise LedgerError(
                f"{table.name}: {counts[table.name]} rows read but {copied} written; "
                "nothing was committed"
            )
    writer.finish()
    return counts


def _remapped(
    rows: Iterator[tuple[Any, ...]], table: Table, mapping: dict[int, int]
) -> Iterator[tuple[Any, ...]]:
    """The rows with the professional column mapped to the target's ids."""
    at = table.professional
    for row in rows:
        if at is None:
            yield tuple(row)
            continue
        try:
            professional = mapping[row[at]]
        except KeyError:
            raise _orphan(table, row[at]) from None
        yield (*row[:at], professional, *row[at + 1 :])


def _orphan(table: Table, professional: object) -> LedgerError:
    return LedgerError(
        f"{table.name} has a row of professional id {professional!r}, which the source's "
        "professionals table does not name: nothing was copied"
    )
