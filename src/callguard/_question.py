"""The question « may I call? », read once: :class:`Terms` (how the professional calls) and
:class:`Question` (this number, on these terms, at this instant).

The engine builds both (``Engine.terms``, ``Engine.question``) and every decision reads them
whole: the rules, the ledger read, the answer cache. Nothing downstream parses a number or a
caller ID again.

Both are ``NamedTuple``\\ s: immutable like a frozen dataclass, and built in a fifth of its time —
``may_call`` builds one :class:`Question` per call, and its budget is a few microseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from ._decision import Reason
from ._i18n import Message
from ._numbers import PhoneNumber
from ._types import Purpose, Sector

if TYPE_CHECKING:
    from ._policy import Policy

__all__ = ["Question", "Terms"]


class Terms(NamedTuple):
    """How the professional calls: from which caller ID, for which purpose and sector, with or
    without a recorded message, under which policy. A dialer asks on the same terms for every
    number, so the engine validates them once and remembers them."""

    caller: PhoneNumber | None
    """The caller ID parsed, or None when it is missing or invalid (``caller_problem``)."""
    caller_problem: Message | None
    caller_id: str | None
    """The caller ID as the ledger stores it: E.164 when valid, else None."""
    purpose: Purpose
    sector: Sector | None
    recorded_message: bool
    """The call plays a recorded message without a human (CPCE L34-5, docs/rules.md §10)."""
    policy: Policy
    memo: int = 0
    """The engine's number for these terms while it remembers them; answers found on them are
    then shared with the next questions on the same terms (0: never remembered, never shared)."""


class Question(NamedTuple):
    """One question: this number, on these terms, at this instant — what a decision answers.

    ``key`` is None when the number cannot be judged (``number_problem`` says why); the rules
    then refuse it without reading the ledger.
    """

    given: object
    """The number as it was given (a refusal of an invalid number shows it)."""
    key: int | None
    """The number's ledger key (its E.164 digits), or None when ``number_problem`` is set."""
    e164: str | None
    """What the decision shows as its number: E.164, or None for an invalid number or a short
    code."""
    number_problem: Reason | None
    zones: tuple[ZoneInfo, ...]
    """The consumer's candidate zones, the primary one first."""
    areas: tuple[str, ...]
    """The holiday areas (territories, Alsace-Moselle) whose public holidays apply."""
    terms: Terms
    at: datetime
    """The instant asked about, in UTC."""
    at_us: int
    """``at`` in microseconds since the epoch, as the ledger keeps instants."""
    campaign: str | None = None

    # The rules read the terms as the question's own.
    @property
    def caller(self) -> PhoneNumber | None:
        return self.terms.caller

    @property
    def caller_problem(self) -> Message | None:
        return self.terms.caller_problem

    @property
    def purpose(self) -> Purpose:
        return self.terms.purpose

    @property
    def sector(self) -> Sector | None:
        return self.terms.sector

    @property
    def recorded_message(self) -> bool:
        return self.terms.recorded_message

    @property
    def policy(self) -> Policy:
        return self.terms.policy
