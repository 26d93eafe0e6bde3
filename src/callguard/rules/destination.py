"""Destination: only a valid French consumer line can be judged.

Code de la consommation, art. L223-1 (French consumers); ARCEP, plan national de numérotation.
In force throughout (docs/rules.md §2, §7).
"""

from __future__ import annotations

from datetime import datetime

from .._decision import Reason
from .base import Context, Rule

__all__ = ["Destination"]


class Destination(Rule):
    """Only a valid French consumer line can be judged (docs/rules.md §2, §7)."""

    needs_number = False

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        problem = ctx.question.number_problem
        return [problem] if problem is not None else []
