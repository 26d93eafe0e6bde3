"""At most four attempts in any thirty calendar days of the consumer.

Code de la consommation, art. D223-9 (décret n° 2022-1313), from 2023-03-01 (docs/rules.md §3).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._types import Purpose, ReasonCode, Sector
from .base import CANVASSING, D223_9, Context, Rule, midnight

__all__ = ["Frequency"]


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

    reads = frozenset({FactKind.ATTEMPT})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).calendar:
            return []
        policy = ctx.question.policy
        if len(ctx.facts.attempts) < policy.cap_calls:
            return []  # no window can be full
        for tz in ctx.question.zones:
            days = ctx.attempt_days(tz)
            window = _window_full(days, ctx.local(t, tz).date(), policy.cap_calls, policy.cap_days)
            if window is not None:
                first, last = window
                inside = days[bisect_left(days, first) : bisect_right(days, last)]
                shown = ", ".join(d.isoformat() for d in inside)
                return [
                    Reason.of(
                        ReasonCode.FREQUENCY_CAP,
                        _(
                            "{count} attempts already fall within {days} days ({dates}); the cap "
                            "is {cap}.",
                            count=len(inside),
                            days=policy.cap_days,
                            dates=shown,
                            cap=policy.cap_calls,
                        ),
                        D223_9,
                    )
                ]
        return []

    def starts(self, ctx: Context, t: datetime) -> Iterator[datetime]:
        """The midnights after ``t`` where the rule may start passing again: the day after the
        last full window of a run of full windows. That window's last day is some attempt's day
        plus ``cap_days - 1`` — a full window whose first day holds no attempt can slide one day
        later and stay full — so only ``attempt day + cap_days`` can follow a refusal."""
        span = timedelta(days=ctx.question.policy.cap_days)

        def candidates(tz: ZoneInfo) -> list[datetime]:
            after = t.astimezone(tz).date()
            days = sorted({day + span for day in ctx.attempt_days(tz)})
            return [midnight(day, tz) for day in days if day > after]

        return heapq.merge(*(candidates(tz) for tz in ctx.question.zones))
