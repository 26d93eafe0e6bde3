"""Opt-in regime: only consumers who gave a prior, unexpired, unwithdrawn consent.

Code de la consommation, art. L223-1 (loi n° 2025-594, art. 13) from 2026-08-11; consents last
one year at most (décret n° 2026-662) (docs/rules.md §6).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._time import from_us
from .._types import Purpose, ReasonCode, Sector
from .base import Context, Rule

__all__ = ["Consent"]


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
