"""The schema is declared once (callguard.storage.base.SCHEMA): the SQLite and PostgreSQL DDL,
the ledger copy's table list and the purge's tables all derive from it and match it."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callguard import Guard
from callguard.storage.base import KNOWN_MIGRATIONS, PURGE, SCHEMA, ColumnType
from callguard.storage.copy import TABLES
from callguard.storage.fact_queries import INDEX_TABLE, index_triggers
from conftest import postgres_schema


@pytest.fixture
def postgres(postgres_server: str) -> Iterator[str]:
    with postgres_schema(postgres_server) as dsn:
        yield dsn


def test_every_table_and_column_is_declared_once() -> None:
    names = [t.name for t in SCHEMA]
    assert len(names) == len(set(names))
    for table in SCHEMA:
        assert len(table.column_names) == len(set(table.column_names)), table.name
        assert table.step in KNOWN_MIGRATIONS


def test_the_copy_copies_every_declared_table_but_professionals_and_the_journal() -> None:
    declared = {t.name: t for t in SCHEMA}
    # Professionals are matched by name, the journal sealed anew on the target, and the target
    # keeps its own ledger id (its chains start afresh: the source's checkpoints do not apply).
    skipped = ("professionals", "journal", "ledger_identity")
    assert [t.name for t in TABLES] == [t.name for t in SCHEMA if t.name not in skipped]
    for table in TABLES:
        assert table.columns == declared[table.name].column_names


def test_purge_names_declared_tables_and_columns() -> None:
    declared = {t.name: t for t in SCHEMA}
    for rule in PURGE:
        assert rule.table in declared
        assert set(rule.ends) <= set(declared[rule.table].column_names)
        assert "professional" in declared[rule.table].column_names


def test_a_sqlite_ledger_has_exactly_the_declared_schema(tmp_path: Path) -> None:
    Guard(tmp_path / "schema.db").close()
    conn = sqlite3.connect(tmp_path / "schema.db")
    try:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' "
                "ESCAPE '\\'"
            )
        }
        assert tables == {t.name for t in SCHEMA} | {INDEX_TABLE}
        # The index of facts by number is kept by exactly the declared triggers.
        triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        assert triggers == index_triggers()
        for table in SCHEMA:
            info = conn.execute(f'PRAGMA table_info("{table.name}")').fetchall()
            assert tuple(r[1] for r in info) == table.column_names, table.name
            for row, column in zip(info, table.columns, strict=True):
                kind = "TEXT" if column.type is ColumnType.TEXT else "INTEGER"
                assert row[2] == kind, (table.name, column.name)
                if column.type is not ColumnType.ID:
                    assert bool(row[3]) == column.not_null, (table.name, column.name)
            indexes = {
                r[1]: tuple(c[2] for c in conn.execute(f'PRAGMA index_info("{r[1]}")'))
                for r in conn.execute(f'PRAGMA index_list("{table.name}")')
                if not r[1].startswith("sqlite_autoindex")
            }
            declared = {**dict(table.indexes), **dict(table.unique)}
            declared.update({i.name: i.columns for i in table.later_indexes})
            assert indexes == declared, table.name
    finally:
        conn.close()


def test_a_postgresql_ledger_has_exactly_the_declared_schema(postgres: str) -> None:
    import psycopg

    Guard(postgres).close()
    types = {ColumnType.ID: "bigint", ColumnType.INT: "bigint", ColumnType.TEXT: "text"}
    types[ColumnType.FLAG] = "smallint"
    conn: Any = psycopg.connect(postgres)
    try:
        for table in SCHEMA:
            rows = conn.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = %s AND table_schema = current_schema() "
                "ORDER BY ordinal_position",
                (table.name,),
            ).fetchall()
            assert tuple(r[0] for r in rows) == table.column_names, table.name
            for (_, data_type, nullable), column in zip(rows, table.columns, strict=True):
                assert data_type == types[column.type], (table.name, column.name)
                if column.type is not ColumnType.ID:
                    assert (nullable == "NO") == column.not_null, (table.name, column.name)
            indexes = {
                r[0]
                for r in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = %s "
                    "AND schemaname = current_schema()",
                    (table.name,),
                )
            }
            declared = {name for name, _ in (*table.indexes, *table.unique)}
            assert declared | {i.name for i in table.later_indexes} <= indexes, table.name
    finally:
        conn.close()


def test_the_facts_queries_have_one_branch_per_fact_kind() -> None:
    from callguard._facts import FactKind
    from callguard.storage import postgres, sqlite

    for kind in FactKind:
        assert f"SELECT {int(kind)}, " in sqlite._FACTS_SQL
        assert f"SELECT {int(kind)}, " in postgres._FACTS_SQL
    assert [k for k, _ in sqlite._FACTS_MANY_SQL] == [int(k) for k in FactKind]


def test_each_fact_kind_is_declared_once_and_rendered_for_every_backend_and_form() -> None:
    from callguard._facts import FactKind
    from callguard.storage import fact_queries, postgres, sqlite

    assert list(fact_queries.FACT_QUERIES) == list(FactKind)
    rendered = {
        "sqlite one": sqlite._facts_sql(None, indexed=False),
        "sqlite index": fact_queries.index_rows() + sqlite._facts_sql(None),
        "sqlite many": "\n".join(s for _, s in sqlite._FACTS_MANY_SQL),
        "postgres one": postgres._FACTS_SQL,
        "postgres many": postgres._facts_many_sql(None),
    }
    for form, text in rendered.items():
        for kind, q in fact_queries.FACT_QUERIES.items():
            assert f" {q.table} " in text or f" {q.table}\n" in text, (form, kind)
            for column in q.values:
                assert column in text, (form, kind, column)
    # Only the asked kinds are read: a decision that cannot use a kind does not pay for it.
    only = sqlite._facts_sql(frozenset({FactKind.CONSENT}), indexed=False)
    assert "consents" in only and "attempts" not in only
    only = sqlite._facts_sql(frozenset({FactKind.CONSENT}))
    assert "(1 << kind) & 8" in only and "bloctel" not in only
    # ... by a bit mask: SQLite would build a temporary B-tree for an IN list at every execution.
    for size in range(1, len(FactKind)):
        for kinds in itertools.combinations(FactKind, size):
            assert " IN (" not in sqlite._facts_sql(frozenset(kinds)), kinds
    assert "attempts" not in postgres._facts_many_sql(frozenset({FactKind.CONSENT}))
