"""``callguard bloctel``, ``audit`` and ``import-calls``: the commands over files of numbers and calls."""

from __future__ import annotations

import contextlib
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from .._time import instant

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType
from .._i18n import N_
from ._common import (
    DAY_OR_TIME,
    EXIT_OK,
    EXIT_REFUSED,
    at_option,
    call_log_options,
    cli,
    column_option,
    current_lang,
    db_option,
    echo_json,
    guarded,
    input_argument,
    input_file,
    json_option,
    professional_option,
    progress_bar,
    user_errors,
)

# -- Bloctel --------------------------------------------------------------------------------------


@cli.group()
def bloctel() -> None:
    """Bloctel files: the submission file to send, the return file to load."""


@bloctel.command("export")
@input_argument("contacts")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="The submission file to write (default: standard output).",
)
@click.option(
    "--max-age",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Include numbers last checked more than this many days ago.",
)
@at_option
@column_option
@click.option("--id-column", default=None, metavar="NAME", help="Column copied to Identifiant.")
@db_option
def bloctel_export(
    contacts: str,
    output: str | None,
    max_age: int,
    at: datetime | None,
    column: str | None,
    id_column: str | None,
    db: str | None,
) -> None:
    """Write the Bloctel submission file for the numbers of CONTACTS that need a check.

    Telephone;Identifiant, 10-digit national numbers, one line per distinct French consumer
    number never checked or last checked more than --max-age days ago.
    """
    from .._bulk import bloctel_submission

    with (
        guarded(db, "default") as guard,
        contextlib.ExitStack() as stack,
        input_file(contacts) as path,
    ):
        report = bloctel_submission(
            guard,
            path,
            output if output is not None else sys.stdout.buffer,
            at,
            max_age_days=max_age,
            column=column,
            id_column=id_column,
            progress=progress_bar(stack, path, N_("reading")),
        )
    click.echo(report.render(current_lang()), err=True)


@bloctel.command("import")
@input_argument("listed")
@click.option(
    "--checked-at",
    type=DAY_OR_TIME,
    required=True,
    help="When Bloctel checked the file (a date is midnight, Paris).",
)
@click.option(
    "--submitted",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The file sent to Bloctel: its numbers not in LISTED are recorded clean.",
)
@db_option
@json_option
def bloctel_import(
    listed: str, checked_at: date | datetime, submitted: str | None, db: str | None, as_json: bool
) -> None:
    """Load a Bloctel return file: LISTED numbers are flagged, the others submitted are clean.

    Exit 0 when every line was used, 1 when some were rejected (the others are imported).
    """
    with guarded(db, "default") as guard, input_file(listed) as path:
        checked = instant(checked_at, "--checked-at")
        report = guard.import_bloctel(path, checked, submitted=submitted)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render(current_lang()))
    sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)


# -- audit ----------------------------------------------------------------------------------------


@cli.command()
@input_argument("calls")
@db_option
@professional_option
@call_log_options
@json_option
def audit(
    calls: str,
    db: str | None,
    professional: str,
    preset: str | None,
    mapping: str | None,
    outcome_map: str | None,
    caller_id: str | None,
    tz: str | None,
    internal_contexts: tuple[str, ...],
    as_json: bool,
) -> None:
    """Replay a call log and list every call that broke the rules in force at its time.

    CALLS is a CSV or .xlsx with number, caller_id, started_at (ISO 8601; naive = Europe/Paris)
    and optional outcome, purpose, sector, professional, campaign columns, or a dialer's own
    log read with --preset / --map / --outcome-map. The ledger is read, never modified. Exit 0
    when every call was compliant, 1 when some were not (or a row could not be judged), 2 on an
    error.
    """
    from .._audit import audit as run_audit
    from .._calllog import call_log_format
    from ..storage import default_db_path

    with user_errors(), contextlib.ExitStack() as stack, input_file(calls) as path:
        fmt = call_log_format(
            preset, mapping=mapping, outcome_map=outcome_map, caller_id=caller_id, tz=tz,
            internal_contexts=internal_contexts,
        )  # fmt: skip
        report = run_audit(
            path,
            db=db or default_db_path(),
            professional=professional,
            log_format=fmt,
            progress=progress_bar(stack, path, N_("auditing")),
        )
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render(current_lang()))
    sys.exit(EXIT_OK if report.compliant else EXIT_REFUSED)


@cli.command("import-calls")
@input_argument("calls")
@db_option
@professional_option
@call_log_options
@json_option
def import_calls_command(
    calls: str,
    db: str | None,
    professional: str,
    preset: str | None,
    mapping: str | None,
    outcome_map: str | None,
    caller_id: str | None,
    tz: str | None,
    internal_contexts: tuple[str, ...],
    as_json: bool,
) -> None:
    """Load a call history (the log audit reads) into the ledger.

    Each call counts toward the cap; REFUSED starts the cooldown; OBJECTED adds an opt-out. A
    call already in the ledger (same professional, number and instant) is skipped. Exit 0 when
    every row was used, 1 when some were rejected (the others are imported).
    """
    from .._bulk import import_calls
    from .._calllog import call_log_format

    with (
        guarded(db, professional) as guard,
        contextlib.ExitStack() as stack,
        input_file(calls) as path,
    ):
        fmt = call_log_format(
            preset, mapping=mapping, outcome_map=outcome_map, caller_id=caller_id, tz=tz,
            internal_contexts=internal_contexts,
        )  # fmt: skip
        report = import_calls(
            guard, path, log_format=fmt, progress=progress_bar(stack, path, N_("importing"))
        )
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render(current_lang()))
    sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)
