"""Sectors that may not be canvassed by phone; consent does not lift the ban.

Each sector has its own text and start date (``SECTOR_BANS`` in the regime table,
docs/rules.md §8); only an ongoing contract lifts it for a CONTRACT call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .._decision import Reason
from .._facts import FactKind
from .._i18n import _
from .._types import Purpose, ReasonCode, Sector
from .base import CANVASSING, Context, Rule, contract_running, contract_starts
from .regimes import SECTOR_BANS

__all__ = ["SectorBan"]


class SectorBan(Rule):
    """Sectors that may not be canvassed by phone; consent does not lift them (docs/rules.md §8)."""

    needs_number = False

    reads = frozenset({FactKind.CONTRACT})

    def applies(self, purpose: Purpose, sector: Sector | None) -> bool:
        return sector is not None and purpose in CANVASSING

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        sector = ctx.question.sector
        assert sector is not None
        since, basis = SECTOR_BANS[sector]
        if ctx.day(t) < since:
            return []
        if ctx.question.purpose is Purpose.CONTRACT and contract_running(ctx, ctx.us(t)):
            return []  # only an ongoing contract lifts the ban
        label = sector.value.lower().replace("_", " ")
        return [
            Reason.of(
                ReasonCode.SECTOR_BANNED,
                _(
                    "Telephone canvassing for {sector} is banned since {since}.",
                    sector=label,
                    since=since.isoformat(),
                ),
                basis,
            )
        ]

    def starts(self, ctx: Context, t: datetime) -> Iterable[datetime]:
        return contract_starts(ctx, t) if ctx.question.purpose is Purpose.CONTRACT else ()
