"""Auditing a call log: did last quarter's calls respect the rules? (a DGCCRF control asks it).

:func:`audit` replays the calls in time order. Each call is judged as :meth:`Guard.may_call`
would have judged it at its own ``started_at`` — by the regime and rules in force that day —
against the ledger's consents, contracts, opt-outs, consent withdrawals and Bloctel checks, and
against the calls before it:

* **The log is the record of what was dialed.** Every call in the log counts as an attempt for
  the ones after it (same professional and number), whether or not it was itself a violation; an
  outcome ``REFUSED`` starts the refusal cooldown and ``OBJECTED`` puts the number on the
  professional's do-not-call list, as :meth:`Guard.record_call` does.
* **The ledger's own attempts count only before the log begins** (its earliest ``started_at``):
  they bring the history the cap window needs for the first calls of the log. From the log's
  start on, the log is the truth; counting the ledger's attempts there too would count each call
  twice whenever the dialer recorded it with ``attempt()`` or the log was loaded with
  ``import-calls`` — and a cap of four would flag the third call.
* **The ledger's refusals and opt-outs count for the calls strictly after them**, so refusals
  recorded by hand (``callguard refuse``) are seen, while a log already imported does not flag
  its own ``REFUSED``/``OBJECTED`` calls.

The ledger is never modified: a file ledger is opened read-only.

A row that cannot be judged (no number, no readable ``started_at``, an unknown outcome, purpose
or sector, a date before 2016-06-01) is rejected and reported with its line, never dropped.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._decision import Reason
from ._exceptions import ConfigurationError, LedgerError
from ._facts import Facts
from ._files import header_key, open_contacts
from ._guard import build_call, lookback
from ._policy import Policy
from ._rules import Call, evaluate
from ._time import PARIS, UTC, to_us
from ._types import Outcome, Purpose, ReasonCode, Sector
from .storage import Ledger, is_server_url, open_ledger

if TYPE_CHECKING:
    from ._guard import Guard, Rejected

__all__ = ["AuditReport", "CallSource", "LoggedCall", "Violation", "audit", "read_call_log"]

CallSource = str | os.PathLike[str] | Iterable[Mapping[str, object]]
"""A call log: a CSV file path, or rows as mappings (``{"number": ..., "started_at": ...}``)."""

# Accepted header names (compared without case, accents, spaces or punctuation).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "telephone", "tel", "phone", "numero", "msisdn", "destination", "callee"),
    "caller_id": ("callerid", "caller", "cli", "numeropresente"),
    "started_at": ("startedat", "start", "starttime", "startedon", "datetime", "timestamp"),
    "outcome": ("outcome", "result", "resultat"),
    "purpose": ("purpose",),
    "sector": ("sector",),
    "professional": ("professional",),
    "campaign": ("campaign", "campagne"),
}
_REQUIRED = ("number", "caller_id", "started_at")


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One row of a call log, read and checked."""

    line: int
    number: str
    caller_id: str
    started_at: datetime
    """Aware (a naive time in the log is Europe/Paris)."""
    outcome: Outcome | None
    purpose: Purpose | None
    """None when the log does not say (judged as PROSPECTION)."""
    sector: Sector | None
    professional: str
    campaign: str | None


_FRENCH_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def _parse_text_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # the C fast path (most ISO forms on Python 3.11)
    except ValueError:
        pass
    french = _FRENCH_TIME.fullmatch(text)
    if french is not None:
        d, m, y, hh, mm, ss = (int(g or 0) for g in french.groups())
        return datetime(y, m, d, hh, mm, ss)
    from dateutil.parser import isoparse

    return isoparse(text)


def parse_time(value: object) -> datetime:
    """A call's start: ISO 8601 (or the ``23/11/2026 10:30`` French Excel writes), naive = Paris.

    Raises ``ValueError`` naming the value.
    """
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("no started_at")
        try:
            moment = _parse_text_time(text)
        except (ValueError, OverflowError):
            raise ValueError(
                f"started_at {text!r} is not an ISO 8601 time (e.g. 2026-11-23T10:30:00+01:00)"
            ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment


def _cell(row: Mapping[str, object], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _logged(
    line: int, row: Mapping[str, object], professional: str
) -> tuple[LoggedCall | None, str, str]:
    """The call of a normalised row, or (None, bad value, reason)."""
    number = _cell(row, "number")
    if not number:
        return None, "", "no number"
    raw_time = row.get("started_at")
    try:
        started = parse_time("" if raw_time is None else raw_time)
    except ValueError as exc:
        return None, _cell(row, "started_at"), str(exc)
    enums: dict[str, Any] = {}
    for name, enum in (("outcome", Outcome), ("purpose", Purpose), ("sector", Sector)):
        text = _cell(row, name)
        try:
            enums[name] = enum.coerce(text) if text else None
        except ValueError as exc:
            return None, text, str(exc)
    return (
        LoggedCall(
            line=line,
            number=number,
            caller_id=_cell(row, "caller_id"),
            started_at=started,
            outcome=enums["outcome"],
            purpose=enums["purpose"],
            sector=enums["sector"],
            professional=_cell(row, "professional") or professional,
            campaign=_cell(row, "campaign") or None,
        ),
        "",
        "",
    )


def _columns(header: list[str], name: str) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in keys:
                found[column] = keys.index(alias)
                break
    missing = [c for c in _REQUIRED if c not in found]
    if missing:
        raise ConfigurationError(
            f"{name}: no {', '.join(repr(m) for m in missing)} column; a call log needs "
            f"number, caller_id and started_at (outcome, purpose, sector, professional and "
            f"campaign are optional); the header has: {', '.join(repr(h) for h in header)}"
        )
    return found


def read_call_log(
    calls: CallSource, *, professional: str = "default"
) -> tuple[list[LoggedCall], list[Rejected]]:
    """The calls of a log, and the rows that could not be read (with their line numbers).

    ``professional`` applies to rows without a ``professional`` column or value. Rows given as
    mappings are numbered from 1. Raises ``ConfigurationError`` when a required column is
    missing, ``OSError`` when the file cannot be read.
    """
    from ._guard import Rejected

    log: list[LoggedCall] = []
    rejected: list[Rejected] = []

    def add(line: int, row: Mapping[str, object]) -> None:
        call, value, reason = _logged(line, row, professional)
        if call is None:
            rejected.append(Rejected(line, value, reason))
        else:
            log.append(call)

    if isinstance(calls, (str, os.PathLike)):
        name = os.fspath(calls)
        with open_contacts(calls, column=1) as cf:
            if cf.empty:
                return log, rejected
            if cf.header is None:
                raise ConfigurationError(
                    f"{name}: a call log needs a header line naming its columns (number, "
                    "caller_id, started_at…)"
                )
            columns = _columns(cf.header, name)
            width = len(cf.header)
            for r in cf:
                if r.unreadable or len(r.cells) > width:
                    # More fields than the header: the values may sit in the wrong columns.
                    raw = (cf.delimiter or ";").join(r.cells)
                    rejected.append(Rejected(r.line, raw, r.problem or "unreadable line"))
                    continue
                add(r.line, {c: r.cells[i] for c, i in columns.items() if i < len(r.cells)})
        return log, rejected
    if isinstance(calls, (bytes, Mapping)):
        raise ConfigurationError(
            f"calls must be a CSV path or an iterable of mappings, not {type(calls).__name__}"
        )
    for line, item in enumerate(calls, start=1):
        if not isinstance(item, Mapping):
            rejected.append(Rejected(line, repr(item)[:60], "not a mapping of column names"))
            continue
        keys: dict[str, object] = {header_key(str(k)): v for k, v in item.items()}
        row: dict[str, object] = {}
        for column, aliases in _COLUMNS.items():
            for alias in aliases:
                if alias in keys:
                    row[column] = keys[alias]
                    break
        add(line, row)
    return log, rejected


# -- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Violation:
    """A call of the log that the rules in force at its time refused."""

    line: int
    number: str
    """E.164 when the number is valid, else as written in the log."""
    started_at: datetime
    caller_id: str
    professional: str
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "codes": list(self.codes),
        }


@dataclass
class AuditReport:
    """The result of :func:`audit`."""

    calls: int = 0
    """Calls judged (rows rejected are not among them)."""
    violations: list[Violation] = field(default_factory=list)
    """The violating calls, in the log's line order."""
    rejected: list[Rejected] = field(default_factory=list)
    """Rows that could not be judged, in line order."""

    @property
    def summary(self) -> dict[str, int]:
        """Violating calls per reason code (a call with two codes counts in both)."""
        counts = Counter(code for v in self.violations for code in v.codes)
        return {c.value: counts[c.value] for c in ReasonCode if counts[c.value]}

    @property
    def compliant(self) -> bool:
        """No violation, and every row could be judged."""
        return not self.violations and not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "violations": [v.to_dict() for v in self.violations],
            "summary": self.summary,
            "rejected": [
                {"line": r.line, "value": r.value, "reason": r.reason} for r in self.rejected
            ],
        }

    def render(self) -> str:
        """The report as text: one row per violating call, then the count per code."""
        out: list[str] = []
        if self.violations:
            rows = [("line", "number", "started_at", "codes")] + [
                (str(v.line), v.number, v.started_at.isoformat(), "|".join(v.codes))
                for v in self.violations
            ]
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for r in rows:
                out.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
            out.append("")
            width = max(len(code) for code in self.summary)
            out += [f"{code:<{width}}  {count}" for code, count in self.summary.items()]
            out.append("")
        if self.rejected:
            out.append(f"rows not judged: {len(self.rejected)}")
            out += [f"  line {r.line}: {r.value!r}: {r.reason}" for r in self.rejected]
            out.append("")
        out.append(
            f"{self.calls} calls judged, {len(self.violations)} in violation, "
            f"{len(self.rejected)} rows not judged"
        )
        return "\n".join(out)


# -- the replay -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Pair:
    """The replay state of one (professional, number)."""

    facts: Facts
    ledger_refusals: list[int]
    ledger_optouts: list[tuple[int, int | None]]
    log_refusals: list[int] = field(default_factory=list)
    log_optouts: list[tuple[int, int | None]] = field(default_factory=list)


def _open(db: str | os.PathLike[str]) -> Ledger:
    text = os.fspath(db)
    if text != ":memory:" and not is_server_url(text) and not os.path.isfile(text):
        raise LedgerError(
            f"no ledger at {text!r} (pass --db PATH, or ':memory:' to audit against no facts)"
        )
    return open_ledger(text, read_only=True)


def audit(
    calls: CallSource,
    *,
    db: str | os.PathLike[str] | Guard | None = None,
    professional: str | None = None,
    policy: Policy | None = None,
) -> AuditReport:
    """Replay a call log and report every call that broke the rules in force at its time.

    ``calls`` is a CSV path (columns ``number``, ``caller_id``, ``started_at`` and optionally
    ``outcome``, ``purpose``, ``sector``, ``professional``, ``campaign``; a naive time is
    Europe/Paris) or an iterable of mappings with those keys. ``db`` is the ledger: a path
    (default ``$CALLGUARD_DB``, else ``./callguard.db``; it must exist, and is opened read-only),
    ``":memory:"`` for none, or an open :class:`Guard`. ``professional`` applies to rows that do
    not name one (default: the guard's, else ``"default"``); ``policy`` defaults to the guard's,
    else ``Policy()``.

    See the module docstring for what counts as an earlier attempt. The ledger is not modified.
    """
    from ._guard import Guard, Rejected

    if policy is not None and not isinstance(policy, Policy):
        raise ConfigurationError(f"policy must be a callguard.Policy, not {policy!r}")
    if isinstance(db, Guard):
        ledger, owned = db._ledger, False
        default_professional = professional or db.professional
        policy = policy if policy is not None else db.policy
    else:
        if db is None:
            from . import default_db_path

            db = default_db_path()
        ledger, owned = _open(db), True
        default_professional = professional or "default"
    try:
        log, rejected = read_call_log(calls, professional=default_professional)
        report = _replay(policy or Policy(), ledger, log, rejected, Rejected)
    except ledger.errors as exc:
        raise LedgerError(f"cannot read the ledger: {exc}") from exc
    finally:
        if owned:
            ledger.close()
    report.violations.sort(key=lambda v: v.line)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _replay(
    policy: Policy,
    ledger: Ledger,
    log: list[LoggedCall],
    rejected: list[Rejected],
    rejected_type: type[Rejected],
) -> AuditReport:
    report = AuditReport(rejected=rejected)
    judged: list[tuple[LoggedCall, Call]] = [
        (
            c,
            build_call(
                c.number, c.caller_id, c.purpose or Purpose.PROSPECTION, c.sector, None, policy
            ),
        )
        for c in log
    ]
    if not judged:
        return report
    start = min(c.started_at for c, _ in judged)
    start_us = to_us(start)
    since_us = to_us(start - lookback(policy))
    wanted: dict[str, set[int]] = {}
    for c, call in judged:
        if call.number_problem is None and call.number is not None:
            wanted.setdefault(c.professional, set()).add(call.number.key)
    pairs: dict[tuple[str, int], _Pair] = {}
    for name, keys in wanted.items():
        pid = ledger.find_professional(name)
        # An unknown professional has no facts of its own; Bloctel checks are everyone's.
        known = ledger.facts_many(-1 if pid is None else pid, keys, start_us, since_us)
        for key, f in known.items():
            pairs[(name, key)] = _Pair(
                facts=Facts(
                    attempts=[a for a in f.attempts if a < start_us],
                    consents=f.consents,
                    withdrawals=f.withdrawals,
                    slots=f.slots,
                    contracts=f.contracts,
                    bloctel=f.bloctel,
                ),
                ledger_refusals=sorted(f.refusals),
                ledger_optouts=f.optouts,
            )
    order = sorted(judged, key=lambda cc: (cc[0].started_at.astimezone(UTC), cc[0].line))
    none = Facts()
    for c, call in order:
        t = c.started_at.astimezone(UTC)
        tu = to_us(t)
        pair: _Pair | None = None
        facts = none
        if call.number_problem is None and call.number is not None:
            pair = pairs[(c.professional, call.number.key)]
            facts = pair.facts
            facts.refusals = [r for r in pair.ledger_refusals if r < tu] + pair.log_refusals
            facts.optouts = [o for o in pair.ledger_optouts if o[0] < tu] + pair.log_optouts
        try:
            reasons, _ = evaluate(call, facts, t, search=False)
        except ValueError as exc:  # a date outside the rulebook's range
            report.rejected.append(rejected_type(c.line, c.started_at.isoformat(), str(exc)))
            continue
        report.calls += 1
        if reasons:
            number = call.number.e164 if call.number is not None else c.number
            report.violations.append(
                Violation(c.line, number, c.started_at, c.caller_id, c.professional, tuple(reasons))
            )
        if pair is not None:
            pair.facts.attempts.append(tu)
            if c.outcome is Outcome.REFUSED:
                pair.log_refusals.append(tu)
            elif c.outcome is Outcome.OBJECTED:
                pair.log_optouts.append((tu, None))
    return report
