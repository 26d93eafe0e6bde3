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

    def _free_from(self, ctx: Context, t: datetime) -> tuple[int, datetime] | None:
        """The latest refusal in force at ``t`` and when its cooldown ends, if it has not."""
        if not ctx.regime(t).calendar:
            return None
        tu = ctx.us(t)
        # A refusal stamped after a live decision's instant is already in force; the 60 days
        # still run from its own local date.
        latest = max((r for r in ctx.facts.refusals if ctx.in_force(r) <= tu), default=None)
        if latest is None:
            return None
        free_from = max(self._ends(ctx, latest))
        return None if t >= free_from else (latest, free_from)

    def passes(self, ctx: Context, t: datetime) -> bool:
        return self._free_from(ctx, t) is None

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        found = self._free_from(ctx, t)
        if found is None:
            return []
        latest, free_from = found
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
        refusals = ctx.facts.refusals
        if ctx.live is not None and refusals:
            # In a live decision every refusal is in force from its instant on: the latest one
            # decides at every instant the search visits, and its cooldown ends once.
            ends = self._ends(ctx, max(refusals))
        else:
            ends = [e for r in refusals for e in self._ends(ctx, r)]
        return sorted({e for e in ends if e > t})
