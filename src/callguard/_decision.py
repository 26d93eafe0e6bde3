"""The typed answer to « may I call? »: a `Decision` carrying every failing `Reason`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ._i18n import Message
from ._types import ReasonCode

__all__ = ["Decision", "Reason"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that refuses the call."""

    code: ReasonCode
    message: str
    """One English sentence a supervisor understands."""
    legal_basis: str
    """The article the rule comes from, e.g. « Code de la consommation, art. D223-9 »."""
    message_fr: str = ""
    """The same sentence in French, for French call centres."""

    @classmethod
    def of(cls, code: ReasonCode, message: Message, legal_basis: str) -> Reason:
        """A reason whose sentences come from the message catalog (English and French)."""
        try:
            english, french = _bilingual(message.msgid, tuple(message.params.items()))
        except TypeError:  # a value that cannot be a cache key
            english, french = message.render("en"), message.render("fr")
        return cls(code, english, legal_basis, french)

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code.value,
            "message": self.message,
            "message_fr": self.message_fr,
            "legal_basis": self.legal_basis,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the call may be placed now, why not, and when it may be placed."""

    allowed: bool
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None
    """Earliest instant the same call becomes allowed given today's ledger; None when time alone
    will not help (no consent, opt-out, Bloctel listing, caller ID, sector, bad number)."""
    number: str | None
    """The destination in E.164, or None when it is not a valid number."""
    regime: str
    callee_tz: str
    at: datetime
    """The instant judged."""
    attempt_id: int | None = None

    @property
    def codes(self) -> frozenset[ReasonCode]:
        """The reason codes, for ``ReasonCode.FREQUENCY_CAP in decision.codes``."""
        return frozenset(r.code for r in self.reasons)

    def __bool__(self) -> bool:
        return self.allowed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; instants are ISO 8601 strings with their offset."""
        return {
            "allowed": self.allowed,
            "number": self.number,
            "at": self.at.isoformat(),
            "regime": self.regime,
            "callee_tz": self.callee_tz,
            "next_allowed_at": (
                self.next_allowed_at.isoformat() if self.next_allowed_at is not None else None
            ),
            "attempt_id": self.attempt_id,
            "reasons": [r.to_dict() for r in self.reasons],
        }


# A scrub or an audit gives the same reasons again and again (one caller ID, one day): their two
# sentences are rendered once.
@lru_cache(maxsize=8192)
def _bilingual(msgid: str, params: tuple[tuple[str, object], ...]) -> tuple[str, str]:
    message = Message(msgid, dict(params))
    return message.render("en"), message.render("fr")
