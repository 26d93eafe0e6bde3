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
    "FactQuery",
    "postgres_many",
    "postgres_one",
    "sqlite_many",
    "sqlite_one",
]


class FactQuery(NamedTuple):
    """One fact kind's reading: ``values`` (instant, b, c; ``NULL`` for none) of the rows of
    ``table`` about the number, the professional's own when ``owned``, that meet
    ``condition``."""

    table: str
    values: tuple[str, str, str]
    condition: str = ""
    owned: bool = True
    order: str = "0"
    """PostgreSQL's explicit order within a kind (SQLite's index scans give it): a column, or 0
    for insertion order."""
    by_id: bool = True
    """The rows have an id (PostgreSQL orders by it after ``order``; SQLite's bulk read names
    that order when ``id_order``)."""
    id_order: bool = False
    """SQLite's bulk read orders the rows by number and id explicitly."""


FACT_QUERIES: dict[FactKind, FactQuery] = {
    FactKind.ATTEMPT: FactQuery(
        "attempts", ("at", "NULL", "NULL"), "{t}at >= :since AND {counted}", order="at"
    ),
    FactKind.REFUSAL: FactQuery(
        "refusals",
        ("at", "NULL", "NULL"),
        "{t}at >= :since AND {t}lifted_at IS NULL",
        order="at",
    ),
    FactKind.OPTOUT: FactQuery("optouts", ("at", "expires_at", "removed_at"), id_order=True),
    FactKind.CONSENT: FactQuery("consents", ("at", "expires_at", "off_hours")),
    FactKind.WITHDRAWAL: FactQuery("consent_withdrawals", ("at", "NULL", "NULL")),
    FactKind.SLOT: FactQuery(
        "slot_consents", ("start", '"end"', "NULL"), '{t}"end" > :now', order='"end"'
    ),
    FactKind.CONTRACT: FactQuery("contracts", ("start", '"end"', "NULL")),
    FactKind.BLOCTEL: FactQuery(
        "bloctel_checks",
        ("checked_at", "listed", "NULL"),
        "{t}checked_at >= coalesce((SELECT max(l.checked_at) FROM bloctel_checks AS l "
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


def _where(q: FactQuery, number: str, t: str) -> str:
    parts = [f"{t}professional = :p"] if q.owned else []
    parts.append(f"{t}number = {number}")
    if q.condition:
        parts.append(q.condition.format(t=t, n=number, counted=counted(t.rstrip("."))))
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
