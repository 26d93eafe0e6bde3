"""Opt-out regimes: no call to a consumer registered on Bloctel, and no call without a recent check.

Code de la consommation, art. L223-1 in its version before 2026-08-11 (loi n° 2014-344),
from 2016-06-01 to 2026-08-10 (docs/rules.md §5).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._time import from_us
from .._types import Purpose, ReasonCode, Sector
from .base import Context, Rule, midnight
from .regimes import CONSENT_REGIME_START

__all__ = ["Bloctel"]


_BLOCTEL_BASIS = "Code de la consommation, art. L223-1 (version before 2026-08-11)"
_NEVER_CHECKED = Reason.of(
    ReasonCode.BLOCTEL_UNCHECKED,
    _("The number has never been checked against Bloctel."),
    _BLOCTEL_BASIS,
)


class Bloctel(Rule):
    """Opt-out regimes: no call to a Bloctel-registered consumer (old L223-1, docs/rules.md §5).

    Each number needs a check no older than ``bloctel_max_age_days``: unchecked is not clean.
    Contract and press calls are exempt (§7); after 2026-08-10 Bloctel proves nothing.
    """

    reads = frozenset({FactKind.BLOCTEL})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose is Purpose.PROSPECTION

    @staticmethod
    def _latest(ctx: Context, tu: int) -> tuple[int | None, int | None]:
        """The latest check at ``tu`` and the listing in force then, if any (their instants)."""
        latest: int | None = None
        listed_at: int | None = None
        for checked_at, listed in ctx.facts.bloctel:
            if checked_at <= tu:
                latest = checked_at
                listed_at = checked_at if listed else None
            elif listed and listed_at is None and ctx.in_force(checked_at) <= tu:
                # A listing stamped after a live decision's instant is already in force (a
                # clean check counts only from its own instant).
                listed_at = checked_at
        return latest, listed_at

    def passes(self, ctx: Context, t: datetime) -> bool:
        if not ctx.regime(t).bloctel:
            return True
        latest, listed_at = self._latest(ctx, ctx.us(t))
        if listed_at is not None or latest is None:
            return False
        checked_day = from_us(latest).astimezone(ctx.primary).date()
        return (ctx.day(t) - checked_day).days <= ctx.question.policy.bloctel_max_age_days

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if not ctx.regime(t).bloctel:
            return []
        latest, listed_at = self._latest(ctx, ctx.us(t))
        basis = _BLOCTEL_BASIS
        reasons = []
        if listed_at is not None:
            listed_day = from_us(listed_at).astimezone(ctx.primary).date()
            reasons.append(
                Reason.of(
                    ReasonCode.BLOCTEL_LISTED,
                    _("The consumer is registered on Bloctel (check of {day}).", day=listed_day),
                    basis,
                )
            )
        if latest is None:
            return [*reasons, _NEVER_CHECKED]
        checked_day = from_us(latest).astimezone(ctx.primary).date()
        age = (ctx.day(t) - checked_day).days
        max_age = ctx.question.policy.bloctel_max_age_days
        if age > max_age:
            reasons.append(
                Reason.of(
                    ReasonCode.BLOCTEL_UNCHECKED,
                    _(
                        "The last Bloctel check ({day}) is {age} days old; it must be at most "
                        "{most} days old.",
                        day=checked_day,
                        age=age,
                        most=max_age,
                    ),
                    basis,
                )
            )
        return reasons

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        points = [from_us(c) for c, _ in ctx.facts.bloctel if c > tu]
        switch = midnight(CONSENT_REGIME_START, ctx.primary)
        if switch > t:
            points.append(switch)
        return sorted(points)
