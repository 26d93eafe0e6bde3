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
from collections.abc import Callable
from dataclasses import dataclass, field

from ._calllog import CallLogFormat, CallSource, LoggedCall, read_call_log
from ._engine import apply_outcome, build_call, judge, lookback
from ._exceptions import ConfigurationError, LedgerError
from ._facts import Facts
from ._guard import Guard
from ._policy import Policy
from ._reports import AuditReport, Rejected, Violation
from ._time import UTC, to_us
from ._types import Purpose
from .rules import Call
from .storage import Ledger, default_db_path, is_server_url, open_ledger

__all__ = ["AuditReport", "Violation", "audit"]


@dataclass(slots=True)
class _Pair:
    """The replay state of one (professional, number)."""

    facts: Facts
    ledger_refusals: list[int]
    ledger_optouts: list[tuple[int, int | None]]
    log_refusals: list[int] = field(default_factory=list)
    log_optouts: list[tuple[int, int | None]] = field(default_factory=list)

    # What a logged call's outcome adds for the calls after it (see apply_outcome).

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None:
        self.log_refusals.append(at)

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None:
        self.log_optouts.append((at, expires_at))


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
    log_format: CallLogFormat | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Replay a call log and report every call that broke the rules in force at its time.

    ``calls`` is a CSV path (columns ``number``, ``caller_id``, ``started_at`` and optionally
    ``outcome``, ``purpose``, ``sector``, ``professional``, ``campaign``; a naive time is
    Europe/Paris) or an iterable of mappings with those keys. ``db`` is the ledger: a path
    (default ``$CALLGUARD_DB``, else ``./callguard.db``; it must exist, and is opened read-only),
    ``":memory:"`` for none, or an open :class:`Guard`. ``professional`` applies to rows that do
    not name one (default: the guard's, else ``"default"``); ``policy`` defaults to the guard's,
    else ``Policy()``. ``log_format`` reads a dialer's own log (:func:`call_log_format`:
    VICIdial, Asterisk, or a column and outcome mapping); ``progress`` is called with about how
    many bytes of the file were read since its last call.

    See the module docstring for what counts as an earlier attempt. The ledger is not modified.
    """
    if policy is not None and not isinstance(policy, Policy):
        raise ConfigurationError(f"policy must be a callguard.Policy or None, not {policy!r}")
    if isinstance(db, Guard):
        ledger, owned = db.engine.ledger, False
        default_professional = professional or db.professional
        policy = policy if policy is not None else db.policy
    else:
        if db is None:
            db = default_db_path()
        ledger, owned = _open(db), True
        default_professional = professional or "default"
    try:
        log, rejected = read_call_log(
            calls, professional=default_professional, log_format=log_format, progress=progress
        )
        report = _replay(policy or Policy(), ledger, log, rejected)
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
) -> AuditReport:
    report = AuditReport(rejected=rejected)
    judged: list[tuple[LoggedCall, Call]] = [
        (
            c,
            build_call(
                c.number,
                c.caller_id,
                c.purpose or Purpose.PROSPECTION,
                c.sector,
                None,
                policy,
                c.department,
                c.recorded_message,
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
                    off_hours=f.off_hours,
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
            reasons = judge(call, facts, t, search=False, live=False).reasons
        except ValueError as exc:  # a date outside the rulebook's range
            report.rejected.append(Rejected(c.line, c.started_at.isoformat(), str(exc)))
            continue
        report.calls += 1
        if reasons:
            number = call.number.e164 if call.number is not None else c.number
            report.violations.append(
                Violation(c.line, number, c.started_at, c.caller_id, c.professional, tuple(reasons))
            )
        if pair is not None:
            pair.facts.attempts.append(tu)
            apply_outcome(pair, -1, call.number.key if call.number else 0, tu, c.outcome)
    return report
