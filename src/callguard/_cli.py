"""The ``callguard`` command: a thin layer over the library (parsing, formatting, exit codes).

Exit codes (api.md): 0 success, 2 usage or ledger error. ``check`` exits 1 when the call is
refused (a ``LEDGER_UNAVAILABLE`` refusal exits 2); ``audit`` exits 1 when a call broke the rules
or a row could not be judged; the imports (``bloctel import``, ``import-calls``) exit 1 when
some lines were rejected (the others are imported). User errors print one line naming the bad
value, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import click
from dateutil.parser import isoparse

from . import default_db_path
from ._audit import audit as run_audit
from ._bulk import bloctel_submission, import_calls, list_optouts, scrub_file
from ._cli_migrate import migrate_ledger_command
from ._decision import Decision
from ._exceptions import CallguardError
from ._files import file_size
from ._guard import Guard
from ._numbers import parse_number
from ._time import PARIS, instant, now_utc
from ._types import Outcome, Purpose, ReasonCode, Sector

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
EXIT_ALLOWED = EXIT_OK
PROGRESS_MIN_BYTES = 512 * 1024
"""Files at least this large get a progress bar (when stderr is a terminal)."""


def parse_at(value: str | None) -> datetime | None:
    """ISO 8601; a naive time is Europe/Paris (api.md). None or "now" means the current time."""
    if value is None or value.strip().lower() == "now":
        return None
    try:
        moment = isoparse(value.strip())
    except (ValueError, OverflowError) as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T10:30 or 2026-11-23T10:30+01:00"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment


class _At(_ParamType):
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime) or value is None:
            return value
        try:
            return parse_at(str(value))
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class _DayOrTime(_ParamType):
    """A date (``2026-11-23``: the whole day, in Paris) or a time (ISO 8601, naive = Paris)."""

    name = "DATE|TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (date, datetime)) or value is None:
            return value
        text = str(value).strip()
        if _DAY.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                self.fail(f"{text!r} is not a date, e.g. 2026-11-23", param, ctx)
        try:
            return parse_at(text) or now_utc()
        except click.BadParameter as exc:
            self.fail(exc.message + " (or a date, e.g. 2026-11-23)", param, ctx)


AT = _At()
DAY_OR_TIME = _DayOrTime()
db_option = click.option(
    "--db",
    "db",
    default=None,
    metavar="PATH",
    help="Ledger file (default: $CALLGUARD_DB, else ./callguard.db).",
)
professional_option = click.option(
    "--professional",
    default="default",
    show_default=True,
    help="The principal whose counters apply.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
at_option = click.option(
    "--at", type=AT, default=None, help="When (ISO 8601; naive = Europe/Paris; default: now)."
)
column_option = click.option(
    "--column",
    default=None,
    metavar="NAME",
    help="The phone column: its header, or its position from 1 (default: found by its header).",
)


def open_guard(db: str | None, professional: str) -> Guard:
    try:
        return Guard(db or default_db_path(), professional=professional)
    except CallguardError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors about input into a one-line message and exit code 2."""
    try:
        yield
    except (CallguardError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from exc


@contextlib.contextmanager
def guarded(db: str | None, professional: str) -> Iterator[Guard]:
    guard = open_guard(db, professional)
    try:
        with user_errors():
            yield guard
    finally:
        guard.close()


def _choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum], case_sensitive=False)


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _e164(number: str) -> str:
    return parse_number(number).e164


def render_decision(decision: Decision) -> str:
    verdict = "ALLOWED" if decision.allowed else "REFUSED"
    lines = [
        f"{verdict}  {decision.number or '(invalid number)'}  "
        f"[{decision.regime or '-'}, {decision.callee_tz}]"
    ]
    for reason in decision.reasons:
        lines.append(f"  {reason.code.value}: {reason.message}")
        lines.append(f"      {reason.legal_basis}")
    if decision.next_allowed_at is not None:
        lines.append(f"  next allowed at: {decision.next_allowed_at.isoformat()}")
    elif not decision.allowed:
        lines.append("  next allowed at: never by waiting alone")
    return "\n".join(lines)


class _Group(click.Group):
    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # click exits 1 on ClickException; the contract wants 2 for every usage or ledger error.
        try:
            return super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=_Group)
@click.version_option(package_name="callguard")
def cli() -> None:
    """callguard: may I call this number, from this caller ID, now? (French rules)"""


cli.add_command(migrate_ledger_command)  # defined beside the library code it wraps


# -- decisions ------------------------------------------------------------------------------------


@cli.command()
@click.argument("number")
@click.option("--caller-id", required=True, help="The number the call will present.")
@at_option
@db_option
@professional_option
@click.option("--purpose", type=_choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=_choice(Sector), default=None)
@click.option("--tz", "callee_tz", default=None, help="The consumer's known IANA zone.")
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
    as_json: bool,
) -> None:
    """May NUMBER be called now (or --at TIME) from --caller-id? Exit 0 yes, 1 no, 2 error."""
    with guarded(db, professional) as guard:
        try:
            decision = guard.may_call(
                number, caller_id, at, purpose=purpose, sector=sector, callee_tz=callee_tz
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    if as_json:
        _echo_json(decision.to_dict())
    else:
        click.echo(render_decision(decision))
    sys.exit(exit_code(decision))


def exit_code(decision: Decision) -> int:
    if decision.allowed:
        return EXIT_ALLOWED
    if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
        return EXIT_ERROR
    return EXIT_REFUSED


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option("--caller-id", required=True, help="The number the calls will present.")
@at_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the scrubbed file (default: standard output).",
)
@click.option("--purpose", type=_choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=_choice(Sector), default=None)
@db_option
@professional_option
@column_option
def scrub(
    input_path: str,
    caller_id: str,
    at: datetime | None,
    output: str | None,
    purpose: str,
    sector: str | None,
    db: str | None,
    professional: str,
    column: str | None,
) -> None:
    """Judge every number of a contact file; write it back with four callguard_ columns.

    Every row and column of INPUT is kept, in order, with its delimiter and encoding, plus
    callguard_number (E.164), callguard_allowed (true/false), callguard_reasons (codes joined
    by |) and callguard_next_allowed_at (ISO 8601). A summary by reason goes to stderr.
    """
    with guarded(db, professional) as guard, contextlib.ExitStack() as stack:
        size = file_size(input_path)
        update = None
        if size >= PROGRESS_MIN_BYTES and _stderr_is_tty():
            bar = stack.enter_context(
                click.progressbar(length=size, label="scrubbing", file=sys.stderr)
            )
            update = bar.update
        summary = scrub_file(
            guard,
            input_path,
            output if output is not None else sys.stdout.buffer,
            caller_id,
            at,
            purpose=purpose,
            sector=sector,
            column=column,
            progress=update,
        )
    delimiter = {None: "none", "\t": "tab"}.get(summary.delimiter, summary.delimiter)
    click.echo(f"{input_path}: {summary.encoding}, delimiter {delimiter}", err=True)
    click.echo(summary.render(), err=True)


# -- Bloctel --------------------------------------------------------------------------------------


@cli.group()
def bloctel() -> None:
    """Bloctel files: the submission file to send, the return file to load."""


@bloctel.command("export")
@click.argument("contacts", type=click.Path(exists=True, dir_okay=False))
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
    with guarded(db, "default") as guard:
        report = bloctel_submission(
            guard,
            contacts,
            output if output is not None else sys.stdout.buffer,
            at,
            max_age_days=max_age,
            column=column,
            id_column=id_column,
        )
    click.echo(str(report), err=True)


@bloctel.command("import")
@click.argument("listed", type=click.Path(exists=True, dir_okay=False))
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
    with guarded(db, "default") as guard:
        checked = instant(checked_at, "--checked-at")
        report = guard.import_bloctel(listed, checked, submitted=submitted)
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(str(report))
    sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)


# -- audit ----------------------------------------------------------------------------------------


@cli.command()
@click.argument("calls", type=click.Path(exists=True, dir_okay=False))
@db_option
@professional_option
@json_option
def audit(calls: str, db: str | None, professional: str, as_json: bool) -> None:
    """Replay a call log and list every call that broke the rules in force at its time.

    CALLS is a CSV with number, caller_id, started_at (ISO 8601; naive = Europe/Paris) and
    optional outcome, purpose, sector, professional, campaign columns. The ledger is read,
    never modified. Exit 0 when every call was compliant, 1 when some were not (or a row could
    not be judged), 2 on an error.
    """
    with user_errors():
        report = run_audit(calls, db=db or default_db_path(), professional=professional)
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(report.render())
    sys.exit(EXIT_OK if report.compliant else EXIT_REFUSED)


# -- facts ----------------------------------------------------------------------------------------


def _when(at: datetime | None) -> datetime:
    return at if at is not None else now_utc()


def _show(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat(timespec="seconds")


def _begin(value: date | datetime | None, name: str) -> datetime | None:
    """A DATE|TIME option as an instant: a date is its midnight in Paris."""
    return None if value is None else instant(value, name)


def _until(value: date | datetime | None, name: str) -> datetime | None:
    """A DATE|TIME option as an end: a date runs through that day (the next midnight, Paris)."""
    return None if value is None else instant(value, name, end_of_day=True)


@cli.command()
@click.argument("number")
@click.option("--at", type=AT, default=None, help="When the call started (default: now).")
@click.option("--caller-id", default=None, help="The number the call presented.")
@click.option("--outcome", type=_choice(Outcome), default="NO_ANSWER", show_default=True)
@click.option("--campaign", default=None)
@db_option
@professional_option
@json_option
def record(
    number: str,
    at: datetime | None,
    caller_id: str | None,
    outcome: str,
    campaign: str | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Record a call already placed to NUMBER (it counts toward the cap whatever its outcome).

    REFUSED starts the 60-day cooldown; OBJECTED adds a permanent opt-out.
    """
    when = _when(at)
    with guarded(db, professional) as guard:
        attempt_id = guard.record_call(
            number, when, caller_id=caller_id, outcome=outcome, campaign=campaign
        )
        e164 = _e164(number)
    if as_json:
        _echo_json(
            {"attempt_id": attempt_id, "number": e164, "at": _show(when), "outcome": outcome}
        )
    else:
        click.echo(f"recorded call {attempt_id}: {e164} at {_show(when)}, {outcome}")


@cli.command()
@click.argument("number")
@click.option("--at", type=AT, default=None, help="When the consumer refused (default: now).")
@db_option
@professional_option
def refuse(number: str, at: datetime | None, db: str | None, professional: str) -> None:
    """The consumer refused during the call: no call to NUMBER for 60 full days (D223-9)."""
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.record_refusal(number, when)
        e164 = _e164(number)
    click.echo(f"recorded refusal: {e164} at {_show(when)}")


@cli.command()
@click.option("--before", "before", type=DAY_OR_TIME, required=True,
              help="Remove records that ended before this date (a date: its midnight, Paris).")
@click.option("--keep-proofs-days", type=click.IntRange(min=1095), default=1095,
              show_default=True, help="Keep consent proofs at least this many days.")
@click.option("--at", type=AT, default=None, help="Judge from this time (default: now).")
@db_option
@professional_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def purge(
    before: date | datetime, keep_proofs_days: int, at: datetime | None, db: str | None,
    professional: str, as_json: bool,
) -> None:
    """Remove the professional's call records that ended before --before, and say what went.

    Attempts, refusals and ended opt-outs, slot consents and contracts are removed; consent proofs
    are kept three years. A date recent enough to remove what the 30-day cap or the 60-day
    cooldown still counts is refused.
    """
    cut = _begin(before, "--before")
    assert cut is not None
    with guarded(db, professional) as guard:
        report = guard.purge(cut, now=at, proof_retention_days=keep_proofs_days)
    if as_json:
        _echo_json({"before": report.before.isoformat(),
                    "consents_before": report.consents_before.isoformat(),
                    "removed": report.removed, "total": report.total})
    else:
        click.echo(str(report))


@cli.group()
def optout() -> None:
    """The professional's internal do-not-call list."""


@optout.command("add")
@click.argument("number")
@click.option("--at", type=AT, default=None, help="From when (default: now).")
@click.option(
    "--expires", type=DAY_OR_TIME, default=None, help="Until when (a date: through that day)."
)
@click.option("--source", default="internal", show_default=True, help="Where the request came from.")
@db_option
@professional_option
def optout_add(
    number: str,
    at: datetime | None,
    expires: date | datetime | None,
    source: str,
    db: str | None,
    professional: str,
) -> None:
    """Put NUMBER on the do-not-call list."""
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.add_optout(number, when, source=source, expires_at=_until(expires, "--expires"))
        e164 = _e164(number)
    click.echo(f"opted out: {e164} from {_show(when)}")


@optout.command("remove")
@click.argument("number")
@click.option("--at", type=AT, default=None, help="From when the number may be called (default: now).")
@db_option
@professional_option
@json_option
def optout_remove(
    number: str, at: datetime | None, db: str | None, professional: str, as_json: bool
) -> None:
    """Take NUMBER off the do-not-call list."""
    when = _when(at)
    with guarded(db, professional) as guard:
        removed = guard.remove_optout(number, when)
        e164 = _e164(number)
    if as_json:
        _echo_json({"number": e164, "removed": removed})
    else:
        click.echo(f"removed {removed} opt-out(s) of {e164}")


@optout.command("list")
@click.option("--at", type=AT, default=None, help="List the opt-outs in force then (default: now).")
@click.option("--all", "include_ended", is_flag=True, help="Include expired and removed ones.")
@db_option
@professional_option
@json_option
def optout_list(
    at: datetime | None, include_ended: bool, db: str | None, professional: str, as_json: bool
) -> None:
    """List the do-not-call list."""
    with guarded(db, professional) as guard:
        entries = list_optouts(guard, at, include_ended=include_ended)
    if as_json:
        _echo_json([e.to_dict() for e in entries])
        return
    for e in entries:
        ends = e.ends_at.isoformat() if e.ends_at is not None else "-"
        click.echo(f"{e.number}\t{e.at.isoformat()}\t{ends}\t{e.source}")


@cli.group()
def consent() -> None:
    """Prior consents to be canvassed (the opt-in regime, from 2026-08-11)."""


@consent.command("add")
@click.argument("number")
@click.option("--proof", required=True, help="Where the proof of the consent is kept (L223-1).")
@click.option("--at", type=AT, default=None, help="When the consent was given (default: now).")
@click.option(
    "--expires", type=DAY_OR_TIME, default=None, help="Its own end (a date: through that day)."
)
@db_option
@professional_option
def consent_add(
    number: str,
    proof: str,
    at: datetime | None,
    expires: date | datetime | None,
    db: str | None,
    professional: str,
) -> None:
    """Record NUMBER's prior consent, with the reference of its proof."""
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.record_consent(number, when, proof=proof, expires_at=_until(expires, "--expires"))
        e164 = _e164(number)
    click.echo(f"recorded consent: {e164} at {_show(when)} (proof {proof})")


@consent.command("withdraw")
@click.argument("number")
@click.option("--at", type=AT, default=None, help="When it was withdrawn (default: now).")
@db_option
@professional_option
def consent_withdraw(number: str, at: datetime | None, db: str | None, professional: str) -> None:
    """NUMBER withdrew every consent given before --at."""
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.withdraw_consent(number, when)
        e164 = _e164(number)
    click.echo(f"recorded withdrawal: {e164} at {_show(when)}")


@cli.group()
def contract() -> None:
    """Ongoing contracts (calls about them are exempt from Bloctel and consent)."""


@contract.command("add")
@click.argument("number")
@click.option(
    "--start", type=DAY_OR_TIME, default=None, help="When it began (a date: midnight; default: now)."
)
@click.option("--end", type=DAY_OR_TIME, default=None, help="When it ends (a date: through that day).")
@click.option("--subject", default=None, help="What the contract is about.")
@db_option
@professional_option
def contract_add(
    number: str,
    start: date | datetime | None,
    end: date | datetime | None,
    subject: str | None,
    db: str | None,
    professional: str,
) -> None:
    """Record a contract with NUMBER: CONTRACT calls become exempt while it runs."""
    with guarded(db, professional) as guard:
        begin = _begin(start, "--start") or now_utc()
        finish = _until(end, "--end")
        guard.record_contract(number, begin, finish, subject=subject)
        e164 = _e164(number)
    until = f" until {_show(finish)}" if finish is not None else ""
    click.echo(f"recorded contract: {e164} from {_show(begin)}{until}")


@cli.command("import-calls")
@click.argument("calls", type=click.Path(exists=True, dir_okay=False))
@db_option
@professional_option
@json_option
def import_calls_command(calls: str, db: str | None, professional: str, as_json: bool) -> None:
    """Load a call history (the CSV audit reads) into the ledger.

    Each call counts toward the cap; REFUSED starts the cooldown; OBJECTED adds an opt-out. A
    call already in the ledger (same professional, number and instant) is skipped. Exit 0 when
    every row was used, 1 when some were rejected (the others are imported).
    """
    with guarded(db, professional) as guard:
        report = import_calls(guard, calls)
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(str(report))
    sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)


from ._cli_service import service_commands  # noqa: E402  (it uses the helpers above)

for _command in service_commands:
    cli.add_command(_command)


def main() -> None:
    cli()
