"""The rules, one module each, with its legal basis and dates in its docstring, over the dated
table of regimes (``regimes``) and the D223-9 calendar (``calendar``).

:data:`RULES` lists them in the order a refusal lists its reasons; the engine evaluates every
rule that applies (``callguard._engine.judge``), so a refusal gives all its reasons.
"""

from __future__ import annotations

from .base import Context, Question, Rule
from .bloctel import Bloctel
from .caller_id import CallerId
from .consent import Consent
from .contract import Contract
from .cooldown import Cooldown
from .destination import Destination
from .frequency import Frequency
from .hours import Calendar
from .optout import OptOut
from .sector_ban import SectorBan

__all__ = ["RULES", "Context", "Question", "Rule"]

RULES: tuple[Rule, ...] = (
    Destination(),
    CallerId(),
    OptOut(),
    SectorBan(),
    Contract(),
    Bloctel(),
    Consent(),
    Calendar(),
    Frequency(),
    Cooldown(),
)
