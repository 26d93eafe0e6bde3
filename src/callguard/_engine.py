"""The engine: a question, the ledger's facts about its number, the rules' answer, a decision.

One question follows one chain of named types: :class:`~callguard._question.Terms` (how the
professional calls, checked once: :func:`read_terms`) and
:class:`~callguard._question.Question` (this number on these terms at this instant:
:func:`read_question`) → the ledger's :class:`~callguard._facts.Facts` (``Engine.read``) →
:func:`judge` (every rule) → an :class:`Answer` (shared through the :class:`AnswerCache` by
the questions in the same situation) → a :class:`~callguard._decision.Decision`
(:func:`decision`). An :class:`Engine` binds it to one ledger and one professional, one question
at a time (``ask``, ``attempt``) or for a list read set-based (``decide_numbers``). The Guard,
the scrub and the audit all decide through here; :func:`apply_outcome` is what a call's outcome
does to the ledger, for all of them.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, Protocol
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
from ._question import Question, Terms
from ._time import from_us, require_aware, to_us
from ._types import Outcome, Purpose, ReasonCode, Sector
from .rules import RULES, Context, Rule
from .rules import calendar as cal
from .rules.base import consent_valid
from .rules.base import midnight as cal_midnight
from .rules.consent import CONSENT_CODES
from .rules.regimes import CONSENT_REGIME_START, REGIMES, Regime, regime_on
from .storage import Ledger

if TYPE_CHECKING:
    from ._policy import Policy

__all__ = [
    "Answer",
    "AnswerCache",
    "Engine",
    "apply_outcome",
    "decision",
    "destination_problem",
    "judge",
    "lookback",
    "next_allowed",
    "read_question",
    "read_terms",
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
                _("The ledger could not be read, so the call is refused: {detail}.", detail=detail),
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
        message = _(
            "{number} is a foreign number ({territory}): callguard judges calls to "
            "French consumer lines only.",
            number=number.e164,
            territory=number.territory,
        )
    elif number.kind is LineKind.SPECIAL:
        message = _(
            "{number} is a special or premium-rate number (08): callguard judges calls "
            "to French consumer lines only.",
            number=number.e164,
        )
    elif number.kind is LineKind.SHORT:
        message = _(
            "{number} is a short code: callguard judges calls to French consumer lines only.",
            number=number.e164,
        )
    else:
        message = _(
            "{number} is not a consumer line: callguard judges calls to French consumer "
            "lines only.",
            number=number.e164,
        )
    return Reason.of(
        ReasonCode.UNSUPPORTED_DESTINATION,
        message,
        "Code de la consommation, art. L223-1 (French consumers)",
    )


def read_terms(
    caller_id: object,
    purpose: object,
    sector: object,
    recorded_message: object,
    policy: Policy,
    memo: int = 0,
) -> Terms:
    """How the professional calls, checked: a bad purpose, sector or recorded-message flag is a
    ``ConfigurationError``; a bad caller ID is a problem the caller-ID rule reports."""
    if not isinstance(recorded_message, bool):
        raise ConfigurationError(
            f"recorded_message must be True or False, not {recorded_message!r}",
            field="recorded_message",
            value=recorded_message,
        )
    purpose_ = Purpose.coerce(purpose)
    sector_ = None if sector is None else Sector.coerce(sector)
    caller, problem = parse_caller(caller_id)
    stored = None if caller is None else caller.e164
    return Terms(caller, problem, stored, purpose_, sector_, recorded_message, policy, memo)


_new_tuple = tuple.__new__


def read_question(
    number: object,
    terms: Terms,
    at: datetime,
    callee_tz: object = None,
    department: object = None,
    campaign: str | None = None,
) -> Question:
    """The question on ``number``: parsed once, its zones and holiday areas found (from
    ``department`` when the address is known, else the number; ``callee_tz`` wins for the
    hours). A bad number is a problem to report; a bad zone or département is a
    ``ConfigurationError``. ``at`` is in UTC (checked by the caller)."""
    at_us = to_us(at)
    if type(number) is str and callee_tz is None and department is None:
        # A metropolitan consumer line in a common form: no PhoneNumber to build.
        line = consumer_line(number)
        if line is not None:
            key, e164, number_zones, territories, alsace = line
            zones, areas = cal.line_zones(number_zones, territories, alsace)
            # (tuple.__new__ directly: a NamedTuple's own __new__ is a Python function, ~1 µs)
            fields = (number, key, e164, None, zones, areas, terms, at, at_us, campaign)
            return _new_tuple(Question, fields)
    parsed: PhoneNumber | None
    try:
        parsed, error = parse_number(number), None
    except InvalidNumberError as exc:
        parsed, error = None, exc.why
    zones, areas = cal.consumer_zones(parsed, callee_tz, department)
    problem = destination_problem(number, parsed, error)
    if parsed is None:
        return Question(number, None, None, problem, zones, areas, terms, at, at_us, campaign)
    shown = None if parsed.kind is LineKind.SHORT else parsed.e164
    judged = parsed.key if problem is None else None
    return Question(number, judged, shown, problem, zones, areas, terms, at, at_us, campaign)


def lookback(policy: Policy) -> timedelta:
    """How far back a decision reads attempts and refusals: the cap window or the cooldown, and
    two days for the widest gap between the consumer's local date and UTC."""
    return timedelta(days=max(policy.cap_days, policy.refusal_cooldown_days) + 2)


# -- the rules applied ---------------------------------------------------------------------------

HORIZON = timedelta(days=2 * 366)
"""How far ahead ``next_allowed_at`` looks; beyond it, time alone is taken not to help."""
_HORIZON_US = HORIZON // timedelta(microseconds=1)


def _next_pass(
    rule: Rule, ctx: Context, t: datetime, horizon: datetime, failing: bool = False
) -> datetime | None:
    if not failing and rule.passes(ctx, t):
        return t
    for start in rule.starts(ctx, t):
        if start > horizon:
            return None
        if rule.passes(ctx, start):
            return start
    return None


def next_allowed(
    ctx: Context,
    rules: list[Rule],
    now: datetime,
    failing: Iterable[Rule] = (),
    horizon: datetime | None = None,
) -> datetime | None:
    """The earliest instant ≥ ``now`` at which every rule passes, or None within the horizon.

    ``failing`` are rules already known to fail at ``now`` (they are not checked there again).
    ``horizon``: where the search ends, :data:`HORIZON` after ``now`` unless given.
    """
    if horizon is None:
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


class Answer(NamedTuple):
    """What the rules answer to a question, apart from its number and instant: every question
    in the same situation gets the same one (see :class:`AnswerCache`), and a
    :class:`Decision` is an answer given to one number at one instant."""

    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None
    """In the consumer's primary zone."""
    regime: str
    callee_tz: str
    """The consumer's primary zone."""


def judge(question: Question, facts: Facts, *, search: bool = True, live: bool = True) -> Answer:
    """Every reason refusing ``question`` at its instant, when it becomes allowed, the regime.

    ``live`` (``may_call``, ``attempt``, scrubs): a fact that closes a call stamped after the
    question's instant is already in force, since hosts' clocks differ. An audit's replay passes
    ``live=False`` to judge each past call by what was known at its time. ``search=False``
    leaves ``next_allowed_at`` unsearched (None).
    """
    now = question.at
    ctx = Context(question, facts, question.at_us if live else None)
    usable = question.number_problem is None
    rules = _rules_for(usable, question.terms.purpose, question.terms.sector)
    reasons: list[Reason] = []
    failing: list[Rule] = []
    for rule in rules:
        found = rule.check(ctx, now)
        if found:
            reasons.extend(found)
            failing.append(rule)
    regime = ctx.regime(now).name
    primary = question.zones[0]
    if not reasons:
        return Answer(True, (), None, regime, primary.key)
    nxt: datetime | None = None
    if usable and search:
        # Failing rules first: one that time cannot lift ends the search at once.
        ordered = failing + [r for r in rules if r not in failing]
        nxt = next_allowed(ctx, ordered, now, failing)
    return Answer(
        False, tuple(reasons), None if nxt is None else nxt.astimezone(primary), regime,
        primary.key,
    )  # fmt: skip


# A frozen dataclass sets each field through object.__setattr__; its slots' descriptors do the same
# in half the time. Every decision is built here: same object, same equality and hash.
_DECISION_FIELDS = (
    "allowed", "reasons", "next_allowed_at", "number", "regime", "callee_tz", "at", "attempt_id",
)  # fmt: skip
if tuple(f.name for f in fields(Decision)) != _DECISION_FIELDS:  # pragma: no cover - a new field
    raise ImportError("Decision's fields changed: update _engine.decision to set every one")
(
    _set_allowed, _set_reasons, _set_next, _set_number, _set_regime, _set_tz, _set_at,
    _set_attempt,
) = (Decision.__dict__[name].__set__ for name in _DECISION_FIELDS)  # fmt: skip
_new = object.__new__


def decision(
    answer: Answer, number: str | None, at: datetime, attempt_id: int | None = None
) -> Decision:
    """``answer`` given to ``number`` (its E.164 form) at ``at``."""
    made = _new(Decision)
    _set_allowed(made, answer[0])
    _set_reasons(made, answer[1])
    _set_next(made, answer[2])
    _set_number(made, number)
    _set_regime(made, answer[3])
    _set_tz(made, answer[4])
    _set_at(made, at)
    _set_attempt(made, attempt_id)
    return made


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

_ANSWERS_KEPT = 100_000
"""Distinct answers an :class:`AnswerCache` remembers (a bound on memory, not on correctness)."""

_TERMS_KEPT = 1_000
"""Distinct terms, and (zone, minute) fact-kind answers, an engine remembers."""


class AnswerCache:
    """Answers already found, by the situation each holds for: the one cache of answers.

    A situation is what an answer depends on — the terms, the consumer's zones and holiday
    areas, the minute, and the facts that can move it (see :meth:`Engine.situation`); every
    question in it gets the same answer. Bounded: when full it starts again empty.
    """

    __slots__ = ("_found", "_limit")

    def __init__(self, limit: int = _ANSWERS_KEPT) -> None:
        self._found: dict[object, Answer] = {}
        self._limit = limit

    def get(self, situation: object) -> Answer | None:
        return self._found.get(situation)

    def keep(self, situation: object, answer: Answer) -> Answer:
        if len(self._found) >= self._limit:
            self._found.clear()
        self._found[situation] = answer
        return answer

    def __len__(self) -> int:
        return len(self._found)


def ordinary(facts: Facts, cap: int) -> bool:
    """Whether ``facts`` hold none of the instants that make an answer a number's own: no
    refusal, slot or contract, fewer attempts than the cap (no window can fill, now or later,
    so they are not read at all), and only permanent opt-outs (in force in a live decision
    whenever stamped, and for good). The Bloctel checks, opt-outs and consents still decide."""
    return len(facts.attempts) < cap and not facts.refusals and plain(facts)


def plain(facts: Facts) -> bool:
    """:func:`ordinary` but for the attempts and refusals: no slot or contract, and only
    permanent opt-outs."""
    if facts.slots or facts.contracts:
        return False
    # Most numbers have no opt-out: no generator built for them.
    return not facts.optouts or all(until is None for _start, until in facts.optouts)


def bloctel_situation(
    checks: list[tuple[int, bool]], minute: int, zone: ZoneInfo
) -> tuple[tuple[object, bool], ...] | None:
    """What the rules read of a number's Bloctel checks during one minute, or None when a check
    falls inside it (or inside the minute the search's horizon ends in), which would answer
    differently across the minute.

    A check made before the minute is the latest one for every instant from the question's on:
    the Bloctel rule reads of it only whether it listed the number and its local date (the
    date a refusal names, and the one its age counts from), so numbers checked at different
    instants of one day share. A later check is kept at its instant, where the search may
    stop.
    """
    start = minute * 60_000_000
    out: list[tuple[object, bool]] = []
    for checked_at, listed in checks:
        since = checked_at - start
        if since <= 0:
            out.append((_local_day(checked_at, zone), listed))
        elif since < 60_000_000 or 0 < since - _HORIZON_US < 60_000_000:
            return None
        else:
            out.append((checked_at, listed))
    return tuple(out)


@lru_cache(maxsize=4096)
def _local_day(us: int, zone: ZoneInfo) -> date:
    """The local date of the instant ``us`` in ``zone`` (a Bloctel return stamps every number
    it checked with one instant)."""
    return from_us(us).astimezone(zone).date()


_OPT_IN_FROM = CONSENT_REGIME_START
if not all(
    r.opt_in and not r.hours_open_with_express_consent for r in REGIMES if r.start >= _OPT_IN_FROM
):  # pragma: no cover - a new regime
    raise ImportError("regimes changed: update _engine.consent_read for what reads consents")


_CALENDAR_FROM = min(r.start for r in REGIMES if r.calendar)
if not all(r.calendar for r in REGIMES if r.start >= _CALENDAR_FROM):  # pragma: no cover
    raise ImportError("regimes changed: update Engine._unread for where the cooldown runs")


@lru_cache(maxsize=64)
def _calendar_from(zone: ZoneInfo) -> int:
    """The first instant of the D223-9 calendar's regimes in ``zone``."""
    return to_us(cal_midnight(_CALENDAR_FROM, zone))


@lru_cache(maxsize=64)
def _opt_in_from(zone: ZoneInfo) -> int:
    """The first instant of the opt-in regime for a consumer whose primary zone is ``zone``."""
    return to_us(cal_midnight(_OPT_IN_FROM, zone))


def consent_read(question: Question, tu: int) -> tuple[int | None, int]:
    """From when the rules read whether any consent is valid (None: never), and until when
    whether one covering calls outside the hours is, for ``question`` asked at ``tu``.

    The consent rule reads any consent for a recorded message at every instant, and for a
    canvassing call from the opt-in regime on (the consumer's local midnight of its first
    day); the calendar reads an off-hours consent only before it (D223-9 al. 2).
    """
    switch = _opt_in_from(question.zones[0])
    terms = question.terms
    if terms.recorded_message:
        return tu, switch
    if terms.purpose is Purpose.PROSPECTION:
        return switch, switch
    return None, switch


class Engine:
    """Decisions for one professional over one ledger, under one policy.

    ``where`` is the ledger's location as messages show it; ``clock`` gives ``now`` when a caller
    omits it. One question goes :meth:`terms` → :meth:`question` → :meth:`ask` (or
    :meth:`attempt`) → :meth:`read` (the ledger's :class:`Facts`) → :meth:`answer` (the
    :class:`AnswerCache`, else :func:`judge`) → :func:`decision`.
    """

    __slots__ = (
        "_batch_depth", "_kinds", "_lookback_us", "_terms", "answers", "clock", "errors",
        "ledger", "lookback", "pid", "policy", "where",
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
        self._terms: dict[tuple[object, ...], Terms] = {}
        """Terms already checked, by the arguments they were read from."""
        self._kinds: dict[tuple[object, ...], frozenset[FactKind]] = {}
        """The fact kinds a question reads, by (zone, minute, purpose, sector)."""
        self.answers = AnswerCache()
        """The answers shared by questions in the same situation (:meth:`answer`)."""

    def now(self, now: datetime | None, name: str = "now") -> datetime:
        """``now`` in UTC (the clock's when None); naive or out of range is a ValueError."""
        return require_aware(self.clock() if now is None else now, name)

    # -- the question ---------------------------------------------------------------------------

    def terms(
        self, caller_id: object, purpose: object, sector: object, recorded_message: object
    ) -> Terms:
        """:func:`read_terms` under this engine's policy, remembered: a dialer asks on the same
        terms again and again, and remembered terms let answers be shared."""
        if type(recorded_message) is not bool or (
            caller_id is not None and type(caller_id) is not str
        ):
            return read_terms(caller_id, purpose, sector, recorded_message, self.policy)
        given = (caller_id, purpose, sector, recorded_message)
        try:
            found = self._terms.get(given)
        except TypeError:  # an unhashable purpose or sector: read_terms says what is wrong
            return read_terms(caller_id, purpose, sector, recorded_message, self.policy)
        if found is None:
            if len(self._terms) >= _TERMS_KEPT:
                self._terms.clear()
            memo = next(_MEMOS)
            found = read_terms(caller_id, purpose, sector, recorded_message, self.policy, memo)
            self._terms[given] = found
        return found

    def question(
        self,
        number: object,
        terms: Terms,
        at: datetime,
        callee_tz: object = None,
        department: object = None,
        campaign: str | None = None,
    ) -> Question:
        """:func:`read_question` (``at`` checked by :meth:`now` already)."""
        return read_question(number, terms, at, callee_tz, department, campaign)

    # -- one question -----------------------------------------------------------------------------

    def read(self, question: Question) -> Facts:
        """The facts about the question's number that its answer can read (only the kinds the
        rules applying to it read, in the regime of its local day)."""
        if question.key is None:
            return Facts()
        tu = question.at_us
        kinds = self.kinds(question, tu)
        return self.ledger.facts(self.pid, question.key, tu, tu - self._lookback_us, kinds)

    def kinds(self, question: Question, tu: int) -> frozenset[FactKind]:
        """:func:`facts_read` for the regime of the question's local day, its purpose and
        sector, remembered by (zone, minute, purpose, sector)."""
        zone = question.zones[0]
        terms = question.terms
        key = (zone, tu // 60_000_000, terms.purpose, terms.sector)
        kinds = self._kinds.get(key)
        if kinds is None:
            if len(self._kinds) >= _TERMS_KEPT:
                self._kinds.clear()
            day = question.at.astimezone(zone).date()
            kinds = self._kinds[key] = facts_read(regime_of_day(day), terms.purpose, terms.sector)
        return kinds

    def decide(self, question: Question) -> Decision:
        """The decision on ``question`` judged on its own, without the answer cache: what
        :meth:`ask` must always equal (LEDGER_UNAVAILABLE when the ledger cannot be read)."""
        try:
            facts = self.read(question)
        except self.errors as exc:
            return self.unavailable(question, exc)
        return decision(judge(question, facts), question.e164, question.at)

    def ask(self, question: Question) -> Decision:
        """``may_call``: the decision on ``question``, its answer shared when it can be.

        :meth:`read` and :meth:`answer`, written out: this is every ``may_call``'s path, and
        each call saved is a few percent of it."""
        key = question.key
        if key is None:  # refused as a number: nothing to read
            return decision(judge(question, Facts()), question.e164, question.at)
        tu = question.at_us
        terms = question.terms
        kinds = self._kinds.get((question.zones[0], tu // 60_000_000, terms.purpose, terms.sector))
        if kinds is None:
            kinds = self.kinds(question, tu)
        try:
            facts = self.ledger.facts(self.pid, key, tu, tu - self._lookback_us, kinds)
        except self.errors as exc:
            return self.unavailable(question, exc)
        found = self.shared(question, facts)
        if found is None:
            found = judge(question, facts)
        return decision(found, question.e164, question.at)

    def attempt(self, question: Question) -> Decision:
        """``Guard.attempt``: decide and, only when allowed, record the attempt in the same write
        transaction."""
        key = question.key
        if key is None:
            return decision(judge(question, Facts()), question.e164, question.at)
        attempt_id: int | None = None
        ledger = self.ledger
        # :meth:`read` written out, as in :meth:`ask`: this is every attempt's path.
        tu = question.at_us
        terms = question.terms
        try:
            with ledger.write():
                kinds = self._kinds.get(
                    (question.zones[0], tu // 60_000_000, terms.purpose, terms.sector)
                )
                if kinds is None:
                    kinds = self.kinds(question, tu)
                facts = ledger.facts(self.pid, key, tu, tu - self._lookback_us, kinds)
                shared = self.shared(question, facts)
                answer = judge(question, facts, search=False) if shared is None else shared
                if answer.allowed:
                    attempt_id = ledger.insert_attempt(
                        self.pid,
                        key,
                        tu,
                        caller_id=terms.caller_id,
                        outcome=None,
                        campaign=question.campaign,
                        purpose=_PURPOSE_VALUES[terms.purpose],
                        recorded_at=time.time_ns() // 1000,  # to_us(now_utc()), no datetime
                    )
        except self.errors as exc:
            return self.unavailable(question, exc)
        if shared is None and not answer.allowed:
            # Refused: find when it frees up outside the write lock, from the facts already read.
            answer = judge(question, facts)
        return decision(answer, question.e164, question.at, attempt_id)

    def unavailable(self, question: Question, exc: Exception) -> Decision:
        return unavailable(str(exc), question.at, question.zones[0].key, question.e164)

    # -- shared answers ---------------------------------------------------------------------------
    #
    # Most questions a dialer asks are alike: the same terms as the question before, and a number
    # the ledger knows little about. For those the answer depends on the number only through its
    # zones and holiday areas, and on the instant only through its minute, so it is found once by
    # :func:`judge` and shared:
    #
    # * every rule's answer moves only at a minute boundary when the facts hold no instant of
    #   their own that can fall inside the minute: the D223-9 windows open and close on the
    #   minute, the regimes, the caller-ID bans and the Bloctel age change at local midnight, and
    #   the search for ``next_allowed_at`` steps only on those boundaries;
    # * the facts that qualify (:func:`plain`) are exactly those: permanent opt-outs (in force
    #   at once in a live decision and for good), Bloctel checks made outside the minute (and
    #   outside the minute the search's horizon ends in); no slot or contract, whose instants
    #   can fall anywhere. Attempts and refusals are read only where a window of the cap can
    #   fill or a cooldown runs: an answer is shared only by numbers whose attempts and
    #   refusals it does not read (:meth:`_unread`). Consents are read only through whether
    #   one is valid: see :meth:`_consented`.
    #
    # The situation holds of those facts only what the rules read: whether there is a permanent
    # opt-out (never its instant), and of a Bloctel check made before the minute whether it
    # listed the number and its local date (:func:`bloctel_situation`), so numbers checked at
    # different instants, or opted out on different days, share an answer.
    #
    # Anything else is judged on its own. tests/test_engine.py and tests/test_lean_path.py hold
    # the two equal, and the benchmark asks at a dialer's pace, each question at its own instant.

    def answer(self, question: Question, facts: Facts) -> Answer:
        """The answer to ``question`` given ``facts``: shared when its situation was met
        before, else judged (and remembered when it can be shared)."""
        found = self.shared(question, facts)
        return judge(question, facts) if found is None else found

    def shared(self, question: Question, facts: Facts) -> Answer | None:
        """The answer shared by every question in this one's situation, or None when the facts
        are not plain (see the comment above) and this one must be judged on its own."""
        memo = question.terms.memo
        if not memo or not plain(facts):
            return None
        tu = question.at_us
        minute = tu // 60_000_000
        checks: tuple[tuple[object, bool], ...] | None = ()
        bloctel = facts.bloctel
        if bloctel:
            checked_at, listed = bloctel[0]
            if len(bloctel) == 1 and checked_at <= minute * 60_000_000:
                # Most numbers: one check, made before the minute (bloctel_situation, unrolled).
                checks = ((_local_day(checked_at, question.zones[0]), listed),)
            else:
                checks = bloctel_situation(bloctel, minute, question.zones[0])
                if checks is None:
                    return None
        # A permanent opt-out is in force from the question's instant on in a live decision,
        # whenever stamped (a later stamp counts from the question's instant), and its refusal
        # names no date: whether there is one is all the rules read of it.
        situation = (
            memo, question.zones, question.areas, minute, checks, not facts.optouts,
        )  # fmt: skip
        if facts.consents:
            return self._consented(situation, question, facts, tu)
        # (Withdrawals matter only through a consent they withdraw.)
        found = self.answers.get(situation)
        if found is None:
            answer = judge(question, facts)
            if self._unread(question, facts, answer):
                self.answers.keep(situation, answer)
            return answer
        if facts.refusals or len(facts.attempts) >= self.policy.cap_calls:
            return found if self._unread(question, facts, found, True) else judge(question, facts)
        return found

    def _unread(
        self, question: Question, facts: Facts, answer: Answer, found: bool = False
    ) -> bool:
        """Whether ``answer`` reads neither the number's attempts nor its refusals: the
        frequency rule and the cooldown pass at every instant from the question's until the
        answer's ``next_allowed_at`` (the question's alone for an allowed answer, the search's
        horizon when None).

        A window holding the consumer's local date of an instant ``t`` lies within
        ``cap_days`` days and the zone's offset of ``t``: fewer than ``cap_calls`` attempts
        within ``cap_days + 2`` days of the span leave every such window short of the cap. In a
        live decision every refusal is in force from the question's instant on, and the latest
        one's cooldown decides; it runs only in the regimes of the D223-9 calendar.

        ``found``: ``answer`` was kept (it is the answer to the number's facts without attempts
        or refusals, where both rules pass at every instant) and is offered to this number. A
        refusal that time does not lift then needs both rules to pass at the question's instant
        only: attempts and refusals can only take instants away from where every rule passes,
        so none is found within the horizon either, and the reasons given now are the same.
        Keeping an answer still needs the whole span (a number without them may be allowed
        sooner).
        """
        attempts, refusals = facts.attempts, facts.refusals
        policy = self.policy
        if len(attempts) < policy.cap_calls and not refusals:
            return True
        tu = question.at_us
        nxt = answer.next_allowed_at
        if answer.allowed or (found and nxt is None):
            until = tu
        else:
            until = tu + _HORIZON_US if nxt is None else to_us(nxt)
        if len(attempts) >= policy.cap_calls:
            margin = (policy.cap_days + 2) * 86_400_000_000
            first, last = tu - margin, until + margin
            if sum(1 for at in attempts if first <= at <= last) >= policy.cap_calls:
                return False
        if not refusals:
            return True
        zones = question.zones
        calendar_from = _calendar_from(zones[0])
        if until < calendar_from:
            return True
        latest = from_us(max(refusals))
        days = timedelta(days=policy.refusal_cooldown_days + 1)
        free_from = max(cal_midnight(latest.astimezone(tz).date() + days, tz) for tz in zones)
        return max(tu, calendar_from) >= to_us(free_from)

    def _consented(
        self, situation: tuple[object, ...], question: Question, facts: Facts, tu: int
    ) -> Answer:
        """:meth:`shared` for a number with consents, whose instants are its own.

        The rules read consents only through whether one is valid at an instant, and only at
        some instants: any consent by the consent rule, for a canvassing call from the opt-in
        regime on (every instant for a recorded message); one covering calls outside the hours
        by the calendar, before the opt-in regime. So an answer is shared by the numbers whose
        two answers are the same where they are read, from now until the answer's
        ``next_allowed_at`` (or the search's horizon): then every rule answers alike at every
        instant the search visits. A consent's validity only ends (expiry, withdrawal) unless a
        consent is given later, so "the same at both ends, none given between" is "the same
        throughout". An allowed answer has no search: the answers now suffice. A refusal by the
        consent rule itself may name the consent's date: a refusal is shared only when that rule
        gave no reason (it passed, or does not apply to the question in this regime). A number
        that is not shared an answer but whose consents are read only after the question's
        instant is searched from the answer kept for a consent valid there
        (:meth:`_searched_on`) rather than judged in full.
        """
        max_age = self.policy.consent_max_age_days
        opens, closes = consent_read(question, tu)
        valid = None if opens is None else consent_valid(facts, max(tu, opens), max_age, tu)
        off_hours = consent_valid(facts, tu, max_age, tu, off_hours=True)
        key = (situation, valid, off_hours)
        found = self.answers.get(key)
        # A permanent opt-out (plain facts hold no other) refuses at every instant from the
        # question's on in a live decision: no consent can move such an answer, and the key
        # holds what the rules read of the consents at the question's instant.
        steady = bool(facts.optouts)
        if (
            found is not None
            and (
                found.allowed
                or steady
                or self._steady(facts, tu, found, valid, off_hours, opens, closes)
            )
            and self._unread(question, facts, found, True)
        ):
            return found
        answer = None
        if opens is not None and opens > tu:
            answer = self._searched_on(question, facts, situation, off_hours, closes, tu)
        if answer is None:
            answer = judge(question, facts)
        if (
            found is None
            and (
                answer.allowed
                or (
                    not any(r.code in CONSENT_CODES for r in answer.reasons)
                    and (steady or self._steady(facts, tu, answer, valid, off_hours, opens, closes))
                )
            )
            and self._unread(question, facts, answer)
        ):
            self.answers.keep(key, answer)
        return answer

    def _searched_on(
        self,
        question: Question,
        facts: Facts,
        situation: tuple[object, ...],
        off_hours: bool,
        closes: int,
        tu: int,
    ) -> Answer | None:
        """:func:`judge`'s answer for a number whose consents are read only after the question's
        instant (``opens``), found from the answer kept for the numbers in its situation whose
        consent is valid there; None when there is none to start from.

        That answer's numbers pass the consent rule from the question's instant until its
        ``next_allowed_at`` (before ``opens`` it reads no consent; from there on one is valid,
        steadily), and the cap and the cooldown too: at every instant before it another rule
        fails, one that reads nothing of the consents, attempts or refusals but the calendar,
        which reads whether an off-hours consent is valid — the same for this number until then
        (checked). So this number is refused there too, and its own search starts from that
        ``next_allowed_at``, within the horizon of the question's instant. Its reasons now are
        that answer's: the consent rule reads nothing now, the calendar reads the same, and a
        number without refusals and short of the cap passes the cap and the cooldown.
        """
        if facts.refusals or len(facts.attempts) >= self.policy.cap_calls:
            return None
        found = self.answers.get((situation, True, off_hours))
        if (
            found is None
            or found.allowed
            or question.number_problem is not None
            or not self._steady(facts, tu, found, None, off_hours, None, closes)
        ):
            return None
        start = found.next_allowed_at
        if start is None:
            return found
        terms = question.terms
        horizon = question.at + HORIZON
        begin = from_us(to_us(start))
        nxt = None
        if begin <= horizon:  # (refused up to the horizon: none within it)
            nxt = next_allowed(
                Context(question, facts, tu),
                _rules_for(True, terms.purpose, terms.sector),
                begin,
                horizon=horizon,
            )
        if nxt is not None:
            nxt = nxt.astimezone(question.zones[0])
        return Answer(False, found.reasons, nxt, found.regime, found.callee_tz)

    def _steady(
        self,
        facts: Facts,
        tu: int,
        answer: Answer,
        valid: bool | None,
        off_hours: bool,
        opens: int | None,
        closes: int,
    ) -> bool:
        """Whether both consent answers stay ``valid``/``off_hours`` where the rules read them
        (see :func:`consent_read`), from ``tu`` until the answer's ``next_allowed_at`` (the
        search's horizon when None)."""
        nxt = answer.next_allowed_at
        until = tu + _HORIZON_US if nxt is None else to_us(nxt)
        max_age = self.policy.consent_max_age_days
        if opens is not None and valid is not None:
            first = max(tu, opens)
            if first <= until and (
                any(first < given <= until for given, _expires in facts.consents)
                or consent_valid(facts, until, max_age, tu) != valid
            ):
                return False
        last = min(until, closes)
        return tu >= last or (
            not any(tu < given <= last for given, _expires in facts.off_hours)
            and consent_valid(facts, last, max_age, tu, off_hours=True) == off_hours
        )

    # -- a list of numbers ------------------------------------------------------------------------

    def decide_numbers(
        self,
        numbers: Iterable[object],
        terms: Terms,
        at: datetime,
        callee_tz: str | None = None,
        department: str | None = None,
    ) -> list[Decision]:
        """One :class:`Decision` per number, in order, as :meth:`ask` gives each at the same
        instant ``at``; the ledger is read :data:`BATCH` numbers at a time."""
        if isinstance(numbers, (str, bytes)):
            raise ConfigurationError(
                f"numbers must be an iterable of phone numbers, not one string ({numbers[:40]!r})",
                field="numbers",
                value=numbers,
            )
        cal.department_of(department)  # raise before any work, even on an empty list
        template = Question(None, None, None, None, (), (), terms, at, to_us(at), None)
        state = _ListState(
            template, callee_tz, department, _kinds_around(at, terms.purpose, terms.sector)
        )
        decisions: list[Decision] = []
        it = iter(numbers)
        with _collector_paused():
            while batch := list(itertools.islice(it, BATCH)):
                self._decide_batch(batch, state, decisions)
        return decisions

    def _decide_batch(self, batch: list[object], state: _ListState, out: list[Decision]) -> None:
        """The decisions on the numbers of a list, as a pipeline: the numbers keyed (the
        common metropolitan forms all at once by ``consumer_keys``, the rest parsed), the
        ledger read once for the batch (only the fact kinds the instant can use, and only the
        numbers that have any), and an answer per situation. Consumer lines of the same class
        (what their zones and holiday areas derive from) with the same facts get the same
        answer — most numbers of a list have no facts at all, so they share one per class —
        and their decisions differ only by number. Only a number whose situation is new (or
        that is not a consumer line) is read into a full :class:`Question`."""
        t = state.template.at
        # The common metropolitan forms, keyed a whole batch at once; the rest parsed one by one
        # (None: invalid, or not a consumer line).
        keys = consumer_keys([v if type(v) is str else "" for v in batch])
        others = {i: _consumer_line(batch[i]) for i, k in enumerate(keys) if k is None}
        wanted = {k for k in keys if k is not None}
        wanted.update(n.key for n in others.values() if n is not None)
        error: str | None = None
        known: dict[int, Facts] = {}
        tu = state.template.at_us
        try:
            known = self.ledger.facts_many(
                self.pid, wanted, tu, tu - self._lookback_us, state.kinds, known_only=True
            )
        except self.errors as exc:
            error = str(exc)
        answers, cap = state.answers, self.policy.cap_calls
        get_known, get_answer, get_class = known.get, answers.get, _CLASSES.get
        for i, (raw, key) in enumerate(zip(batch, keys, strict=True)):
            if key is None:
                number = others[i]
                if number is None:  # invalid, or not a consumer line: judged on its own
                    question = state.ask(raw)
                    out.append(decision(judge(question, Facts()), question.e164, t))
                    continue
                key, e164 = number.key, number.e164
                where = (number.zones, number.territories, number.alsace_moselle)
            else:
                # A metropolitan consumer line: E.164 is its key's digits, and its class follows
                # from its first four national digits (``_numbers._PREFIXES``).
                e164 = "+" + str(key)
                where = get_class(key // _CLASS_DIVISOR) or _class_of(key)
            if error is not None:
                out.append(unavailable(error, t, state.ask(raw).zones[0].key, e164))
                continue
            these = get_known(key)
            # No facts: the class's answer. Attempts under the cap are never read (see
            # ordinary): numbers that differ only by them share an answer.
            situation: object
            if these is None:
                situation = where
            elif not these.consents and ordinary(these, cap):
                situation = (where, None, tuple(these.bloctel), tuple(these.optouts))
            else:
                situation = (where, these.signature())
            answer = get_answer(situation)
            if answer is None:
                answer = answers.keep(
                    situation, judge(state.ask(raw), Facts() if these is None else these)
                )
            out.append(decision(answer, e164, t))

    # -- writes -----------------------------------------------------------------------------------

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
        except LedgerError as exc:
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


_PURPOSE_VALUES = {p: p.value for p in Purpose}
"""Each purpose's stored text (an enum's ``.value`` is a descriptor call)."""

_MEMOS = itertools.count(1)
"""Numbers for remembered terms, never reused (an answer cached on old terms never matches new
ones)."""

# What a class of consumer lines' zones and areas derive from (``cal.consumer_zones``): their
# candidate zones, territories and whether they are in Alsace-Moselle.
_Where = tuple[tuple[str, ...], tuple[str, ...], bool]


@dataclass(slots=True)
class _ListState:
    """What the batches of one list share: the question every number is asked on (its terms,
    instant, zone and département), the fact kinds read, and the answers found so far."""

    template: Question
    callee_tz: str | None
    department: str | None
    kinds: frozenset[FactKind]
    answers: AnswerCache = field(default_factory=AnswerCache)

    def ask(self, number: object) -> Question:
        """The list's question on ``number``."""
        q = self.template
        return read_question(number, q.terms, q.at, self.callee_tz, self.department)


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


def _class_of(key: int) -> _Where:
    """The class of the metropolitan consumer line ``key``, remembered for every key with the
    same first four national digits."""
    where = _CLASSES[key // _CLASS_DIVISOR] = line_class(key)
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
