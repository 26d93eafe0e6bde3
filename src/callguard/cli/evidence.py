"""``callguard verify``: the journal's verification."""

from __future__ import annotations

import sys

import click

from .._evidence import verify as run_verify
from .._exceptions import CallguardError
from ..storage import default_db_path
from ._common import EXIT_OK, EXIT_REFUSED, cli, db_option, echo_json, json_option


@cli.command("verify")
@db_option
@json_option
def verify_command(db: str | None, as_json: bool) -> None:
    """Check the tamper-evident journal and every fact against it.

    Exits 0 when intact, 1 naming the first fact changed, removed or inserted outside
    callguard (or the first journal entry altered or removed).
    """
    try:
        report = run_verify(db or default_db_path())
    except CallguardError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        echo_json(report.to_dict())
    elif report.ok:
        chains = ", ".join(f"{c}: {n}" for c, n in sorted(report.chains.items()))
        click.echo(f"OK  journal intact: {report.entries} entries ({chains})")
    else:
        assert report.first is not None
        click.echo(f"TAMPERED  {report.first}")
        for problem in report.problems[1:]:
            click.echo(f"  also: {problem}")
    sys.exit(EXIT_OK if report.ok else EXIT_REFUSED)
