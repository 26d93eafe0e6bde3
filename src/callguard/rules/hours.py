"""D223-9 days and hours: Monday to Friday except public holidays, 10:00-13:00 and
14:00-20:00 in the consumer's zone.

Code de la consommation, art. D223-9 (décret n° 2022-1313), from 2023-03-01: al. 2 lifts it
only with the consumer's express prior consent to be called then (an off-hours consent or a slot
consent, never a general marketing consent); from 2026-08-11 (loi n° 2025-594) only a slot
consent lifts it (docs/rules.md §2).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from .._decision import Reason
from .._facts import FactKind
from .._i18n import N_, _
from .._time import from_us
from .._types import Purpose, ReasonCode, Sector
from . import calendar as cal
from .base import CANVASSING, D223_9, Context, Rule

_WEEKDAYS = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
    N_("Sunday"),
)  # fmt: skip

__all__ = ["Calendar"]


class Calendar(Rule):
    """D223-9 days and hours in the consumer's zone (docs/rules.md §2), from 2023-03-01.

    Lifted by a consent to a precise slot; before 2026-08-11 also by a consent recorded as
    expressly covering calls outside the days and hours (« consentement exprès et préalable »,
    D223-9 al. 2) — a general marketing consent does not.
    """

    reads = frozenset({FactKind.SLOT, FactKind.CONSENT, FactKind.WITHDRAWAL})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        regime = ctx.regime(t)
        if not regime.calendar:
            return []
        tu = ctx.us(t)
        if any(start <= tu < end for start, end in ctx.facts.slots):
            return []
        if regime.hours_open_with_express_consent and ctx.consent_valid(tu, off_hours=True):
            return []
        question = ctx.question
        strict = question.policy.strict_local_holidays
        minute = tu // 60_000_000
        return list(_calendar(question.zones, question.areas, strict, minute))

    def passes(self, ctx: Context, t: datetime) -> bool:
        regime = ctx.regime(t)
        if not regime.calendar:
            return True
        tu = ctx.us(t)
        if any(start <= tu < end for start, end in ctx.facts.slots):
            return True
        if regime.hours_open_with_express_consent and ctx.consent_valid(tu, off_hours=True):
            return True
        question = ctx.question
        strict = question.policy.strict_local_holidays
        # The day's windows (weekends and holidays have none), worked out once a day and zone:
        # no holiday's name, so no ``holidays`` package in the table's years.
        for tz in question.zones:
            day = ctx.local(t, tz).date()
            if not any(s <= t < e for s, e in cal.day_windows(tz, day, question.areas, strict)):
                return False
        return True

    def starts(self, ctx: Context, t: datetime) -> Iterator[datetime]:
        question = ctx.question
        tu = ctx.us(t)
        streams: list[Iterable[datetime]] = [
            cal.openings(tz, t, question.areas, question.policy.strict_local_holidays)
            for tz in question.zones
        ]
        streams.append(from_us(s) for s in sorted(s for s, _ in ctx.facts.slots) if s > tu)
        streams.append(from_us(g) for g in sorted(g for g, _ in ctx.facts.off_hours) if g > tu)
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
            found[ReasonCode.WEEKEND] = Reason.of(
                ReasonCode.WEEKEND,
                _(
                    "It is {weekday} {when} in {zone}: consumers may only be called Monday to "
                    "Friday.",
                    weekday=_(_WEEKDAYS[local.weekday()]),
                    when=f"{local:%Y-%m-%d %H:%M}",
                    zone=tz.key,
                ),
                D223_9,
            )
        holiday = cal.holiday_name(day, areas, strict)
        if holiday is not None and ReasonCode.HOLIDAY not in found:
            found[ReasonCode.HOLIDAY] = Reason.of(
                ReasonCode.HOLIDAY,
                _(
                    "{day} is a public holiday where the consumer lives ({holiday}).",
                    day=day,
                    holiday=holiday,
                ),
                D223_9 + "; Code du travail, art. L3133-1",
            )
        if not cal.in_hours(local.time()) and ReasonCode.OUTSIDE_HOURS not in found:
            found[ReasonCode.OUTSIDE_HOURS] = Reason.of(
                ReasonCode.OUTSIDE_HOURS,
                _(
                    "It is {time} in {zone}: consumers may only be called 10:00-13:00 and "
                    "14:00-20:00 their time.",
                    time=f"{local:%H:%M}",
                    zone=tz.key,
                ),
                D223_9,
            )
    return tuple(found.values())
