"""``callguard migrate-ledger FROM TO``: a thin layer over :func:`callguard.storage.copy.migrate_ledger`.

Registered on the ``callguard`` group by ``callguard.cli``.
"""

from __future__ import annotations

import json

import click

from .._exceptions import CallguardError
from ..storage.copy import migrate_ledger
from ._common import Command, failure

__all__ = ["migrate_ledger_command"]


@click.command("migrate-ledger", cls=Command)
@click.argument("source", metavar="FROM")
@click.argument("target", metavar="TO")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def migrate_ledger_command(source: str, target: str, as_json: bool) -> None:
    """Copy the ledger FROM into the ledger TO, and print the rows copied per table.

    Each is a SQLite file or a postgresql:// URL (SQLite to PostgreSQL, and back). TO is created
    if need be and must hold no facts yet; FROM is only read. One transaction: all or nothing.
    Put a PostgreSQL password in ~/.pgpass or $PGPASSWORD rather than in the URL.
    """
    try:
        counts = migrate_ledger(source, target)
    except CallguardError as exc:
        raise failure(exc) from exc
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    width = max(len(name) for name in counts)
    for name, n in counts.items():
        click.echo(f"{name:<{width}}  {n:>10,}")
    click.echo(f"{'total':<{width}}  {sum(counts.values()):>10,}")
