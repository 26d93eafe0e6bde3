"""Prior consent: in the opt-in regime, and for recorded-message calls in every regime.

Code de la consommation, art. L223-1 (loi n° 2025-594, art. 13) from 2026-08-11; consents last
one year at most (décret n° 2026-662) (docs/rules.md §6). A call by an automated system that
plays a recorded message without a human needs the consumer's prior consent whatever the date
and purpose: Code des postes et des communications électroniques, art. L34-5 (loi n° 2004-575,
LCEN, 21 June 2004) (docs/rules.md §10).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._time import from_us
from .._types import Purpose, ReasonCode
from .base import Context, Rule

__all__ = ["CONSENT_CODES", "Consent"]

CONSENT_CODES = frozenset(
    {ReasonCode.NO_CONSENT, ReasonCode.CONSENT_WITHDRAWN, ReasonCode.CONSENT_EXPIRED}
)
"""The codes of the reasons this rule gives (a consent's date shows in them)."""


_CONSENT_BASIS = "Code de la consommation, art. L223-1 (loi n° 2025-594, art. 13)"
_RECORDED_BASIS = "Code des postes et des communications électroniques, art. L34-5"


def _no_consent(basis: str) -> Reason:
    return Reason.of(
        ReasonCode.NO_CONSENT,
        _("The consumer has not given prior consent to be canvassed by phone."),
        basis,
    )


def _withdrawn(basis: str) -> Reason:
    return Reason.of(
        ReasonCode.CONSENT_WITHDRAWN,
        _("The consumer withdrew their consent to be canvassed by phone."),
        basis,
    )


_BASES = {
    (True, False): _CONSENT_BASIS,
    (False, True): _RECORDED_BASIS,
    (True, True): f"{_CONSENT_BASIS}; {_RECORDED_BASIS}",
}
_NO_CONSENT = {k: _no_consent(b) for k, b in _BASES.items()}
_CONSENT_WITHDRAWN = {k: _withdrawn(b) for k, b in _BASES.items()}


class Consent(Rule):
    """Prior consent: canvassing in the opt-in regime (new L223-1, docs/rules.md §6), and a
    recorded-message call in every regime and for every purpose (CPCE L34-5, §10)."""

    reads = frozenset({FactKind.CONSENT, FactKind.WITHDRAWAL})

    def passes(self, ctx: Context, t: datetime) -> bool:
        question = ctx.question
        if not (
            question.recorded_message
            or (question.purpose is Purpose.PROSPECTION and ctx.regime(t).opt_in)
        ):
            return True
        return ctx.consent_valid(ctx.us(t))

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        if self.passes(ctx, t):
            return []
        question = ctx.question
        opt_in = question.purpose is Purpose.PROSPECTION and ctx.regime(t).opt_in
        recorded = question.recorded_message
        tu = ctx.us(t)
        which = (opt_in, recorded)
        given = [g for g, _ in ctx.facts.consents if g <= tu]
        if not given:
            return [_NO_CONSENT[which]]
        latest = max(given)
        if any(latest <= w and ctx.in_force(w) <= tu for w in ctx.facts.withdrawals):
            return [_CONSENT_WITHDRAWN[which]]
        basis = _BASES[which]
        return [
            Reason.of(
                ReasonCode.CONSENT_EXPIRED,
                _(
                    "The consumer's consent of {day} has expired (at most {days} days, or its own "
                    "expiry date).",
                    day=from_us(latest).date(),
                    days=ctx.question.policy.consent_max_age_days,
                ),
                basis + ("; décret n° 2026-662" if opt_in else ""),
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        return [from_us(g) for g in sorted({g for g, _ in ctx.facts.consents}) if g > tu]
