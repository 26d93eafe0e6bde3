"""The tamper-evident journal: every fact written is chained, and :func:`verify` checks it.

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
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from .base import NO_EVIDENCE, PURGE, SCHEMA, ConsentEvidence, Table
from .base import purge_record as _purge_record
from .verdict import Problem, VerifyReport

__all__ = [
    "BLOCTEL",
    "JOURNALED",
    "Entry",
    "Problem",
    "VerifyReport",
    "bloctel_digest",
    "canonical",
    "chain_lock_key",
    "chain_of",
    "encode_values",
    "entry_hash",
    "entry_text",
    "entry_text_v3",
    "row_hash",
    "row_values",
    "seal_body",
    "verify",
]

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
        c.name: v for c, v in zip(table.columns, row, strict=True) if c.name != "id" and v is not None
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
    global _SALTS
    _SALTS = _Salts()


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


@dataclass(slots=True)
class _Sealed:
    max_id: int = 0
    rows: int = 0
    sum: int = 0
    known: bool = True
    """False once a sealed row left the seal through an erased entry: its hash is unknown, so
    the remaining sealed rows are checked by count only."""


class _Erased:
    """A row whose entries a purge erased: it exists, its values are no longer known."""

    def __repr__(self) -> str:
        return "<erased>"


ERASED: Any = _Erased()


@dataclass(slots=True)
class _Expected:
    tracked: dict[int, Any] = field(default_factory=dict)
    """Row id: its values as journaled, or :data:`ERASED`."""
    sealed: _Sealed = field(default_factory=_Sealed)


def _diff(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    cols = sorted(set(expected) | set(actual))
    parts = [
        f"{c} is {actual.get(c)!r}, journal says {expected.get(c)!r}"
        for c in cols
        if expected.get(c) != actual.get(c)
    ]
    return "; ".join(parts)


def verify(entries: Iterable[Entry], rows: Rows, bloctel: BloctelRows) -> VerifyReport:
    """Check the chains, then the facts against what the entries say they should be."""
    report = VerifyReport()
    heads: dict[str, tuple[int, str]] = {}
    state = {t.name: _Expected() for t in JOURNALED if t.name != BLOCTEL}
    blocs: dict[int, tuple[int, str]] = {}
    unnamed: dict[tuple[str, int], Entry] = {}
    """Erased entries no erasing entry has named yet, by (chain, seq)."""
    for e in entries:
        report.entries += 1
        report.chains[e.chain] = report.chains.get(e.chain, 0) + 1
        seq, prev = heads.get(e.chain, (0, ""))
        if e.seq != seq + 1:
            report.problems.append(Problem(
                "journal", "journal", e.id,
                f"entry {e.seq} of chain {e.chain} follows entry {seq}: entries were removed",
            ))
            return report
        if e.v == LEGACY and e.prev != prev:
            report.problems.append(Problem(
                "journal", "journal", e.id,
                f"entry {e.seq} of chain {e.chain} does not follow the previous entry's hash",
            ))
            return report
        if e.computed_hash(prev) != e.hash:
            report.problems.append(Problem(
                "journal", "journal", e.id,
                f"entry {e.seq} of chain {e.chain} ({e.op} {e.table}) was altered: "
                "its hash does not match its content",
            ))
            return report
        heads[e.chain] = (e.seq, e.hash)
        try:
            if e.erased:
                if e.op in ERASING_OPS or e.op in GENESIS_OPS or e.op == "import":
                    raise ValueError("a purge, an expiry, a seal or an import is never erased")
                unnamed[(e.chain, e.seq)] = e
                _apply_erased(e, state)
                continue
            _apply(e, state, blocs)
            if e.op in ERASING_OPS and e.v == FORMAT:
                _name_erased(e, unnamed)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # A body that hashes right but that callguard cannot have written: fail closed.
            report.problems.append(Problem(
                "journal", "journal", e.id,
                f"entry {e.seq} of chain {e.chain} ({e.op} {e.table}) cannot be read: {exc}",
            ))
            return report
    if unnamed:
        e = min(unnamed.values(), key=lambda x: x.id)
        report.problems.append(Problem(
            "journal", "journal", e.id,
            f"entry {e.seq} of chain {e.chain} ({e.op} {e.table} row {e.row_id}) was erased, "
            "but no purge names it: its body was removed outside callguard",
        ))
        return report
    _compare(report, state, blocs, rows, bloctel)
    return report


def _name_erased(e: Entry, unnamed: dict[tuple[str, int], Entry]) -> None:
    """The entries an erasing entry names (earlier entries of its own chain) are accounted for."""
    for seq in json.loads(e.body)["erased"]:
        if int(seq) >= e.seq:
            raise ValueError(f"it names entry {seq}, which does not come before it")
        unnamed.pop((e.chain, int(seq)), None)


def _apply_erased(e: Entry, state: dict[str, _Expected]) -> None:
    """Replay an entry whose body a purge erased: the row exists (or, for a delete, no longer
    does), its values unknown."""
    target = state.get(e.table)
    if target is None or e.row_id is None:
        return
    rid = e.row_id
    if e.op != "insert" and rid not in target.tracked and rid <= target.sealed.max_id:
        # A sealed row that left the seal through an entry whose values are gone.
        target.sealed.rows -= 1
        target.sealed.known = False
    if e.op == "delete":
        target.tracked.pop(rid, None)
    else:
        target.tracked[rid] = ERASED


def _remove(purged: _Expected, name: str, gone: Mapping[str, Any], v: int) -> None:
    """Replay the removal of the rows ``gone`` names from table ``name``."""
    if v == FORMAT:
        # Format 3: "sum" covers only the removed rows that were still sealed ("sealed" rows).
        for rid in gone["ids"]:
            purged.tracked.pop(int(rid), None)
        purged.sealed.rows -= int(gone["sealed"])
        purged.sealed.sum = (purged.sealed.sum - int(gone["sum"], 16)) % _MOD
        return
    tracked_sum, tracked_n, unknown = 0, 0, False
    for rid in gone["ids"]:
        values = purged.tracked.pop(int(rid), None)
        if values is ERASED:
            tracked_n += 1
            unknown = True
        elif values is not None:
            tracked_sum += row_hash(name, int(rid), values)
            tracked_n += 1
    sealed_n = int(gone["rows"]) - tracked_n
    purged.sealed.rows -= sealed_n
    if sealed_n and unknown:
        purged.sealed.known = False  # the sealed rows' share of the sum cannot be told apart
    elif sealed_n:
        purged.sealed.sum = (purged.sealed.sum - (int(gone["sum"], 16) - tracked_sum)) % _MOD


def _apply(e: Entry, state: dict[str, _Expected], blocs: dict[int, tuple[int, str]]) -> None:
    body = json.loads(e.body)
    if e.op in GENESIS_OPS:
        for name, exp in state.items():
            seal = body.get(name, {"rows": 0, "max_id": 0, "sum": "0"})
            exp.tracked = {}
            exp.sealed = _Sealed(int(seal["max_id"]), int(seal["rows"]), int(seal["sum"], 16))
        blocs.clear()
        for at, (n, digest) in body.get(BLOCTEL, {}).items():
            blocs[int(at)] = (int(n), str(digest))
        return
    if e.op == "import":
        blocs[int(body["checked_at"])] = (int(body["rows"]), str(body["digest"]))
        return
    if e.op in ERASING_OPS:
        if e.op == "expire" and e.v != FORMAT:
            raise ValueError("an expiry is a format 3 entry")
        for name, gone in body["removed"].items():
            purged = state.get(name)
            if purged is not None:
                _remove(purged, name, gone, e.v)
        return
    target = state.get(e.table)
    if target is None or e.row_id is None:
        return
    rid = e.row_id
    if e.v == LEGACY:
        if e.op == "insert":
            target.tracked[rid] = body
            return
        before = body["before"]
        after = body["after"] if e.op == "update" else None
    else:
        if e.op == "insert":
            target.tracked[rid] = _from_array(e.table, body)
            return
        if e.op == "update":
            if not isinstance(body, list) or len(body) != 2:
                raise ValueError("an update's body is [before, after]")
            before, after = _from_array(e.table, body[0]), _from_array(e.table, body[1])
        else:
            before, after = _from_array(e.table, body), None
    if rid not in target.tracked and rid <= target.sealed.max_id:
        # A row sealed at the genesis: it leaves the seal and is tracked from now on.
        target.sealed.sum = (target.sealed.sum - row_hash(e.table, rid, before)) % _MOD
        target.sealed.rows -= 1
    if e.op == "update":
        if not isinstance(after, dict):
            raise ValueError("an update names the row's values after it")
        target.tracked[rid] = after
    elif e.op == "delete":
        target.tracked.pop(rid, None)


def _compare(
    report: VerifyReport,
    state: dict[str, _Expected],
    blocs: dict[int, tuple[int, str]],
    rows: Rows,
    bloctel: BloctelRows,
) -> None:
    for table in JOURNALED:
        if table.name == BLOCTEL:
            actual_blocs = dict(_bloctel_groups(bloctel()))
            for at in sorted(set(blocs) | set(actual_blocs)):
                want, got = blocs.get(at), actual_blocs.get(at)
                if got is None and want is not None and want[0] == 0:
                    got = bloctel_digest(())  # an import of no rows leaves none
                if want == got:
                    continue
                if want is None:
                    kind, detail = "inserted", f"a Bloctel check at {at} was not imported by callguard"
                elif got is None:
                    kind, detail = "removed", f"the Bloctel import at {at} ({want[0]} rows) is gone"
                else:
                    kind = "changed"
                    detail = (
                        f"the Bloctel import at {at} holds {got[0]} rows whose digest differs "
                        f"from the {want[0]} rows journaled"
                    )
                report.problems.append(Problem(kind, BLOCTEL, None, detail))
            continue
        exp = state[table.name]
        seen: set[int] = set()
        sealed_n, sealed_sum = 0, 0
        found: list[Problem] = []
        for row in rows(table):
            rid = int(row[0])
            values = row_values(table, row)
            seen.add(rid)
            kept = exp.tracked.get(rid)
            if kept is ERASED:
                found.append(Problem(
                    "changed", table.name, rid,
                    "its journal entries were erased by a purge, yet the row is still there: "
                    f"{canonical(values)}",
                ))
            elif kept is not None:
                if kept != values:
                    found.append(Problem("changed", table.name, rid, _diff(kept, values)))
            elif rid <= exp.sealed.max_id:
                sealed_n += 1
                sealed_sum = (sealed_sum + row_hash(table.name, rid, values)) % _MOD
            else:
                found.append(Problem(
                    "inserted", table.name, rid, f"written outside callguard: {canonical(values)}"
                ))
        for rid, gone in exp.tracked.items():
            if rid not in seen:
                was = "values erased by a purge" if gone is ERASED else canonical(gone)
                found.append(Problem("removed", table.name, rid, f"removed: was {was}"))
        if not exp.sealed.known:
            sealed_sum = exp.sealed.sum % _MOD  # checked by count only (see the module's doc)
        if (sealed_n, sealed_sum) != (exp.sealed.rows, exp.sealed.sum % _MOD):
            found.append(Problem(
                "changed" if sealed_n == exp.sealed.rows else "removed",
                table.name,
                None,
                f"the rows sealed when the journal began (ids up to {exp.sealed.max_id}) were "
                f"changed or removed: {sealed_n} rows now, {exp.sealed.rows} sealed",
            ))
        found.sort(key=lambda p: -1 if p.row_id is None else p.row_id)
        report.problems.extend(found)


# -- writing --------------------------------------------------------------------------------------

TABLES: dict[str, Table] = {t.name: t for t in SCHEMA}

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


def _cols(table: Table) -> str:
    return ", ".join(f'"{c}"' for c in table.column_names)


@lru_cache(maxsize=256)
def _insert_sql(table: str, names: tuple[str, ...]) -> str:
    """The ``INSERT`` of ``names`` into ``table`` (names from callguard's own calls, checked
    against the schema), built once per set of names."""
    known = set(TABLES[table].column_names)
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"{table} has no column {', '.join(map(repr, bad))}")
    cols = ", ".join(f'"{k}"' for k in names)
    marks = ", ".join("?" for _ in names)
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING id"  # noqa: S608


_FIELDS: dict[str, tuple[str, ...]] = {t.name: _fields(t) for t in SCHEMA}
_OWNER: dict[str, int | None] = {
    name: (None if name == "professionals" or "professional" not in f else f.index("professional"))
    for name, f in _FIELDS.items()
}
"""Where a table's professional sits among its journaled values (None: the shared chain)."""

HEAD_SQL = "SELECT seq, hash FROM journal WHERE chain = ? ORDER BY seq DESC LIMIT 1"
_NO_BOUND = 1 << 62
"""A removed row's entries are erased whatever their seq."""


def _last_seal(run: Run) -> int:
    """The id of the last genesis or seal entry (0 when none): rows no entry names since then
    are sealed in it."""
    row = run(
        "SELECT max(id) FROM journal WHERE chain = 'shared' AND op IN ('genesis', 'seal')", ()
    ).fetchone()
    return 0 if row is None or row[0] is None else int(row[0])
_APPEND_SQL = (
    "INSERT INTO journal (chain, seq, at, tbl, op, row_id, body, prev, hash, v, salt) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, 3, ?)"
)
_APPEND_V2_SQL = (
    "INSERT INTO journal (chain, seq, at, tbl, op, row_id, body, prev, hash, v) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, 2)"
)
_APPEND_LEGACY_SQL = (
    "INSERT INTO journal (chain, seq, at, tbl, op, row_id, body, prev, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def append(
    run: Run,
    chain: str,
    at: int,
    table: str,
    op: str,
    row_id: int | None,
    body: str,
    v: int = FORMAT,
    raw: bool = False,
) -> None:
    """Append one entry to ``chain`` (whose lock the caller holds) after its current head.

    The head is read here, inside the caller's write transaction, every time: a head kept in
    memory would be stale as soon as another process appended to the chain (reading it is one
    indexed lookup, about as cheap as asking SQLite whether another process wrote). ``raw``
    stores a format 2 entry's hash as its 32 bytes rather than 64 hex digits (SQLite's untyped
    column takes either; the value read back is the same, see :func:`_hex`)."""
    last = run(HEAD_SQL, (chain,)).fetchone()
    append_after(run, last, chain, at, table, op, row_id, body, v, raw)


def append_after(
    run: Run,
    last: Sequence[Any] | None,
    chain: str,
    at: int,
    table: str,
    op: str,
    row_id: int | None,
    body: str,
    v: int = FORMAT,
    raw: bool = False,
) -> None:
    """:func:`append` once the chain's head ``last`` (its ``seq, hash`` row, None for a new
    chain) was read in this transaction, under the chain's lock (``HEAD_SQL``)."""
    seq, prev = (int(last[0]) + 1, _hex(last[1])) if last else (1, "")
    if v == LEGACY:
        digest = entry_hash(chain, seq, at, table, op, row_id, body, prev)
        run(_APPEND_LEGACY_SQL, (chain, seq, at, table, op, row_id, body, prev, digest))
        return
    if not _plain(chain, table, op):
        raise ValueError(
            f"a journal chain, table or op may not hold a line break: {chain!r} {table!r} {op!r}"
        )
    if v == FORMAT_2:
        h = hashlib.sha256(entry_text(chain, seq, at, table, op, row_id, body, prev).encode())
        run(_APPEND_V2_SQL, (chain, seq, at, table, op, row_id, body,
                             h.digest() if raw else h.hexdigest()))  # fmt: skip
        return
    pool = _SALTS  # new_salt(), inlined: this is every write's path
    pos = pool.pos
    if pos >= len(pool.buf):
        pool.buf, pos = os.urandom(4096), 0
    pool.pos = pos + 16
    salt = pool.buf[pos : pos + 16]
    digest = hashlib.sha256(salt + body.encode()).hexdigest()
    # entry_text_v3(), inlined (the checks of _plain() above stand for its own)
    rid = "" if row_id is None else int(row_id)
    text = f"3\n{chain}\n{int(seq)}\n{int(at)}\n{table}\n{op}\n{rid}\n{prev}\n{digest}"
    h = hashlib.sha256(text.encode())
    if raw:
        run(_APPEND_SQL, (chain, seq, at, table, op, row_id, body, h.digest(), salt))
    else:
        run(_APPEND_SQL, (chain, seq, at, table, op, row_id, body, h.hexdigest(), salt.hex()))


def _hex(stored: object) -> str:
    """A stored hash as hex: its 32 bytes, or its hex text as written before (or by PostgreSQL)."""
    return stored.hex() if isinstance(stored, bytes) else str(stored)


def table_rows(run: Run, table: Table) -> Iterator[tuple[Any, ...]]:
    """Every row of ``table`` in declared column order. A column a later schema step adds is
    read as NULL while it does not exist yet (the genesis seal of step ``m005_journal`` runs
    before ``m009_attempt_voids``): NULLs are left out of a row's hash, so it is the same."""
    probe = run(f"SELECT * FROM {table.name} WHERE 1 = 0", ())  # noqa: S608
    present = {str(d[0]) for d in probe.description}
    probe.fetchall()
    if table.name == ANSWERS and "id" not in present:
        # A ledger read before step m008 (read-only) keeps its stored answers outside the
        # journal, in a table without ids: nothing to check there.
        return
    cols = ", ".join(f'"{c}"' if c in present else "NULL" for c in table.column_names)
    cur = run(f"SELECT {cols} FROM {table.name} ORDER BY id", ())  # noqa: S608
    yield from cur


def bloctel_rows(run: Run) -> Iterator[tuple[int, int, int]]:
    cur = run("SELECT checked_at, number, listed FROM bloctel_checks ORDER BY checked_at, number", ())
    for at, number, listed in cur:
        yield int(at), int(number), int(listed)


def seal(run: Run, at: int, op: str = "genesis", v: int = FORMAT) -> None:
    """Seal every journaled table as it is now: the genesis of a ledger made before the journal
    (its schema step ``m005_journal``, which writes format 1: the ``v`` column comes later), or
    the seal after a ledger copy."""
    # The genesis of step m005 seals the tables as they were then: a table a later step creates
    # (the journaled idempotent answers, m008) is not there yet, and starts empty in its seal.
    tables = [t for t in JOURNALED if v != LEGACY or t.step <= "m005_journal"]
    body = seal_body(lambda t: table_rows(run, t), lambda: bloctel_rows(run), tables)
    append(run, "shared", at, "*", op, None, body, v)


def journal_copied_answers(run: Run, at: int, raw: bool = False) -> None:
    """Schema step ``m008_journal_erasable``: journal the stored answers it copied into the
    rebuilt table (they were kept outside the journal before), each on its professional's
    chain, so that ``verify`` checks them and their expiry erases them like any other."""
    t = TABLES[ANSWERS]
    for row in list(table_rows(run, t)):
        values = row_values(t, row)
        body = encode_values(values_array(t, values))
        append(run, chain_of(ANSWERS, values), at, ANSWERS, "insert", int(row[0]), body, FORMAT, raw)


def read_entries(run: Run) -> Iterator[Entry]:
    """Every entry in id order; a journal read before schema step ``m006_journal_v2`` (a
    read-only ledger) has no ``v`` column and only format 1 entries, one read before
    ``m008_journal_erasable`` no ``salt`` and ``digest``."""
    probe = run("SELECT * FROM journal WHERE 1 = 0", ())
    names = {str(d[0]) for d in probe.description}
    probe.fetchall()
    v = "v" if "v" in names else "NULL"
    salt = "salt, digest" if "salt" in names else "NULL, NULL"
    cur = run(
        f"SELECT id, chain, seq, at, tbl, op, row_id, body, prev, hash, {v}, {salt} "  # noqa: S608
        "FROM journal ORDER BY id",
        (),
    )
    for r in cur:
        yield Entry(
            int(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]), str(r[5]),
            None if r[6] is None else int(r[6]), str(r[7]), str(r[8]), _hex(r[9]),
            LEGACY if r[10] is None else int(r[10]),
            None if r[11] is None else _hex(r[11]), None if r[12] is None else _hex(r[12]),
        )


def verify_with(run: Run) -> VerifyReport:
    """:func:`verify` over a ledger read through ``run`` (one read snapshot, the caller's)."""
    return verify(read_entries(run), lambda t: table_rows(run, t), lambda: bloctel_rows(run))


class JournaledWrites:
    """The one way a backend writes a fact: the statement and its journal entry, in one
    transaction. A backend provides :meth:`_run` (in its current write transaction),
    :meth:`_lock_chain` and :meth:`_now`."""

    _raw_hash = False
    """Whether the backend stores an entry's hash as bytes (SQLite) rather than hex text."""

    def _run(self, query: str, params: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _lock_chain(self, chain: str) -> None:
        """Serialise appends to ``chain`` until the transaction ends (SQLite's write lock
        already does)."""

    def _now(self) -> int:
        raise NotImplementedError

    def journal(
        self, chain: str, table: str, op: str, row_id: int | None, body: Mapping[str, Any]
    ) -> None:
        """Append an entry to ``chain``; call inside ``write()``, after the write it records."""
        self._append(chain, table, op, row_id, canonical(body))

    def _append(self, chain: str, table: str, op: str, row_id: int | None, body: str) -> None:
        """Append an entry whose body is already canonical text (encoded once, here or by the
        caller: the hash covers that very text)."""
        self._lock_chain(chain)
        append(self._run, chain, self._now(), table, op, row_id, body, FORMAT, self._raw_hash)

    def insert_row(self, table: str, values: Mapping[str, Any]) -> int:
        """``INSERT`` one row of ``table`` and journal it; returns its id."""
        t = TABLES[table]
        names = tuple(k for k in values if k != "id")
        cur = self._run(_insert_sql(t.name, names), tuple(values[k] for k in names))
        row_id = int(cur.fetchone()[0])
        if t.journaled:
            body = encode_values(values_array(t, values))
            self._append(chain_of(table, values), table, "insert", row_id, body)
        return row_id

    def insert_values(self, table: str, row: Sequence[Any]) -> int:
        """:meth:`insert_row` for a row given as every column's value in declared order, id
        left out (``storage.base.SCHEMA``): no mapping to build or reorder, one prepared
        statement per table (the hot path of ``attempt()``). Returns the row's id."""
        names = _FIELDS[table]
        if len(row) != len(names):
            raise ValueError(f"{table} takes {len(names)} values ({', '.join(names)}), not {row!r}")
        cur = self._run(_insert_sql(table, names), tuple(row))
        row_id = int(cur.fetchone()[0])
        if TABLES[table].journaled:
            owner = _OWNER[table]
            p = None if owner is None else row[owner]
            chain = "shared" if p is None else f"p{int(p)}"
            self._append(chain, table, "insert", row_id, encode_values(row))
        return row_id

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
        """Record one attempt (call inside ``write()``); returns its id. The values are in the
        declared column order of ``attempts`` (``ATTEMPT_FIELDS``, checked at import)."""
        return self.insert_values(
            "attempts",
            # Never voided when recorded (trailing NULLs: the entry is the one before m009).
            (professional, number, at, caller_id, outcome, campaign, purpose, recorded_at,
             None, None),
        )

    def _row(self, t: Table, row_id: int) -> dict[str, Any] | None:
        cur = self._run(f"SELECT {_cols(t)} FROM {t.name} WHERE id = ?", (row_id,))  # noqa: S608
        row = cur.fetchone()
        return None if row is None else row_values(t, row)

    def update_row(self, table: str, row_id: int, changes: Mapping[str, Any]) -> None:
        """``UPDATE`` one row of ``table`` and journal its values before and after."""
        t = TABLES[table]
        before = self._row(t, row_id)
        if before is None:
            return
        sets = ", ".join(f'"{k}" = ?' for k in changes)
        self._run(
            f"UPDATE {t.name} SET {sets} WHERE id = ?",  # noqa: S608
            (*changes.values(), row_id),
        )
        after = {**before, **changes}
        body = f"[{encode_values(values_array(t, before))},{encode_values(values_array(t, after))}]"
        self._append(chain_of(table, before), table, "update", row_id, body)

    # -- the facts' writes, the same on every backend -------------------------------------------

    def set_outcome(self, attempt_id: int, outcome: str) -> None:
        self.update_row("attempts", attempt_id, {"outcome": outcome})

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None:
        self.insert_row(
            "refusals",
            {"professional": professional, "number": number, "at": at, "attempt_id": attempt_id},
        )


    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None:
        self.insert_row(
            "optouts",
            {
                "professional": professional,
                "number": number,
                "at": at,
                "expires_at": expires_at,
                "source": source,
            },
        )

    def remove_optouts(self, professional: int, number: int, at: int) -> int:
        ids = self.ids_where(
            "optouts",
            "professional = ? AND number = ? AND removed_at IS NULL AND at <= ?",
            (professional, number, at),
        )
        for rid in ids:
            self.update_row("optouts", rid, {"removed_at": at})
        return len(ids)

    def insert_consent(
        self,
        professional: int,
        number: int,
        at: int,
        expires_at: int | None,
        proof: str,
        evidence: ConsentEvidence = NO_EVIDENCE,
    ) -> None:
        self.insert_row(
            "consents",
            {
                "professional": professional,
                "number": number,
                "at": at,
                "expires_at": expires_at,
                "proof": proof,
                **evidence._asdict(),
            },
        )

    def insert_withdrawal(self, professional: int, number: int, at: int) -> None:
        self.insert_row(
            "consent_withdrawals", {"professional": professional, "number": number, "at": at}
        )

    def insert_slot(self, professional: int, number: int, start: int, end: int, proof: str) -> None:
        self.insert_row(
            "slot_consents",
            {"professional": professional, "number": number, "start": start, "end": end,
             "proof": proof},
        )

    def insert_contract(
        self, professional: int, number: int, start: int, end: int | None, subject: str | None
    ) -> None:
        self.insert_row(
            "contracts",
            {"professional": professional, "number": number, "start": start, "end": end,
             "subject": subject},
        )

    def purge(
        self, professional: int, before: int, consents_before: int, now: int, by: str | None = None
    ) -> dict[str, int]:
        """Delete the professional's records that ended before ``before``, erase what the
        journal held of them; log and count them.

        Call inside :meth:`write`. Table names come from ``PURGE``, never from input.
        """
        cuts = {"before": before, "consents_before": consents_before}
        removed = self.purge_rows(
            professional,
            ((p.table, p.condition("?"), cuts[p.cut]) for p in PURGE),
            {"before": before, "consents_before": consents_before},
        )
        self.insert_row(
            "purge_log",
            {"professional": professional, "at": now, "before": before,
             "removed": _purge_record(removed, consents_before, by)},
        )
        return removed

    def insert_outcome(
        self, professional: int, attempt_id: int, outcome: str, at: int, recorded_at: int
    ) -> None:
        """One more outcome in an attempt's history (``attempts.outcome`` keeps the latest)."""
        self.insert_row(
            "attempt_outcomes",
            {
                "professional": professional,
                "attempt_id": attempt_id,
                "outcome": outcome,
                "at": at,
                "recorded_at": recorded_at,
            },
        )

    def lift(
        self,
        kind: str,
        professional: int,
        number: int,
        at: int,
        reason: str,
        by: str | None,
        recorded_at: int,
    ) -> int:
        """Lift the refusals (``kind="refusal"``) or objections (``"objection"``) of ``number``
        recorded at or before ``at``; the rows stay, marked, and the act is logged in ``lifts``."""
        if kind == "refusal":
            ids = self.ids_where(
                "refusals",
                "professional = ? AND number = ? AND lifted_at IS NULL AND at <= ?",
                (professional, number, at),
            )
            changes: dict[str, Any] = {"lifted_at": at, "lift_reason": reason, "lifted_by": by}
            table = "refusals"
        else:
            ids = self.ids_where(
                "optouts",
                "professional = ? AND number = ? AND source = 'objection' "
                "AND removed_at IS NULL AND at <= ?",
                (professional, number, at),
            )
            changes, table = {"removed_at": at}, "optouts"
        for row_id in ids:
            self.update_row(table, row_id, changes)
        self.insert_row(
            "lifts",
            {
                "professional": professional,
                "number": number,
                "kind": kind,
                "at": at,
                "reason": reason,
                "by": by,
                "lifted": len(ids),
                "recorded_at": recorded_at,
            },
        )
        return len(ids)

    def delete_row(self, table: str, row_id: int) -> None:
        """``DELETE`` one row of ``table`` and journal what it held."""
        t = TABLES[table]
        before = self._row(t, row_id)
        if before is None:
            return
        self._run(f"DELETE FROM {t.name} WHERE id = ?", (row_id,))  # noqa: S608
        body = encode_values(values_array(t, before))
        self._append(chain_of(table, before), table, "delete", row_id, body)

    def ids_where(self, table: str, condition: str, params: tuple[Any, ...]) -> list[int]:
        cur = self._run(f"SELECT id FROM {table} WHERE {condition} ORDER BY id", params)  # noqa: S608
        return [int(r[0]) for r in cur.fetchall()]

    def purge_rows(
        self, professional: int, conditions: Iterable[tuple[str, str, int]], extra: Mapping[str, Any]
    ) -> dict[str, int]:
        """Delete the professional's rows matching each ``(table, condition, cut)`` (a condition
        with ``?`` for the cut), erase the bodies of their journal entries, and journal one
        ``purge`` entry naming what went and what was erased.

        The entries erased are those of the rows removed now, and those of rows an earlier
        purge removed before entries could be erased (formats 1 and 2): a purge leaves no
        journal body about a purged row."""
        chain = f"p{professional}"
        self._lock_chain(chain)
        selected: dict[str, dict[int, dict[str, Any]]] = {}
        for table, condition, cut in conditions:
            t = TABLES[table]
            cur = self._run(
                f"SELECT {_cols(t)} FROM {table} WHERE professional = ? AND {condition} "  # noqa: S608
                "ORDER BY id",
                (professional, *([cut] * condition.count("?"))),
            )
            selected[table] = {int(r[0]): row_values(t, r) for r in cur.fetchall()}
        for table, chosen in selected.items():
            ids = list(chosen)
            for start in range(0, len(ids), 500):
                chunk = tuple(ids[start : start + 500])
                self._run(
                    f"DELETE FROM {table} WHERE id IN ({', '.join('?' for _ in chunk)})",  # noqa: S608
                    chunk,
                )
        bounds: dict[tuple[str, int], int] = {
            (table, rid): _NO_BOUND for table, chosen in selected.items() for rid in chosen
        }
        for table, rid, seq in self._purged_before(chain):
            bounds.setdefault((table, rid), seq)
        # Read as it comes (SQLite steps the cursor; a chain may hold millions of entries): only
        # the entries to erase and the removed rows they name are kept.
        entries = self._run(
            "SELECT id, seq, v, tbl, row_id, CASE WHEN body = '' THEN 1 ELSE 0 END FROM journal "
            "WHERE chain = ? AND row_id IS NOT NULL ORDER BY id",
            (chain,),
        )
        self._journal_removal(chain, "purge", selected, bounds, entries, extra)
        return {table: len(chosen) for table, chosen in selected.items()}

    def _purged_before(self, chain: str) -> Iterator[tuple[str, int, int]]:
        """(table, row id, seq of the purge) of every row a purge written before entries could
        be erased (format 1 or 2) removed from ``chain``'s rows."""
        cur = self._run(
            "SELECT seq, body FROM journal WHERE chain = ? AND op = 'purge' "
            "AND (v IS NULL OR v <> 3) ORDER BY seq",
            (chain,),
        )
        for seq, body in cur.fetchall():
            for table, gone in json.loads(body)["removed"].items():
                for rid in gone["ids"]:
                    yield str(table), int(rid), int(seq)

    def _journal_removal(
        self,
        chain: str,
        op: str,
        selected: Mapping[str, Mapping[int, Mapping[str, Any]]],
        bounds: Mapping[tuple[str, int], int],
        entries: Iterable[Sequence[Any]],
        extra: Mapping[str, Any],
    ) -> None:
        """Erase the bodies of ``entries`` (rows ``id, seq, v, tbl, row_id, erased`` of
        ``chain``) that are about a removed row — ``(tbl, row_id)`` in ``bounds``, ``seq`` before
        its bound — and append the ``op`` entry naming the rows ``selected`` removed and the
        entries erased. A removed row that no entry names since the last genesis or seal was
        sealed there: its hash goes in the entry's ``sum`` (``verify`` takes it off the seal)."""
        since = _last_seal(self._run)
        touched: set[tuple[str, int]] = set()
        erase: list[tuple[int, int, int]] = []
        for jid, seq, v, table, rid, erased in entries:
            key = (str(table), int(rid))
            bound = bounds.get(key)
            if bound is None:
                continue
            if int(jid) > since and key[0] in selected and key[1] in selected[key[0]]:
                touched.add(key)
            if not erased and int(seq) < bound:
                erase.append((int(jid), int(seq), LEGACY if v is None else int(v)))
        self._erase(erase)
        removed: dict[str, dict[str, Any]] = {}
        for table, chosen in selected.items():
            sealed, total = 0, 0
            for rid, values in chosen.items():
                if (table, rid) not in touched:
                    sealed += 1
                    total = (total + row_hash(table, rid, values)) % _MOD
            removed[table] = {
                "rows": len(chosen), "ids": list(chosen), "sealed": sealed, "sum": f"{total:064x}"
            }
        body = {**extra, "removed": removed, "erased": sorted(seq for _, seq, _ in erase)}
        self.journal(chain, "*" if op == "purge" else ANSWERS, op, None, body)

    def _erase(self, entries: Sequence[tuple[int, int, int]]) -> None:
        """Erase the body (and the salt) of each ``(id, seq, format)`` entry; a format 3 entry
        keeps its body's digest, which its hash covers."""
        legacy = [jid for jid, _, v in entries if v != FORMAT]
        for start in range(0, len(legacy), 500):
            chunk = tuple(legacy[start : start + 500])
            self._run(
                f"UPDATE journal SET body = '' WHERE id IN ({', '.join('?' for _ in chunk)})",  # noqa: S608
                chunk,
            )
        current = [jid for jid, _, v in entries if v == FORMAT]
        for start in range(0, len(current), 500):
            chunk = tuple(current[start : start + 500])
            rows = self._run(
                f"SELECT id, body, salt FROM journal WHERE id IN ({', '.join('?' for _ in chunk)})",  # noqa: S608
                chunk,
            ).fetchall()
            for jid, body, salt in rows:
                raw = bytes(salt) if isinstance(salt, (bytes, memoryview)) else bytes.fromhex(salt)
                digest = hashlib.sha256(raw + str(body).encode())
                self._run(
                    "UPDATE journal SET body = '', salt = NULL, digest = ? WHERE id = ?",
                    (digest.digest() if self._raw_hash else digest.hexdigest(), int(jid)),
                )

    # -- the stored idempotent answers of the pre-dial service ----------------------------------

    def store_answer(
        self,
        professional: int,
        api_key: int,
        key: str,
        request: str,
        status: int,
        response: str,
        created_at: int,
    ) -> int:
        """Keep the answer to an Idempotency-Key (call inside :meth:`write`), journaled on the
        professional's chain; a second answer for the same (api_key, key) is a
        ``LedgerConflictError``."""
        return self.insert_values(
            ANSWERS, (api_key, key, request, status, response, created_at, professional)
        )

    def expire_answers(self, before: int, limit: int = 1000, batch: int = 3_600_000_000) -> int:
        """Delete the stored answers created before ``before`` (at most ``limit`` a call, the
        oldest first: a call on the hot path stays short), erase their journal entries (an
        answer holds the number) and journal one ``expire`` entry per chain. Returns how many
        went.

        Nothing is done until the oldest answer is ``batch`` µs (an hour) past ``before``: the
        answers then go by the hour's worth in one entry, not one expiry per request (answers
        are kept at least until ``before``, at most ``batch`` longer)."""
        due = self._run(
            "SELECT 1 FROM idempotency WHERE created_at < ? LIMIT 1", (before - batch,)
        ).fetchone()
        if due is None:
            return 0
        t = TABLES[ANSWERS]
        found = self._run(
            "SELECT id, professional FROM idempotency WHERE created_at < ? ORDER BY created_at "
            "LIMIT ?",
            (before, int(limit)),
        ).fetchall()
        if not found:
            return 0
        chains: dict[str, list[int]] = {}
        for rid, professional in found:
            chains.setdefault(chain_of(ANSWERS, {"professional": professional}), []).append(int(rid))
        count = 0
        for chain, ids in sorted(chains.items()):
            self._lock_chain(chain)
            marks = ", ".join("?" for _ in ids)
            # Deleted under the chain's lock, and only what is still there: a concurrent expiry
            # that took them first leaves nothing to journal twice.
            rows = self._run(
                f"DELETE FROM idempotency WHERE id IN ({marks}) RETURNING {_cols(t)}",  # noqa: S608
                tuple(ids),
            ).fetchall()
            if not rows:
                continue
            gone = {int(r[0]): row_values(t, r) for r in sorted(rows, key=lambda r: int(r[0]))}
            marks = ", ".join("?" for _ in gone)
            entries = self._run(
                "SELECT id, seq, v, tbl, row_id, CASE WHEN body = '' THEN 1 ELSE 0 END "  # noqa: S608
                f"FROM journal WHERE tbl = 'idempotency' AND row_id IN ({marks}) AND chain = ? "
                "ORDER BY id",
                (*gone, chain),
            ).fetchall()
            bounds = {(ANSWERS, rid): _NO_BOUND for rid in gone}
            self._journal_removal(
                chain, "expire", {ANSWERS: gone}, bounds, entries, {"before": before}
            )
            count += len(gone)
        return count

    def journal_bloctel(
        self, checked_at: int, listed: int, clean: int, *, digest: tuple[int, str] | None = None
    ) -> None:
        """Journal one Bloctel import: its counts and the digest of every row of its instant.

        ``digest`` is that digest when the caller already has it (every row of the instant was
        just written from one sorted array); otherwise the rows are read back to digest them.
        """
        if digest is None:
            cur = self._run(
                "SELECT number, listed FROM bloctel_checks WHERE checked_at = ? ORDER BY number",
                (checked_at,),
            )
            digest = bloctel_digest((int(n), int(x)) for n, x in cur)
        rows, text = digest
        self.journal(
            "shared",
            BLOCTEL,
            "import",
            None,
            {
                "checked_at": checked_at,
                "listed": listed,
                "clean": clean,
                "rows": rows,
                "digest": text,
            },
        )
