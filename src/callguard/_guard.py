"""`Guard`: the long-lived gate a dialer opens once and asks before every dial."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from types import TracebackType
from typing import Any

from . import _calendar as cal
from ._decision import Decision, Reason
from ._exceptions import CallguardError, ConfigurationError, InvalidNumberError, LedgerError
from ._facts import Facts
from ._files import Source, read_numbers
from ._numbers import LineKind, PhoneNumber, national_key, parse_number
from ._policy import Policy
from ._regimes import regime_on
from ._rules import Call, Verdict, judge
from ._time import PARIS, instant, now_utc, require_aware, to_us
from ._types import Outcome, Purpose, ReasonCode, Sector
from .storage import DEFAULT_BUSY_TIMEOUT, Ledger, describe, open_ledger

__all__ = ["Guard", "ImportReport", "PurgeReport", "Rejected"]

_HIDDEN = frozenset(
    {
        "anonymous",
        "anonyme",
        "private",
        "prive",
        "privé",
        "hidden",
        "masque",
        "masqué",
        "unknown",
        "inconnu",
        "restricted",
        "withheld",
        "unavailable",
        "blocked",
        "none",
        "null",
    }
)

# The search for next_allowed_at looks two years ahead; keep its date arithmetic in range.
_LAST_YEAR = 9000

CONSENT_PROOF_RETENTION_DAYS = 3 * 365
"""Consent proofs are kept three years (décret n° 2026-662, docs/rules.md §6)."""

_LEDGER_UNAVAILABLE_BASIS = "Code de la consommation, art. L242-16 (fail closed)"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line an import could not use: where, what, why."""

    line: int
    value: str
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did: numbers recorded listed and clean, and every line it rejected."""

    listed: int = 0
    clean: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"listed: {self.listed}",
            f"clean: {self.clean}",
            f"rejected: {len(self.rejected)}",
        ]
        lines += [f"  line {r.line}: {r.value!r}: {r.reason}" for r in self.rejected]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "clean": self.clean,
            "rejected": [
                {"line": r.line, "value": r.value, "reason": r.reason} for r in self.rejected
            ],
        }


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What :meth:`Guard.purge` removed, table by table."""

    before: datetime
    consents_before: datetime
    removed: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def __str__(self) -> str:
        before = self.before.astimezone(PARIS).isoformat(timespec="seconds")
        proofs = self.consents_before.astimezone(PARIS).isoformat(timespec="seconds")
        lines = [f"removed records that ended before {before} (consent proofs before {proofs}):"]
        lines += [f"  {table}: {count}" for table, count in self.removed.items()]
        return "\n".join(lines)


def _unavailable(detail: str, at: datetime, callee_tz: str, number: str | None = None) -> Decision:
    """A refusal because the ledger could not be read (fail closed, L242-16)."""
    return Decision(
        allowed=False,
        reasons=(
            Reason(
                ReasonCode.LEDGER_UNAVAILABLE,
                f"The ledger could not be read, so the call is refused: {detail}.",
                _LEDGER_UNAVAILABLE_BASIS,
                f"Le registre d'appels est illisible, l'appel est donc refusé : {detail}.",
            ),
        ),
        next_allowed_at=None,
        number=number,
        regime=regime_on(at.astimezone(cal.zone(callee_tz)).date()).name,
        callee_tz=callee_tz,
        at=at,
    )


def _destination_problem(
    raw: object, number: PhoneNumber | None, error: str | None
) -> Reason | None:
    if number is None:
        shown = repr(raw) if not isinstance(raw, str) or len(raw) <= 40 else repr(raw[:37] + "...")
        return Reason(
            ReasonCode.INVALID_NUMBER,
            f"{shown} is not a valid phone number ({error}).",
            "ARCEP, plan national de numérotation",
            f"{shown} n'est pas un numéro de téléphone valide ({error}).",
        )
    if number.consumer_line:
        return None
    if not number.french:
        what, quoi = (
            f"a foreign number ({number.territory})",
            f"un numéro étranger ({number.territory})",
        )
    elif number.kind is LineKind.SPECIAL:
        what, quoi = "a special or premium-rate number (08)", "un numéro spécial ou surtaxé (08)"
    elif number.kind is LineKind.SHORT:
        what, quoi = "a short code", "un numéro court"
    else:
        what, quoi = "not a consumer line", "pas une ligne de consommateur"
    return Reason(
        ReasonCode.UNSUPPORTED_DESTINATION,
        f"{number.e164} is {what}: callguard judges calls to French consumer lines only.",
        "Code de la consommation, art. L223-1 (French consumers)",
        f"{number.e164} est {quoi} : callguard ne juge que les appels vers des lignes de "
        "consommateurs français.",
    )


def _parse_caller(raw: object) -> tuple[PhoneNumber | None, str | None]:
    if isinstance(raw, str):
        return _parse_caller_text(raw)
    return _parse_caller_any(raw)


@lru_cache(maxsize=1024)
def _parse_caller_text(raw: str) -> tuple[PhoneNumber | None, str | None]:
    """Dialers present a handful of caller IDs: remember what each one is."""
    return _parse_caller_any(raw)


def _parse_caller_any(raw: object) -> tuple[PhoneNumber | None, str | None]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, "missing"
    if isinstance(raw, str) and raw.strip().lower().strip("<>()[] ") in _HIDDEN:
        return None, "hidden"
    try:
        return parse_number(raw), None
    except InvalidNumberError as exc:
        return None, f"invalid ({exc.reason})"


def build_call(
    number: object,
    caller_id: object,
    purpose: object,
    sector: object,
    callee_tz: object,
    policy: Policy,
) -> Call:
    """The question a decision answers: the number and caller ID normalised, the purpose and
    sector checked, the consumer's zones and holiday areas found. Bad numbers and caller IDs
    become problems to report; a bad purpose, sector or zone is a ``ValueError``."""
    purpose_ = Purpose.coerce(purpose)
    sector_ = None if sector is None else Sector.coerce(sector)
    parsed: PhoneNumber | None
    try:
        parsed, error = parse_number(number), None
    except InvalidNumberError as exc:
        parsed, error = None, exc.reason
    caller, caller_problem = _parse_caller(caller_id)
    zones, areas = cal.consumer_zones(parsed, callee_tz)
    return Call(
        number=parsed,
        number_problem=_destination_problem(number, parsed, error),
        caller=caller,
        caller_problem=caller_problem,
        purpose=purpose_,
        sector=sector_,
        zones=zones,
        areas=areas,
        policy=policy,
    )


def lookback(policy: Policy) -> timedelta:
    """How far back a decision reads attempts and refusals: the cap window or the cooldown, and
    two days for the widest gap between the consumer's local date and UTC."""
    return timedelta(days=max(policy.cap_days, policy.refusal_cooldown_days) + 2)


def _e164_of(call: Call) -> str | None:
    number = call.number
    return None if number is None or number.kind is LineKind.SHORT else number.e164


class Guard:
    """May I call this number, from this caller ID, now? Over one ledger, for one professional.

    ``Guard("callguard.db", professional="acme")`` opens (creating and migrating) the ledger.
    Several guards with different professionals may share one file: each sees its own attempts,
    refusals, opt-outs, consents and contracts; Bloctel results are shared by all.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "callguard.db",
        *,
        professional: str = "default",
        policy: Policy | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``clock`` replaces the wall clock where ``now`` is omitted (tests inject one)."""
        if not isinstance(professional, str) or not professional.strip():
            raise CallguardError(f"professional must be a non-empty name, not {professional!r}")
        if policy is not None and not isinstance(policy, Policy):
            raise CallguardError(f"policy must be a callguard.Policy, not {policy!r}")
        if not isinstance(busy_timeout, (int, float)) or not 0 <= busy_timeout <= 600:
            raise CallguardError(f"busy_timeout must be 0..600 seconds, not {busy_timeout!r}")
        self.professional = professional
        self._clock = clock if clock is not None else now_utc
        self.policy = policy if policy is not None else Policy()
        self.path = describe(path)
        """Where the ledger is, as messages show it (a server URL without its password)."""
        self._ledger: Ledger = open_ledger(path, busy_timeout=busy_timeout)
        self._errors: tuple[type[Exception], ...] = (*self._ledger.errors, CallguardError)
        try:
            self._pid = self._ledger.professional_id(professional)
        except self._ledger.errors as exc:
            self._ledger.close()
            raise LedgerError(f"cannot register professional in {self.path!r}: {exc}") from exc
        self._batch_depth = 0
        self._lookback = lookback(self.policy)

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._ledger.close()

    def __enter__(self) -> Guard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Guard({self.path!r}, professional={self.professional!r})"

    def _now(self, now: datetime | None, name: str = "now") -> datetime:
        t = require_aware(self._clock() if now is None else now, name)
        if t.year >= _LAST_YEAR:
            raise ValueError(f"{name}={t.isoformat()} is too far in the future to judge a call")
        return t

    # -- decisions ----------------------------------------------------------------------------

    def _call(
        self,
        number: object,
        caller_id: object,
        purpose: object,
        sector: object,
        callee_tz: object,
    ) -> Call:
        return build_call(number, caller_id, purpose, sector, callee_tz, self.policy)

    def _facts(self, call: Call, t: datetime) -> Facts:
        if call.number_problem is not None or call.number is None:
            return Facts()
        return self._ledger.facts(self._pid, call.number.key, to_us(t), to_us(t - self._lookback))

    def _decision(
        self, call: Call, t: datetime, verdict: Verdict, attempt_id: int | None = None
    ) -> Decision:
        primary = call.zones[0]
        nxt = verdict.next_allowed
        return Decision(
            allowed=not verdict.reasons,
            reasons=tuple(verdict.reasons),
            next_allowed_at=None if nxt is None else nxt.astimezone(primary),
            number=_e164_of(call),
            regime=verdict.regime.name,
            callee_tz=primary.key,
            at=t,
            attempt_id=attempt_id,
        )

    def may_call(
        self,
        number: object,
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
    ) -> Decision:
        """Whether ``number`` may be called from ``caller_id`` at ``now``. Read-only.

        Never raises for a bad number or caller ID (those are refusals); a naive ``now`` is a
        ``ValueError``. A ledger that cannot be read refuses with ``LEDGER_UNAVAILABLE``.
        """
        t = self._now(now)
        call = self._call(number, caller_id, purpose, sector, callee_tz)
        try:
            facts = self._facts(call, t)
        except self._errors as exc:
            return _unavailable(str(exc), t, call.zones[0].key, _e164_of(call))
        return self._decision(call, t, judge(call, facts, t))

    def attempt(
        self,
        number: object,
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
        campaign: str | None = None,
    ) -> Decision:
        """Decide and, only when allowed, record the attempt in the same write transaction.

        The write lock is taken before the ledger is read, so processes sharing the file can
        never together exceed the cap. ``decision.attempt_id`` is set when recorded.
        """
        t = self._now(now)
        call = self._call(number, caller_id, purpose, sector, callee_tz)
        if call.number_problem is not None or call.number is None:
            return self._decision(call, t, judge(call, Facts(), t))
        key = call.number.key
        attempt_id: int | None = None
        try:
            with self._ledger.write():
                facts = self._facts(call, t)
                verdict = judge(call, facts, t, search=False)
                if not verdict.reasons:
                    attempt_id = self._ledger.insert_attempt(
                        self._pid,
                        key,
                        to_us(t),
                        caller_id=call.caller.e164 if call.caller else None,
                        outcome=None,
                        campaign=campaign,
                        purpose=call.purpose.value,
                        recorded_at=to_us(now_utc()),
                    )
        except self._errors as exc:
            return _unavailable(str(exc), t, call.zones[0].key, _e164_of(call))
        if attempt_id is not None:
            return self._decision(call, t, verdict, attempt_id)
        # Refused: find when it frees up outside the write lock, from the facts already read.
        return self._decision(call, t, judge(call, facts, t))

    def scrub(
        self,
        numbers: Iterable[object],
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
    ) -> list[Decision]:
        """One :class:`Decision` per number, in order: what :meth:`may_call` says of each at the
        same ``now``, read from the ledger set-based (a temporary table joined against it, not
        one query per number). Read-only; raises as :meth:`may_call` does."""
        from ._bulk import scrub

        return scrub(
            self, numbers, caller_id, now, purpose=purpose, sector=sector, callee_tz=callee_tz
        )

    # -- facts --------------------------------------------------------------------------------

    def _key(self, number: object) -> int:
        return parse_number(number).key

    @contextmanager
    def _write(self, what: str) -> Iterator[Ledger]:
        """A write transaction; a storage failure becomes a LedgerError naming the file.

        Inside :meth:`batch` the batch's transaction is used, so a batch is all or nothing.
        """
        if self._batch_depth:
            yield self._ledger
            return
        try:
            with self._ledger.write():
                yield self._ledger
        except self._ledger.errors as exc:
            raise LedgerError(f"cannot {what} in {self.path!r}: {exc}") from exc

    @contextmanager
    def batch(self) -> Iterator[Guard]:
        """Apply many ``record_*`` calls in one transaction: all of them, or none on error.

        Loading a CRM's history this way is much faster than one transaction a fact, and an
        exception (a bad number, say) leaves the ledger exactly as it was::

            with guard.batch():
                for row in rows:
                    guard.record_consent(row.number, row.at, proof=row.proof)
        """
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
            return
        with self._write("apply the batch"):
            self._batch_depth = 1
            try:
                yield self
            finally:
                self._batch_depth = 0

    def record_call(
        self,
        number: object,
        at: datetime,
        *,
        caller_id: str | None = None,
        outcome: Outcome | str = Outcome.NO_ANSWER,
        campaign: str | None = None,
    ) -> int:
        """Record a call already placed (any outcome counts toward the cap); returns its id.

        ``REFUSED`` starts the refusal cooldown; ``OBJECTED`` adds a permanent opt-out.
        """
        key = self._key(number)
        t = require_aware(at, "at")
        outcome_ = Outcome.coerce(outcome)
        caller, _ = _parse_caller(caller_id)
        stored_caller = caller.e164 if caller else (caller_id or None)
        with self._write("record the call") as ledger:
            attempt_id = ledger.insert_attempt(
                self._pid,
                key,
                to_us(t),
                caller_id=stored_caller,
                outcome=outcome_.value,
                campaign=campaign,
                purpose=None,
                recorded_at=to_us(now_utc()),
            )
            self._apply_outcome(ledger, key, to_us(t), outcome_, attempt_id)
        return attempt_id

    def _apply_outcome(
        self, ledger: Ledger, key: int, at: int, outcome: Outcome, attempt_id: int
    ) -> None:
        if outcome is Outcome.REFUSED:
            ledger.insert_refusal(self._pid, key, at, attempt_id)
        elif outcome is Outcome.OBJECTED:
            ledger.insert_optout(self._pid, key, at, None, "objection")

    def record_outcome(
        self, attempt_id: int, outcome: Outcome | str, at: datetime | None = None
    ) -> None:
        """Set the outcome of an attempt recorded by :meth:`attempt` or :meth:`record_call`."""
        outcome_ = Outcome.coerce(outcome)
        if not isinstance(attempt_id, int) or isinstance(attempt_id, bool):
            raise ValueError(f"attempt_id must be an int, not {attempt_id!r}")
        with self._write("record the outcome") as ledger:
            row = ledger.attempt_row(attempt_id)
            if row is None or row[0] != self._pid:
                raise ValueError(f"no attempt {attempt_id} for professional {self.professional!r}")
            _, key, attempt_at = row
            when = attempt_at if at is None else to_us(require_aware(at, "at"))
            ledger.set_outcome(attempt_id, outcome_.value)
            ledger.delete_refusal_of(attempt_id)
            self._apply_outcome(ledger, key, when, outcome_, attempt_id)

    def record_refusal(self, number: object, at: datetime) -> None:
        """The consumer refused during the call: no call for 60 full days (D223-9)."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self._write("record the refusal") as ledger:
            ledger.insert_refusal(self._pid, key, t)

    def add_optout(
        self,
        number: object,
        at: datetime,
        *,
        source: str = "internal",
        expires_at: datetime | None = None,
    ) -> None:
        """Put ``number`` on the professional's do-not-call list from ``at`` (until ``expires_at``)."""
        key = self._key(number)
        start, end = _span(require_aware(at, "at"), "at", expires_at, "expires_at")
        with self._write("add the opt-out") as ledger:
            ledger.insert_optout(self._pid, key, start, end, str(source))

    def remove_optout(self, number: object, at: datetime) -> int:
        """Lift the professional's opt-outs of ``number`` from ``at``; returns how many."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self._write("remove the opt-out") as ledger:
            return ledger.remove_optouts(self._pid, key, t)

    def record_consent(
        self,
        number: object,
        at: datetime,
        *,
        proof: str,
        expires_at: datetime | None = None,
    ) -> None:
        """Record a prior consent to be canvassed, with the reference of its proof (L223-1)."""
        key = self._key(number)
        _require_proof(proof)
        start, end = _span(require_aware(at, "at"), "at", expires_at, "expires_at")
        with self._write("record the consent") as ledger:
            ledger.insert_consent(self._pid, key, start, end, proof)

    def withdraw_consent(self, number: object, at: datetime) -> None:
        """The consumer withdrew every consent given before ``at``."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self._write("withdraw the consent") as ledger:
            ledger.insert_withdrawal(self._pid, key, t)

    def record_slot_consent(
        self, number: object, start: datetime, end: datetime, *, proof: str
    ) -> None:
        """The consumer agreed to be called between ``start`` and ``end`` (any day or hour)."""
        key = self._key(number)
        _require_proof(proof)
        s, e = _span(require_aware(start, "start"), "start", require_aware(end, "end"), "end")
        assert e is not None
        with self._write("record the slot consent") as ledger:
            ledger.insert_slot(self._pid, key, s, e, proof)

    def record_contract(
        self,
        number: object,
        start: datetime,
        end: datetime | None = None,
        *,
        subject: str | None = None,
    ) -> None:
        """An ongoing contract from ``start`` (until ``end``): contract calls become exempt."""
        key = self._key(number)
        s, e = _span(instant(start, "start"), "start", end, "end")
        with self._write("record the contract") as ledger:
            ledger.insert_contract(self._pid, key, s, e, subject)

    def purge(
        self,
        before: datetime,
        *,
        now: datetime | None = None,
        proof_retention_days: int = CONSENT_PROOF_RETENTION_DAYS,
    ) -> PurgeReport:
        """Remove this professional's call records that ended before ``before``.

        Attempts, refusals, ended opt-outs, slots and contracts go; consents and withdrawals are
        kept ``proof_retention_days`` (three years by default, décret n° 2026-662) whatever
        ``before`` says. A ``before`` recent enough to remove an attempt or a refusal that the
        cap or the cooldown still counts is refused: purging must never open a call.
        """
        t = self._now(now)
        cut = require_aware(before, "before")
        needed = max(self.policy.cap_days, self.policy.refusal_cooldown_days + 1) + 2
        latest = t - timedelta(days=needed)
        if cut > latest:
            raise ConfigurationError(
                f"before={cut.isoformat()} would remove attempts or refusals that the "
                f"{self.policy.cap_days}-day cap or the {self.policy.refusal_cooldown_days}-day "
                f"cooldown still needs: use {latest.date().isoformat()} or earlier"
            )
        if not isinstance(proof_retention_days, int) or proof_retention_days < 3 * 365:
            raise ConfigurationError(
                f"proof_retention_days={proof_retention_days!r}: consent proofs are kept at "
                "least three years (1095 days)"
            )
        consents_before = min(cut, t - timedelta(days=proof_retention_days))
        with self._write("purge the ledger") as ledger:
            removed = ledger.purge(self._pid, to_us(cut), to_us(consents_before), to_us(t))
        return PurgeReport(cut, consents_before, removed)

    def import_bloctel(
        self,
        listed: Source,
        checked_at: datetime,
        *,
        submitted: Source | None = None,
    ) -> ImportReport:
        """Load a Bloctel return: ``listed`` numbers are flagged; ``submitted`` ones not flagged
        are clean at ``checked_at``. All or nothing; bad lines are reported, never dropped."""
        checked = to_us(instant(checked_at, "checked_at"))
        report = ImportReport()
        with self._write("import the Bloctel file") as ledger:
            report.listed, report.clean = ledger.import_bloctel(
                _keys(listed, report),
                _keys(submitted, report) if submitted is not None else (),
                checked,
            )
        return report


def _span(start: datetime, start_name: str, end: object, end_name: str) -> tuple[int, int | None]:
    """A fact's (start, end) in UTC microseconds. ``end`` may be None (open-ended) or a date
    (through that day); an end that is not after the start is a ValueError naming both."""
    until = None if end is None else instant(end, end_name, end_of_day=True)
    if until is not None and until <= start:
        raise ValueError(
            f"{end_name}={until.isoformat()} is not after {start_name}={start.isoformat()}"
        )
    return to_us(start), None if until is None else to_us(until)


def _require_proof(proof: object) -> None:
    if not isinstance(proof, str) or not proof.strip():
        raise ValueError(
            f"proof must reference where the consent is kept (L223-1 requires it), not {proof!r}"
        )


def _keys(source: Source, report: ImportReport) -> Iterator[int]:
    """The ledger keys of the consumer lines in ``source``; every other line goes to the report."""
    for line, value in read_numbers(source):
        key = national_key(value)
        if key is not None:
            yield key
            continue
        try:
            number = parse_number(value)
        except InvalidNumberError as exc:
            report.rejected.append(Rejected(line, value, exc.reason))
            continue
        if not number.consumer_line:
            report.rejected.append(Rejected(line, value, "not a French consumer line"))
            continue
        yield number.key
