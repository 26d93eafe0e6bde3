"""The professional's internal do-not-call list, for every purpose under every regime.

Code de la consommation, art. L223-1; RGPD art. 21 (objection). In force throughout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
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
                until = "" if ends is None else f" until {ends}"
                until_fr = "" if ends is None else f" jusqu'au {ends}"
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
