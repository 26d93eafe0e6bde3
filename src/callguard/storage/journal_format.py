"""The journal's format: how an entry is encoded and hashed, in each of its format versions.

The writes are ``storage.journal``'s, the verification ``storage.journal_verify``'s.

Each write of a fact appends one entry to the ``journal`` table **in the same transaction**:

* ``chain``: ``"p<id>"`` for a professional's facts (the table has a ``professional`` column),
  ``"shared"`` for the rest (professionals, Bloctel imports, the genesis). Entries of one chain
  are numbered ``seq`` = 1, 2, 3… and each names the hash of the previous one (``prev``).
* ``hash``: SHA-256 of the entry's fields, ``prev`` (the previous entry's hash) among them.
  Format 3 (``v`` = 3, :func:`entry_text_v3`, schema step ``m008_journal_erasable``): the
  fields one per line as in format 2, but the body is replaced by its *digest*, the SHA-256 of
  16 random bytes (``salt``, stored beside) followed by the body. A purge erases the body and
  the salt of every entry about the rows it removes and keeps that digest (``digest``): the
  entry's hash, the chain and any checkpoint of it are unchanged, and without the salt the
  digest cannot be matched against a guessed number (a phone number is a small space to try).
  Format 2 (``v`` = 2, :func:`entry_text`): the fields one per line, the body last, in one text
  encoded once; the previous hash is not stored again (``prev`` is empty, ``verify`` takes it
  from the previous entry), and SQLite keeps the hash in its 32 bytes (PostgreSQL, in hex).
  Format 1 (``v`` NULL, the entries written before schema step ``m006_journal_v2``): the
  canonical JSON ``[chain, seq, at, table, op, row_id, body, prev]``, ``prev`` stored; such
  entries still verify, and a chain may go on from them in format 2.
* ``op``: ``insert`` (body: the row's values), ``update`` (body: ``before`` and ``after``),
  ``delete`` (body: ``before``), ``import`` (a Bloctel return: its counts and the digest of the
  rows of its ``checked_at``), ``purge`` (per table: the ids removed, their count and the sum of
  their row hashes; in format 3 the sum covers only the rows no entry names — those sealed at
  the genesis or a copy — and ``erased`` lists the seqs of the chain's entries it erased),
  ``expire`` (stored idempotent answers past their time, the same body as a purge's) and
  ``genesis``/``seal`` (per table: row count, largest id and the sum of the
  row hashes of the rows that existed before the journal, or after a ledger copy).

A row's values, in a format 2 entry, are one JSON array of its columns in their declared order
(``storage.base.SCHEMA``), id left out, trailing NULLs left out (so a column added by a later
schema step does not change older entries); an update's body is ``[before, after]``, a
delete's ``before``. In format 1 they were a JSON object by column name, NULLs left out.

:func:`verify` checks each chain (numbering, links, hashes), replays the entries into the
expected content of every journaled table and compares it with the rows: the first fact changed,
removed or inserted outside callguard is named with its table, row id and the columns that differ.

An erased entry (its body empty) is checked without its body: a format 3 entry by its kept
digest, a format 1 or 2 entry (erased by a purge after the upgrade) by the link of the entry
after it, which covers its hash. Its row is known to exist, values unknown, until the purge
that removed it. Every erased entry must be named by a later ``purge`` or ``expire`` entry of
its chain; one that is not (a body erased outside callguard) is named by ``verify``. What an
erased entry no longer proves: the values of a row sealed at the genesis and later purged are
checked by count only (their sum needed the erased values).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from .base import SCHEMA, Table

BLOCTEL = "bloctel_checks"
"""Bloctel results are journaled one entry per import (counts and a digest), not per number."""
ANSWERS = "idempotency"
"""The stored idempotent answers of the pre-dial service: journaled, and erased on expiry."""

JOURNALED: tuple[Table, ...] = tuple(t for t in SCHEMA if t.journaled)
"""The tables whose writes are journaled and checked, in schema order."""

_MOD = 1 << 256
GENESIS_OPS = ("genesis", "seal")

FORMAT = 3
"""The format of the entries callguard writes (``journal.v``); NULL there means format 1."""
FORMAT_2 = 2
"""The format written from schema step ``m006_journal_v2`` until ``m008_journal_erasable``."""
ERASING_OPS = ("purge", "expire")
"""The ops whose (format 3) body names the entries they erased."""
LEGACY = 1
"""The first format: what schema step ``m005_journal`` writes (its genesis), on a journal that
has no ``v`` column yet."""


def canonical(value: object) -> str:
    """The one JSON text of ``value``: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_values(table: Table, row: Iterable[Any]) -> dict[str, Any]:
    """A row (in ``table.columns`` order, id first when it has one) as its journaled values."""
    return {
        c.name: v
        for c, v in zip(table.columns, row, strict=True)
        if c.name != "id" and v is not None
    }


def chain_of(table: str, values: Mapping[str, Any]) -> str:
    """The chain a write belongs to: its professional's, or the shared one."""
    p = values.get("professional")
    return "shared" if p is None or table == "professionals" else f"p{int(p)}"


def row_hash(table: str, row_id: int, values: Mapping[str, Any]) -> int:
    """A row's hash as an integer, summed (mod 2**256) into the seals of sets of rows."""
    digest = hashlib.sha256(canonical([table, row_id, values]).encode()).digest()
    return int.from_bytes(digest, "big")


def entry_hash(
    chain: str, seq: int, at: int, table: str, op: str, row_id: int | None, body: str, prev: str
) -> str:
    """The hash of a format 1 entry: two JSON encodings deep (the body, then the entry)."""
    text = canonical([chain, seq, at, table, op, row_id, body, prev])
    return hashlib.sha256(text.encode()).hexdigest()


def entry_text(
    chain: str, seq: int, at: int, table: str, op: str, row_id: int | None, body: str, prev: str
) -> str:
    """What a format 2 entry's hash covers: the format, then the fields one per line, the body
    last. Unambiguous: the chain, table and op are callguard's own names (no line break: see
    :func:`_plain`), the numbers are decimal, ``prev`` is hex or empty, and only the body, last,
    may hold any text."""
    rid = "" if row_id is None else str(int(row_id))
    return f"2\n{chain}\n{int(seq)}\n{int(at)}\n{table}\n{op}\n{rid}\n{prev}\n{body}"


def entry_text_v3(
    chain: str, seq: int, at: int, table: str, op: str, row_id: int | None, digest: str, prev: str
) -> str:
    """What a format 3 entry's hash covers: format 2's text with the body's salted digest
    (:func:`body_digest`, 64 hex digits) in place of the body."""
    rid = "" if row_id is None else str(int(row_id))
    return f"3\n{chain}\n{int(seq)}\n{int(at)}\n{table}\n{op}\n{rid}\n{prev}\n{digest}"


def body_digest(salt: bytes, body: str) -> str:
    """The digest a format 3 entry keeps of its body: SHA-256 of the salt, then the body."""
    return hashlib.sha256(salt + body.encode()).hexdigest()


class _Salts(threading.local):
    """16 random bytes per entry from the OS's generator, taken 4 KiB at a time (one system call
    per 256 entries), a buffer per thread (no lock on the hot path). A child process after
    ``fork()`` starts a buffer of its own: a salt shared by two entries would let the erased one
    be guessed from the other."""

    buf = b""
    pos = 0


_SALTS = _Salts()


def _reset_salts() -> None:
    # Emptied in place, not replaced: ``storage.journal`` holds the same object under its own
    # name (its append inlines :func:`new_salt`), and a new one there would leave it the
    # parent's buffer.
    _SALTS.buf = b""
    _SALTS.pos = 0


os.register_at_fork(after_in_child=_reset_salts)


def new_salt() -> bytes:
    """A fresh 16-byte salt (see :class:`_Salts`)."""
    pool = _SALTS
    pos = pool.pos
    if pos >= len(pool.buf):
        pool.buf, pos = os.urandom(4096), 0
    pool.pos = pos + 16
    return pool.buf[pos : pos + 16]


def entry_hash_v2(
    chain: str, seq: int, at: int, table: str, op: str, row_id: int | None, body: str, prev: str
) -> str:
    return _sha256(entry_text(chain, seq, at, table, op, row_id, body, prev))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(*names: str) -> bool:
    """Whether names hashed in a format 2 entry's text can be told apart (no line break)."""
    return not any("\n" in n for n in names)


def _json_value(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, str):
        return str(encode_basestring(v))
    if isinstance(v, int):  # bool included: stored as 0 or 1
        return int.__repr__(int(v))
    raise TypeError(f"a journaled value is an integer, a text or NULL, not {v!r}")


def encode_values(values: Sequence[Any]) -> str:
    """Canonical JSON of one row's values as an array, trailing NULLs left out: the text
    ``json.dumps(values, separators=(",", ":"), ensure_ascii=False)`` gives, built without the
    general encoder (integers, texts and NULLs only; anything else is a TypeError)."""
    end = len(values)
    while end and values[end - 1] is None:
        end -= 1
    parts = []
    for v in values[:end]:
        kind = type(v)  # the exact types first: the common case, one test each
        if kind is int:
            parts.append(int.__repr__(v))
        elif kind is str:
            parts.append(encode_basestring(v))
        else:
            parts.append(_json_value(v))
    return "[" + ",".join(parts) + "]"


def _text_or_null(v: object) -> str:
    return "null" if v is None else encode_basestring(v) if type(v) is str else _json_value(v)


def encode_attempt(row: Sequence[Any]) -> str:
    """:func:`encode_values` of an ``attempts`` row as ``attempt()`` records it (every column
    in declared order, never voided): the same text, written in one format string.
    Any other row is handed to :func:`encode_values`."""
    p, n, at, caller_id, outcome, campaign, purpose, recorded_at, voided_at, reason = row
    if (
        voided_at is not None
        or reason is not None
        or type(p) is not int
        or type(n) is not int
        or type(at) is not int
        or type(recorded_at) is not int
        or type(purpose) is not str
    ):
        return encode_values(row)
    # The texts written out here rather than through _text_or_null: a call each costs more
    # than the rest of the entry's body (an attempt's outcome is NULL when it is recorded).
    if outcome is None and (caller_id is None or type(caller_id) is str):
        return (
            f"[{p},{n},{at},{'null' if caller_id is None else encode_basestring(caller_id)},null,"
            f"{'null' if campaign is None else _text_or_null(campaign)},"
            f"{encode_basestring(purpose)},{recorded_at}]"
        )
    return (
        f"[{p},{n},{at},{_text_or_null(caller_id)},{_text_or_null(outcome)},"
        f"{_text_or_null(campaign)},{encode_basestring(purpose)},{recorded_at}]"
    )


def _fields(table: Table) -> tuple[str, ...]:
    """The columns a journal entry keeps for ``table``, in order (the id is the entry's own)."""
    return tuple(c.name for c in table.columns if c.name != "id")


def values_array(table: Table, values: Mapping[str, Any]) -> list[Any]:
    """``values`` (by column name) in ``table``'s declared column order, missing ones NULL.

    A name that is not a column is left out here: the statement that writes ``values`` names
    it and fails, so the entry is never committed."""
    return [values.get(name) for name in _FIELDS[table.name]]


def _from_array(table: str, array: object) -> dict[str, Any]:
    """A format 2 row body back as values by name (NULLs left out, as :func:`row_values`)."""
    if not isinstance(array, list):
        raise ValueError(f"a journaled {table} row is an array, not {array!r}")
    names = _FIELDS.get(table, ())
    if len(array) > len(names):
        raise ValueError(f"a journaled {table} row has {len(array)} values, the table {len(names)}")
    return {n: v for n, v in zip(names, array, strict=False) if v is not None}


def bloctel_digest(rows: Iterable[tuple[int, int]]) -> tuple[int, str]:
    """(count, SHA-256) of the (number, listed) rows of one ``checked_at``, in number order.

    The hashed text is one ``number,listed`` line per row; it is built and hashed a chunk of
    rows at a time (a verify digests every Bloctel row of the ledger: tens of millions).
    """
    from itertools import islice

    h = hashlib.sha256()
    n = 0
    it = iter(rows)
    while chunk := list(islice(it, 1 << 16)):
        # "%d" formats exactly as f"{int(x)}" for the ints, bools and Decimals rows hold.
        h.update("".join(map("%d,%d\n".__mod__, chunk)).encode())
        n += len(chunk)
    return n, h.hexdigest()


Rows = Callable[[Table], Iterator[tuple[Any, ...]]]
"""Every row of a table, in ``table.columns`` order (id first), sorted by id."""
BloctelRows = Callable[[], Iterator[tuple[int, int, int]]]
"""Every Bloctel row as (checked_at, number, listed), sorted by checked_at then number."""


def seal_body(rows: Rows, bloctel: BloctelRows, tables: Sequence[Table] = JOURNALED) -> str:
    """The body of a genesis or seal entry: what every journaled table (of ``tables``) holds
    now."""
    body: dict[str, Any] = {}
    for table in tables:
        if table.name == BLOCTEL or not table.journaled:
            continue
        count, top, total = 0, 0, 0
        for row in rows(table):
            count += 1
            top = max(top, int(row[0]))
            total = (total + row_hash(table.name, int(row[0]), row_values(table, row))) % _MOD
        body[table.name] = {"rows": count, "max_id": top, "sum": f"{total:064x}"}
    body[BLOCTEL] = {str(at): list(d) for at, d in _bloctel_groups(bloctel())}
    return canonical(body)


def _bloctel_groups(rows: Iterator[tuple[int, int, int]]) -> Iterator[tuple[int, tuple[int, str]]]:
    current: int | None = None
    group: list[tuple[int, int]] = []
    for at, number, listed in rows:
        if at != current:
            if current is not None:
                yield current, bloctel_digest(group)
            current, group = at, []
        group.append((number, listed))
    if current is not None:
        yield current, bloctel_digest(group)


def chain_lock_key(chain: str, namespace: str) -> int:
    """The advisory-lock key of one journal chain of the ledger in schema ``namespace``:
    appends to a chain are serialised, those of different professionals — or of another ledger
    of the same database — run in parallel."""
    digest = hashlib.blake2b(
        f"{namespace}\x00{chain}".encode(), digest_size=8, person=b"callguard.jrn"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- verification -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    chain: str
    seq: int
    at: int
    table: str
    op: str
    row_id: int | None
    body: str
    prev: str
    hash: str
    v: int = LEGACY
    """The entry's format: 1 (``journal.v`` NULL), 2 or 3."""
    salt: str | None = None
    """Format 3: the hex salt of the body's digest; None once erased."""
    digest: str | None = None
    """Format 3: the body's digest kept when a purge erased the body; None before."""

    @property
    def erased(self) -> bool:
        """Whether a purge erased this entry's body."""
        return self.body == ""

    def computed_hash(self, prev: str) -> str | None:
        """The hash this entry should carry after an entry whose hash is ``prev``; None when
        its content cannot be a callguard entry of its format (an unknown format, a format 2
        entry whose names hold a line break or that stores a previous hash).

        An erased format 1 or 2 entry cannot be hashed again: its stored hash is taken as it
        is, and the next entry of its chain (which covers that hash) vouches for it."""
        fields = (self.chain, self.seq, self.at, self.table, self.op, self.row_id)
        if self.v == LEGACY:
            if self.erased:
                return self.hash if self.salt is None and self.digest is None else None
            return entry_hash(*fields, self.body, self.prev)
        if self.prev != "" or not _plain(self.chain, self.table, self.op):
            return None
        if self.v == FORMAT_2:
            if self.erased:
                return self.hash if self.salt is None and self.digest is None else None
            return entry_hash_v2(*fields, self.body, prev)
        if self.v == FORMAT:
            if self.erased:
                if self.salt is not None or self.digest is None:
                    return None
                digest = self.digest
            else:
                if self.salt is None or self.digest is not None:
                    return None
                try:
                    salt = bytes.fromhex(self.salt)
                except ValueError:
                    return None
                digest = body_digest(salt, self.body)
            return _sha256(entry_text_v3(*fields, digest, prev))
        return None


TABLES: dict[str, Table] = {t.name: t for t in SCHEMA}

_FIELDS: dict[str, tuple[str, ...]] = {t.name: _fields(t) for t in SCHEMA}
_OWNER: dict[str, int | None] = {
    name: (None if name == "professionals" or "professional" not in f else f.index("professional"))
    for name, f in _FIELDS.items()
}
"""Where a table's professional sits among its journaled values (None: the shared chain)."""

ATTEMPT_FIELDS = (
    "professional",
    "number",
    "at",
    "caller_id",
    "outcome",
    "campaign",
    "purpose",
    "recorded_at",
    "voided_at",
    "void_reason",
)
"""The order :meth:`JournaledWrites.insert_attempt` passes an attempt's values in."""
if _fields(TABLES["attempts"]) != ATTEMPT_FIELDS:  # pragma: no cover - a schema edit's slip
    raise ImportError("storage.base declares the attempts' columns in another order")

Run = Callable[[str, tuple[Any, ...]], Any]
"""Run one statement (``?`` placeholders) in the current write transaction; returns a cursor."""


def _hex(stored: object) -> str:
    """A stored hash as hex: its 32 bytes, or its hex text as written before (or by PostgreSQL)."""
    return stored.hex() if isinstance(stored, bytes) else str(stored)
