"""The engine: a question becomes a call, the ledger gives its facts, the rules a decision.

:func:`build_call` normalises the question (number, caller ID, purpose, sector, zones);
:func:`~callguard.rules.judge` applies every rule to it; an :class:`Engine` binds both to one
ledger and one professional, and gives :class:`Decision` objects one at a time (:meth:`decide`)
or for a list read set-based (:meth:`decide_numbers`). The Guard, the scrub and the audit all decide
through here; :func:`apply_outcome` is what a call's outcome does to the ledger, for all of them.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from ._decision import Decision, Reason
from ._exceptions import CallguardError, ConfigurationError, InvalidNumberError, LedgerError
from ._facts import FactKind, Facts
from ._i18n import Message, _
from ._numbers import (
    LineKind,
    PhoneNumber,
    consumer_keys,
    consumer_line,
    line_class,
    parse_caller,
    parse_number,
)  # fmt: skip
from ._time import now_utc, require_aware, to_us
from ._types import Outcome, Purpose, ReasonCode, Sector
from .rules import RULES, Call, Context, Rule
from .rules import calendar as cal
from .rules.base import consent_valid
from .rules.consent import CONSENT_CODES
from .rules.regimes import REGIMES, Regime, regime_on
from .storage import Ledger

if TYPE_CHECKING:
    from ._policy import Policy

__all__ = [
    "Engine",
    "Verdict",
    "apply_outcome",
    "build_call",
    "destination_problem",
    "e164_of",
    "judge",
    "lookback",
    "next_allowed",
    "unavailable",
]

_LEDGER_UNAVAILABLE_BASIS = "Code de la consommation, art. L242-16 (fail closed)"


def unavailable(detail: str, at: datetime, callee_tz: str, number: str | None = None) -> Decision:
    """A refusal because the ledger could not be read (fail closed, L242-16)."""
    return Decision(
        allowed=False,
        reasons=(
            Reason.of(
                ReasonCode.LEDGER_UNAVAILABLE,
                _("The ledger could not be read, so the call is refused: {detail}.",
                  detail=detail),
                _LEDGER_UNAVAILABLE_BASIS,
            ),
        ),
        next_allowed_at=None,
        number=number,
        regime=regime_on(at.astimezone(cal.zone(callee_tz)).date()).name,
        callee_tz=callee_tz,
        at=at,
    )


def destination_problem(
    raw: object, number: PhoneNumber | None, error: Message | str | None
) -> Reason | None:
    if number is None:
        shown = repr(raw) if not isinstance(raw, str) or len(raw) <= 40 else repr(raw[:37] + "...")
        return Reason.of(
            ReasonCode.INVALID_NUMBER,
            _("{value} is not a valid phone number ({reason}).", value=shown, reason=error),
            "ARCEP, plan national de numérotation",
        )
    if number.consumer_line:
        return None
    if not number.french:
        message = _("{number} is a foreign number ({territory}): callguard judges calls to "
                    "French consumer lines only.", number=number.e164, territory=number.territory)
    elif number.kind is LineKind.SPECIAL:
        message = _("{number} is a special or premium-rate number (08): callguard judges calls "
                    "to French consumer lines only.", number=number.e164)
    elif number.kind is LineKind.SHORT:
        message = _("{number} is a short code: callguard judges calls to French consumer lines "
                    "only.", number=number.e164)
    else:
        message = _("{number} is not a consumer line: callguard judges calls to French consumer "
                    "lines only.", number=number.e164)
    return Reason.of(
        ReasonCode.UNSUPPORTED_DESTINATION,
        message,
        "Code de la consommation, art. L223-1 (French consumers)",
    )


def build_call(
    number: object,
    caller_id: object,
    purpose: object,
    sector: object,
    callee_tz: object,
    policy: Policy,
    department: object = None,
    recorded_message: object = False,
) -> Call:
    """The question a decision answers: the number and caller ID normalised, the purpose and
    sector checked, the consumer's zones and holiday areas found (from ``department`` when the
    address is known, else the number). Bad numbers and caller IDs become problems to report; a
    bad purpose, sector, zone or département is a ``ConfigurationError``."""
    if not isinstance(recorded_message, bool):
        raise ConfigurationError(
            f"recorded_message must be True or False, not {recorded_message!r}"
        )
    purpose_ = Purpose.coerce(purpose)
    sector_ = None if sector is None else Sector.coerce(sector)
    parsed: PhoneNumber | None
    try:
        parsed, error = parse_number(number), None
    except InvalidNumberError as exc:
        parsed, error = None, exc.why
    caller, caller_problem = parse_caller(caller_id)
    zones, areas = cal.consumer_zones(parsed, callee_tz, department)
    return Call(
        number=parsed,
        number_problem=destination_problem(number, parsed, error),
        caller=caller,
        caller_problem=caller_problem,
        purpose=purpose_,
        sector=sector_,
        zones=zones,
        areas=areas,
        policy=policy,
        recorded_message=recorded_message,
    )


def lookback(policy: Policy) -> timedelta:
    """How far back a decision reads attempts and refusals: the cap window or the cooldown, and
    two days for the widest gap between the consumer's local date and UTC."""
    return timedelta(days=max(policy.cap_days, policy.refusal_cooldown_days) + 2)


def e164_of(call: Call) -> str | None:
    number = call.number
    return None if number is None or number.kind is LineKind.SHORT else number.e164


# -- the rules applied ---------------------------------------------------------------------------

HORIZON = timedelta(days=2 * 366)
"""How far ahead ``next_allowed_at`` looks; beyond it, time alone is taken not to help."""
_HORIZON_US = HORIZON // timedelta(microseconds=1)


def _next_pass(
    rule: Rule, ctx: Context, t: datetime, horizon: datetime, failing: bool = False
) -> datetime | None:
    if not failing and not rule.check(ctx, t):
        return t
    for start in rule.starts(ctx, t):
        if start > horizon:
            return None
        if not rule.check(ctx, start):
            return start
    return None


def next_allowed(
    ctx: Context, rules: list[Rule], now: datetime, failing: Iterable[Rule] = ()
) -> datetime | None:
    """The earliest instant ≥ ``now`` at which every rule passes, or None within the horizon.

    ``failing`` are rules already known to fail at ``now`` (they are not checked there again).
    """
    horizon = now + HORIZON
    t = now
    known = set(map(id, failing))
    count = len(rules)
    if not count:
        return t
    # Round-robin until every rule has passed at the same instant: a rule that moves ``t`` passes
    # at its new ``t`` (``_next_pass`` checked it there), so only the others are asked again,
    # once each, instead of a whole second round.
    passed = 0
    i = 0
    while True:
        rule = rules[i]
        n = _next_pass(rule, ctx, t, horizon, t is now and id(rule) in known)
        if n is None:
            return None
        if n != t:
            t, passed = n, 1
        else:
            passed += 1
        if passed >= count:
            return t
        i = i + 1 if i + 1 < count else 0


@lru_cache(maxsize=256)
def facts_read(
    regime: Regime, purpose: Purpose | None = None, sector: Sector | None = None
) -> frozenset[FactKind]:
    """The fact kinds a decision taken under ``regime`` can read — the one place that says so.

    Each rule says which kinds it reads (``Rule.reads``); a question for ``purpose`` and
    ``sector`` reads those of the rules that apply to it (every rule when ``purpose`` is None):
    a canvassing call without a banned sector reads no contract, a non-commercial one neither
    attempts nor refusals. Bloctel checks are read only by the Bloctel rule, which passes under
    a regime where Bloctel proves nothing; the search for ``next_allowed_at`` only looks
    forward, so they are left unread when no regime from this one on uses Bloctel (the consent
    regime, from 2026-08-11).
    """
    rules = RULES if purpose is None else _rules_for(True, purpose, sector)
    kinds: set[FactKind] = set().union(*(rule.reads for rule in rules))
    if not any(r.bloctel for r in REGIMES if r.start >= regime.start):
        kinds.discard(FactKind.BLOCTEL)
    return frozenset(kinds)


regime_of_day = lru_cache(maxsize=4096)(regime_on)
"""The regime on a local date (the dated table read once per day)."""


@lru_cache(maxsize=128)
def _rules_for(usable: bool, purpose: Purpose, sector: Sector | None) -> list[Rule]:
    """The rules that apply to a call: they depend only on its purpose, sector and number."""
    return [r for r in RULES if (usable or not r.needs_number) and r.applies(purpose, sector)]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rules say of one call at one instant."""

    reasons: list[Reason]
    next_allowed: datetime | None
    regime: Regime


def judge(
    call: Call, facts: Facts, now: datetime, *, search: bool = True, live: bool = True
) -> Verdict:
    """Every reason refusing ``call`` at ``now`` (UTC), when it becomes allowed, and the regime.

    ``live`` (``may_call``, ``attempt``, scrubs): a fact that closes a call stamped after ``now``
    is already in force, since hosts' clocks differ. An audit's replay passes ``live=False`` to
    judge each past call by what was known at its time.
    """
    ctx = Context(call, facts, to_us(now) if live else None)
    usable = call.number_problem is None
    rules = _rules_for(usable, call.purpose, call.sector)
    reasons: list[Reason] = []
    failing: list[Rule] = []
    for rule in rules:
        found = rule.check(ctx, now)
        if found:
            reasons.extend(found)
            failing.append(rule)
    regime = ctx.regime(now)
    if not reasons or not usable or not search:
        return Verdict(reasons, None, regime)
    # Failing rules first: one that time cannot lift ends the search at once.
    ordered = failing + [r for r in rules if r not in failing]
    return Verdict(reasons, next_allowed(ctx, ordered, now, failing), regime)


# A frozen dataclass sets each field through object.__setattr__; its slots' descriptors do the same
# in half the time. Every decision is built here: same object, same equality and hash.
_DECISION_FIELDS = (
    "allowed", "reasons", "next_allowed_at", "number", "regime", "callee_tz", "at", "attempt_id",
)  # fmt: skip
if tuple(f.name for f in fields(Decision)) != _DECISION_FIELDS:  # pragma: no cover - a new field
    raise ImportError("Decision's fields changed: update _engine._decision to set every one")
(
    _set_allowed, _set_reasons, _set_next, _set_number, _set_regime, _set_tz, _set_at,
    _set_attempt,
) = (Decision.__dict__[name].__set__ for name in _DECISION_FIELDS)  # fmt: skip
_new = object.__new__


def _decision(
    allowed: bool,
    reasons: tuple[Reason, ...],
    next_allowed_at: datetime | None,
    number: str | None,
    regime: str,
    callee_tz: str,
    at: datetime,
    attempt_id: int | None = None,
) -> Decision:
    decision = _new(Decision)
    _set_allowed(decision, allowed)
    _set_reasons(decision, reasons)
    _set_next(decision, next_allowed_at)
    _set_number(decision, number)
    _set_regime(decision, regime)
    _set_tz(decision, callee_tz)
    _set_at(decision, at)
    _set_attempt(decision, attempt_id)
    return decision


class OutcomeSink(Protocol):
    """Where an outcome's consequences go: a ledger, or an audit's replay of a call log."""

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None: ...

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None: ...


def apply_outcome(
    sink: OutcomeSink,
    professional: int,
    number: int,
    at: int,
    outcome: Outcome | None,
    attempt_id: int | None = None,
) -> None:
    """What a call's outcome does: ``REFUSED`` starts the refusal cooldown (D223-9), ``OBJECTED``
    puts the number on the professional's do-not-call list for good; other outcomes only count
    toward the cap, as every attempt does."""
    if outcome is Outcome.REFUSED:
        sink.insert_refusal(professional, number, at, attempt_id)
    elif outcome is Outcome.OBJECTED:
        sink.insert_optout(professional, number, at, None, "objection")


BATCH = 200_000
"""Numbers read from the ledger per set-based query (bounds memory on huge lists: a batch's keys
and the facts of those that have any). Large enough that a batch's sorted keys walk the indexes'
pages in order, most probes landing on a page the previous one read: against a ten-million-number
ledger, batches of 50 000 cost a sixth more CPU time a number than 200 000, and 5 000 more still."""

# A verdict as every decision sharing it shows it: allowed, reasons, next_allowed_at in the
# consumer's zone, regime name, zone name.
_Shared = tuple[bool, tuple[Reason, ...], datetime | None, str, str]

_VERDICTS_KEPT = 100_000
"""Distinct verdicts remembered during one list's decisions, or by the lean path (a bound on
memory, not on correctness)."""

_QUESTIONS_KEPT = 1_000
"""Distinct accepted questions and (zone, minute) fact-kind answers the lean path remembers."""


def plain(facts: Facts, cap: int) -> bool:
    """Whether ``facts`` hold none of the instants that make a verdict a number's own: no
    refusal, slot or contract, fewer attempts than the cap (no window can fill, now or later,
    so they are not read at all), and only permanent opt-outs (in force in a live decision
    whenever stamped, and for good). The Bloctel checks, opt-outs and consents still decide."""
    if facts.refusals or facts.slots or facts.contracts or len(facts.attempts) >= cap:
        return False
    return all(until is None for _, until in facts.optouts)


def _share(call: Call, verdict: Verdict) -> _Shared:
    """A verdict as every decision sharing it shows it."""
    primary = call.zones[0]
    nxt = verdict.next_allowed
    return (
        not verdict.reasons,
        tuple(verdict.reasons),
        None if nxt is None else nxt.astimezone(primary),
        verdict.regime.name,
        primary.key,
    )


class Engine:
    """Decisions for one professional over one ledger, under one policy.

    ``where`` is the ledger's location as messages show it; ``clock`` gives ``now`` when a caller
    omits it.
    """

    __slots__ = (
        "_asked", "_batch_depth", "_kinds", "_lean", "_lookback_us", "clock", "errors", "ledger",
        "lookback", "pid", "policy", "where",
    )  # fmt: skip

    def __init__(
        self,
        ledger: Ledger,
        pid: int,
        policy: Policy,
        clock: Callable[[], datetime],
        where: str,
    ) -> None:
        self.ledger = ledger
        self.pid = pid
        self.policy = policy
        self.clock = clock
        self.where = where
        self.errors: tuple[type[Exception], ...] = (*ledger.errors, CallguardError)
        """Failures that make a decision LEDGER_UNAVAILABLE rather than raise."""
        self.lookback = lookback(policy)
        self._lookback_us = self.lookback // timedelta(microseconds=1)
        self._batch_depth = 0
        # The lean path's memory (see :meth:`ask`): the questions already checked, the fact kinds
        # by (zone, minute), and the verdicts by situation.
        self._asked: set[tuple[object, ...]] = set()
        self._kinds: dict[tuple[object, ...], frozenset[FactKind]] = {}
        self._lean: dict[tuple[object, ...], _Shared] = {}

    def now(self, now: datetime | None, name: str = "now") -> datetime:
        """``now`` in UTC (the clock's when None); naive or out of range is a ValueError."""
        return require_aware(self.clock() if now is None else now, name)

    def call(
        self,
        number: object,
        caller_id: object,
        purpose: object,
        sector: object,
        callee_tz: object,
        department: object = None,
        recorded_message: object = False,
    ) -> Call:
        return build_call(
            number, caller_id, purpose, sector, callee_tz, self.policy, department,
            recorded_message,
        )  # fmt: skip

    def facts(self, call: Call, t: datetime) -> Facts:
        """What a decision on ``call`` at ``t`` reads from the ledger (:meth:`read`)."""
        if call.number_problem is not None or call.number is None:
            return Facts()
        return self.read(call.number.key, call.zones[0], t, to_us(t), call.purpose, call.sector)

    def decision(
        self, call: Call, t: datetime, verdict: Verdict, attempt_id: int | None = None
    ) -> Decision:
        allowed, reasons, nxt, regime, tz = _share(call, verdict)
        return _decision(allowed, reasons, nxt, e164_of(call), regime, tz, t, attempt_id)

    def decide(self, call: Call, t: datetime) -> Decision:
        """The decision on ``call`` at ``t``, read from the ledger (LEDGER_UNAVAILABLE when it
        cannot be read)."""
        try:
            facts = self.facts(call, t)
        except self.errors as exc:
            return unavailable(str(exc), t, call.zones[0].key, e164_of(call))
        return self.decision(call, t, judge(call, facts, t))

    def ask(
        self,
        number: object,
        caller_id: object,
        t: datetime,
        purpose: object,
        sector: object,
        callee_tz: object,
        department: object,
        recorded_message: object,
    ) -> Decision:
        """The decision on one question as ``may_call`` asks it: :meth:`decide` on :meth:`call`,
        through the lean path when it applies (:meth:`lean`)."""
        question = (caller_id, purpose, sector, recorded_message)
        lean = self.lean(number, question, callee_tz, department)
        if lean is not None:
            key, e164, zones, areas = lean
            tu = to_us(t)
            try:
                facts = self.read(key, zones[0], t, tu, purpose, sector)
            except self.errors as exc:
                return unavailable(str(exc), t, zones[0].key, e164)
            shared = self.shared(question, number, zones, areas, facts, t, tu)
            if shared is not None:
                allowed, reasons, nxt, regime, tz = shared
                return _decision(allowed, reasons, nxt, e164, regime, tz, t)
            call = self.call(number, caller_id, purpose, sector, None, None, recorded_message)
            return self.decision(call, t, judge(call, facts, t))
        call = self.call(
            number, caller_id, purpose, sector, callee_tz, department, recorded_message
        )
        if callee_tz is None and department is None:
            self.checked(question)
        return self.decide(call, t)

    def attempt(
        self,
        number: object,
        caller_id: object,
        t: datetime,
        purpose: object,
        sector: object,
        callee_tz: object,
        department: object,
        recorded_message: object,
        campaign: str | None,
    ) -> Decision:
        """``Guard.attempt``: decide and, only when allowed, record the attempt in the same write
        transaction (the lean path as in :meth:`ask`)."""
        question = (caller_id, purpose, sector, recorded_message)
        lean = self.lean(number, question, callee_tz, department)
        call: Call | None = None
        if lean is None:
            call = self.call(
                number, caller_id, purpose, sector, callee_tz, department, recorded_message
            )
            if callee_tz is None and department is None:
                self.checked(question)
            if call.number_problem is not None or call.number is None:
                return self.decision(call, t, judge(call, Facts(), t))
            key, e164, zones = call.number.key, call.number.e164, call.zones
        else:
            key, e164, zones, _ = lean
        tu = to_us(t)
        shared: _Shared | None = None
        verdict: Verdict | None = None
        attempt_id: int | None = None
        try:
            with self.ledger.write():
                facts = self.read(key, zones[0], t, tu, purpose, sector)
                if lean is not None:
                    shared = self.shared(question, number, zones, lean[3], facts, t, tu)
                if shared is not None:
                    allowed = shared[0]
                else:
                    if call is None:
                        call = self.call(
                            number, caller_id, purpose, sector, None, None, recorded_message
                        )
                    verdict = judge(call, facts, t, search=False)
                    allowed = not verdict.reasons
                if allowed:
                    attempt_id = self._insert_attempt(key, tu, caller_id, purpose, campaign)
        except self.errors as exc:
            return unavailable(str(exc), t, zones[0].key, e164)
        if shared is not None:
            allowed, reasons, nxt, regime, tz = shared
            return _decision(allowed, reasons, nxt, e164, regime, tz, t, attempt_id)
        assert call is not None and verdict is not None
        if attempt_id is not None:
            return self.decision(call, t, verdict, attempt_id)
        # Refused: find when it frees up outside the write lock, from the facts already read.
        return self.decision(call, t, judge(call, facts, t))

    def _insert_attempt(
        self, key: int, tu: int, caller_id: object, purpose: object, campaign: str | None
    ) -> int:
        caller, _ = parse_caller(caller_id)
        return self.ledger.insert_attempt(
            self.pid,
            key,
            tu,
            caller_id=None if caller is None else caller.e164,
            outcome=None,
            campaign=campaign,
            purpose=Purpose.coerce(purpose).value,
            recorded_at=to_us(now_utc()),
        )

    def read(
        self, key: int, zone: ZoneInfo, t: datetime, tu: int, purpose: object, sector: object
    ) -> Facts:
        """The facts about the number ``key`` that a decision at ``t`` in ``zone`` for
        ``purpose`` and ``sector`` (accepted already) can read."""
        kinds = self.kinds(zone, t, tu, purpose, sector)
        return self.ledger.facts(self.pid, key, tu, tu - self._lookback_us, kinds)

    # -- the lean path ----------------------------------------------------------------------
    #
    # Most questions a dialer asks are alike: a consumer line written plainly, the same caller
    # ID, purpose and sector as the question before, and a number the ledger knows little
    # about. For those the verdict depends on the number only through its zones and holiday
    # areas, and on the instant only through its minute, so it is computed once by
    # :func:`judge` and shared:
    #
    # * every rule's answer moves only at a minute boundary when the facts hold no instant of
    #   their own that can fall inside the minute: the D223-9 windows open and close on the
    #   minute, the regimes, the caller-ID bans and the Bloctel age change at local midnight, and
    #   the search for ``next_allowed_at`` steps only on those boundaries;
    # * the facts that qualify ("plain") are exactly those: fewer attempts than the cap (no
    #   window can fill, now or later), permanent opt-outs (in force at once in a live decision
    #   and for good), Bloctel checks made outside the minute (and outside the minute the
    #   search's horizon ends in); no refusal, slot or contract, whose instants can fall
    #   anywhere. Consents are read only through whether one is valid: see :meth:`_consented`.
    #
    # Anything else takes the general path. tests/test_lean_path.py holds the two equal, and
    # the benchmark asks at a dialer's pace, each question at its own instant.

    def lean(
        self, number: object, question: tuple[object, ...], callee_tz: object, department: object
    ) -> tuple[int, str, tuple[ZoneInfo, ...], tuple[str, ...]] | None:
        """The key, E.164 form, zones and areas of a consumer line when the lean path may
        answer: a number written as text in a common form, no zone or département given, and a
        caller ID, purpose, sector and recorded-message flag the general path has already
        accepted together."""
        if type(number) is not str or callee_tz is not None or department is not None:
            return None
        try:
            if question not in self._asked:
                return None
        except TypeError:  # an unhashable argument: the general path says what is wrong
            return None
        line = consumer_line(number)
        if line is None:
            return None
        key, e164, zones, territories, alsace = line
        return (key, e164, *cal.line_zones(zones, territories, alsace))

    def checked(self, question: tuple[object, ...]) -> None:
        """Remember a question the general path accepted (its arguments raised nothing)."""
        try:
            if len(self._asked) >= _QUESTIONS_KEPT:
                self._asked.clear()
            self._asked.add(question)
        except TypeError:
            pass

    def kinds(
        self, zone: ZoneInfo, t: datetime, tu: int, purpose: object, sector: object
    ) -> frozenset[FactKind]:
        """:func:`facts_read` for the regime of ``t``'s local day and the question's purpose
        and sector (as given: accepted already), by (zone, minute, purpose, sector)."""
        key = (zone, tu // 60_000_000, purpose, sector)
        kinds = self._kinds.get(key)
        if kinds is None:
            if len(self._kinds) >= _QUESTIONS_KEPT:
                self._kinds.clear()
            kinds = self._kinds[key] = facts_read(
                regime_of_day(t.astimezone(zone).date()),
                Purpose.coerce(purpose),
                None if sector is None else Sector.coerce(sector),
            )
        return kinds

    def shared(
        self,
        question: tuple[object, ...],
        number: object,
        zones: tuple[ZoneInfo, ...],
        areas: tuple[str, ...],
        facts: Facts,
        t: datetime,
        tu: int,
    ) -> _Shared | None:
        """The verdict shared by every plain question in the same situation, or None when the
        facts are not plain (see the comment above) and this one must be judged on its own."""
        if not plain(facts, self.policy.cap_calls):
            return None
        minute = tu // 60_000_000
        start = minute * 60_000_000
        for checked_at, _source in facts.bloctel:
            # A check inside the minute, or inside the minute the search's horizon ends in,
            # would answer differently across the minute.
            if (
                0 < checked_at - start < 60_000_000
                or 0 < checked_at - start - _HORIZON_US < 60_000_000
            ):
                return None
        situation = (question, zones, areas, minute, tuple(facts.bloctel), tuple(facts.optouts))
        if facts.consents:
            return self._consented(situation, question, number, facts, t, tu)
        # (Withdrawals matter only through a consent they withdraw.)
        found = self._lean.get(situation)
        if found is None:
            found = self._keep(situation, self.judged(question, number, facts, t))
        return found

    def _consented(
        self,
        situation: tuple[object, ...],
        question: tuple[object, ...],
        number: object,
        facts: Facts,
        t: datetime,
        tu: int,
    ) -> _Shared:
        """:meth:`shared` for a number with consents, whose instants are its own.

        The rules read consents only through whether one is valid at an instant (any consent,
        and one covering calls outside the hours), so a verdict is shared by the numbers whose
        two answers are the same now and stay the same until the verdict's ``next_allowed_at``
        (or the search's horizon): then every rule answers alike at every instant the search
        visits. A consent's validity only ends (expiry, withdrawal) unless a consent is given
        later, so "the same at both ends, none given between" is "the same throughout". An
        allowed verdict has no search: the answers now suffice. A refusal by the consent rule
        itself may name the consent's date: a refusal is shared only when that rule gave no
        reason (it passed, or does not apply to the question in this regime).
        """
        max_age = self.policy.consent_max_age_days
        valid = consent_valid(facts, tu, max_age, tu)
        off_hours = consent_valid(facts, tu, max_age, tu, off_hours=True)
        key = (situation, valid, off_hours)
        found = self._lean.get(key)
        if found is not None and (found[0] or self._steady(facts, tu, found, valid, off_hours)):
            return found
        verdict = self.judged(question, number, facts, t)
        if found is None and (
            verdict[0]
            or (
                not any(r.code in CONSENT_CODES for r in verdict[1])
                and self._steady(facts, tu, verdict, valid, off_hours)
            )
        ):
            self._keep(key, verdict)
        return verdict

    def _steady(
        self, facts: Facts, tu: int, verdict: _Shared, valid: bool, off_hours: bool
    ) -> bool:
        """Whether both consent answers stay ``valid``/``off_hours`` from ``tu`` until the
        verdict's ``next_allowed_at`` (the search's horizon when None)."""
        nxt = verdict[2]
        until = tu + _HORIZON_US if nxt is None else to_us(nxt)
        for given, _expires in facts.consents:
            if tu < given <= until:
                return False
        max_age = self.policy.consent_max_age_days
        return consent_valid(facts, until, max_age, tu) == valid and (
            consent_valid(facts, until, max_age, tu, off_hours=True) == off_hours
        )

    def judged(
        self, question: tuple[object, ...], number: object, facts: Facts, t: datetime
    ) -> _Shared:
        caller_id, purpose, sector, recorded_message = question
        call = self.call(number, caller_id, purpose, sector, None, None, recorded_message)
        return _share(call, judge(call, facts, t))

    def _keep(self, key: tuple[object, ...], verdict: _Shared) -> _Shared:
        if len(self._lean) >= _VERDICTS_KEPT:
            self._lean.clear()
        self._lean[key] = verdict
        return verdict

    def decide_numbers(
        self,
        numbers: Iterable[object],
        caller_id: object,
        now: datetime | None,
        *,
        purpose: Purpose | str,
        sector: Sector | str | None,
        callee_tz: str | None,
        department: str | None = None,
        recorded_message: bool = False,
    ) -> list[Decision]:
        """One :class:`Decision` per number, in order, as :meth:`decide` gives each at the same
        instant (taken once); the ledger is read :data:`BATCH` numbers at a time."""
        if isinstance(numbers, (str, bytes)):
            raise ConfigurationError(
                f"numbers must be an iterable of phone numbers, not one string ({numbers[:40]!r})"
            )
        t = self.now(now)
        Purpose.coerce(purpose)  # raise before any work, even on an empty list
        if sector is not None:
            Sector.coerce(sector)
        cal.department_of(department)
        decisions: list[Decision] = []
        state = _ListState(
            kinds=_kinds_around(
                t, Purpose.coerce(purpose), None if sector is None else Sector.coerce(sector)
            )
        )
        it = iter(numbers)
        with _collector_paused():
            while batch := list(itertools.islice(it, BATCH)):
                self._decide_batch(
                    batch, caller_id, purpose, sector, callee_tz, department, recorded_message,
                    t, state, decisions,
                )  # fmt: skip
        return decisions

    def _decide_batch(
        self,
        batch: list[object],
        caller_id: object,
        purpose: object,
        sector: object,
        callee_tz: object,
        department: object,
        recorded_message: object,
        t: datetime,
        state: _ListState,
        out: list[Decision],
    ) -> None:
        """The decisions on the numbers of a list, as a pipeline: the numbers keyed (the
        common metropolitan forms all at once by ``consumer_keys``, the rest parsed), the
        ledger read once for the batch (only the fact kinds the instant can use, and only the
        numbers that have any), and a verdict per situation. Consumer lines of the same class
        (what their zones and holiday areas derive from) with the same facts get the same
        verdict — most numbers of a list have no facts at all, so they share one per class —
        and their decisions differ only by number. Only a number whose situation is new (or
        that is not a consumer line) is built into a full :class:`Call`."""
        # The common metropolitan forms, keyed a whole batch at once; the rest parsed one by one
        # (None: invalid, or not a consumer line).
        keys = consumer_keys([v if type(v) is str else "" for v in batch])
        others = {i: _consumer_line(batch[i]) for i, k in enumerate(keys) if k is None}
        wanted = {k for k in keys if k is not None}
        wanted.update(n.key for n in others.values() if n is not None)
        error: str | None = None
        known: dict[int, Facts] = {}
        try:
            known = self.ledger.facts_many(
                self.pid, wanted, to_us(t), to_us(t - self.lookback), state.kinds, known_only=True
            )
        except self.errors as exc:
            error = str(exc)
        none = Facts()
        bare, shared, classes = state.bare, state.shared, _CLASSES
        cap = self.policy.cap_calls
        get_known, get_bare, get_class = known.get, bare.get, classes.get
        for i, (raw, key) in enumerate(zip(batch, keys, strict=True)):
            if key is None:
                number = others[i]
                if number is None:  # invalid, or not a consumer line: the general path
                    call = self.call(
                        raw, caller_id, purpose, sector, callee_tz, department, recorded_message
                    )
                    out.append(self.decision(call, t, judge(call, none, t)))
                    continue
                key, e164 = number.key, number.e164
                where = (number.zones, number.territories, number.alsace_moselle)
            else:
                # A metropolitan consumer line: E.164 is its key's digits, and its class follows
                # from its first four national digits (``_numbers._PREFIXES``).
                e164 = "+" + str(key)
                where = get_class(key // _CLASS_DIVISOR) or _class_of(key, classes)
            if error is not None:
                zones, _ = cal.consumer_zones(parse_number(raw), callee_tz, department)
                out.append(unavailable(error, t, zones[0].key, e164))
                continue
            these = get_known(key)
            if these is None:  # no facts: the class's shared verdict
                verdict = get_bare(where)
                if verdict is None:
                    verdict = bare[where] = self._shared_verdict(
                        raw, none, caller_id, purpose, sector, callee_tz, department,
                        recorded_message, t,
                    )  # fmt: skip
            else:
                # Attempts under the cap are never read (see plain): numbers that differ only
                # by them share a verdict.
                signature = (
                    (where, None, tuple(these.bloctel), tuple(these.optouts))
                    if not these.consents and plain(these, cap)
                    else (where, these.signature())
                )
                verdict = shared.get(signature)
                if verdict is None:
                    if len(shared) >= _VERDICTS_KEPT:
                        shared.clear()
                    verdict = shared[signature] = self._shared_verdict(
                        raw, these, caller_id, purpose, sector, callee_tz, department,
                        recorded_message, t,
                    )  # fmt: skip
            allowed, reasons, nxt_local, regime, tz = verdict
            out.append(_decision(allowed, reasons, nxt_local, e164, regime, tz, t))

    def _shared_verdict(
        self,
        raw: object,
        facts: Facts,
        caller_id: object,
        purpose: object,
        sector: object,
        callee_tz: object,
        department: object,
        recorded_message: object,
        t: datetime,
    ) -> _Shared:
        """The verdict on ``raw`` with ``facts``, as every decision sharing it shows it."""
        call = self.call(raw, caller_id, purpose, sector, callee_tz, department, recorded_message)
        return _share(call, judge(call, facts, t))

    @property
    def in_batch(self) -> bool:
        """Whether a :meth:`batch` is open (its writes commit when it ends)."""
        return self._batch_depth > 0

    @contextmanager
    def write(self, what: str) -> Iterator[Ledger]:
        """A write transaction; a storage failure becomes a LedgerError naming the ledger.

        Inside :meth:`batch` the batch's transaction is used, so a batch is all or nothing.
        """
        if self._batch_depth:
            yield self.ledger
            return
        try:
            with self.ledger.write():
                yield self.ledger
        except self.ledger.errors as exc:
            raise LedgerError(f"cannot {what} in {self.where!r}: {exc}") from exc

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside is one transaction: all of them, or none on error."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            return
        with self.write("apply the batch"):
            self._batch_depth = 1
            try:
                yield
            finally:
                self._batch_depth = 0


# What a class of consumer lines' zones and areas derive from (``cal.consumer_zones``): their
# candidate zones, territories and whether they are in Alsace-Moselle.
_Where = tuple[tuple[str, ...], tuple[str, ...], bool]


@dataclass(slots=True)
class _ListState:
    """What the batches of one list share: the fact kinds read, and the verdicts found so far
    (``bare``: of numbers without facts, per class; ``shared``: per class and facts)."""

    kinds: frozenset[FactKind]
    bare: dict[_Where, _Shared] = field(default_factory=dict)
    shared: dict[object, _Shared] = field(default_factory=dict)


def _kinds_around(
    t: datetime, purpose: Purpose | None = None, sector: Sector | None = None
) -> frozenset[FactKind]:
    """The fact kinds a decision at ``t`` can read, whatever the consumer's zone: the union of
    :func:`facts_read` over the regimes of every local date ``t`` falls on (UTC−12 to UTC+14
    puts it on the UTC date or the day either side). Reading a kind the regime does not use
    changes no decision, only how many numbers share a verdict. A day before the first regime
    has none: a question that falls on it locally is refused as out of range, one by one."""
    day = t.astimezone(timezone.utc).date()
    kinds: set[FactKind] = set()
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if d >= REGIMES[0].start:
            kinds |= facts_read(regime_of_day(d), purpose, sector)
    return frozenset(kinds)


def _consumer_line(raw: object) -> PhoneNumber | None:
    """``raw`` parsed, or None when it is not a valid consumer line (the general path judges
    those one by one, with the reason naming the value)."""
    try:
        number = parse_number(raw)
    except InvalidNumberError:
        return None
    return number if number.consumer_line else None


_CLASS_DIVISOR = 100_000
"""A metropolitan key divided by this is ``33`` and its first four national digits: what its
zones, territories and Alsace-Moselle flag derive from."""

_CLASSES: dict[int, _Where] = {}
"""The class of metropolitan keys by their first four national digits, as the numbering plan
fixes it (at most 10 000 entries, shared by every list)."""


def _class_of(key: int, classes: dict[int, _Where]) -> _Where:
    """The class of the metropolitan consumer line ``key``, remembered for every key with the
    same first four national digits."""
    where = classes[key // _CLASS_DIVISOR] = line_class(key)
    return where


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a list is decided.

    A scrub allocates a few objects per number (its decision, the facts read) and keeps them
    all: the collector would walk that growing heap again and again, a third of the CPU time of
    a large list, to find no cycle (the pipeline makes none). Paused only if it was running,
    and restarted after, whatever happens.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
