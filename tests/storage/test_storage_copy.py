"""``migrate_ledger`` and ``callguard migrate-ledger``: SQLite to PostgreSQL and back, without loss.

Rows are compared table by table through each database's own driver, with professional ids
replaced by names (the one thing a migration may renumber).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from callguard import ConfigurationError, Guard, LedgerError, Outcome, ReasonCode
from callguard.cli.migrate import migrate_ledger_command
from callguard.storage.copy import TABLES, migrate_ledger
from conftest import NPV, paris, postgres_schema

NUMBERS = ["06 12 34 56 78", "06 98 76 54 32", "0690 00 12 34", "03 88 12 34 56"]
NOW = paris(2026, 11, 23, 11)

EXPECTED = {
    "professionals": 2,
    "attempts": 10,
    "refusals": 2,
    "optouts": 3,
    "consents": 6,
    "consent_withdrawals": 1,
    "slot_consents": 1,
    "contracts": 1,
    "bloctel_checks": 8,
    "purge_log": 1,
    "api_keys": 0,  # the service's tables: tests/test_server_http.py migrates them
    "idempotency": 0,
    "attempt_outcomes": 1,
    "lifts": 1,
}


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty place to migrate to, of each backend."""
    if request.param == "sqlite":
        yield str(tmp_path / "target.db")
        return
    with postgres_schema(request.getfixturevalue("postgres_server")) as dsn:
        yield dsn


@pytest.fixture
def postgres(postgres_server: str) -> Iterator[str]:
    with postgres_schema(postgres_server) as dsn:
        yield dsn


def populate(location: str) -> None:
    """A ledger with every kind of fact, for two professionals."""
    with Guard(location, professional="acme") as g, Guard(location, professional="beta") as b:
        old = g.record_call(NUMBERS[0], paris(2025, 3, 3, 11))  # purged below
        assert old
        g.purge(paris(2025, 6, 1), now=NOW)
        for n in NUMBERS:
            g.record_consent(n, paris(2026, 9, 1), proof=f"form-{n}")
        g.record_consent(
            NUMBERS[0], paris(2026, 9, 2), proof="renewed", expires_at=paris(2027, 9, 2)
        )
        for d in (2, 3, 4):
            g.record_call(NUMBERS[0], paris(2026, 11, d, 11), caller_id=NPV, campaign="autumn")
        refused = g.attempt(NUMBERS[1], NPV, paris(2026, 11, 2, 11), campaign="autumn")
        assert refused.attempt_id is not None
        g.record_outcome(refused.attempt_id, Outcome.REFUSED)
        g.record_call(NUMBERS[2], paris(2026, 11, 3, 15), outcome=Outcome.OBJECTED)
        g.lift_objection(NUMBERS[2], paris(2026, 11, 4), reason="wrong key", by="ops")
        g.record_consent(
            NUMBERS[2], paris(2026, 9, 3), proof="ivr", off_hours=True, channel="phone",
            source="vendor", wording="v2", proof_sha256="AB" * 32,
        )  # fmt: skip
        g.record_refusal(NUMBERS[3], paris(2026, 10, 1, 12))
        g.add_optout(NUMBERS[3], paris(2026, 10, 2), source="crm", expires_at=paris(2027, 1, 1))
        g.add_optout(NUMBERS[1], paris(2026, 10, 2))
        g.remove_optout(NUMBERS[1], paris(2026, 10, 20))
        g.withdraw_consent(NUMBERS[3], paris(2026, 11, 1))
        g.record_slot_consent(NUMBERS[1], paris(2027, 1, 9, 9), paris(2027, 1, 9, 10), proof="s")
        g.record_contract(NUMBERS[0], paris(2026, 1, 1), subject="gas")
        g.import_bloctel([NUMBERS[1]], paris(2026, 11, 1), submitted=NUMBERS)
        g.import_bloctel([], paris(2026, 11, 15), submitted=NUMBERS)
        for d in (5, 6, 9, 10, 12):
            b.record_call(NUMBERS[0], paris(2026, 11, d, 10, 30), outcome=Outcome.ANSWERED)


def dump(location: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table, professional ids replaced by names."""
    if location.startswith("postgresql://"):
        import psycopg

        conn: Any = psycopg.connect(location)
    else:
        conn = sqlite3.connect(location)
    try:
        names = dict(conn.execute("SELECT id, name FROM professionals").fetchall())
        out = {"professionals": {(n,) for n in names.values()}}
        for table in TABLES:
            cols = ", ".join(f'"{c}"' for c in table.columns)
            rows = conn.execute(f'SELECT {cols} FROM "{table.name}"').fetchall()  # noqa: S608
            at = table.professional
            out[table.name] = {
                tuple(names[v] if i == at else v for i, v in enumerate(row)) for row in rows
            }
        return out
    finally:
        conn.close()


def test_sqlite_to_postgres_and_back_loses_nothing(tmp_path: Path, postgres: str) -> None:
    source, back = str(tmp_path / "source.db"), str(tmp_path / "back.db")
    populate(source)
    original = dump(source)
    assert {t: len(rows) for t, rows in original.items()} == EXPECTED
    assert migrate_ledger(source, postgres) == EXPECTED
    assert dump(postgres) == original
    assert migrate_ledger(postgres, back) == EXPECTED
    assert dump(back) == original


def test_the_migrated_ledger_decides_and_continues_as_the_source(
    tmp_path: Path, target: str
) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    assert migrate_ledger(source, target) == EXPECTED
    instants = [NOW, paris(2026, 11, 24, 19, 30), paris(2027, 1, 9, 9, 30)]
    with Guard(source, professional="acme") as before, Guard(target, professional="acme") as after:
        for n in NUMBERS:
            for at in instants:
                assert before.may_call(n, NPV, at) == after.may_call(n, NPV, at), (n, at)
        # New ids continue after the copied ones, and copied ids still name their calls.
        rows = dump(source)["attempts"]
        latest = max(r[0] for r in rows)
        assert after.record_call(NUMBERS[0], NOW) > latest
        mine = max(r[0] for r in rows if r[1] == "acme" and r[2] == 33612345678)
        after.record_outcome(mine, Outcome.REFUSED)
        refused = after.may_call(NUMBERS[0], NPV, NOW + timedelta(days=40))
        assert ReasonCode.REFUSAL_COOLDOWN in refused.codes


def test_professionals_already_in_the_target_are_matched_by_name(
    tmp_path: Path, target: str
) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    # Opening guards on the target registers professionals (beta first: ids differ).
    Guard(target, professional="beta").close()
    Guard(target, professional="zeta").close()
    assert migrate_ledger(source, target) == EXPECTED
    copied = dump(target)
    assert copied.pop("professionals") == {("acme",), ("beta",), ("zeta",)}
    original = dump(source)
    original.pop("professionals")
    assert copied == original


def test_a_target_with_facts_is_refused_and_left_alone(tmp_path: Path, target: str) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    with Guard(target, professional="acme") as g:
        g.record_refusal(NUMBERS[0], NOW)
    before = dump(target)
    with pytest.raises(LedgerError, match=r"already holds facts \(1 refusals\)"):
        migrate_ledger(source, target)
    assert dump(target) == before


def test_a_failure_halfway_leaves_the_target_as_it_was(tmp_path: Path, target: str) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    conn = sqlite3.connect(source)
    conn.execute(  # a contract of a professional the source does not name: copied last but one
        "INSERT INTO contracts (professional, number, start) VALUES (99, 33612345678, 0)"
    )
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="professional id 99"):
        migrate_ledger(source, target)
    assert all(not rows for name, rows in dump(target).items() if name != "professionals")


def test_a_missing_source_is_an_error_not_an_empty_copy(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger"):
        migrate_ledger(tmp_path / "typo.db", tmp_path / "target.db")
    assert not (tmp_path / "target.db").exists()


def test_source_and_target_must_differ(tmp_path: Path) -> None:
    populate(str(tmp_path / "a.db"))
    with pytest.raises(ConfigurationError, match="same ledger"):
        migrate_ledger(tmp_path / "a.db", str(tmp_path / "." / "a.db"))


def test_tables_cover_the_whole_schema(tmp_path: Path, postgres: str) -> None:
    """A new table in a schema step must be added to TABLES, or migrations would drop it."""
    expected = {t.name for t in TABLES} | {"professionals", "journal", "ledger_identity"}
    Guard(tmp_path / "fresh.db").close()
    conn = sqlite3.connect(tmp_path / "fresh.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    # SQLite's index of facts by number is derived from the tables (kept by triggers): not copied.
    assert tables - {"_sqlite_migrations"} == expected | {"facts_by_number"}
    import psycopg

    Guard(postgres).close()
    with psycopg.connect(postgres) as pg:
        rows = pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    assert {r[0] for r in rows} - {"callguard_migrations"} == expected


# -- the command --------------------------------------------------------------------------------


def _group() -> Any:
    from callguard.cli import Group as _Group

    @__import__("click").group(cls=_Group)
    def cli() -> None:
        pass

    cli.add_command(migrate_ledger_command)
    return cli


def test_command_prints_the_counts(tmp_path: Path, target: str) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    result = CliRunner().invoke(_group(), ["migrate-ledger", source, target])
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.output.splitlines())
    assert lines == {
        **{k: str(v) for k, v in EXPECTED.items()},
        "total": str(sum(EXPECTED.values())),
    }


def test_command_json(tmp_path: Path) -> None:
    source = str(tmp_path / "source.db")
    populate(source)
    result = CliRunner().invoke(
        _group(), ["migrate-ledger", "--json", source, str(tmp_path / "t.db")]
    )
    assert result.exit_code == 0
    import json

    assert json.loads(result.output) == EXPECTED


def test_command_error_exits_2_and_hides_the_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _group(),
        ["migrate-ledger", str(tmp_path / "nothing.db"), "postgresql://u:s3cret@127.0.0.1:1/x"],
    )
    assert result.exit_code == 2
    assert "no ledger" in result.output and "s3cret" not in result.output


def test_command_is_registered() -> None:
    from callguard.cli import cli

    if "migrate-ledger" not in cli.commands:
        pytest.skip("register migrate_ledger_command in callguard.cli (cli.add_command)")
    assert cli.commands["migrate-ledger"] is migrate_ledger_command
