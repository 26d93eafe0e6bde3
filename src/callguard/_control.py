"""The control pack: what a DGCCRF or CNIL control asks for, in one folder.

For a period (Paris days, inclusive) and optionally some numbers, :func:`control_pack` writes:

* ``calls.csv`` / ``calls.json`` — the professional's attempts of the period, each with the
  decision replayed by :func:`callguard.audit` against the law of the call's own day (the
  regime, days, hours, cap, cooldown, consents, opt-outs and Bloctel checks known then);
* ``refusals``, ``optouts``, ``consents`` (CSV and JSON) — the facts of the period; the consent
  file is the evidence: proof, every evidence column, withdrawal;
* ``audit.json`` — the audit's counts per reason code and its violations;
* ``verification.json`` — the journal's verification (``callguard verify``);
* ``report.html`` — the self-contained page with charts (:func:`callguard._report.render_report`);
* ``manifest.json`` — the SHA-256 of every file above, so the copy handed over can be checked.

Every time is written in the consumer's zone with its offset, never bare UTC. The ledger is only
read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ._audit import audit
from ._decision import Reason
from ._evidence import PARIS, consent_evidence, list_table, zone_of
from ._guard import Guard
from ._i18n import N_, text
from ._numbers import parse_number
from ._report import CallRow, ConsentRow, RefusalRow, ReportData, Verification, render_report
from ._time import from_us, now_utc, to_us
from .rules.regimes import regime_on

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
) -> ControlPack:
    """Write the control pack of ``guard``'s professional into ``out`` (created if need be).

    ``start``/``end`` are Paris days, inclusive (default: the 365 days up to today);
    ``numbers`` narrows it to those numbers. ``progress`` is told each step's name.
    """
    today = now_utc().astimezone(ZoneInfo(PARIS)).date()
    end = end or today
    start = start or end - timedelta(days=364)
    if start > end:
        raise ValueError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    lo, hi = to_us(_paris_midnight(start)), to_us(_paris_midnight(end + timedelta(days=1)))
    keys = sorted({parse_number(n).key for n in numbers})
    wanted = {f"+{k}" for k in keys}
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    pack = ControlPack(folder, start, end)
    step = progress or (lambda name: None)
    ledger, pid = guard.engine.ledger, guard.engine.pid

    def keep(row: dict[str, Any]) -> bool:
        return not wanted or row["number"] in wanted

    def in_period(text: str | None) -> bool:
        return text is not None and lo <= to_us(datetime.fromisoformat(text)) < hi

    # 1. The attempts of the period.
    step("calls")
    rows: list[tuple[Any, ...]] = ledger.service_rows(
        "SELECT id, number, at, caller_id, outcome, campaign, purpose FROM attempts "
        "WHERE professional = ? AND at >= ? AND at < ? ORDER BY at, id",
        (pid, lo, hi),
    )
    attempts = [r for r in rows if not wanted or f"+{r[1]}" in wanted]
    # 2. Each replayed against the law of its day.
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
    pack.calls = len(calls)
    pack.violations = len(report.violations)
    pack.summary = report.summary
    _write(pack, "calls", calls, lang)
    _json(pack, "audit.json", {
        "from": start.isoformat(), "to": end.isoformat(), "calls": report.calls,
        "summary": report.summary,
        "violations": [
            {"attempt_id": c["attempt_id"], "number": c["number"], "at": c["at"],
             "codes": c["codes"].split(), "reasons": c["reasons"]}
            for c in calls if not c["lawful"]
        ],
        "rejected": [r.to_dict() for r in report.rejected],
    })  # fmt: skip
    # 3. The other facts of the period.
    step("facts")
    refusals = [r for r in list_table(guard, "refusals") if keep(r) and in_period(r["at"])]
    optouts = [
        r for r in list_table(guard, "optouts")
        if keep(r) and (in_period(r["at"]) or in_period(r.get("removed_at")))
    ]  # fmt: skip
    _write(pack, "refusals", refusals, lang)
    _write(pack, "optouts", optouts, lang)
    # 4. The consent evidence: every consent of these numbers, whenever given (a call of the
    # period may rest on a consent given before it).
    step("consents")
    consents = [c for c in consent_evidence(guard) if keep(c)]
    _write(pack, "consents", consents, lang)
    # 5. The journal.
    step("verification")
    verdict = guard.verify()
    pack.verified = verdict.ok
    _json(pack, "verification.json", verdict.to_dict())
    # 6. The page.
    step("report")
    cooldown = timedelta(days=guard.policy.refusal_cooldown_days + 1)
    data = ReportData(
        professional=guard.professional,
        period_from=start,
        period_to=end,
        generated_at=now_utc(),
        verification=Verification(
            verdict.ok, verdict.entries, "" if verdict.first is None else str(verdict.first)
        ),
        calls=call_rows,
        refusals=[
            RefusalRow(
                r["number"], datetime.fromisoformat(r["at"]),
                datetime.fromisoformat(r["at"]) + cooldown,
                lifted=bool(r.get("lifted_at")), zone=zone_of(r["number"]),
            )
            for r in refusals
        ],
        consents=[_consent_row(c) for c in consents],
        summary=report.summary,
        numbers=tuple(sorted(wanted)) or None,
        lang="fr" if lang == "fr" else "en",
    )
    (folder / "report.html").write_text(render_report(data), encoding="utf-8")
    pack.files["report.html"] = _sha(folder / "report.html")
    _json(pack, "manifest.json", pack.to_dict(), record=False)
    return pack


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
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json(pack: ControlPack, name: str, data: object, *, record: bool = True) -> None:
    path = pack.out / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if record:
        pack.files[name] = _sha(path)


# The columns of the pack's CSV files, as their header reads (the French from the catalog).
_COLUMNS = (
    N_("attempt_id"), N_("number"), N_("at"), N_("zone"), N_("caller_id"), N_("outcome"),
    N_("campaign"), N_("purpose"), N_("regime"), N_("lawful"), N_("codes"), N_("reasons"),
)  # fmt: skip


def _said(reason: Reason, lang: str) -> str:
    """A reason's sentence in the pack's language."""
    return reason.message_fr if lang == "fr" and reason.message_fr else reason.message


def _write(pack: ControlPack, stem: str, rows: list[dict[str, Any]], lang: str = "en") -> None:
    """``stem.csv`` (``;``, UTF-8 with BOM: French Excel opens it; its header in ``lang``, from
    the message catalog) and ``stem.json`` (its keys as the API spells them)."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    path = pack.out / f"{stem}.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow([text(c, lang) for c in columns])
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    pack.files[path.name] = _sha(path)
    _json(pack, f"{stem}.json", rows)


