"""What each fact kind means in SQL, declared once and rendered for each backend and each form.

The decision reads every fact kind about one number in one statement (``UNION ALL`` of one
branch per kind: one snapshot, one round trip); a scrub reads them for many numbers at once,
each fact table joined on the numbers' keys. Both backends and both forms render their
statements from :data:`FACT_QUERIES`, as the DDL is rendered from ``storage.base.SCHEMA``: a
kind's table, the three values a :class:`~callguard._facts.Facts` receives, and the condition
beyond "this professional, this number" are written here and nowhere else.

In a condition, ``{t}`` is the fact table's alias and its dot (or nothing) and ``{n}`` the number (``:n`` for one
number, the key table's ``k.n`` for many); ``:p``, ``:n``, ``:now`` and ``:since`` are the
parameters, which each backend renders in its own style (SQLite's numbered ``?1``…, psycopg's
``%(p)s``…).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .._facts import FactKind
from .base import SCHEMA, ColumnType, counted

__all__ = [
    "FACT_QUERIES",
    "INDEXED",
    "INDEX_TABLE",
    "FactQuery",
    "index_ddl",
    "index_differences",
    "index_rows",
    "index_triggers",
    "postgres_many",
    "postgres_one",
    "sqlite_indexed_one",
    "sqlite_many",
    "sqlite_one",
]


class FactQuery(NamedTuple):
    """One fact kind's reading: ``values`` (instant, b, c; ``NULL`` for none) of the rows of
    ``table`` about the number, the professional's own when ``owned``, that are ``live`` and fall
    in the ``window`` of the question."""

    table: str
    values: tuple[str, str, str]
    live: str = ""
    """What a row must be, whatever the question, to be read: a condition on the row alone
    (``{t}`` its alias and dot), e.g. an attempt that counts, a refusal not lifted."""
    window: str = ""
    """What the question asks of a row's values: ``{a}`` and ``{b}`` are the row's instant and
    second value, ``:now`` and ``:since`` the question's."""
    condition: str = ""
    """Anything else (the Bloctel checks' "from the latest at or before now"); ``{n}`` the number."""
    owned: bool = True
    order: str = "0"
    """The order of a kind's rows for one number: a column, or 0 for insertion order. PostgreSQL
    says it; SQLite's index scans give it, and the index of facts by number keeps it."""
    by_id: bool = True
    """The rows have an id (PostgreSQL orders by it after ``order``; SQLite's bulk read names
    that order when ``id_order``)."""
    id_order: bool = False
    """SQLite's bulk read orders the rows by number and id explicitly."""


FACT_QUERIES: dict[FactKind, FactQuery] = {
    FactKind.ATTEMPT: FactQuery(
        "attempts", ("at", "NULL", "NULL"), "{counted}", "{a} >= :since", order="at"
    ),
    FactKind.REFUSAL: FactQuery(
        "refusals", ("at", "NULL", "NULL"), "{t}lifted_at IS NULL", "{a} >= :since", order="at"
    ),
    FactKind.OPTOUT: FactQuery("optouts", ("at", "expires_at", "removed_at"), id_order=True),
    FactKind.CONSENT: FactQuery("consents", ("at", "expires_at", "off_hours")),
    FactKind.WITHDRAWAL: FactQuery("consent_withdrawals", ("at", "NULL", "NULL")),
    FactKind.SLOT: FactQuery(
        "slot_consents", ("start", '"end"', "NULL"), window="{b} > :now", order='"end"'
    ),
    FactKind.CONTRACT: FactQuery("contracts", ("start", '"end"', "NULL")),
    FactKind.BLOCTEL: FactQuery(
        "bloctel_checks",
        ("checked_at", "listed", "NULL"),
        condition="{t}checked_at >= coalesce((SELECT max(l.checked_at) FROM bloctel_checks AS l "
        "WHERE l.number = {n} AND l.checked_at <= :now), 0)",
        owned=False,
        order="checked_at",
        by_id=False,
    ),
}
"""Every fact kind's reading, in :class:`~callguard._facts.FactKind` order. Each is an index
range scan on (professional, number, …) or (number, checked_at)."""

_FLAGS = {(t.name, c.name) for t in SCHEMA for c in t.columns if c.type is ColumnType.FLAG}


def _values(q: FactQuery, postgres: bool, t: str) -> list[str]:
    out = []
    for v in q.values:
        if v == "NULL":
            out.append("NULL::bigint" if postgres else "NULL")
        else:
            cast = "::bigint" if postgres and (q.table, v) in _FLAGS else ""
            out.append(f"{t}{v}{cast}")
    return out


def _live_sql(q: FactQuery, t: str) -> str:
    """``q.live`` for the row whose columns are prefixed ``t`` (its alias and a dot, or nothing)."""
    return q.live.format(t=t, counted=counted(t.rstrip(".")))


def _where(q: FactQuery, number: str, t: str) -> str:
    parts = [f"{t}professional = :p"] if q.owned else []
    parts.append(f"{t}number = {number}")
    if q.live:
        parts.append(_live_sql(q, t))
    if q.window:
        parts.append(q.window.format(a=f"{t}{q.values[0]}", b=f"{t}{q.values[1]}"))
    if q.condition:
        parts.append(q.condition.format(t=t, n=number))
    return " AND ".join(parts)


def _postgres_order(q: FactQuery, t: str) -> str:
    key = "0" if q.order == "0" else f"{t}{q.order}"
    return f"{key}, {t + 'id' if q.by_id else '0'}"


_PG_PARAM = re.compile(r"(?<!:):(p|n|now|since|ns)\b")


def _pg(sql: str) -> str:
    return _PG_PARAM.sub(r"%(\1)s", sql)


def sqlite_one(kinds: list[FactKind]) -> str:
    """SQLite's statement for one number (``:p``, ``:n``, ``:now``, ``:since``): one branch
    per kind, the rows as (kind, instant, b, c)."""
    return "\nUNION ALL ".join(
        f"SELECT {int(k)}, {', '.join(_values(q, False, ''))} FROM {q.table} "  # noqa: S608
        f"WHERE {_where(q, ':n', '')}"
        for k, q in ((k, FACT_QUERIES[k]) for k in kinds)
    )


def sqlite_many(kind: FactKind) -> str:
    """SQLite's statement for one kind over the numbers of ``temp.callguard_keys`` (the key
    table the outer loop): the rows as (number, instant, b, c), grouped by number."""
    q = FACT_QUERIES[kind]
    sql = (
        f"SELECT t.number, {', '.join(_values(q, False, 't.'))} "  # noqa: S608
        f"FROM temp.callguard_keys AS k CROSS JOIN {q.table} AS t ON {_where(q, 'k.n', 't.')}"
    )
    return sql + " ORDER BY k.n, t.id" if q.id_order else sql


def postgres_one() -> str:
    """PostgreSQL's statement for one number, every kind, in the order SQLite's index scans
    give (attempts and refusals by time, the rest in insertion order) made explicit: the rows
    as (kind, instant, b, c, order key, id)."""
    return _pg(
        "\nUNION ALL ".join(
            f"SELECT {int(k)}, {', '.join(_values(q, True, ''))}, {_postgres_order(q, '')} "  # noqa: S608
            f"FROM {q.table} WHERE {_where(q, ':n', '')}"
            for k, q in FACT_QUERIES.items()
        )
        + "\nORDER BY 1, 5, 6"
    )


def postgres_many(kinds: list[FactKind]) -> str:
    """PostgreSQL's statement for many numbers (``%(ns)s``, one int8 array) and ``kinds``: the
    rows as (kind, number, instant, b, c, order key, id), grouped by kind, then number."""
    branches = "\nUNION ALL ".join(
        f"SELECT {int(k)}, t.number, {', '.join(_values(q, True, 't.'))}, "  # noqa: S608
        f"{_postgres_order(q, 't.')} FROM k JOIN {q.table} AS t ON {_where(q, 'k.n', 't.')}"
        for k, q in ((k, FACT_QUERIES[k]) for k in kinds)
    )
    return _pg(
        "WITH k(n) AS (SELECT DISTINCT unnest(:ns::bigint[]))\n"
        + branches
        + "\nORDER BY 1, 2, 6, 7"
    )


# -- SQLite's index of facts by number ------------------------------------------------------------
#
# A decision reads every kind about one number. Over the fact tables that is one index probe per
# kind (seven, and two for Bloctel); SQLite also files every per-professional fact in one table
# keyed by (number, professional, kind, order, id), kept by triggers in the transaction that
# writes the fact, so the decision reads them in one range scan. The index holds the rows a
# decision can read ("live") with the values it reads; the triggers and a rebuild render the
# same declaration as the statements above, and ``verify`` holds the index equal to its tables.

INDEX_TABLE = "facts_by_number"
"""SQLite's index of facts by number (schema step ``m010_facts_by_number``)."""

INDEXED: tuple[FactKind, ...] = tuple(k for k, q in FACT_QUERIES.items() if q.owned)
"""The kinds filed in the index: every per-professional kind (Bloctel checks are keyed by
number already)."""

_INDEX_COLUMNS = "number, professional, kind, o, id, a, b, c"


def _indexed_row(kind: FactKind, row: str) -> str:
    """The index's columns for the row named ``row`` (``NEW``, ``OLD`` or a table alias)."""
    q = FACT_QUERIES[kind]
    values = ", ".join("NULL" if v == "NULL" else f"{row}.{v}" for v in q.values)
    return f"{row}.number, {row}.professional, {int(kind)}, {_order(q, row)}, {row}.id, {values}"


def _named(values: str) -> str:
    """The index's columns named as its own (a compound SELECT takes its first branch's names)."""
    names = _INDEX_COLUMNS.split(", ")
    return ", ".join(f"{v} AS {n}" for v, n in zip(values.split(", "), names, strict=True))


def _order(q: FactQuery, row: str) -> str:
    """The index's order key of the row named ``row``: the kind's order column, or 0."""
    return "0" if q.order == "0" else f"{row}.{q.order}"


def _live(kind: FactKind, row: str) -> str:
    q = FACT_QUERIES[kind]
    return _live_sql(q, f"{row}.") if q.live else ""


def _index_key(kind: FactKind, row: str) -> str:
    q = FACT_QUERIES[kind]
    return (
        f"number = {row}.number AND professional = {row}.professional AND kind = {int(kind)} "
        f"AND o = {_order(q, row)} AND id = {row}.id"
    )


def index_triggers() -> dict[str, str]:
    """The triggers that keep the index, by name: after each insert, update and delete on each
    indexed table, in the writing transaction."""
    out: dict[str, str] = {}
    for kind in INDEXED:
        table = FACT_QUERIES[kind].table
        live_new = _live(kind, "NEW")
        when = f" WHEN {live_new}" if live_new else ""
        insert_new = (
            f"INSERT INTO {INDEX_TABLE} ({_INDEX_COLUMNS}) SELECT {_indexed_row(kind, 'NEW')}"
        )
        delete_old = f"DELETE FROM {INDEX_TABLE} WHERE {_index_key(kind, 'OLD')}"  # noqa: S608
        name = f"{INDEX_TABLE}_{table}"
        out[f"{name}_insert"] = (
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table}{when} BEGIN {insert_new}; END"
        )
        out[f"{name}_update"] = (
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} "
            f"BEGIN {delete_old}; {insert_new}{' WHERE ' + live_new if live_new else ''}; END"
        )
        out[f"{name}_delete"] = (
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {delete_old}; END"
        )
    return out


def index_rows() -> str:
    """The index's rows as its tables derive them (the rebuild's and ``verify``'s)."""
    return "\nUNION ALL ".join(
        f"SELECT {_named(_indexed_row(kind, 'r'))} FROM {FACT_QUERIES[kind].table} AS r"  # noqa: S608
        + (f" WHERE {_live(kind, 'r')}" if FACT_QUERIES[kind].live else "")
        for kind in INDEXED
    )


def index_ddl() -> list[str]:
    """Schema step ``m010_facts_by_number`` in SQLite: the index, filled from the tables, and
    its triggers."""
    triggers = index_triggers()
    return [
        # Applied again (its record deleted by hand), the step rebuilds the index from scratch.
        *(f"DROP TRIGGER IF EXISTS {name}" for name in triggers),
        f"DROP TABLE IF EXISTS {INDEX_TABLE}",
        f"CREATE TABLE {INDEX_TABLE} (number INTEGER NOT NULL, professional INTEGER NOT NULL, "
        "kind INTEGER NOT NULL, o INTEGER NOT NULL, id INTEGER NOT NULL, a INTEGER, b INTEGER, "
        "c INTEGER, PRIMARY KEY (number, professional, kind, o, id)) WITHOUT ROWID",
        f"INSERT INTO {INDEX_TABLE} ({_INDEX_COLUMNS}) {index_rows()}",
        *triggers.values(),
    ]


def index_differences() -> tuple[str, str]:
    """Two statements: the index's rows its tables do not derive (an index row added or
    altered by hand), and the derived rows missing from it (removed by hand, or a trigger
    dropped before a write), each as (number, professional, kind, id)."""
    derived = index_rows()
    stored = f"SELECT {_INDEX_COLUMNS} FROM {INDEX_TABLE}"  # noqa: S608 - fixed names
    head = "SELECT number, professional, kind, id FROM"
    return (
        f"{head} ({stored} EXCEPT SELECT * FROM ({derived})) ORDER BY 1, 2, 3, 4",  # noqa: S608
        f"{head} (SELECT * FROM ({derived}) EXCEPT {stored}) ORDER BY 1, 2, 3, 4",  # noqa: S608
    )


def sqlite_indexed_one(kinds: list[FactKind]) -> str:
    """:func:`sqlite_one` over the index: the per-professional kinds in one range scan of it
    (its order is their branches' order), then the other kinds' branches (the Bloctel checks,
    keyed by number already)."""
    owned = [k for k in kinds if k in INDEXED]
    branches = []
    if owned:
        where = ["number = :n", "professional = :p"]
        if len(owned) < len(INDEXED):
            # A filter on the one range scan, not a probe per kind, and a bit mask rather than
            # ``IN (…)``: SQLite builds a temporary B-tree for an IN list on every execution
            # (25 → 14 µs a statement, 32k instructions an attempt).
            where.append(f"(1 << kind) & {sum(1 << int(k) for k in owned)}")
        for k in owned:
            q = FACT_QUERIES[k]
            if q.window:
                where.append(f"(kind <> {int(k)} OR {q.window.format(a='a', b='b')})")
        branches.append(f"SELECT kind, a, b, c FROM {INDEX_TABLE} WHERE {' AND '.join(where)}")  # noqa: S608
    branches += [
        f"SELECT {int(k)}, {', '.join(_values(FACT_QUERIES[k], False, ''))} "  # noqa: S608
        f"FROM {FACT_QUERIES[k].table} WHERE {_where(FACT_QUERIES[k], ':n', '')}"
        for k in kinds
        if k not in INDEXED
    ]
    return "\nUNION ALL ".join(branches)
