"""What every ``callguard`` command shares: options, time parsing, opening the ledger, errors,
rendering a decision, and the command group itself."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import click

from .._decision import Decision
from .._exceptions import CallguardError
from .._guard import Guard
from .._numbers import parse_number
from .._time import now_utc, parse_instant
from ..storage import default_db_path, is_server_url

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


def parse_at(value: str | None) -> datetime | None:
    """ISO 8601 or ``23/11/2026 10:30``; a naive time is Europe/Paris. None or "now" means the
    current time."""
    if value is None or value.strip().lower() == "now":
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-23T10:30 or 2026-11-23T10:30+01:00"
        ) from exc


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


department_option = click.option(
    "--department", default=None,
    help="The INSEE code of the consumer's département (e.g. 57, 2A, 974): decides the zone and "
    "local holidays instead of the number's prefix.",
)  # fmt: skip
recorded_message_option = click.option(
    "--recorded-message", is_flag=True, default=False,
    help="The call plays a recorded message without a human (needs consent, CPCE L34-5).",
)  # fmt: skip


def ledger_location(db: str | None) -> str:
    """The ``--db`` ledger, which must exist (a server URL is checked when it is opened): only
    ``callguard init`` creates one, so a typo never judges calls against an empty ledger."""
    location = db or default_db_path()
    if not is_server_url(location) and location != ":memory:" and not os.path.isfile(location):
        raise click.ClickException(
            f"no ledger at {location!r}: run `callguard init --db {location}` to create one"
        )
    return location


def open_guard(db: str | None, professional: str) -> Guard:
    location = ledger_location(db)
    try:
        return Guard(location, professional=professional, create=False)
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


def choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum], case_sensitive=False)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def e164_text(number: str) -> str:
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


class Group(click.Group):
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


@click.group(cls=Group)
@click.version_option(package_name="callguard-fr", prog_name="callguard")
def cli() -> None:
    """callguard: may I call this number, from this caller ID, now? (French rules)"""
