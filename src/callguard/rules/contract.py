"""A CONTRACT call needs a contract running at the time of the call.

Code de la consommation, art. L223-1 al. 4 (loi n° 2020-901), in force throughout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._types import Purpose, ReasonCode, Sector
from .base import Context, Rule, contract_running, contract_starts

__all__ = ["Contract"]


_NO_CONTRACT = Reason.of(
    ReasonCode.NO_CONTRACT,
    _("No contract with this consumer is running, so the call is not exempt as a contract call."),
    "Code de la consommation, art. L223-1 (loi n° 2020-901)",
)


class Contract(Rule):
    """A CONTRACT call needs a contract running at ``now`` (loi n° 2020-901, L223-1 al. 4)."""

    reads = frozenset({FactKind.CONTRACT})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return purpose is Purpose.CONTRACT

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        return [] if contract_running(ctx, ctx.us(t)) else [_NO_CONTRACT]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return contract_starts(ctx, t)
