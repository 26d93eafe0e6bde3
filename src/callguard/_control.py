"""The control pack: what a DGCCRF or CNIL control asks for, in one folder.

For a period (Paris days, inclusive) and optionally some numbers, :func:`control_pack` writes:

* ``calls.csv`` / ``calls.json`` — the professional's attempts of the period, each with the
  decision replayed by :func:`callguard.audit` against the law of the call's own day (the
  regime, days, hours, cap, cooldown, consents, opt-outs and Bloctel checks known then);
* ``refusals``, ``optouts``, ``consents`` (CSV and JSON) — the facts of the period; the consent
  file is the evidence: proof, every evidence column, withdrawal;
* ``voids`` (CSV and JSON) — the attempts of the period voided as never placed, with when and
  why: they are not calls, so neither ``calls`` nor the cap counts them;
* ``audit.json`` — the audit's counts per reason code and its violations;
* ``verification.json`` — the journal's verification (``callguard verify``), every problem found,
  the calls of the period they touch, and the signed checkpoints given (copied into
  ``checkpoints/`` with their timestamp tokens and the public key, so the controller can check
  them again);
* ``report.html`` — the self-contained page with charts (:func:`callguard._html_report.render_report`);
* ``manifest.json`` — the SHA-256 of every file above, so the copy handed over can be checked.

Every time is written in the consumer's zone with its offset, never bare UTC. The ledger is only
read. The folder is opened once and every file is written afresh under a temporary name, then
renamed: a symbolic link planted in it is replaced, never written through. Every CSV cell a
spreadsheet would run as a formula is neutralised (as ``scrub`` does). A missing extra
(matplotlib for the page) is an error before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ._audit import audit
from ._checkpoint import TSR, checkpoint_files
from ._decision import Reason
from ._evidence import PARIS, as_dicts, consent_evidence, fact_columns, list_table, zone_of
from ._exceptions import ConfigurationError
from ._files import neutralise
from ._guard import Guard
from ._html_report import CallRow, ConsentRow, RefusalRow, ReportData, Verification, render_report
from ._i18n import N_, _, text
from ._numbers import parse_number
from ._reports import AuditReport
from ._safefiles import SafeDir
from ._time import from_us, now_utc, to_us
from .rules.regimes import regime_on
from .storage.journal import VerifyReport

__all__ = ["ControlPack", "control_pack"]

STEPS = ("calls", "audit", "facts", "consents", "verification", "report")
"""The steps a progress callback is told of, in order."""


@dataclass(slots=True)
class ControlPack:
    """What :func:`control_pack` wrote."""

    out: Path
    period_from: date
    period_to: date
    calls: int = 0
    violations: int = 0
    summary: dict[str, int] = field(default_factory=dict)
    verified: bool = False
    anchored: bool = False
    """Whether a signed checkpoint given holds (the journal is then vouched for up to it)."""
    affected: int = 0
    """Calls of the period the verification's problems touch."""
    thin_consents: int = 0
    """Consents whose evidence is flagged as thin (no wording, no proof digest, a vendor…)."""
    files: dict[str, str] = field(default_factory=dict)
    """File name → SHA-256."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "calls": self.calls,
            "violations": self.violations,
            "summary": dict(self.summary),
            "journal_intact": self.verified,
            "anchored_by_checkpoint": self.anchored,
            "affected_calls": self.affected,
            "thin_consents": self.thin_consents,
            "files": dict(self.files),
        }


def _paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(PARIS))


def control_pack(
    guard: Guard,
    out: str | os.PathLike[str],
    *,
    numbers: Sequence[object] = (),
    start: date | None = None,
    end: date | None = None,
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
    public_key: str | os.PathLike[str] | None = None,
    tsa_roots: str | os.PathLike[str] | None = None,
) -> ControlPack:
    """Write the control pack of ``guard``'s professional into ``out`` (created if need be).

    ``start``/``end`` are Paris days, inclusive (default: the 365 days up to today);
    ``numbers`` narrows it to those numbers. ``progress`` is told each step's name.
    ``checkpoints`` (a folder of signed checkpoints) and ``public_key`` (their key's ``.pub``)
    anchor the journal's verification outside the ledger; both are copied into the pack.

    ``out`` must be a folder (or not exist yet), not a symbolic link. Raises
    :class:`ConfigurationError` before writing anything when matplotlib (the ``report``
    extra) is missing.
    """
    require_report_extra()
    if (checkpoints is None) != (public_key is None):
        raise ConfigurationError(
            _("checkpoints are verified with their public key: give both"),
            field="public_key" if public_key is None else "checkpoints",
        )
    today = now_utc().astimezone(ZoneInfo(PARIS)).date()
    end = end or today
    start = start or end - timedelta(days=364)
    if start > end:
        raise ConfigurationError(
            _("--from {start} is after --to {end}", start=start.isoformat(), end=end.isoformat()),
            field="start",
            value=start,
        )
    keys = sorted({parse_number(n).key for n in numbers})
    folder = Path(out)
    with SafeDir(folder) as target:
        pack = ControlPack(folder, start, end)
        _fill(pack, target, guard, keys, start, end, lang, progress,
              checkpoints, public_key, tsa_roots)  # fmt: skip
    return pack


def require_report_extra() -> None:
    """The page needs matplotlib: say so, in one sentence, before anything is written."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise ConfigurationError(
            "the control pack's report.html draws its charts with matplotlib: "
            'pip install "callguard-fr[report]"'
        )


@dataclass(frozen=True)
class _Scope:
    """What the pack covers: the period [``lo``, ``hi``) in µs UTC and the numbers (all when
    ``wanted`` is empty)."""

    lo: int
    hi: int
    wanted: frozenset[str]

    def keep(self, row: dict[str, Any]) -> bool:
        return not self.wanted or row["number"] in self.wanted

    def in_period(self, text: str | None) -> bool:
        return text is not None and self.lo <= to_us(datetime.fromisoformat(text)) < self.hi


def _fill(
    pack: ControlPack,
    target: SafeDir,
    guard: Guard,
    keys: list[int],
    start: date,
    end: date,
    lang: str,
    progress: Callable[[str], None] | None,
    checkpoints: str | os.PathLike[str] | None,
    public_key: str | os.PathLike[str] | None,
    tsa_roots: str | os.PathLike[str] | None,
) -> None:
    """The pack's files, one step after the other (``progress`` is told each step's name)."""
    scope = _Scope(
        to_us(_paris_midnight(start)), to_us(_paris_midnight(end + timedelta(days=1))),
        frozenset(f"+{k}" for k in keys),
    )  # fmt: skip
    step = progress or (lambda name: None)
    out = _Out(pack, target, lang)
    # 1. The attempts of the period, 2. each replayed against the law of its day.
    step("calls")
    calls, call_rows, report = _calls(guard, scope, start, end, lang, out, step)
    # 3. The other facts of the period.
    step("facts")
    refusals = _facts(guard, scope, out)
    # 4. The consent evidence: every consent of these numbers, whenever given (a call of the
    # period may rest on a consent given before it).
    step("consents")
    consents = [c for c in consent_evidence(guard) if scope.keep(c)]
    pack.thin_consents = sum(1 for c in consents if c["flags"])
    out.table("consents", consents)
    # 5. The journal, anchored by the checkpoints given (copied in, to be checked again).
    step("verification")
    verdict = guard.verify(checkpoints=checkpoints, public_key=public_key, tsa_roots=tsa_roots)
    if checkpoints is not None and public_key is not None:
        _copy_checkpoints(out, checkpoints, public_key)
    pack.verified = verdict.ok
    pack.anchored = verdict.ok and verdict.newest_checkpoint is not None
    pack.affected = affected_calls(verdict, calls, guard.engine.ledger)
    out.json("verification.json", {
        **verdict.to_dict(), "affected_calls": pack.affected,
        "anchored_by_checkpoint": pack.anchored,
    })  # fmt: skip
    # 6. The page.
    step("report")
    data = ReportData(
        professional=guard.professional,
        period_from=start,
        period_to=end,
        generated_at=now_utc(),
        verification=_verification(verdict, pack.affected),
        calls=call_rows,
        refusals=_refusal_rows(refusals, guard.policy.refusal_cooldown_days),
        consents=[_consent_row(c) for c in consents],
        summary=report.summary,
        numbers=tuple(sorted(scope.wanted)) or None,
        lang="fr" if lang == "fr" else "en",
    )
    out.file("report.html", render_report(data).encode())
    out.json("manifest.json", pack.to_dict(), record=False)


def _calls(
    guard: Guard,
    scope: _Scope,
    start: date,
    end: date,
    lang: str,
    out: _Out,
    step: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[CallRow], AuditReport]:
    """The attempts of the period replayed against the law of their day: ``calls.csv`` and
    ``audit.json``; the calls as rows of the CSV and of the page, and the audit."""
    rows = guard.engine.ledger.attempts_between(guard.engine.pid, scope.lo, scope.hi)
    attempts = [r for r in rows if not scope.wanted or f"+{r[1]}" in scope.wanted]
    step("audit")
    log = [
        {
            "number": f"+{number}",
            "caller_id": caller or "",
            "started_at": from_us(int(at)).astimezone(ZoneInfo(zone_of(f"+{number}"))),
            "outcome": outcome or "",
            "purpose": purpose or "",
            "campaign": campaign or "",
        }
        for _, number, at, caller, outcome, campaign, purpose in attempts
    ]
    report = audit(log, db=guard)
    by_line = {v.line: v for v in report.violations}
    calls: list[dict[str, Any]] = []
    call_rows: list[CallRow] = []
    for line, (aid, number, at, caller, outcome, campaign, purpose) in enumerate(attempts, 1):
        e164 = f"+{number}"
        zone = zone_of(e164)
        when = from_us(int(at)).astimezone(ZoneInfo(zone))
        regime = regime_on(when.date()).name
        v = by_line.get(line)
        reasons = v.reasons if v is not None else ()
        calls.append({
            "attempt_id": aid, "number": e164, "at": when.isoformat(), "zone": zone,
            "caller_id": caller, "outcome": outcome, "campaign": campaign, "purpose": purpose,
            "regime": regime, "lawful": not reasons,
            "codes": " ".join(r.code.value for r in reasons),
            "reasons": " | ".join(_said(r, lang) for r in reasons),
        })  # fmt: skip
        call_rows.append(CallRow(
            e164, when, zone, str(outcome or "-"), regime,
            tuple(r.code.value for r in reasons),
            tuple(f"{_said(r, lang)} ({r.legal_basis})" for r in reasons),
        ))  # fmt: skip
    out.pack.calls = len(calls)
    out.pack.violations = len(report.violations)
    out.pack.summary = report.summary
    out.table("calls", calls)
    out.json("audit.json", {
        "from": start.isoformat(), "to": end.isoformat(), "calls": report.calls,
        "summary": report.summary,
        "violations": [
            {"attempt_id": c["attempt_id"], "number": c["number"], "at": c["at"],
             "codes": c["codes"].split(), "reasons": c["reasons"]}
            for c in calls if not c["lawful"]
        ],
        "rejected": [r.to_dict() for r in report.rejected],
    })  # fmt: skip
    return calls, call_rows, report


def _facts(guard: Guard, scope: _Scope, out: _Out) -> list[dict[str, Any]]:
    """The refusals, opt-outs and voided attempts of the period; the refusals, for the page."""
    refusals = [
        r for r in list_table(guard, "refusals") if scope.keep(r) and scope.in_period(r["at"])
    ]
    optouts = [
        r for r in list_table(guard, "optouts")
        if scope.keep(r) and (scope.in_period(r["at"]) or scope.in_period(r.get("removed_at")))
    ]  # fmt: skip
    out.table("refusals", refusals)
    out.table("optouts", optouts)
    voids = as_dicts(
        "attempts",
        guard.engine.ledger.voided_attempt_rows(
            guard.engine.pid, scope.lo, scope.hi, fact_columns("attempts")
        ),
        None,
    )
    out.table("voids", [r for r in voids if scope.keep(r)])
    return refusals


def _verification(verdict: VerifyReport, affected: int) -> Verification:
    """The page's account of the journal's verification."""
    newest = verdict.newest_checkpoint
    return Verification(
        verdict.ok, verdict.entries, "",
        checkpoint_at=None if newest is None or newest.at is None
        else datetime.fromisoformat(newest.at),
        checkpoints=len(verdict.checkpoints),
        entries_after=0 if newest is None else newest.entries_after,
        problems=tuple(str(p) for p in verdict.problems),
        affected_calls=None if verdict.ok else affected,
    )  # fmt: skip


def _refusal_rows(refusals: list[dict[str, Any]], cooldown_days: int) -> list[RefusalRow]:
    cooldown = timedelta(days=cooldown_days + 1)
    return [
        RefusalRow(
            r["number"],
            datetime.fromisoformat(r["at"]),
            datetime.fromisoformat(r["at"]) + cooldown,
            lifted=bool(r.get("lifted_at")),
            zone=zone_of(r["number"]),
        )
        for r in refusals
    ]


def affected_calls(verdict: VerifyReport, calls: Sequence[dict[str, Any]], ledger: Any) -> int:
    """How many of ``calls`` the verification's problems touch: an attempt named by id, or any
    call to the number of a fact named (still in the ledger). A problem that cannot be tied to
    a number — the journal itself, a checkpoint, a removed fact, a Bloctel import — touches
    every call: nothing then vouches for any of them."""
    ids: set[int] = set()
    numbers: set[str] = set()
    for p in verdict.problems:
        if p.table == "attempts" and p.row_id is not None:
            ids.add(int(p.row_id))
            continue
        owner = None
        if p.kind in ("changed", "inserted") and p.row_id is not None:
            owner = _number_of(ledger, p.table, int(p.row_id))
        if owner is None:
            return len(calls)
        numbers.add(owner)
    return sum(1 for c in calls if c["attempt_id"] in ids or c["number"] in numbers)


def _number_of(ledger: Any, table: str, row_id: int) -> str | None:
    """The number of a row of a per-number fact table, or None."""
    from ._evidence import TABLES

    if table not in TABLES:
        return None
    number = ledger.number_of_row(table, row_id)
    return None if number is None else f"+{number}"


def _copy_checkpoints(
    out: _Out, checkpoints: str | os.PathLike[str], public_key: str | os.PathLike[str]
) -> None:
    """The checkpoints, their tokens and the public key, under ``checkpoints/`` in the pack."""
    sub = out.target.mkdir("checkpoints")
    try:
        for path in checkpoint_files(checkpoints):
            for item in (path, path.with_name(path.name + TSR)):
                if item.is_file() and not item.is_symlink():
                    sub.write(item.name, item.read_bytes())
                    out.pack.files[f"checkpoints/{item.name}"] = _sha(item)
        key = Path(public_key)
        sub.write("public-key.pem", key.read_bytes())
        out.pack.files["checkpoints/public-key.pem"] = _sha(key)
    finally:
        sub.close()


def _consent_row(c: dict[str, Any]) -> ConsentRow:
    def when(key: str) -> datetime | None:
        v = c.get(key)
        return None if v is None else datetime.fromisoformat(v)

    given = when("at")
    assert given is not None
    return ConsentRow(
        number=c["number"],
        given_at=given,
        proof=str(c.get("proof") or ""),
        expires_at=when("expires_at"),
        withdrawn_at=when("withdrawn_at"),
        channel=str(c.get("channel") or ""),
        source=str(c.get("source") or ""),
        wording=str(c.get("wording") or ""),
        proof_sha256=str(c.get("proof_sha256") or ""),
        off_hours=bool(c.get("off_hours")),
        zone=zone_of(c["number"]),
        flags=tuple(str(c.get("flags") or "").split()),
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cell(value: object) -> str:
    """A CSV cell: empty for None, and never a formula a spreadsheet would run (a campaign,
    proof, source or lift reason is text the professional's partners typed)."""
    return "" if value is None else neutralise(str(value))


# The columns of the pack's CSV files, as their header reads (the French from the catalog).
_COLUMNS = (
    N_("attempt_id"), N_("number"), N_("at"), N_("zone"), N_("caller_id"), N_("outcome"),
    N_("campaign"), N_("purpose"), N_("regime"), N_("lawful"), N_("codes"), N_("reasons"),
)  # fmt: skip


def _said(reason: Reason, lang: str) -> str:
    """A reason's sentence in the pack's language."""
    return reason.message_fr if lang == "fr" and reason.message_fr else reason.message


@dataclass(slots=True)
class _Out:
    """Where the pack's files go: each written afresh into the folder (``SafeDir``) and its
    SHA-256 recorded in the manifest."""

    pack: ControlPack
    target: SafeDir
    lang: str = "en"

    def file(self, name: str, data: bytes, *, record: bool = True) -> None:
        self.target.write(name, data)
        if record:
            self.pack.files[name] = hashlib.sha256(data).hexdigest()

    def json(self, name: str, data: object, *, record: bool = True) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        self.file(name, text.encode(), record=record)

    def table(self, stem: str, rows: list[dict[str, Any]]) -> None:
        """``stem.csv`` (``;``, UTF-8 with BOM: French Excel opens it) and ``stem.json``."""
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow([_cell(text(c, self.lang)) for c in columns])
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        self.file(f"{stem}.csv", buffer.getvalue().encode("utf-8-sig"))
        self.json(f"{stem}.json", rows)
