"""The professional's internal do-not-call list, for every purpose under every regime.

Code de la consommation, art. L223-1; RGPD art. 21 (objection). In force throughout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._time import from_us
from .._types import ReasonCode
from .base import Context, Rule

__all__ = ["OptOut"]


class OptOut(Rule):
    """The professional's internal do-not-call list: every purpose, every regime."""

    reads = frozenset({FactKind.OPTOUT})

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        tu = ctx.us(t)
        for start, end in ctx.facts.optouts:
            if ctx.in_force(start) <= tu and (end is None or tu < end):
                # In the consumer's zone: a supervisor reads the end as she lives it.
                ends = None if end is None else from_us(end).astimezone(ctx.primary).isoformat()
                message = (
                    _("The consumer is on the professional's do-not-call list.")
                    if ends is None
                    else _(
                        "The consumer is on the professional's do-not-call list until {end}.",
                        end=ends,
                    )
                )
                return [
                    Reason.of(
                        ReasonCode.OPTED_OUT,
                        message,
                        "Code de la consommation, art. L223-1; RGPD art. 21 (objection)",
                    )
                ]
        return []

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        tu = ctx.us(t)
        return [from_us(end) for end in sorted({e for _, e in ctx.facts.optouts if e}) if end > tu]
