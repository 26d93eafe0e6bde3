"""The rules: one class each, with its legal basis and dates beside it (the rulebook, docs/rules.md).

Each rule answers two questions about one call at one instant ``t`` (UTC):

* ``check(ctx, t)`` — the reasons it refuses the call at ``t`` (empty when it passes);
* ``starts(ctx, t)`` — the instants after ``t`` where it may start passing, in order.

A rule's passing set is a union of left-closed intervals whose left ends are among ``starts``.
The earliest instant every rule passes is then the fixpoint of moving ``t`` to each failing rule's
next passing instant (see :func:`next_allowed`): exact, and only as long as the refusal lasts.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .. import _calendar as cal
from .._decision import Reason
from .._facts import Facts
from .._numbers import LineKind, PhoneNumber
from .._policy import Policy
from .._regimes import CALLER_ID_PLAN_FROM, CONSENT_REGIME_START, SECTOR_BANS, Regime, regime_on
from .._time import UTC, from_us, to_us
from .._types import Purpose, ReasonCode, Sector

__all__ = ["RULES", "Call", "Context", "Verdict", "evaluate", "judge"]

D223_9 = "Code de la consommation, art. D223-9"
HORIZON = timedelta(days=2 * 366)
"""How far ahead ``next_allowed_at`` looks; beyond it, time alone is taken not to help."""

_CANVASSING = (Purpose.PROSPECTION, Purpose.CONTRACT, Purpose.PRESS)


@dataclass(slots=True)
class Call:
    """The question asked: a normalised destination and caller ID, purpose, sector, zones."""

    number: PhoneNumber | None
    number_problem: Reason | None
    caller: PhoneNumber | None
    caller_problem: str | None
    purpose: Purpose
    sector: Sector | None
    zones: tuple[ZoneInfo, ...]
    areas: tuple[str, ...]
    policy: Policy


class Context:
    """One call and its facts, and what the rules derived about the instant they last asked of."""

    __slots__ = (
        "_attempt_days", "_day", "_locals", "_regime", "_regimes", "_t", "_tu", "call", "facts",
    )  # fmt: skip

    def __init__(self, call: Call, facts: Facts) -> None:
        self.call = call
        self.facts = facts
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
        return self.call.zones[0]

    def us(self, t: datetime) -> int:
        if t is not self._t:
            self._remember(t)
        return self._tu

    def _remember(self, t: datetime) -> None:
        local = t.astimezone(self.primary)
        day = local.date()
        regime = self._regimes.get(day)
        if regime is None:
            regime = self._regimes[day] = regime_on(day)
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

    def consent_valid(self, tu: int) -> bool:
        max_age = self.call.policy.consent_max_age_days * 86_400_000_000
        for given, expires in self.facts.consents:
            if (
                given <= tu < given + max_age
                and (expires is None or tu < expires)
                and not any(given <= w <= tu for w in self.facts.withdrawals)
            ):
                return True
        return False


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _fmt_day(day: date) -> str:
    return day.isoformat()


class Rule:
    """A rule of the rulebook. Subclasses set ``needs_number`` and override the three methods."""

    needs_number = True

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return True

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        raise NotImplementedError

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return ()


class Destination(Rule):
    """Only a valid French consumer line can be judged (docs/rules.md §2, §7)."""

    needs_number = False

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        problem = ctx.call.number_problem
        return [problem] if problem is not None else []


class CallerId(Rule):
    """Caller-ID rules (docs/rules.md §9).

    Hidden or invalid caller IDs are banned since L221-17; from 2023-01-01 ARCEP décision
    n° 2022-1583 requires automated systems to present an NPV number and forbids 06/07 mobiles.
    """

    needs_number = False

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        call = ctx.call
        if call.caller is None:
            problem = call.caller_problem or "missing"
            return [
                Reason(
                    ReasonCode.CALLER_ID_INVALID,
                    f"The caller ID is {problem}: a call must present a valid, visible number.",
                    "Code de la consommation, art. L221-17",
                    f"Le numéro présenté est invalide ou masqué ({problem}) : un appel doit "
                    "présenter un numéro valide et visible.",
                )
            ]
        caller = call.caller
        reasons: list[Reason] = []
        own = call.policy.own_caller_ids
        if own is not None and caller.e164 not in own:
            reasons.append(
                Reason(
                    ReasonCode.CALLER_ID_NOT_OWNED,
                    f"The caller ID {caller.e164} is not one of the professional's own numbers.",
                    "Policy.own_caller_ids (ARCEP décision n° 2022-1583)",
                    f"Le numéro présenté {caller.e164} n'est pas un numéro du professionnel.",
                )
            )
        if ctx.day(t) < CALLER_ID_PLAN_FROM:
            return reasons
        if caller.french and caller.kind is LineKind.MOBILE:
            reasons.append(
                Reason(
                    ReasonCode.CALLER_ID_MOBILE,
                    f"The caller ID {caller.e164} is a mobile number, which call centres may "
                    "not present.",
                    "ARCEP décision n° 2022-1583",
                    f"Le numéro présenté {caller.e164} est un numéro mobile (06/07), interdit "
                    "aux centres d'appels.",
                )
            )
        if call.policy.automated and not _npv_acceptable(caller):
            reasons.append(
                Reason(
                    ReasonCode.CALLER_ID_NOT_NPV,
                    f"The caller ID {caller.e164} is outside the verified ranges (NPV) an "
                    "automated dialer must present.",
                    "ARCEP décision n° 2022-1583",
                    f"Le numéro présenté {caller.e164} n'appartient pas aux tranches de numéros "
                    "polyvalents vérifiés (NPV) imposées aux automates d'appel.",
                )
            )
        return reasons


def _npv_acceptable(caller: PhoneNumber) -> bool:
    if not caller.french:
        return False
    if caller.npv:
        return True
    # Special numbers other than 089 and the 30/31 short numbers may be presented too (M).
    if caller.kind is LineKind.SPECIAL:
        return not caller.national.startswith("089")
    if caller.kind is LineKind.SHORT:
        return caller.national[:2] in ("30", "31")
    return False


class OptOut(Rule):
    """The professional's internal do-not-call list: every purpose, every regime."""

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        tu = ctx.us(t)
        for start, end in ctx.facts.optouts:
            if start <= tu and (end is None or tu < end):
                until = "" if end is None else f" until {from_us(end).isoformat()}"
                until_fr = "" if end is None else f" jusqu'au {from_us(end).isoformat()}"
                return [
                    Reason(
                        ReasonCode.OPTED_OUT,
                        f"The consumer is on the professional's do-not-call list{until}.",
                        "Code de la consommation, art. L223-1; RGPD art. 21 (objection)",
                        f"Le consommateur est inscrit sur la liste d'opposition interne{until_fr}.",
                    )
                ]
        return []

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        return [from_us(end) for end in sorted({e for _, e in ctx.facts.optouts if e}) if end > tu]


def _contract_running(ctx: Context, tu: int) -> bool:
    return any(s <= tu and (e is None or tu < e) for s, e in ctx.facts.contracts)


def _contract_starts(ctx: Context, t: datetime) -> list[datetime]:
    tu = ctx.us(t)
    return [from_us(s) for s in sorted({s for s, _ in ctx.facts.contracts}) if s > tu]


class SectorBan(Rule):
    """Sectors that may not be canvassed by phone; consent does not lift them (docs/rules.md §8)."""

    needs_number = False

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return sector is not None and purpose in _CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        sector = ctx.call.sector
        assert sector is not None
        since, basis = SECTOR_BANS[sector]
        if ctx.day(t) < since:
            return []
        if ctx.call.purpose is Purpose.CONTRACT and _contract_running(ctx, ctx.us(t)):
            return []  # only an ongoing contract lifts the ban
        label = sector.value.lower().replace("_", " ")
        return [
            Reason(
                ReasonCode.SECTOR_BANNED,
                f"Telephone canvassing for {label} is banned since {since.isoformat()}.",
                basis,
                f"Le démarchage téléphonique est interdit dans ce secteur ({label}) depuis le "
                f"{since.isoformat()}.",
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return _contract_starts(ctx, t) if ctx.call.purpose is Purpose.CONTRACT else ()


_NO_CONTRACT = Reason(
    ReasonCode.NO_CONTRACT,
    "No contract with this consumer is running, so the call is not exempt as a contract call.",
    "Code de la consommation, art. L223-1 (loi n° 2020-901)",
    "Aucun contrat en cours avec ce consommateur : l'appel ne relève pas de l'exception "
    "contractuelle.",
)


class Contract(Rule):
    """A CONTRACT call needs a contract running at ``now`` (loi n° 2020-901, L223-1 al. 4)."""

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose is Purpose.CONTRACT

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        return [] if _contract_running(ctx, ctx.us(t)) else [_NO_CONTRACT]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return _contract_starts(ctx, t)


_BLOCTEL_BASIS = "Code de la consommation, art. L223-1 (version before 2026-08-11)"
_NEVER_CHECKED = Reason(
    ReasonCode.BLOCTEL_UNCHECKED,
    "The number has never been checked against Bloctel.",
    _BLOCTEL_BASIS,
    "Le numéro n'a jamais été vérifié auprès de Bloctel.",
)


class Bloctel(Rule):
    """Opt-out regimes: no call to a Bloctel-registered consumer (old L223-1, docs/rules.md §5).

    Each number needs a check no older than ``bloctel_max_age_days``: unchecked is not clean.
    Contract and press calls are exempt (§7); after 2026-08-10 Bloctel proves nothing.
    """

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose is Purpose.PROSPECTION

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).bloctel:
            return []
        tu = ctx.us(t)
        latest: tuple[int, bool] | None = None
        for checked_at, listed in ctx.facts.bloctel:
            if checked_at <= tu:
                latest = (checked_at, listed)
        basis = _BLOCTEL_BASIS
        if latest is None:
            return [_NEVER_CHECKED]
        reasons = []
        checked_day = from_us(latest[0]).astimezone(ctx.primary).date()
        if latest[1]:
            reasons.append(
                Reason(
                    ReasonCode.BLOCTEL_LISTED,
                    f"The consumer is registered on Bloctel (check of {checked_day}).",
                    basis,
                    f"Le consommateur est inscrit sur Bloctel (vérification du {checked_day}).",
                )
            )
        age = (ctx.day(t) - checked_day).days
        max_age = ctx.call.policy.bloctel_max_age_days
        if age > max_age:
            reasons.append(
                Reason(
                    ReasonCode.BLOCTEL_UNCHECKED,
                    f"The last Bloctel check ({checked_day}) is {age} days old; it must be at "
                    f"most {max_age} days old.",
                    basis,
                    f"La dernière vérification Bloctel ({checked_day}) date de {age} jours ; "
                    f"elle doit dater de {max_age} jours au plus.",
                )
            )
        return reasons

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        points = [from_us(c) for c, _ in ctx.facts.bloctel if c > tu]
        switch = _midnight(CONSENT_REGIME_START, ctx.primary)
        if switch > t:
            points.append(switch)
        return sorted(points)


_CONSENT_BASIS = "Code de la consommation, art. L223-1 (loi n° 2025-594, art. 13)"
_NO_CONSENT = Reason(
    ReasonCode.NO_CONSENT,
    "The consumer has not given prior consent to be canvassed by phone.",
    _CONSENT_BASIS,
    "Le consommateur n'a pas donné son consentement préalable au démarchage téléphonique.",
)
_CONSENT_WITHDRAWN = Reason(
    ReasonCode.CONSENT_WITHDRAWN,
    "The consumer withdrew their consent to be canvassed by phone.",
    _CONSENT_BASIS,
    "Le consommateur a retiré son consentement au démarchage téléphonique.",
)


class Consent(Rule):
    """Opt-in regime: only consumers who gave prior consent (new L223-1, docs/rules.md §6)."""

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose is Purpose.PROSPECTION

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).opt_in:
            return []
        tu = ctx.us(t)
        if ctx.consent_valid(tu):
            return []
        given = [g for g, _ in ctx.facts.consents if g <= tu]
        if not given:
            return [_NO_CONSENT]
        latest = max(given)
        if any(latest <= w <= tu for w in ctx.facts.withdrawals):
            return [_CONSENT_WITHDRAWN]
        basis = _CONSENT_BASIS
        return [
            Reason(
                ReasonCode.CONSENT_EXPIRED,
                f"The consumer's consent of {from_us(latest).date()} has expired (at most "
                f"{ctx.call.policy.consent_max_age_days} days, or its own expiry date).",
                basis + "; décret n° 2026-662",
                f"Le consentement du {from_us(latest).date()} a expiré (durée maximale "
                f"{ctx.call.policy.consent_max_age_days} jours, ou sa propre échéance).",
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        return [from_us(g) for g in sorted({g for g, _ in ctx.facts.consents}) if g > tu]


class Calendar(Rule):
    """D223-9 days and hours in the consumer's zone (docs/rules.md §2), from 2023-03-01.

    Lifted by a consent to a precise slot; before 2026-08-11 also by a general prior consent
    (« sauf accord préalable exprès du consommateur »).
    """

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in _CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        regime = ctx.regime(t)
        if not regime.calendar:
            return []
        tu = ctx.us(t)
        if any(start <= tu < end for start, end in ctx.facts.slots):
            return []
        if regime.hours_open_with_general_consent and ctx.consent_valid(tu):
            return []
        call = ctx.call
        minute = tu // 60_000_000
        return list(_calendar(call.zones, call.areas, call.policy.strict_local_holidays, minute))

    def starts(self, ctx: Context, t: datetime) -> Iterator[datetime]:
        call = ctx.call
        tu = ctx.us(t)
        streams: list[Iterable[datetime]] = [
            cal.openings(tz, t, call.areas, call.policy.strict_local_holidays) for tz in call.zones
        ]
        streams.append(from_us(s) for s in sorted(s for s, _ in ctx.facts.slots) if s > tu)
        streams.append(from_us(g) for g in sorted(g for g, _ in ctx.facts.consents) if g > tu)
        return heapq.merge(*streams)


@lru_cache(maxsize=4096)
def _calendar(
    zones: tuple[ZoneInfo, ...], areas: tuple[str, ...], strict: bool, minute: int
) -> tuple[Reason, ...]:
    """The calendar's reasons for a call in ``zones`` during one UTC minute.

    Windows open and close on the minute, so the answer holds for all of it: a dialer asking
    many times a minute about consumers of the same zone computes it once.
    """
    t = from_us(minute * 60_000_000)
    found: dict[ReasonCode, Reason] = {}
    for tz in zones:
        local = t.astimezone(tz)
        day = local.date()
        if cal.is_weekend(day) and ReasonCode.WEEKEND not in found:
            found[ReasonCode.WEEKEND] = Reason(
                ReasonCode.WEEKEND,
                f"It is {local:%A %Y-%m-%d %H:%M} in {tz.key}: consumers may only be called "
                "Monday to Friday.",
                D223_9,
                f"Nous sommes le {local:%Y-%m-%d %H:%M} ({tz.key}), un week-end : appels "
                "autorisés du lundi au vendredi seulement.",
            )
        holiday = cal.holiday_name(day, areas, strict)
        if holiday is not None and ReasonCode.HOLIDAY not in found:
            found[ReasonCode.HOLIDAY] = Reason(
                ReasonCode.HOLIDAY,
                f"{day} is a public holiday where the consumer lives ({holiday}).",
                D223_9 + "; Code du travail, art. L3133-1",
                f"Le {day} est un jour férié là où vit le consommateur ({holiday}).",
            )
        if not cal.in_hours(local.time()) and ReasonCode.OUTSIDE_HOURS not in found:
            found[ReasonCode.OUTSIDE_HOURS] = Reason(
                ReasonCode.OUTSIDE_HOURS,
                f"It is {local:%H:%M} in {tz.key}: consumers may only be called "
                "10:00-13:00 and 14:00-20:00 their time.",
                D223_9,
                f"Il est {local:%H:%M} ({tz.key}) : appels autorisés de 10 h à 13 h et de "
                "14 h à 20 h, heure du consommateur.",
            )
    return tuple(found.values())


def _window_full(days: list[date], day: date, cap: int, span: int) -> tuple[date, date] | None:
    """The first window of ``span`` days containing ``day`` that already holds ``cap`` attempts."""
    lo = bisect_left(days, day - timedelta(days=span - 1))
    hi = bisect_right(days, day + timedelta(days=span - 1))
    if hi - lo < cap:
        return None
    for offset in range(span - 1, -1, -1):
        first = day - timedelta(days=offset)
        last = first + timedelta(days=span - 1)
        if bisect_right(days, last) - bisect_left(days, first) >= cap:
            return first, last
    return None


class Frequency(Rule):
    """At most ``cap_calls`` attempts in any ``cap_days`` calendar days (D223-9, docs/rules.md §3).

    A sliding window of the consumer's local dates; attempts on later dates count too.
    """

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in _CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).calendar:
            return []
        policy = ctx.call.policy
        if len(ctx.facts.attempts) < policy.cap_calls:
            return []  # no window can be full
        for tz in ctx.call.zones:
            days = ctx.attempt_days(tz)
            window = _window_full(days, ctx.local(t, tz).date(), policy.cap_calls, policy.cap_days)
            if window is not None:
                first, last = window
                inside = days[bisect_left(days, first) : bisect_right(days, last)]
                shown = ", ".join(d.isoformat() for d in inside)
                return [
                    Reason(
                        ReasonCode.FREQUENCY_CAP,
                        f"{len(inside)} attempts already fall within {policy.cap_days} days "
                        f"({shown}); the cap is {policy.cap_calls}.",
                        D223_9,
                        f"{len(inside)} tentatives ont déjà eu lieu en {policy.cap_days} jours "
                        f"({shown}) ; le plafond est de {policy.cap_calls}.",
                    )
                ]
        return []

    def starts(self, ctx: Context, t: datetime) -> Iterator[datetime]:
        def midnights(tz: ZoneInfo) -> Iterator[datetime]:
            day = t.astimezone(tz).date()
            while True:
                day += timedelta(days=1)
                yield _midnight(day, tz)

        return heapq.merge(*(midnights(tz) for tz in ctx.call.zones))


class Cooldown(Rule):
    """Sixty full days without a call after a refusal (D223-9, docs/rules.md §4).

    « soixante jours calendaires révolus »: refused on local date R, callable from R + 61.
    """

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in _CANVASSING

    def _ends(self, ctx: Context, refused: int) -> list[datetime]:
        days = ctx.call.policy.refusal_cooldown_days + 1
        return [
            _midnight(from_us(refused).astimezone(tz).date() + timedelta(days=days), tz)
            for tz in ctx.call.zones
        ]

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).calendar:
            return []
        tu = ctx.us(t)
        past = [r for r in ctx.facts.refusals if r <= tu]
        if not past:
            return []
        latest = max(past)
        free_from = max(self._ends(ctx, latest))
        if t >= free_from:
            return []
        refused_day = from_us(latest).astimezone(ctx.primary).date()
        free_day = free_from.astimezone(ctx.primary).date()
        days = ctx.call.policy.refusal_cooldown_days
        return [
            Reason(
                ReasonCode.REFUSAL_COOLDOWN,
                f"The consumer refused on {refused_day}: no call for {days} full days, so not "
                f"before {free_day}.",
                D223_9,
                f"Le consommateur a refusé le {refused_day} : aucun appel pendant {days} jours "
                f"révolus, donc pas avant le {free_day}.",
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        ends = {e for r in ctx.facts.refusals for e in self._ends(ctx, r)}
        return sorted(e for e in ends if e > t)


RULES: tuple[Rule, ...] = (
    Destination(),
    CallerId(),
    OptOut(),
    SectorBan(),
    Contract(),
    Bloctel(),
    Consent(),
    Calendar(),
    Frequency(),
    Cooldown(),
)


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
    while True:
        moved = False
        for rule in rules:
            n = _next_pass(rule, ctx, t, horizon, t is now and id(rule) in known)
            if n is None:
                return None
            if n != t:
                t, moved = n, True
        if not moved:
            return t


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


def judge(call: Call, facts: Facts, now: datetime, *, search: bool = True) -> Verdict:
    """Every reason refusing ``call`` at ``now`` (UTC), when it becomes allowed, and the regime."""
    ctx = Context(call, facts)
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


def evaluate(
    call: Call, facts: Facts, now: datetime, *, search: bool = True
) -> tuple[list[Reason], datetime | None]:
    """Every reason refusing ``call`` at ``now`` (UTC), and when it becomes allowed."""
    verdict = judge(call, facts, now, search=search)
    return verdict.reasons, verdict.next_allowed
