"""``callguard verify``, ``show`` and ``control-pack``: evidence for a control."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from .._control import STEPS, control_pack
from .._evidence import consent_evidence, list_table, number_history
from .._evidence import verify as run_verify
from .._exceptions import CallguardError
from .._i18n import N_, _, text
from .._numbers import parse_number
from ._common import (
    DAY_OR_TIME,
    EXIT_OK,
    EXIT_REFUSED,
    at_option,
    cli,
    current_lang,
    db_option,
    echo_json,
    failure,
    guarded,
    json_option,
    ledger_location,
    professional_option,
    render_decision,
    say,
    user_errors,
)
from .facts import consent, contract

_checkpoints_option = click.option(
    "--checkpoints",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="A folder of signed checkpoints (checkpoint-*.json) to check the ledger against.",
)
_public_key_option = click.option(
    "--public-key",
    default=None,
    metavar="FILE.pub",
    type=click.Path(dir_okay=False),
    help="The public key of the checkpoints' signing key (with --checkpoints).",
)
_tsa_root_option = click.option(
    "--tsa-root",
    default=None,
    metavar="PEM",
    type=click.Path(dir_okay=False),
    help="The timestamp authority's certificates: check the tokens' signer (.tsr files).",
)


@cli.command("verify")
@db_option
@_checkpoints_option
@_public_key_option
@_tsa_root_option
@json_option
def verify_command(
    db: str | None,
    checkpoints: str | None,
    public_key: str | None,
    tsa_root: str | None,
    as_json: bool,
) -> None:
    """Check the tamper-evident journal and every fact against it, and the signed checkpoints.

    Exits 0 when intact, 1 naming the first fact changed, removed or inserted outside
    callguard (or the first journal entry altered or removed), or a checkpoint whose head is no
    longer in its chain or whose signature does not verify.
    """
    if (checkpoints is None) != (public_key is None):
        raise click.UsageError(
            say(_("{first} and {second} go together", first="--checkpoints", second="--public-key"))
        )
    try:
        report = run_verify(
            ledger_location(db), checkpoints=checkpoints, public_key=public_key,
            tsa_roots=tsa_root,
        )  # fmt: skip
    except CallguardError as exc:
        raise failure(exc) from exc
    if as_json:
        echo_json(report.to_dict())
    elif report.ok:
        chains = ", ".join(f"{c}: {n}" for c, n in sorted(report.chains.items()))
        click.echo(
            say(
                _(
                    "OK  journal intact: {entries} entries ({chains})",
                    entries=report.entries,
                    chains=chains,
                )
            )
        )
        newest = report.newest_checkpoint
        if newest is not None:
            click.echo(
                say(
                    _(
                        "OK  {count} checkpoint(s); the newest ({at}) holds, {after} entries written "
                        "since",
                        count=len(report.checkpoints),
                        at=newest.at,
                        after=newest.entries_after,
                    )
                )
            )
    else:
        assert report.first is not None
        click.echo(say(_("TAMPERED  {problem}", problem=report.first.as_message())))
        for problem in report.problems[1:]:
            click.echo(say(_("  also: {problem}", problem=problem.as_message())))
    sys.exit(EXIT_OK if report.ok else EXIT_REFUSED)


@cli.group("signing-key")
def signing_key_group() -> None:
    """The Ed25519 key that signs checkpoints (keep the private key off the ledger's host
    if you can; hand the .pub to whoever checks)."""


@signing_key_group.command("create")
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The private key file to write (mode 0600); FILE.pub gets the public key.",
)
def signing_key_create(out: str) -> None:
    """Create a signing key: FILE (PEM, 0600, never overwritten) and FILE.pub; print the public
    key's SHA-256 fingerprint."""
    from .._checkpoint import create_signing_key

    with user_errors():
        fp = create_signing_key(out)
    click.echo(fp)


@cli.command("checkpoint")
@click.option(
    "--signing-key",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The Ed25519 private key (callguard signing-key create).",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="The folder to write the checkpoint into (created if missing).",
)
@click.option(
    "--tsa",
    default=None,
    metavar="URL",
    help="An RFC 3161 timestamp authority: its token is written beside (.tsr).",
)
@db_option
def checkpoint_command(signing_key: str, out: str, tsa: str | None, db: str | None) -> None:
    """Sign the heads of the ledger's journal into a new checkpoint file in DIR; print its path
    alone on one line. Send it off the host: it proves the ledger's past to a control."""
    from .._evidence import checkpoint

    location = ledger_location(db)
    with user_errors():
        path = checkpoint(location, signing_key, out, tsa=tsa)
    click.echo(str(path))


def table_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Rows as tab-separated lines under a header row (``-`` for an empty cell)."""
    cols = columns or (list(rows[0]) if rows else [])
    lang = current_lang()
    lines = ["\t".join(text(c, lang) for c in cols)] if cols else []
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c)
            cells.append("-" if v is None or v == "" else str(v))
        lines.append("\t".join(cells))
    return "\n".join(lines)


# The ledger's column names, as ``show`` heads its tables (the French from the catalog).
_COLUMNS = (
    N_("id"), N_("number"), N_("at"), N_("caller_id"), N_("outcome"), N_("campaign"),
    N_("purpose"), N_("recorded_at"), N_("attempt_id"), N_("lifted_at"), N_("lift_reason"),
    N_("lifted_by"), N_("expires_at"), N_("removed_at"), N_("source"), N_("proof"),
    N_("off_hours"), N_("channel"), N_("wording"), N_("proof_sha256"), N_("start"), N_("end"),
    N_("subject"),
)  # fmt: skip

# ``show``'s tables: the key of each in the history, its title (a message id).
_SHOWN = (
    ("attempts", N_("Attempts")),
    ("refusals", N_("Refusals")),
    ("optouts", N_("Opt-outs")),
    ("consents", N_("Consents")),
    ("withdrawals", N_("Consent withdrawals")),
    ("slots", N_("Slot consents")),
    ("contracts", N_("Contracts")),
    ("bloctel", N_("Bloctel checks")),
)


@cli.command("show")
@click.argument("number")
@click.option(
    "--caller-id", default=None, metavar="ID", help="Caller ID for the decision now (optional)."
)
@at_option
@db_option
@professional_option
@json_option
def show(
    number: str,
    caller_id: str | None,
    at: datetime | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Everything the ledger holds on NUMBER for the professional, and the decision now."""
    with guarded(db, professional) as guard:
        decision = guard.may_call(number, caller_id, at)
        key = parse_number(number).key
        history = number_history(guard.engine.ledger, guard.engine.pid, key, decision.callee_tz)
    if as_json:
        echo_json({"number": decision.number, **history, "decision": decision.to_dict()})
        return
    click.echo(
        say(_("{number}  (times in {zone})", number=decision.number, zone=decision.callee_tz))
    )
    for name, title in _SHOWN:
        rows = history[name]
        click.echo(f"\n{say(title)} ({len(rows)})")
        if rows:
            shown = [{k: v for k, v in r.items() if k != "outcomes"} for r in rows]
            click.echo(table_text(shown))
    click.echo("\n" + say(N_("Decision now")))
    click.echo(render_decision(decision))


def _listing(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        echo_json(rows)
        return
    click.echo(table_text(rows, columns))


@consent.command("list")
@click.option("--number", default=None, help="Only this number.")
@db_option
@professional_option
@json_option
def consent_list(number: str | None, db: str | None, professional: str, as_json: bool) -> None:
    """List the professional's consents with their evidence (times in each number's zone) and
    the flags of thin evidence (NO_WORDING, NO_PROOF_DIGEST, VENDOR_WITHOUT_PROFESSIONAL)."""
    with guarded(db, professional) as guard:
        rows = consent_evidence(guard, number)
    columns = ["number", "at", "expires_at", "proof"]
    extra = [c for c in (rows[0] if rows else {}) if c not in (*columns, "id", "withdrawn_at")]
    _listing(rows, as_json, ["id", *columns, *extra, "withdrawn_at"])


@contract.command("list")
@click.option("--number", default=None, help="Only this number.")
@db_option
@professional_option
@json_option
def contract_list(number: str | None, db: str | None, professional: str, as_json: bool) -> None:
    """List the professional's contracts (times in each number's zone)."""
    with guarded(db, professional) as guard:
        rows = list_table(guard, "contracts", number)
    _listing(rows, as_json, ["id", "number", "start", "end", "subject"])


@cli.command("control-pack")
@click.option("--out", "out", required=True, metavar="DIR", help="The folder to write.")
@click.option(
    "--number", "numbers", multiple=True, metavar="N", help="Only this number (repeatable)."
)
@click.option(
    "--from", "start", type=DAY_OR_TIME, default=None, help="First day (Paris), inclusive."
)
@click.option("--to", "end", type=DAY_OR_TIME, default=None, help="Last day (Paris), inclusive.")
@_checkpoints_option
@_public_key_option
@_tsa_root_option
@db_option
@professional_option
@json_option
def control_pack_command(
    out: str,
    numbers: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    checkpoints: str | None,
    public_key: str | None,
    tsa_root: str | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Write into DIR what a DGCCRF or CNIL control asks for: the period's facts and decisions
    (CSV and JSON), the consent evidence, the audit, the journal's verification (anchored by the
    signed checkpoints given, copied in), report.html."""
    from .._control import require_report_extra

    if (checkpoints is None) != (public_key is None):
        raise click.UsageError(
            say(_("{first} and {second} go together", first="--checkpoints", second="--public-key"))
        )
    with user_errors():
        require_report_extra()  # before the ledger is opened or anything written
    lang = current_lang()
    anchors: dict[str, Any] = {
        "checkpoints": checkpoints,
        "public_key": public_key,
        "tsa_roots": tsa_root,
    }
    with guarded(db, professional) as guard:
        if sys.stderr.isatty() and not as_json:
            with click.progressbar(
                length=len(STEPS), label=say(N_("control pack")), file=sys.stderr
            ) as bar:
                pack = control_pack(
                    guard,
                    out,
                    numbers=numbers,
                    start=_day(start),
                    end=_day(end),
                    lang=lang,
                    progress=lambda _: bar.update(1),
                    **anchors,
                )
        else:
            pack = control_pack(
                guard,
                out,
                numbers=numbers,
                start=_day(start),
                end=_day(end),
                lang=lang,
                **anchors,
            )
    if as_json:
        echo_json(pack.to_dict())
        return
    state = (
        _("intact as of the checkpoint given") if pack.anchored
        else _("consistent, without a checkpoint") if pack.verified
        else _("ALTERED, {count} calls affected (see verification.json)", count=pack.affected)
    )  # fmt: skip
    day = "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"  # a French reader's dates
    click.echo(
        say(
            _(
                "{out}: {calls} calls from {start} to {end}, {violations} in violation; journal {state}",
                out=pack.out,
                calls=pack.calls,
                start=format(pack.period_from, day),
                end=format(pack.period_to, day),
                violations=pack.violations,
                state=state,
            )
        )
    )
    for name in sorted(pack.files):
        click.echo(f"  {name}  sha256 {pack.files[name]}")


def _day(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value
