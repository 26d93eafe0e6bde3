"""The ``callguard`` command: a thin layer over the library (parsing, formatting, exit codes).

Exit codes (api.md): 0 allowed, 1 refused, 2 usage or ledger error (a ``LEDGER_UNAVAILABLE``
refusal exits 2).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import click
from dateutil.parser import isoparse

from . import default_db_path
from ._decision import Decision
from ._exceptions import CallguardError
from ._guard import Guard
from ._time import PARIS
from ._types import Purpose, ReasonCode, Sector

EXIT_ALLOWED, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


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


class _At(click.ParamType):
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime) or value is None:
            return value
        try:
            return parse_at(str(value))
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


AT = _At()
db_option = click.option(
    "--db", "db", default=None, metavar="PATH",
    help="Ledger file (default: $CALLGUARD_DB, else ./callguard.db).",
)
professional_option = click.option(
    "--professional", default="default", show_default=True,
    help="The principal whose counters apply.",
)


def open_guard(db: str | None, professional: str) -> Guard:
    try:
        return Guard(db or default_db_path(), professional=professional)
    except CallguardError as exc:
        raise click.ClickException(str(exc)) from exc


def _choice(enum: type[Purpose] | type[Sector]) -> click.Choice:
    return click.Choice([m.value for m in enum], case_sensitive=False)


def render_decision(decision: Decision) -> str:
    verdict = "ALLOWED" if decision.allowed else "REFUSED"
    lines = [f"{verdict}  {decision.number or '(invalid number)'}  "
             f"[{decision.regime or '-'}, {decision.callee_tz}]"]
    for reason in decision.reasons:
        lines.append(f"  {reason.code.value}: {reason.message}")
        lines.append(f"      {reason.legal_basis}")
    if decision.next_allowed_at is not None:
        lines.append(f"  next allowed at: {decision.next_allowed_at.isoformat()}")
    elif not decision.allowed:
        lines.append("  next allowed at: never by waiting alone")
    return "\n".join(lines)


class _Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        # click exits 1 on ClickException; the contract wants 2 for every usage or ledger error.
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
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


@cli.command()
@click.argument("number")
@click.option("--caller-id", required=True, help="The number the call will present.")
@click.option("--at", type=AT, default=None, help="When (ISO 8601; naive = Europe/Paris).")
@db_option
@professional_option
@click.option("--purpose", type=_choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=_choice(Sector), default=None)
@click.option("--tz", "callee_tz", default=None, help="The consumer's known IANA zone.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def check(
    number: str, caller_id: str, at: datetime | None, db: str | None, professional: str,
    purpose: str, sector: str | None, callee_tz: str | None, as_json: bool,
) -> None:
    """May NUMBER be called now (or --at TIME) from --caller-id? Exit 0 yes, 1 no, 2 error."""
    guard = open_guard(db, professional)
    try:
        decision = guard.may_call(
            number, caller_id, at, purpose=purpose, sector=sector, callee_tz=callee_tz
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        guard.close()
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_decision(decision))
    sys.exit(exit_code(decision))


def exit_code(decision: Decision) -> int:
    if decision.allowed:
        return EXIT_ALLOWED
    if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
        return EXIT_ERROR
    return EXIT_REFUSED


def main() -> None:
    cli()
