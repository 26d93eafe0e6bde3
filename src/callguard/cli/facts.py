"""``callguard record``, ``refuse``, ``purge``, ``optout``, ``consent``, ``contract``, ``lift``:
facts in the ledger."""

from __future__ import annotations

import contextlib
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from .._bulk import import_consents, list_optouts, withdraw_consents
from .._reports import FactImportReport
from .._time import PARIS, instant, now_utc
from .._types import Outcome

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType
from .._i18n import N_, _
from ._common import (
    AT,
    DAY_OR_TIME,
    EXIT_OK,
    EXIT_REFUSED,
    choice,
    cli,
    current_lang,
    db_option,
    e164_text,
    echo_json,
    guarded,
    input_argument,
    input_file,
    json_option,
    professional_option,
    progress_bar,
    say,
)

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
@click.option("--outcome", type=choice(Outcome), default="NO_ANSWER", show_default=True)
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
        e164 = e164_text(number)
    if as_json:
        echo_json({"attempt_id": attempt_id, "number": e164, "at": _show(when), "outcome": outcome})
    else:
        click.echo(
            say(
                _(
                    "recorded call {attempt}: {number} at {time}, {outcome}",
                    attempt=attempt_id,
                    number=e164,
                    time=_show(when),
                    outcome=outcome,
                )
            )
        )


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
        e164 = e164_text(number)
    click.echo(say(_("recorded refusal: {number} at {time}", number=e164, time=_show(when))))


@cli.command()
@click.option(
    "--before",
    "before",
    type=DAY_OR_TIME,
    required=True,
    help="Remove records that ended before this date (a date: its midnight, Paris).",
)
@click.option(
    "--keep-proofs-days",
    type=click.IntRange(min=1095),
    default=1095,
    show_default=True,
    help="Keep consent proofs at least this many days.",
)
@click.option(
    "--at",
    type=AT,
    default=None,
    help="Judge from this time (default: now; never ahead of the clock).",
)
@click.option("--by", default=None, help="Who asks for the purge (kept in the purge log).")
@db_option
@professional_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def purge(
    before: date | datetime,
    keep_proofs_days: int,
    at: datetime | None,
    by: str | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Remove the professional's call records that ended before --before, and say what went.

    Attempts and their outcomes, refusals, lifts and ended opt-outs, slot consents and contracts
    are removed, and erased from the journal (which keeps their digests); consent proofs are kept
    three years. A date recent enough to remove what the 30-day cap or the 60-day
    cooldown still counts is refused.
    """
    cut = _begin(before, "--before")
    assert cut is not None
    with guarded(db, professional) as guard:
        report = guard.purge(cut, now=at, proof_retention_days=keep_proofs_days, by=by)
    if as_json:
        echo_json(
            {
                "professional": report.professional,
                "by": report.by,
                "at": None if report.at is None else report.at.isoformat(),
                "before": report.before.isoformat(),
                "consents_before": report.consents_before.isoformat(),
                "removed": report.removed,
                "total": report.total,
            }
        )
    else:
        click.echo(report.render(current_lang()))


@cli.group()
def optout() -> None:
    """The professional's internal do-not-call list."""


@optout.command("add")
@click.argument("number")
@click.option("--at", type=AT, default=None, help="From when (default: now).")
@click.option(
    "--expires", type=DAY_OR_TIME, default=None, help="Until when (a date: through that day)."
)
@click.option(
    "--source", default="internal", show_default=True, help="Where the request came from."
)
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
        e164 = e164_text(number)
    click.echo(say(_("opted out: {number} from {time}", number=e164, time=_show(when))))


@optout.command("remove")
@click.argument("number")
@click.option(
    "--at", type=AT, default=None, help="From when the number may be called (default: now)."
)
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
        e164 = e164_text(number)
    if as_json:
        echo_json({"number": e164, "removed": removed})
    else:
        click.echo(say(_("removed {count} opt-out(s) of {number}", count=removed, number=e164)))


@optout.command("list")
@click.option("--at", type=AT, default=None, help="List the opt-outs in force then (default: now).")
@click.option("--all", "include_ended", is_flag=True, help="Include expired and removed ones.")
@click.option("--number", default=None, help="Only this number.")
@db_option
@professional_option
@json_option
def optout_list(
    at: datetime | None,
    include_ended: bool,
    number: str | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """List the do-not-call list (times in Paris)."""
    with guarded(db, professional) as guard:
        entries = list_optouts(guard, at, include_ended=include_ended)
        if number is not None:
            wanted = e164_text(number)
            entries = [e for e in entries if e.number == wanted]
    if as_json:
        echo_json([e.to_dict() for e in entries])
        return
    click.echo("number\tat\tends_at\tsource")
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
@click.option(
    "--off-hours", is_flag=True, default=False,
    help="The consumer expressly agreed to be called outside the D223-9 days and hours "
    "(opens them before 2026-08-11 only).",
)  # fmt: skip
@click.option("--channel", default=None, help="Where it was given: web, phone, paper, sms, email…")
@click.option("--source", default=None, help="The collecting party (e.g. a lead vendor).")
@click.option("--wording", default=None, help="The text agreed to, or its version id.")
@click.option("--proof-sha256", default=None, help="SHA-256 (hex) of the proof document.")
@db_option
@professional_option
def consent_add(
    number: str,
    proof: str,
    at: datetime | None,
    expires: date | datetime | None,
    off_hours: bool,
    channel: str | None,
    source: str | None,
    wording: str | None,
    proof_sha256: str | None,
    db: str | None,
    professional: str,
) -> None:
    """Record NUMBER's prior consent, with the reference of its proof and its evidence."""
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.record_consent(
            number, when, proof=proof, expires_at=_until(expires, "--expires"),
            off_hours=off_hours, channel=channel, source=source, wording=wording,
            proof_sha256=proof_sha256,
        )  # fmt: skip
        e164 = e164_text(number)
    click.echo(
        say(
            _(
                "recorded consent: {number} at {time} (proof {proof})",
                number=e164,
                time=_show(when),
                proof=proof,
            )
        )
    )


@consent.command("withdraw")
@click.argument("number", required=False)
@click.option("--at", type=AT, default=None, help="When it was withdrawn (default: now).")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    default=None,
    help="A file of STOP replies: number and time columns, or numbers alone with --at.",
)
@click.option(
    "--map",
    "mapping",
    default=None,
    metavar="FIELD=COLUMN,...",
    help="With --file: which column holds the number and the time, e.g. number=from,at=received.",
)
@db_option
@professional_option
@json_option
def consent_withdraw(
    number: str | None,
    at: datetime | None,
    file: str | None,
    mapping: str | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """NUMBER (or every number of --file) withdrew every consent given before --at.

    With --file, exit 0 when every row was used, 1 when some were rejected (the others are
    recorded).
    """
    if (number is None) == (file is None):
        raise click.UsageError(say(_("give a NUMBER or --file FILE (one of them)")))
    if file is not None:
        with (
            guarded(db, professional) as guard,
            contextlib.ExitStack() as stack,
            input_file(file) as path,
        ):
            report = withdraw_consents(
                guard,
                path,
                at=at,
                mapping=mapping,
                progress=progress_bar(stack, path, N_("withdrawals")),
            )
        _print_report(report, as_json)
        sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)
    assert number is not None
    when = _when(at)
    with guarded(db, professional) as guard:
        guard.withdraw_consent(number, when)
        e164 = e164_text(number)
    click.echo(say(_("recorded withdrawal: {number} at {time}", number=e164, time=_show(when))))


@consent.command("import")
@input_argument("file")
@click.option(
    "--map",
    "mapping",
    default=None,
    metavar="FIELD=COLUMN,...",
    help="Which column holds each field, e.g. number=tel,consented_at=date_optin,proof=ref.",
)
@db_option
@professional_option
@json_option
def consent_import(
    file: str, mapping: str | None, db: str | None, professional: str, as_json: bool
) -> None:
    """Load the consents of a lead vendor's export (CSV or .xlsx).

    Columns number, consented_at and proof, and optionally expires_at, channel, source,
    wording, proof_sha256 and off_hours, found by their headers (French or English) or named
    with --map. Exit 0 when every row was used, 1 when some were rejected (the others are
    recorded).
    """
    with (
        guarded(db, professional) as guard,
        contextlib.ExitStack() as stack,
        input_file(file) as path,
    ):
        report = import_consents(
            guard, path, mapping=mapping, progress=progress_bar(stack, path, N_("consents"))
        )
    _print_report(report, as_json)
    sys.exit(EXIT_REFUSED if report.rejected else EXIT_OK)


def _print_report(report: FactImportReport, as_json: bool) -> None:
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.render(current_lang()))


@cli.group()
def contract() -> None:
    """Ongoing contracts (calls about them are exempt from Bloctel and consent)."""


@contract.command("add")
@click.argument("number")
@click.option(
    "--start",
    type=DAY_OR_TIME,
    default=None,
    help="When it began (a date: midnight; default: now).",
)
@click.option(
    "--end", type=DAY_OR_TIME, default=None, help="When it ends (a date: through that day)."
)
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
        e164 = e164_text(number)
    if finish is None:
        said = _("recorded contract: {number} from {start}", number=e164, start=_show(begin))
    else:
        said = _(
            "recorded contract: {number} from {start} until {end}",
            number=e164,
            start=_show(begin),
            end=_show(finish),
        )
    click.echo(say(said))


@cli.group()
def lift() -> None:
    """Lift a refusal or an objection entered by mistake: an explicit, logged act."""


def _lift_command(kind: str) -> None:
    @lift.command(kind)
    @click.argument("number")
    @click.option("--reason", required=True, help="Why it is lifted (logged with it).")
    @click.option("--at", type=AT, default=None, help="When it is lifted (default: now).")
    @click.option("--by", default=None, help="Who lifts it (logged with it).")
    @db_option
    @professional_option
    @json_option
    def command(
        number: str,
        reason: str,
        at: datetime | None,
        by: str | None,
        db: str | None,
        professional: str,
        as_json: bool,
    ) -> None:
        when = _when(at)
        with guarded(db, professional) as guard:
            do = guard.lift_refusal if kind == "refusal" else guard.lift_objection
            lifted = do(number, when, reason=reason, by=by)
            e164 = e164_text(number)
        if as_json:
            echo_json({"number": e164, "lifted": lifted})
        else:
            said = (
                _("lifted {count} refusal(s) of {number}", count=lifted, number=e164)
                if kind == "refusal"
                else _("lifted {count} objection(s) of {number}", count=lifted, number=e164)
            )
            click.echo(say(said))

    command.help = _LIFT_HELP[kind]


_LIFT_HELP = {
    "refusal": N_("Lift NUMBER's refusals recorded at or before --at, entered by mistake; they "
                  "stay in the ledger, marked lifted with the reason."),
    "objection": N_("Lift NUMBER's objections recorded at or before --at, entered by mistake; "
                    "they stay in the ledger, marked lifted with the reason."),
}  # fmt: skip


_lift_command("refusal")
_lift_command("objection")
