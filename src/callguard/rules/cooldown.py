"""Sixty full calendar days without a call after a refusal.

Code de la consommation, art. D223-9 (décret n° 2022-1313), from 2023-03-01 (docs/rules.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._time import from_us
from .._types import Purpose, ReasonCode, Sector
from .base import CANVASSING, D223_9, Context, Rule, midnight

__all__ = ["Cooldown"]


class Cooldown(Rule):
    """Sixty full days without a call after a refusal (D223-9, docs/rules.md §4).

    « soixante jours calendaires révolus »: refused on local date R, callable from R + 61.
    """

    reads = frozenset({FactKind.REFUSAL})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose in CANVASSING

    def _ends(self, ctx: Context, refused: int) -> list[datetime]:
        days = ctx.question.policy.refusal_cooldown_days + 1
        return [
            midnight(from_us(refused).astimezone(tz).date() + timedelta(days=days), tz)
            for tz in ctx.question.zones
        ]

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).calendar:
            return []
        tu = ctx.us(t)
        # A refusal stamped after a live decision's instant is already in force; the 60 days
        # still run from its own local date.
        past = [r for r in ctx.facts.refusals if ctx.in_force(r) <= tu]
        if not past:
            return []
        latest = max(past)
        free_from = max(self._ends(ctx, latest))
        if t >= free_from:
            return []
        refused_day = from_us(latest).astimezone(ctx.primary).date()
        free_day = free_from.astimezone(ctx.primary).date()
        days = ctx.question.policy.refusal_cooldown_days
        return [
            Reason.of(
                ReasonCode.REFUSAL_COOLDOWN,
                _(
                    "The consumer refused on {refused}: no call for {days} full days, so not "
                    "before {free}.",
                    refused=refused_day,
                    days=days,
                    free=free_day,
                ),
                D223_9,
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        ends = {e for r in ctx.facts.refusals for e in self._ends(ctx, r)}
        return sorted(e for e in ends if e > t)
