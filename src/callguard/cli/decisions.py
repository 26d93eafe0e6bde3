"""``callguard check`` and ``callguard scrub``: decisions, one number or a whole file."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from .._types import Purpose, ReasonCode, Sector

if TYPE_CHECKING:
    from .._decision import Decision

    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType
from .._i18n import _
from ._common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    at_option,
    choice,
    cli,
    current_lang,
    db_option,
    department_option,
    echo_json,
    failure,
    guarded,
    input_argument,
    input_file,
    json_option,
    professional_option,
    recorded_message_option,
    render_decision,
    say,
)

# -- decisions ------------------------------------------------------------------------------------

PROGRESS_MIN_BYTES = 512 * 1024
"""Files at least this large get a progress bar (when stderr is a terminal)."""


@cli.command()
@click.argument("number")
@click.option("--caller-id", required=True, help="The number the call will present.")
@at_option
@db_option
@professional_option
@click.option("--purpose", type=choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=choice(Sector), default=None)
@click.option("--tz", "callee_tz", default=None, help="The consumer's known IANA zone.")
@department_option
@recorded_message_option
@json_option
def check(
    number: str,
    caller_id: str,
    at: datetime | None,
    db: str | None,
    professional: str,
    purpose: str,
    sector: str | None,
    callee_tz: str | None,
    department: str | None,
    recorded_message: bool,
    as_json: bool,
) -> None:
    """May NUMBER be called now (or --at TIME) from --caller-id? Exit 0 yes, 1 no, 2 error."""
    with guarded(db, professional) as guard:
        try:
            decision = guard.may_call(
                number, caller_id, at, purpose=purpose, sector=sector, callee_tz=callee_tz,
                department=department, recorded_message=recorded_message,
            )  # fmt: skip
        except ValueError as exc:
            raise click.UsageError(failure(exc).message) from exc
    if as_json:
        echo_json(decision.to_dict())
    else:
        click.echo(render_decision(decision))
    sys.exit(exit_code(decision))


def exit_code(decision: Decision) -> int:
    if decision.allowed:
        return EXIT_OK
    if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
        return EXIT_ERROR
    return EXIT_REFUSED


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@cli.command()
@input_argument("input_path", metavar="INPUT")
@click.option("--caller-id", required=True, help="The number the calls will present.")
@at_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the scrubbed file (default: standard output).",
)
@click.option("--purpose", type=choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=choice(Sector), default=None)
@department_option
@recorded_message_option
@db_option
@professional_option
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="NAME",
    help="A phone column: its header, or its position from 1; repeat it for several "
    "(default: every phone column, found by its header).",
)
@click.option(
    "--preset",
    type=click.Choice(["vicidial"], case_sensitive=False),
    default=None,
    help="The dialer whose lead export this is: vicidial (phone_number, alt_phone and "
    "address3 judged, with phone_code as their country code).",
)
def scrub(
    input_path: str,
    caller_id: str,
    at: datetime | None,
    output: str | None,
    purpose: str,
    sector: str | None,
    department: str | None,
    recorded_message: bool,
    db: str | None,
    professional: str,
    columns: tuple[str, ...],
    preset: str | None,
) -> None:
    """Judge every number of a contact file; write it back with four callguard_ columns.

    Every row and column of INPUT is kept, in order, with its delimiter and encoding, plus
    callguard_number (E.164), callguard_allowed (true/false), callguard_reasons (codes joined
    by |) and callguard_next_allowed_at (ISO 8601). With several phone columns, one group of
    four per column, named after it, and callguard_allowed_columns. A summary by reason goes
    to stderr. --preset vicidial reads a VICIdial lead export: phone_number, alt_phone and
    address3 are judged, phone_code is their country code.
    """
    from .._bulk import scrub_file  # the bulk pipeline: only scrub needs it
    from .._files import file_size

    with (
        guarded(db, professional) as guard,
        contextlib.ExitStack() as stack,
        input_file(input_path) as path,
    ):
        size = file_size(path)
        update = None
        if size >= PROGRESS_MIN_BYTES and _stderr_is_tty():
            bar = stack.enter_context(
                click.progressbar(length=size, label=say(_("scrubbing")), file=sys.stderr)
            )
            update = bar.update
        summary = scrub_file(
            guard,
            path,
            output if output is not None else sys.stdout.buffer,
            caller_id,
            at,
            purpose=purpose,
            sector=sector,
            department=department,
            recorded_message=recorded_message,
            column=list(columns) or None,
            progress=update,
            preset=preset,
        )
    delimiter = {None: "none", "\t": "tab"}.get(summary.delimiter, summary.delimiter)
    click.echo(
        say(
            _(
                "{file}: {encoding}, delimiter {delimiter}",
                file=input_path,
                encoding=summary.encoding,
                delimiter=delimiter,
            )
        ),
        err=True,
    )
    click.echo(summary.render(lang=current_lang()), err=True)
