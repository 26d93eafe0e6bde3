"""What storage answers, and the one declaration of the ledger's tables.

The decision and the ``record_*`` calls talk to a :class:`Ledger`; the SQLite and PostgreSQL
ledgers implement it. The tables are declared once here, as data (:data:`SCHEMA`): each
backend's DDL, the ledger-to-ledger copy's table list and the purge's conditions are derived
from it.

Instants are stored as integer microseconds since the Unix epoch, UTC. Numbers are stored as the
integer of their E.164 digits, which keeps the Bloctel table (millions of rows) compact.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, NamedTuple, Protocol

from .._exceptions import ConfigurationError
from .._facts import FactKind, Facts
from .._i18n import _
from .verdict import VerifyReport

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "KNOWN_MIGRATIONS",
    "M010",
    "NO_EVIDENCE",
    "PURGE",
    "SCHEMA",
    "Column",
    "ColumnType",
    "ConsentEvidence",
    "Index",
    "Ledger",
    "Location",
    "Purge",
    "Table",
    "counted",
    "describe",
    "is_server_url",
    "parse_location",
    "purge_record",
]

DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds a write waits for another process's lock before the call is refused (fail closed)."""


class ConsentEvidence(NamedTuple):
    """What a consent's record keeps beside its proof reference (docs/rules.md §2, §6)."""

    off_hours: int = 0
    """1 when the consumer expressly agreed to be called outside the D223-9 days and hours."""
    channel: str | None = None
    source: str | None = None
    wording: str | None = None
    proof_sha256: str | None = None


NO_EVIDENCE = ConsentEvidence()


class KeyRow(NamedTuple):
    """An API key as stored (the key itself is never stored, only its hash)."""

    name: str
    professional: str
    prefix: str
    created_at: int
    revoked_at: int | None


class StoredAnswer(NamedTuple):
    """The answer kept for an Idempotency-Key: the request's digest, the JSON answer, its row."""

    request: str
    response: str
    id: int


class AttemptForVoid(NamedTuple):
    professional: int
    at: int
    outcome: str | None
    recorded_at: int
    voided_at: int | None


class Ledger(Protocol):
    """What the decision and the ``record_*`` calls ask of storage.

    SQLite is the embedded implementation; a server-backed one only has to answer the same
    questions. ``write()`` must make a read-then-insert inside it atomic across processes.
    """

    errors: tuple[type[Exception], ...]
    """``(LedgerError,)``: every failure of the ledger, whatever the backend, is a
    :class:`~callguard._exceptions.LedgerError` (a unique-key collision a
    :class:`~callguard._exceptions.LedgerConflictError`); during a decision it means
    LEDGER_UNAVAILABLE. Kept for callers written as ``except ledger.errors``."""

    driver_errors: tuple[type[BaseException], ...]
    """The driver's own exception classes, for code inside ``storage/`` that talks to the driver
    directly (a ledger copy); the backends' methods never let them out."""

    def professional_id(self, name: str) -> int: ...

    def facts(
        self,
        professional: int,
        number: int,
        now: int,
        since: int,
        kinds: frozenset[FactKind] | None = None,
    ) -> Facts:
        """Every fact about ``number``; ``kinds``, when given, are the only kinds the caller
        will read (an implementation may leave the others out, or read everything)."""
        ...

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

    def insert_outcome(
        self, professional: int, attempt_id: int, outcome: str, at: int, recorded_at: int
    ) -> None: ...

    def lift(
        self,
        kind: str,
        professional: int,
        number: int,
        at: int,
        reason: str,
        by: str | None,
        recorded_at: int,
    ) -> int: ...

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None: ...

    def remove_optouts(self, professional: int, number: int, at: int) -> int: ...

    def insert_consent(
        self,
        professional: int,
        number: int,
        at: int,
        expires_at: int | None,
        proof: str,
        evidence: ConsentEvidence = NO_EVIDENCE,
    ) -> None: ...

    def insert_withdrawal(self, professional: int, number: int, at: int) -> None: ...

    def insert_slot(
        self, professional: int, number: int, start: int, end: int, proof: str
    ) -> None: ...

    def insert_contract(
        self, professional: int, number: int, start: int, end: int | None, subject: str | None
    ) -> None: ...

    def import_bloctel(
        self, listed: Iterable[int], submitted: Iterable[int], checked_at: int
    ) -> tuple[int, int]: ...

    def purge(
        self, professional: int, before: int, consents_before: int, now: int, by: str | None = None
    ) -> dict[str, int]: ...

    def close(self) -> None: ...

    def scrub(self) -> None:
        """After a purge has committed: leave no purged value in the storage's free space or
        log, as far as the backend can (see docs/evidence.md)."""
        ...

    def store_answer(
        self,
        professional: int,
        api_key: int,
        key: str,
        request: str,
        status: int,
        response: str,
        created_at: int,
    ) -> int: ...

    def expire_answers(self, before: int, limit: int = 1000, batch: int = 3_600_000_000) -> int: ...

    # The journal (storage.journal): every write of a fact goes through these, inside write().

    def insert_row(self, table: str, values: dict[str, Any]) -> int: ...

    def update_row(self, table: str, row_id: int, changes: dict[str, Any]) -> None: ...

    def delete_row(self, table: str, row_id: int) -> None: ...

    def verify(self) -> VerifyReport: ...

    def journal(
        self, chain: str, table: str, op: str, row_id: int | None, body: Mapping[str, Any]
    ) -> None: ...

    # Checkpoints (storage.checkpoints): the ledger's id and the chains' heads.

    def ledger_id(self) -> str | None: ...

    def chain_heads(self) -> dict[str, tuple[int, str]]: ...

    def entry_hash(self, chain: str, seq: int) -> str | None: ...

    def entries_after(self, chain: str, seq: int) -> int: ...

    def row_counts(self) -> dict[str, int]: ...

    # Named operations (``storage.operations``): the service's keys and idempotent answers,
    # a number's history, a control pack's reads, the void lookup. No SQL leaves storage.

    def api_key_exists(self, name: str) -> bool: ...

    def api_key_by_hash(self, digest: str) -> tuple[int, str, str, int | None] | None: ...

    def api_keys(self) -> list[KeyRow]: ...

    def live_api_key_ids(self, name: str) -> list[int]: ...

    def api_key_count(self) -> int: ...

    def stored_answer(self, api_key: int, key: str) -> StoredAnswer | None: ...

    def attempt_voided(self, attempt_id: int) -> bool: ...

    def attempt_for_void(self, attempt_id: int) -> AttemptForVoid | None: ...

    def fact_rows(
        self,
        table: str,
        columns: Sequence[str],
        professional: int,
        number: int | None,
        order: Sequence[str],
    ) -> list[tuple[object, ...]]: ...

    def voided_attempt_rows(
        self, professional: int, lo: int, hi: int, columns: Sequence[str]
    ) -> list[tuple[object, ...]]: ...

    def outcome_history(self, professional: int, number: int) -> list[tuple[int, str]]: ...

    def bloctel_history(self, number: int) -> list[tuple[int, bool]]: ...

    def attempts_between(
        self, professional: int, lo: int, hi: int
    ) -> list[tuple[int, int, int, str | None, str | None, str | None, str | None]]: ...

    def number_of_row(self, table: str, row_id: int) -> int | None: ...

    # Bulk reads (scrub, audit, Bloctel export, opt-out listing): set-based, read-only.

    def find_professional(self, name: str) -> int | None: ...

    def facts_many(
        self,
        professional: int,
        numbers: Iterable[int],
        now: int,
        since: int,
        kinds: frozenset[FactKind] | None = None,
        *,
        known_only: bool = False,
    ) -> dict[int, Facts]: ...

    def latest_bloctel_checks(self, numbers: Iterable[int]) -> dict[int, int]: ...

    def has_attempt(self, professional: int, number: int, at: int) -> bool: ...

    def optout_rows(
        self, professional: int
    ) -> list[tuple[int, int, int | None, int | None, str]]: ...


# -- the schema, declared once ----------------------------------------------------------------


class ColumnType(Enum):
    """A column's type; each backend maps it to its own (see the ``*_TYPES`` tables)."""

    ID = "id"
    """The row id: SQLite's INTEGER PRIMARY KEY, PostgreSQL's identity column."""
    INT = "int"
    """A 64-bit integer: a number key, an instant in µs, a foreign id."""
    TEXT = "text"
    FLAG = "flag"
    """0 or 1 (SMALLINT on PostgreSQL, so that a round trip through a copy is exact)."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    not_null: bool = False
    unique: bool = False
    step: str | None = None
    """The schema step that adds this column to an existing table (``ALTER TABLE … ADD
    COLUMN``); None when the table's own step creates it."""
    default: str | None = None
    """An SQL literal for the rows already there when a later step adds a NOT NULL column."""


def _id() -> Column:
    return Column("id", ColumnType.ID)


def _int(name: str, *, null: bool = False) -> Column:
    return Column(name, ColumnType.INT, not_null=not null)


def _text(name: str, *, null: bool = False, unique: bool = False) -> Column:
    return Column(name, ColumnType.TEXT, not_null=not null, unique=unique)


def _added(column: Column, step: str, default: str | None = None) -> Column:
    """``column`` added to its table by the later schema step ``step``."""
    return Column(column.name, column.type, column.not_null, column.unique, step, default)


class Index(NamedTuple):
    """An index a later schema step adds to an existing table, possibly partial."""

    name: str
    columns: tuple[str, ...]
    step: str
    where: str | None = None
    """A partial index's condition (SQL both dialects read the same)."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table: its columns in order, its indexes, the schema step that creates it, and the
    order a copy reads it in."""

    name: str
    columns: tuple[Column, ...]
    step: str
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    primary_key: tuple[str, ...] = ()
    """A composite primary key (SQLite stores the table WITHOUT ROWID); empty when ``id`` is."""
    order: str = "id"
    journaled: bool = True
    """Whether its writes are chained in the journal and checked by ``verify`` (see
    ``storage.journal``); false for the journal itself and for caches."""
    unique: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Unique indexes over several columns, created with the table."""
    later_indexes: tuple[Index, ...] = ()
    """Indexes added by a later schema step."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def professional(self) -> int | None:
        """Index of the professional column (remapped by name in a copy), if any."""
        names = self.column_names
        return names.index("professional") if "professional" in names else None


_M001, _M002, _M003 = "m001_initial", "m002_purge_log", "m003_service"
_M004 = "m004_evidence"
"""Consent evidence (off-hours consent, channel, source, wording, proof digest), the history of
every outcome of an attempt, and lifted refusals (docs/rules.md §2, §6, §11)."""
_M005 = "m005_journal"
"""The tamper-evident journal. It comes after every step that adds a column with a default, so
that the genesis entry seals rows in their final shape."""
_M006 = "m006_journal_v2"
"""The compact journal entry (``storage.journal``, format 2): a row's values as one JSON array in
the column order declared here, hashed once with the entry's fields; the previous entry's hash
is no longer stored beside it (``verify`` takes it from that entry). The ``v`` column tells the
formats apart: NULL for the entries written before this step, which still verify as they were."""
_M007 = "m007_ledger_id"
"""The ledger's own id, drawn at random once (at ``init``, or when an older ledger is migrated):
a signed checkpoint names it, so a checkpoint of one ledger never vouches for another."""
_M008 = "m008_journal_erasable"
"""The journal entry that can forget (format 3): its hash covers a digest of its body salted
with 16 random bytes, so that a purge erases the body and the salt and keeps the digest: the
chain still verifies and the erased number cannot be found again by trying every number against
the digest (RGPD art. 5(1)(e)). The stored idempotent answers become a journaled table: an id
of their own, the professional whose chain journals them, a unique (api_key, key)."""
_M009 = "m009_attempt_voids"
"""Voided attempts: an attempt the dialer never placed (its answer never reached the PBX, or the
dialer says so within minutes) stays in the ledger with when and why it was voided, and no
longer counts toward the D223-9 cap. Two nullable columns after the existing ones, so every
attempt journaled before this step still verifies."""
M010 = "m010_facts_by_number"
"""SQLite's index of facts by number (``storage.fact_queries``): every per-professional fact a
decision can read, filed by number and kept by triggers, so a decision reads them in one range
scan instead of a probe per table. Derived, not journaled: ``verify`` holds it equal to its
tables. PostgreSQL records the step and has nothing to do (its plan probes each table)."""
_OWNED = (_id(), _int("professional"), _int("number"))
"""The first columns of every per-professional fact table."""

SCHEMA: tuple[Table, ...] = (
    Table("professionals", (_id(), _text("name", unique=True)), _M001),
    Table(
        "attempts",
        (
            *_OWNED,
            _int("at"),
            _text("caller_id", null=True),
            _text("outcome", null=True),
            _text("campaign", null=True),
            _text("purpose", null=True),
            _int("recorded_at"),
            # A voided attempt is kept with when and why; the cap skips it until an outcome is
            # reported for it (an outcome proves the call was placed after all).
            _added(_int("voided_at", null=True), _M009),
            _added(_text("void_reason", null=True), _M009),
        ),
        _M001,
        indexes=(("attempts_lookup", ("professional", "number", "at")),),
    ),
    Table(
        "refusals",
        (
            *_OWNED,
            _int("at"),
            _int("attempt_id", null=True),
            # A refusal is never erased (docs/rules.md §11): lifting one entered by mistake sets
            # these, with who and why; the facts read only the refusals not lifted.
            _added(_int("lifted_at", null=True), _M004),
            _added(_text("lift_reason", null=True), _M004),
            _added(_text("lifted_by", null=True), _M004),
        ),
        _M001,
        indexes=(("refusals_lookup", ("professional", "number", "at")),),
    ),
    # Every outcome reported for an attempt, in order; attempts.outcome keeps the latest.
    Table(
        "attempt_outcomes",
        (
            _id(),
            _int("professional"),
            _int("attempt_id"),
            _text("outcome"),
            _int("at"),
            _int("recorded_at"),
        ),
        _M004,
        indexes=(("attempt_outcomes_attempt", ("attempt_id",)),),
    ),
    # Lifted refusals and objections: the explicit, logged act (who, when, why).
    Table(
        "lifts",
        (
            *_OWNED,
            _text("kind"),
            _int("at"),
            _text("reason"),
            _text("by", null=True),
            _int("lifted"),
            _int("recorded_at"),
        ),
        _M004,
        indexes=(("lifts_lookup", ("professional", "number")),),
    ),
    Table(
        "optouts",
        (
            *_OWNED,
            _int("at"),
            _int("expires_at", null=True),
            _int("removed_at", null=True),
            _text("source"),
        ),
        _M001,
        indexes=(("optouts_lookup", ("professional", "number")),),
    ),
    Table(
        "consents",
        (
            *_OWNED,
            _int("at"),
            _int("expires_at", null=True),
            _text("proof"),
            # The consumer expressly agreed to be called outside the D223-9 days and hours.
            _added(Column("off_hours", ColumnType.FLAG, not_null=True), _M004, "0"),
            _added(_text("channel", null=True), _M004),
            _added(_text("source", null=True), _M004),
            _added(_text("wording", null=True), _M004),
            _added(_text("proof_sha256", null=True), _M004),
        ),
        _M001,
        indexes=(("consents_lookup", ("professional", "number")),),
    ),
    Table(
        "consent_withdrawals",
        (*_OWNED, _int("at")),
        _M001,
        indexes=(("consent_withdrawals_lookup", ("professional", "number")),),
    ),
    Table(
        "slot_consents",
        (*_OWNED, _int("start"), _int("end"), _text("proof")),
        _M001,
        indexes=(("slot_consents_lookup", ("professional", "number", "end")),),
    ),
    Table(
        "contracts",
        (*_OWNED, _int("start"), _int("end", null=True), _text("subject", null=True)),
        _M001,
        indexes=(("contracts_lookup", ("professional", "number")),),
    ),
    # Bloctel results are shared by every professional (one national list).
    Table(
        "bloctel_checks",
        (_int("number"), _int("checked_at"), Column("listed", ColumnType.FLAG, not_null=True)),
        _M001,
        primary_key=("number", "checked_at"),
        order="number, checked_at",
    ),
    # What `purge` removed, when and for whom: the ledger keeps the trace of its own erasures.
    Table(
        "purge_log",
        (_id(), _int("professional"), _int("at"), _int("before"), _text("removed")),
        _M002,
    ),
    # The pre-dial service's API keys (a SHA-256 of the key, never the key) and the answers it
    # keeps for Idempotency-Key retries (at least 24 hours).
    Table(
        "api_keys",
        (
            _id(),
            _int("professional"),
            _text("name", unique=True),
            _text("prefix"),
            _text("hash", unique=True),
            _int("created_at"),
            _int("revoked_at", null=True),
        ),
        _M003,
    ),
    # Journaled (m008): a stored answer replays a decision, so a row written outside callguard
    # would answer "allowed" for an attempt never recorded. Rows expire after 24 hours; the
    # expiry is a journaled bulk removal that erases the rows' entries (their answers hold the
    # number).
    Table(
        "idempotency",
        (
            _id(),
            _int("api_key"),
            _text("key"),
            _text("request"),
            _int("status"),
            _text("response"),
            _int("created_at"),
            _int("professional", null=True),
        ),
        _M008,
        indexes=(("idempotency_created", ("created_at",)),),
        unique=(("idempotency_key", ("api_key", "key")),),
    ),
    # The tamper-evident journal (storage.journal): one hash-chained entry per fact written, in
    # the fact's own transaction. Its step seals the rows written before it (a "genesis" entry).
    Table(
        "journal",
        (
            _id(),
            _text("chain"),
            _int("seq"),
            _int("at"),
            _text("tbl"),
            _text("op"),
            _int("row_id", null=True),
            _text("body"),
            _text("prev"),
            _text("hash"),
            _added(_int("v", null=True), _M006),
            # Format 3: the random salt of the body's digest while the body is there; the
            # digest alone once a purge erased the body (and the salt).
            _added(_text("salt", null=True), _M008),
            _added(_text("digest", null=True), _M008),
        ),
        _M005,
        indexes=(("journal_chain", ("chain", "seq")),),
        journaled=False,
        # The entry of a stored answer, found when the answer expires (24 hours later) to erase
        # its body: only those entries are indexed, the other writes pay nothing for it.
        later_indexes=(Index("journal_answers", ("row_id",), _M008, "tbl = 'idempotency'"),),
    ),
    # The ledger's identity: one row, written by its step (``storage.checkpoints.insert_ledger_id``).
    # Not journaled: a changed id makes every checkpoint of the ledger fail, which is the alarm.
    Table(
        "ledger_identity",
        (_text("ledger_id"), _int("created_at")),
        _M007,
        primary_key=("ledger_id",),
        order="ledger_id",
        journaled=False,
    ),
)
"""Every table of the ledger, in creation order.

How to add a table, a column or a write so that it is journaled (``callguard verify``):

* a new table or column: declare it here with a new schema step (``m006_…``); a table is
  journaled unless ``journaled=False`` (caches only). A new nullable column needs nothing more:
  values are journaled by name, and NULLs are left out of the hashes, so older entries still
  verify. A new column with a non-NULL default would change the content of rows already
  journaled: give it NULL for old rows and the value for new ones instead. Never reorder or
  remove a declared column, and add new ones after the existing ones: a journal entry keeps a
  row's values as an array in this order (trailing NULLs left out).
* a new write: never run ``INSERT``/``UPDATE``/``DELETE`` on a journaled table directly. Inside
  ``ledger.write()``, call ``ledger.insert_row(table, values)``, ``ledger.update_row(table,
  row_id, changes)`` or ``ledger.delete_row(table, row_id)`` (``storage.journal.JournaledWrites``):
  each runs the statement and appends the journal entry in the same transaction, on the row's
  chain (its professional's, or the shared one). Bulk writes append one entry of their own
  (``ledger.journal(...)``, as ``import_bloctel`` and ``purge`` do) whose body lets ``verify``
  replay them.
"""


def counted(alias: str = "") -> str:
    """The SQL condition an ``attempts`` row (named ``alias``) must meet to count toward the
    cap: not voided, or voided and yet given an outcome (the call was placed after all: a
    void must never hide a call that happened, D223-9)."""
    a = f"{alias}." if alias else ""
    return f"({a}voided_at IS NULL OR {a}outcome IS NOT NULL)"


KNOWN_MIGRATIONS: tuple[str, ...] = tuple(
    sorted(
        {t.step for t in SCHEMA} | {c.step for t in SCHEMA for c in t.columns if c.step} | {M010}
    )
)
"""The schema steps, in order; both backends record them under these names."""


def quote(name: str) -> str:
    """An identifier as SQL text: quoted where it is a keyword of either dialect."""
    return f'"{name}"' if name in {"end"} else name


def column_ddl(c: Column, types: dict[ColumnType, str]) -> str:
    """A column's definition in a dialect's types."""
    text = f"{quote(c.name)} {types[c.type]}"
    if c.not_null and c.type is not ColumnType.ID:
        text += " NOT NULL"
    if c.default is not None:
        text += f" DEFAULT {c.default}"
    if c.unique:
        text += " UNIQUE"
    return text


_IDEMPOTENCY_M003 = Table(
    "idempotency",
    (
        _int("api_key"),
        _text("key"),
        _text("request"),
        _int("status"),
        _text("response"),
        _int("created_at"),
    ),
    _M003,
    indexes=(("idempotency_created", ("created_at",)),),
    primary_key=("api_key", "key"),
)
"""The stored answers as schema step ``m003_service`` created them (no id, not journaled);
step ``m008_journal_erasable`` rebuilds the table as :data:`SCHEMA` declares it."""

IDEMPOTENCY_REBUILD = (
    "ALTER TABLE idempotency RENAME TO idempotency_m003",
    "DROP INDEX IF EXISTS idempotency_created",
    "DROP INDEX IF EXISTS idempotency_key",
)
IDEMPOTENCY_COPY = (
    "INSERT INTO idempotency (api_key, key, request, status, response, created_at, professional) "
    "SELECT i.api_key, i.key, i.request, i.status, i.response, i.created_at, k.professional "
    "FROM idempotency_m003 AS i LEFT JOIN api_keys AS k ON k.id = i.api_key "
    "ORDER BY i.created_at, i.api_key, i.key",
    "DROP TABLE idempotency_m003",
)
"""Step m008 on the stored answers: the m003 table set aside, the new one created, the rows
copied (with the professional of their key), the old table dropped; the copied rows are then
journaled (``storage.journal.journal_copied_answers``)."""


def ddl(table: Table, types: dict[ColumnType, str]) -> list[str]:
    """``CREATE TABLE`` and ``CREATE INDEX`` statements for ``table`` in a dialect's types
    (the columns its own step creates; later steps add theirs, see :func:`steps`)."""
    cols = [column_ddl(c, types) for c in table.columns if c.step in (None, table.step)]
    if table.primary_key:
        cols.append(f"PRIMARY KEY ({', '.join(map(quote, table.primary_key))})")
    statements = [f"CREATE TABLE {table.name} ({', '.join(cols)})"]
    statements += [
        f"CREATE INDEX {name} ON {table.name} ({', '.join(map(quote, columns))})"
        for name, columns in table.indexes
    ]
    statements += [
        f"CREATE UNIQUE INDEX {name} ON {table.name} ({', '.join(map(quote, columns))})"
        for name, columns in table.unique
    ]
    return statements


def index_ddl(table: Table, index: Index) -> str:
    """``CREATE INDEX`` for an index a later step adds."""
    text = f"CREATE INDEX {index.name} ON {table.name} ({', '.join(map(quote, index.columns))})"
    return text if index.where is None else f"{text} WHERE {index.where}"


def steps(
    types: dict[ColumnType, str], suffix: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Each schema step's statements in a dialect (``suffix`` ends a table's CREATE, by name)."""
    out: dict[str, list[str]] = {name: [] for name in KNOWN_MIGRATIONS}
    out[_M003] += ddl(_IDEMPOTENCY_M003, types)
    out[_M008] += IDEMPOTENCY_REBUILD
    for table in SCHEMA:
        statements = ddl(table, types)
        if suffix and table.name in suffix:
            statements[0] += suffix[table.name]
        out[table.step] += statements
        for c in table.columns:
            if c.step not in (None, table.step):
                out[c.step].append(f"ALTER TABLE {table.name} ADD COLUMN {column_ddl(c, types)}")
        for index in table.later_indexes:
            out[index.step].append(index_ddl(table, index))
    out[_M008] += IDEMPOTENCY_COPY
    return out


# -- purge -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Purge:
    """Rows of ``table`` that ``purge`` removes for one professional: those where any of
    ``ends`` is before the cut named ``cut`` (NULL never is)."""

    table: str
    ends: tuple[str, ...]
    cut: str = "before"

    def condition(self, param: str) -> str:
        """The WHERE condition, with ``param`` formatting a parameter name (``:{}``, ``%({})s``)."""
        mark = param.format(self.cut)
        return "(" + " OR ".join(f"{quote(col)} < {mark}" for col in self.ends) + ")"


PURGE: tuple[Purge, ...] = (
    Purge("attempts", ("at",)),
    Purge("refusals", ("at",)),
    # A lift names the number whose refusal or objection it lifted; that refusal (at or before
    # the lift) or opt-out (removed at the lift) is purged with the same cut, so the lift goes too.
    Purge("lifts", ("at",)),
    Purge("attempt_outcomes", ("at",)),
    # An opt-out ends at its expiry or its removal, whichever comes first; a permanent one stays.
    Purge("optouts", ("expires_at", "removed_at")),
    Purge("slot_consents", ("end",)),
    Purge("contracts", ("end",)),
    # Consents and withdrawals are kept as proofs (three years by default), past any validity.
    Purge("consents", ("at",), "consents_before"),
    Purge("consent_withdrawals", ("at",), "consents_before"),
)


def purge_record(removed: dict[str, int], consents_before: int, by: str | None) -> str:
    """What the purge log's ``removed`` column keeps: who asked (``by``), the proofs' cut, and the
    rows removed per table (the row itself holds the professional, the time and ``before``)."""
    return json.dumps({"by": by, "consents_before": consents_before, "removed": removed})


# -- locations ---------------------------------------------------------------------------------


_LIBPQ_KEYWORDS = frozenset(
    [
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "channel_binding",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "replication",
        "gssencmode",
        "sslmode",
        "requiressl",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
    ]
)
_KEYWORD_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a ledger is, read once from what the caller gave (:func:`parse_location`)."""

    text: str
    """The location as given (with its secrets: only ever handed to the driver)."""
    server: bool
    """A PostgreSQL server (a URL or a libpq keyword string), else a SQLite file or ``:memory:``."""
    shown: str
    """The location as messages, logs and ``repr`` show it: never a password nor a query."""
    secrets: tuple[str, ...] = ()
    """The password as written and as decoded, to scrub from a driver's messages."""

    def scrub(self, message: str) -> str:
        """``message`` with every form of the password replaced by ``***``."""
        for secret in self.secrets:
            if secret:
                message = message.replace(secret, "***")
        return message


def parse_location(location: object) -> Location:
    """The one reading of a ledger location.

    - ``postgresql://`` and ``postgres://`` URLs (several hosts ``h1:5439,h2:5432``, ports,
      percent-encoding, ``?options=…``, ``connect_timeout``…) and libpq keyword strings
      (``host=… dbname=… password=…``) are PostgreSQL ledgers, never file names;
    - anything else is a SQLite file path, or ``:memory:``.

    A location that is neither a ``str`` nor a path is a ``ConfigurationError``. The password never
    reaches :attr:`Location.shown`, even written with a raw ``%``.
    """
    if not isinstance(location, (str, os.PathLike)):
        raise ConfigurationError(
            _(
                "a ledger location is a SQLite file path, ':memory:' or a PostgreSQL URL or "
                "keyword string, not {kind}",
                kind=type(location).__name__,
            ),
            field="location",
            value=location,
        )
    text = os.fspath(location)
    if not isinstance(text, str):
        raise ConfigurationError(
            _("a ledger location must be text, not bytes"), field="location", value=location
        )
    if text.startswith(("postgresql://", "postgres://")):
        return _parse_url(text)
    pairs = _keyword_pairs(text)
    if pairs is not None:
        secrets = [v for k, v in pairs if k == "password"]
        shown = " ".join(f"{k}={v}" for k, v in pairs if k != "password")
        return Location(text, True, shown, _forms(secrets))
    return Location(text, False, text)


def _parse_url(text: str) -> Location:
    scheme, _, rest = text.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(authority) :]
    path = re.split(r"[?#]", tail, maxsplit=1)[0]
    userinfo, at, hosts = authority.rpartition("@")
    secrets: list[str] = []
    user = ""
    if at:
        name, colon, password = userinfo.partition(":")
        user = f"{name}@"
        if colon:
            secrets.append(password)
    query = urllib.parse.parse_qsl(text.partition("?")[2].partition("#")[0])
    secrets += [v for k, v in query if k == "password"]
    return Location(text, True, f"{scheme}://{user}{hosts or 'localhost'}{path}", _forms(secrets))


def _keyword_pairs(text: str) -> list[tuple[str, str]] | None:
    """``key=value`` pairs of a libpq keyword string, or None when ``text`` is not one (its
    first key must be a libpq keyword: a file named ``a=b.db`` stays a file)."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _KEYWORD_PAIR.match(text, pos)
        if match is None or match.group(1) not in _LIBPQ_KEYWORDS:
            return None
        value = match.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs.append((match.group(1), value))
        pos = match.end()
    return pairs or None


def _forms(secrets: list[str]) -> tuple[str, ...]:
    """Each secret as written and percent-decoded (longest first, so no part is left showing)."""
    forms = {s for s in secrets if s} | {urllib.parse.unquote(s) for s in secrets if s}
    return tuple(sorted(forms, key=len, reverse=True))


def kind_of(location: str | os.PathLike[str]) -> Literal["postgresql", "sqlite"]:
    """The backend ``location`` names: ``"postgresql"`` (a URL or a libpq keyword string) or
    ``"sqlite"`` (a file path or ``:memory:``). The one reading: the service sizes its pool by it,
    ``open_ledger`` picks the backend by it."""
    return "postgresql" if parse_location(location).server else "sqlite"


def is_server_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` names a PostgreSQL ledger rather than a SQLite file."""
    return kind_of(location) == "postgresql"


def describe(location: str | os.PathLike[str]) -> str:
    """The ledger's location as messages show it: a server location loses its password and
    query."""
    return parse_location(location).shown
