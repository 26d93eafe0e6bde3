"""What every rule shares: the question asked, its context at an instant, the Rule interface.

Each rule answers two questions about one call at one instant ``t`` (UTC):

* ``check(ctx, t)`` — the reasons it refuses the call at ``t`` (empty when it passes);
* ``starts(ctx, t)`` — the instants after ``t`` where it may start passing, in order;
* ``passes(ctx, t)`` — whether ``check`` gives no reason at ``t``, without writing the reasons
  (the search for ``next_allowed_at`` asks only that).

A rule's passing set is a union of left-closed intervals whose left ends are among ``starts``;
the engine's ``next_allowed`` finds the earliest instant every rule passes from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .._decision import Reason
from .._facts import FactKind, Facts
from .._question import Question
from .._time import UTC, from_us, to_us
from .._types import Purpose, Sector
from .regimes import Regime, regime_on

if TYPE_CHECKING:
    pass

__all__ = [
    "CANVASSING", "D223_9", "Context", "Question", "Rule", "consent_valid", "contract_running",
    "contract_starts", "midnight",
]  # fmt: skip

D223_9 = "Code de la consommation, art. D223-9"

CANVASSING = (Purpose.PROSPECTION, Purpose.CONTRACT, Purpose.PRESS)


class Context:
    """One question and its facts, and what the rules derived about the instant they last asked
    of."""

    __slots__ = (
        "_attempt_days", "_day", "_locals", "_regime", "_regimes", "_t", "_tu", "facts", "live",
        "question",
    )  # fmt: skip

    def __init__(self, question: Question, facts: Facts, live: int | None = None) -> None:
        self.question = question
        self.facts = facts
        self.live = live
        """The instant (µs) of a live decision (``may_call``, ``attempt``, a scrub), or None for
        an audit's replay. In a live decision a fact that closes a call — a refusal, an opt-out,
        a consent withdrawal, a Bloctel listing — stamped after it is already in force: hosts'
        clocks differ, and a skew must never reopen a number (see :meth:`in_force`)."""
        self._regimes: dict[date, Regime] = {}
        self._attempt_days: dict[ZoneInfo, list[date]] = {}
        # Every rule asks about the same instant in turn: remember the last one's derived values.
        self._t: datetime | None = None
        self._tu = 0
        self._regime: Regime | None = None
        self._day: date | None = None
        self._locals: dict[ZoneInfo, datetime] = {}

    @property
    def primary(self) -> ZoneInfo:
        return self.question.zones[0]

    def us(self, t: datetime) -> int:
        if t is not self._t:
            self._remember(t)
        return self._tu

    def _remember(self, t: datetime) -> None:
        local = t.astimezone(self.primary)
        day = local.date()
        regime = self._regimes.get(day)
        if regime is None:
            regime = self._regimes[day] = _regime_on(day)
        self._t, self._tu, self._regime, self._day = t, to_us(t), regime, day
        self._locals = {self.primary: local}

    def local(self, t: datetime, tz: ZoneInfo) -> datetime:
        """``t`` in zone ``tz`` (remembered for the current instant)."""
        if t is not self._t:
            self._remember(t)
        local = self._locals.get(tz)
        if local is None:
            local = self._locals[tz] = t.astimezone(tz)
        return local

    def day(self, t: datetime) -> date:
        """The consumer's local date of ``t`` in the primary zone."""
        if t is not self._t:
            self._remember(t)
        assert self._day is not None
        return self._day

    def regime(self, t: datetime) -> Regime:
        if t is not self._t:
            self._remember(t)
        assert self._regime is not None
        return self._regime

    def attempt_days(self, tz: ZoneInfo) -> list[date]:
        days = self._attempt_days.get(tz)
        if days is None:
            days = self._attempt_days[tz] = sorted(
                from_us(a).astimezone(tz).date() for a in self.facts.attempts
            )
        return days

    def in_force(self, at: int) -> int:
        """From when a closing fact stamped ``at`` counts (:func:`in_force` in this decision)."""
        return in_force(at, self.live)

    def consent_valid(self, tu: int, *, off_hours: bool = False) -> bool:
        """Whether a consent is valid at ``tu``: given, not expired, not withdrawn since;
        with ``off_hours`` only a consent that expressly covers calls outside the D223-9 days
        and hours counts."""
        return consent_valid(
            self.facts,
            tu,
            self.question.policy.consent_max_age_days,
            self.live,
            off_hours=off_hours,
        )


def in_force(at: int, live: int | None) -> int:
    """From when a closing fact stamped ``at`` counts: its own instant, or in a live decision
    (``live``, its instant) the decision's instant when it is stamped later. Durations (the
    cooldown's 60 days) still run from the fact's own date; facts that open a call never use
    this."""
    return at if live is None or at <= live else live


def consent_valid(
    facts: Facts, tu: int, max_age_days: int, live: int | None, *, off_hours: bool = False
) -> bool:
    """:meth:`Context.consent_valid` from its parts (``live`` as :attr:`Context.live`)."""
    max_age = max_age_days * 86_400_000_000
    for given, expires in facts.off_hours if off_hours else facts.consents:
        if (
            given <= tu < given + max_age
            and (expires is None or tu < expires)
            and not any(given <= w and in_force(w, live) <= tu for w in facts.withdrawals)
        ):
            return True
    return False


# Every decision asks the regime of its day: the dated table is read once per day.
_regime_on = lru_cache(maxsize=4096)(regime_on)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


class Rule:
    """A rule of the rulebook. Subclasses set ``needs_number`` and override the three methods."""

    needs_number = True
    reads: frozenset[FactKind] = frozenset()
    """The fact kinds its ``check`` and ``starts`` read: a decision reads from the ledger only
    the kinds of the rules that apply to it (``_engine.facts_read``)."""

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return True

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        raise NotImplementedError

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return ()

    def passes(self, ctx: Context, t: datetime) -> bool:
        """``not check(ctx, t)``; a rule whose reasons cost more than its answer overrides it."""
        return not self.check(ctx, t)


def contract_running(ctx: Context, tu: int) -> bool:
    return any(s <= tu and (e is None or tu < e) for s, e in ctx.facts.contracts)


def contract_starts(ctx: Context, t: datetime) -> list[datetime]:
    tu = ctx.us(t)
    return [from_us(s) for s in sorted({s for s, _ in ctx.facts.contracts}) if s > tu]
