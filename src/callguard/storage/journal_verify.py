"""The journal's verification: :func:`verify` checks each chain (numbering, links, hashes),
replays the entries into the expected content of every journaled table and compares it with the
rows; the first fact changed, removed or inserted outside callguard is a :class:`Problem` named
with its table, row id and the columns that differ. The format (``storage.journal_format``)
says what an entry holds; this module only reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._i18n import Joined, Message, _
from .base import Table
from .journal_format import (
    _MOD,
    ANSWERS,
    BLOCTEL,
    ERASING_OPS,
    FORMAT,
    GENESIS_OPS,
    JOURNALED,
    LEGACY,
    BloctelRows,
    Entry,
    Rows,
    Run,
    _bloctel_groups,
    _from_array,
    _hex,
    bloctel_digest,
    canonical,
    row_hash,
    row_values,
)
from .verdict import Problem, VerifyReport


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


def _diff(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> Message:
    cols = sorted(set(expected) | set(actual))
    parts: list[Message | str] = [
        _(
            "{column} is {value}, journal says {journaled}",
            column=c,
            value=repr(actual.get(c)),
            journaled=repr(expected.get(c)),
        )
        for c in cols
        if expected.get(c) != actual.get(c)
    ]
    return Joined(parts)


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
            report.problems.append(
                Problem.of(
                    "journal",
                    "journal",
                    e.id,
                    _(
                        "entry {seq} of chain {chain} follows entry {previous}: entries were "
                        "removed",
                        seq=e.seq,
                        chain=e.chain,
                        previous=seq,
                    ),
                )
            )
            return report
        if e.v == LEGACY and e.prev != prev:
            report.problems.append(
                Problem.of(
                    "journal",
                    "journal",
                    e.id,
                    _(
                        "entry {seq} of chain {chain} does not follow the previous entry's hash",
                        seq=e.seq,
                        chain=e.chain,
                    ),
                )
            )
            return report
        if e.computed_hash(prev) != e.hash:
            report.problems.append(
                Problem.of(
                    "journal",
                    "journal",
                    e.id,
                    _(
                        "entry {seq} of chain {chain} ({op} {table}) was altered: its hash does "
                        "not match its content",
                        seq=e.seq,
                        chain=e.chain,
                        op=e.op,
                        table=e.table,
                    ),
                )
            )
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
            report.problems.append(
                Problem.of(
                    "journal",
                    "journal",
                    e.id,
                    _(
                        "entry {seq} of chain {chain} ({op} {table}) cannot be read: {error}",
                        seq=e.seq,
                        chain=e.chain,
                        op=e.op,
                        table=e.table,
                        error=exc,
                    ),
                )
            )
            return report
    if unnamed:
        e = min(unnamed.values(), key=lambda x: x.id)
        report.problems.append(
            Problem.of(
                "journal",
                "journal",
                e.id,
                _(
                    "entry {seq} of chain {chain} ({op} {table} row {row}) was erased, but no "
                    "purge names it: its body was removed outside callguard",
                    seq=e.seq,
                    chain=e.chain,
                    op=e.op,
                    table=e.table,
                    row=e.row_id,
                ),
            )
        )
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
    """Replay entry ``e`` into the expected content of the tables (``state``) and of the
    Bloctel imports (``blocs``)."""
    body = json.loads(e.body)
    if e.op in GENESIS_OPS:
        _apply_seal(body, state, blocs)
    elif e.op == "import":
        blocs[int(body["checked_at"])] = (int(body["rows"]), str(body["digest"]))
    elif e.op in ERASING_OPS:
        if e.op == "expire" and e.v != FORMAT:
            raise ValueError("an expiry is a format 3 entry")
        for name, gone in body["removed"].items():
            purged = state.get(name)
            if purged is not None:
                _remove(purged, name, gone, e.v)
    else:
        target = state.get(e.table)
        if target is not None and e.row_id is not None:
            _apply_row(e, e.row_id, body, target)


def _apply_seal(
    body: dict[str, Any], state: dict[str, _Expected], blocs: dict[int, tuple[int, str]]
) -> None:
    """A genesis or a seal: every table's rows are sealed as they are, nothing is tracked."""
    for name, exp in state.items():
        seal = body.get(name, {"rows": 0, "max_id": 0, "sum": "0"})
        exp.tracked = {}
        exp.sealed = _Sealed(int(seal["max_id"]), int(seal["rows"]), int(seal["sum"], 16))
    blocs.clear()
    for at, (n, digest) in body.get(BLOCTEL, {}).items():
        blocs[int(at)] = (int(n), str(digest))


def _before_after(e: Entry, body: Any) -> tuple[Any, Any]:
    """An update's or a delete's row before it and after it (None after a delete)."""
    if e.v == LEGACY:
        return body["before"], body["after"] if e.op == "update" else None
    if e.op == "update":
        if not isinstance(body, list) or len(body) != 2:
            raise ValueError("an update's body is [before, after]")
        return _from_array(e.table, body[0]), _from_array(e.table, body[1])
    return _from_array(e.table, body), None


def _apply_row(e: Entry, rid: int, body: Any, target: _Expected) -> None:
    """An insert, update or delete of row ``rid`` of ``target``'s table."""
    if e.op == "insert":
        target.tracked[rid] = body if e.v == LEGACY else _from_array(e.table, body)
        return
    before, after = _before_after(e, body)
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
    """Compare the expected content with the ledger's, table by table, in schema order."""
    for table in JOURNALED:
        if table.name == BLOCTEL:
            report.problems.extend(_compare_bloctel(blocs, dict(_bloctel_groups(bloctel()))))
        else:
            report.problems.extend(_compare_table(table, state[table.name], rows(table)))


def _compare_bloctel(
    blocs: dict[int, tuple[int, str]], actual: dict[int, tuple[int, str]]
) -> Iterator[Problem]:
    """The Bloctel imports journaled (rows, digest) against those in the table."""
    for at in sorted(set(blocs) | set(actual)):
        want, got = blocs.get(at), actual.get(at)
        if got is None and want is not None and want[0] == 0:
            got = bloctel_digest(())  # an import of no rows leaves none
        if want == got:
            continue
        if want is None:
            kind = "inserted"
            detail = _("a Bloctel check at {at} was not imported by callguard", at=at)
        elif got is None:
            kind = "removed"
            detail = _("the Bloctel import at {at} ({rows} rows) is gone", at=at, rows=want[0])
        else:
            kind = "changed"
            detail = _(
                "the Bloctel import at {at} holds {rows} rows whose digest differs from the "
                "{journaled} rows journaled",
                at=at,
                rows=got[0],
                journaled=want[0],
            )
        yield Problem.of(kind, BLOCTEL, None, detail)


def _compare_table(table: Table, exp: _Expected, rows: Iterable[tuple[Any, ...]]) -> list[Problem]:
    """One table's rows against what its entries and its seal say; problems by row id."""
    seen: set[int] = set()
    sealed_n, sealed_sum = 0, 0
    found: list[Problem] = []
    for row in rows:
        rid = int(row[0])
        values = row_values(table, row)
        seen.add(rid)
        kept = exp.tracked.get(rid)
        if kept is None and rid <= exp.sealed.max_id:
            sealed_n += 1
            sealed_sum = (sealed_sum + row_hash(table.name, rid, values)) % _MOD
        else:
            found.extend(_row_problem(table.name, rid, kept, values))
    for rid, gone in exp.tracked.items():
        if rid not in seen:
            was: Message | str = (
                _("values erased by a purge") if gone is ERASED else canonical(gone)
            )
            found.append(Problem.of("removed", table.name, rid, _("removed: was {was}", was=was)))
    if not exp.sealed.known:
        sealed_sum = exp.sealed.sum % _MOD  # checked by count only (see the module's doc)
    if (sealed_n, sealed_sum) != (exp.sealed.rows, exp.sealed.sum % _MOD):
        found.append(
            Problem.of(
                "changed" if sealed_n == exp.sealed.rows else "removed",
                table.name,
                None,
                _(
                    "the rows sealed when the journal began (ids up to {last}) were changed or "
                    "removed: {now} rows now, {sealed} sealed",
                    last=exp.sealed.max_id,
                    now=sealed_n,
                    sealed=exp.sealed.rows,
                ),
            )
        )
    found.sort(key=lambda p: -1 if p.row_id is None else p.row_id)
    return found


def _row_problem(table: str, rid: int, kept: Any, values: dict[str, Any]) -> Iterator[Problem]:
    """What is wrong with row ``rid`` (not sealed), given what its entries say (``kept``)."""
    if kept is ERASED:
        yield Problem.of(
            "changed",
            table,
            rid,
            _(
                "its journal entries were erased by a purge, yet the row is still there: {row}",
                row=canonical(values),
            ),
        )
    elif kept is None:
        yield Problem.of(
            "inserted", table, rid, _("written outside callguard: {row}", row=canonical(values))
        )
    elif kept != values:
        yield Problem.of("changed", table, rid, _diff(kept, values))


# -- reading --------------------------------------------------------------------------------------


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
    cur = run(
        "SELECT checked_at, number, listed FROM bloctel_checks ORDER BY checked_at, number", ()
    )
    for at, number, listed in cur:
        yield int(at), int(number), int(listed)


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
            int(r[0]),
            str(r[1]),
            int(r[2]),
            int(r[3]),
            str(r[4]),
            str(r[5]),
            None if r[6] is None else int(r[6]),
            str(r[7]),
            str(r[8]),
            _hex(r[9]),
            LEGACY if r[10] is None else int(r[10]),
            None if r[11] is None else _hex(r[11]),
            None if r[12] is None else _hex(r[12]),
        )


def verify_with(run: Run) -> VerifyReport:
    """:func:`verify` over a ledger read through ``run`` (one read snapshot, the caller's)."""
    return verify(read_entries(run), lambda t: table_rows(run, t), lambda: bloctel_rows(run))
