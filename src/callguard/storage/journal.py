"""The journaled writes: every write of a fact appends its journal entry in the same
transaction (:class:`JournaledWrites`, :func:`append`), and a ledger without a journal is sealed
(:func:`seal`).

The entry's format is ``storage.journal_format``'s (see there for the chains, the formats and
the ops); its verification ``storage.journal_verify``'s. The names of both are re-exported
here, where the rest of storage has always found them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from .base import NO_EVIDENCE, PURGE, ConsentEvidence, Table
from .base import purge_record as _purge_record
from .journal_format import (
    _FIELDS as _FIELDS,
)
from .journal_format import (
    _MOD as _MOD,
)
from .journal_format import (
    _OWNER as _OWNER,
)
from .journal_format import (
    _SALTS as _SALTS,
)
from .journal_format import (
    ANSWERS as ANSWERS,
)
from .journal_format import (
    ATTEMPT_FIELDS as ATTEMPT_FIELDS,
)
from .journal_format import (
    BLOCTEL as BLOCTEL,
)
from .journal_format import (
    ERASING_OPS as ERASING_OPS,
)
from .journal_format import (
    FORMAT as FORMAT,
)
from .journal_format import (
    FORMAT_2 as FORMAT_2,
)
from .journal_format import (
    GENESIS_OPS as GENESIS_OPS,
)
from .journal_format import (
    JOURNALED as JOURNALED,
)
from .journal_format import (
    LEGACY as LEGACY,
)
from .journal_format import (
    TABLES as TABLES,
)
from .journal_format import (
    BloctelRows as BloctelRows,
)
from .journal_format import (
    Entry as Entry,
)
from .journal_format import (
    Rows as Rows,
)
from .journal_format import (
    Run as Run,
)
from .journal_format import (
    _bloctel_groups as _bloctel_groups,
)
from .journal_format import (
    _fields as _fields,
)
from .journal_format import (
    _from_array as _from_array,
)
from .journal_format import (
    _hex as _hex,
)
from .journal_format import (
    _json_value as _json_value,
)
from .journal_format import (
    _plain as _plain,
)
from .journal_format import (
    _reset_salts as _reset_salts,
)
from .journal_format import (
    _Salts as _Salts,
)
from .journal_format import (
    _sha256 as _sha256,
)
from .journal_format import (
    bloctel_digest as bloctel_digest,
)
from .journal_format import (
    body_digest as body_digest,
)
from .journal_format import (
    canonical as canonical,
)
from .journal_format import (
    chain_lock_key as chain_lock_key,
)
from .journal_format import (
    chain_of as chain_of,
)
from .journal_format import (
    encode_attempt as encode_attempt,
)
from .journal_format import (
    encode_values as encode_values,
)
from .journal_format import (
    entry_hash as entry_hash,
)
from .journal_format import (
    entry_hash_v2 as entry_hash_v2,
)
from .journal_format import (
    entry_text as entry_text,
)
from .journal_format import (
    entry_text_v3 as entry_text_v3,
)
from .journal_format import (
    new_salt as new_salt,
)
from .journal_format import (
    row_hash as row_hash,
)
from .journal_format import (
    row_values as row_values,
)
from .journal_format import (
    seal_body as seal_body,
)
from .journal_format import (
    values_array as values_array,
)
from .journal_verify import (
    ERASED as ERASED,
)
from .journal_verify import (
    _apply as _apply,
)
from .journal_verify import (
    _apply_erased as _apply_erased,
)
from .journal_verify import (
    _compare as _compare,
)
from .journal_verify import (
    _diff as _diff,
)
from .journal_verify import (
    _Erased as _Erased,
)
from .journal_verify import (
    _Expected as _Expected,
)
from .journal_verify import (
    _name_erased as _name_erased,
)
from .journal_verify import (
    _remove as _remove,
)
from .journal_verify import (
    _Sealed as _Sealed,
)
from .journal_verify import (
    bloctel_rows as bloctel_rows,
)
from .journal_verify import (
    read_entries as read_entries,
)
from .journal_verify import (
    table_rows as table_rows,
)
from .journal_verify import (
    verify as verify,
)
from .journal_verify import (
    verify_with as verify_with,
)
from .verdict import Problem as Problem
from .verdict import VerifyReport as VerifyReport

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


def _cols(table: Table) -> str:
    return ", ".join(f'"{c}"' for c in table.column_names)


@lru_cache(maxsize=256)
def _insert_sql(table: str, names: tuple[str, ...], nulls: tuple[str, ...] = ()) -> str:
    """The ``INSERT`` of ``names`` into ``table`` (names from callguard's own calls, checked
    against the schema), built once per set of names. The columns in ``nulls`` are written as
    NULL rather than bound: the driver binds None through its adapters (an attribute lookup
    that fails, with its error message formatted), about a microsecond a value."""
    known = set(TABLES[table].column_names)
    bad = [n for n in (*names, *nulls) if n not in known]
    if bad:
        raise ValueError(f"{table} has no column {', '.join(map(repr, bad))}")
    cols = ", ".join(f'"{k}"' for k in names)
    marks = ", ".join("NULL" if k in nulls else "?" for k in names)
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING id"  # noqa: S608


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
    memory would be stale as soon as another process appended to the chain (the SQLite ledger
    keeps its own last one only while it proves nobody wrote since: ``SQLiteLedger._append``,
    with :func:`append_after`). ``raw``
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
) -> tuple[int, bytes | str]:
    """:func:`append` once the chain's head ``last`` (its ``seq, hash`` row, None for a new
    chain) was read in this transaction, under the chain's lock (``HEAD_SQL``). Returns the
    chain's new head as ``HEAD_SQL`` would read it back: ``(seq, hash as stored)``."""
    seq, prev = (int(last[0]) + 1, _hex(last[1])) if last else (1, "")
    if v == LEGACY:
        digest = entry_hash(chain, seq, at, table, op, row_id, body, prev)
        run(_APPEND_LEGACY_SQL, (chain, seq, at, table, op, row_id, body, prev, digest))
        return seq, digest
    if not _plain(chain, table, op):
        raise ValueError(
            f"a journal chain, table or op may not hold a line break: {chain!r} {table!r} {op!r}"
        )
    if v == FORMAT_2:
        h = hashlib.sha256(entry_text(chain, seq, at, table, op, row_id, body, prev).encode())
        stored: bytes | str = h.digest() if raw else h.hexdigest()
        run(_APPEND_V2_SQL, (chain, seq, at, table, op, row_id, body, stored))
        return seq, stored
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
        stored = h.digest()
        run(_APPEND_SQL, (chain, seq, at, table, op, row_id, body, stored, salt))
    else:
        stored = h.hexdigest()
        run(_APPEND_SQL, (chain, seq, at, table, op, row_id, body, stored, salt.hex()))
    return seq, stored


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
        append(
            run, chain_of(ANSWERS, values), at, ANSWERS, "insert", int(row[0]), body, FORMAT, raw
        )


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
            (
                professional,
                number,
                at,
                caller_id,
                outcome,
                campaign,
                purpose,
                recorded_at,
                None,
                None,
            ),
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
            {
                "professional": professional,
                "number": number,
                "start": start,
                "end": end,
                "proof": proof,
            },
        )

    def insert_contract(
        self, professional: int, number: int, start: int, end: int | None, subject: str | None
    ) -> None:
        self.insert_row(
            "contracts",
            {
                "professional": professional,
                "number": number,
                "start": start,
                "end": end,
                "subject": subject,
            },
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
            {
                "professional": professional,
                "at": now,
                "before": before,
                "removed": _purge_record(removed, consents_before, by),
            },
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
        self,
        professional: int,
        conditions: Iterable[tuple[str, str, int]],
        extra: Mapping[str, Any],
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
                "rows": len(chosen),
                "ids": list(chosen),
                "sealed": sealed,
                "sum": f"{total:064x}",
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
            chains.setdefault(chain_of(ANSWERS, {"professional": professional}), []).append(
                int(rid)
            )
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
