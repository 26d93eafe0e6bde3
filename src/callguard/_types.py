"""Public enumerations: why a call is refused, why it is made, what came of it."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from ._exceptions import ConfigurationError
from ._i18n import _

_E = TypeVar("_E", bound="_StrEnum")

__all__ = ["Outcome", "Purpose", "ReasonCode", "Sector"]


class _StrEnum(str, Enum):
    """A ``str`` enum whose ``str()`` is its value (Python 3.10 has no ``enum.StrEnum``)."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def coerce(cls: type[_E], value: object) -> _E:
        """Accept a member or its name/value in any case; otherwise a ConfigurationError names
        the valid choices."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace(" ", "_")
            try:
                return cls[key]
            except KeyError:
                pass
        choices = ", ".join(m.name for m in cls)
        raise ConfigurationError(
            _(
                "invalid {kind} {value}: expected one of {choices}",
                kind=cls.__name__,
                value=repr(value),
                choices=choices,
            ),
            field=cls.__name__.lower(),
            value=value,
        )


class ReasonCode(_StrEnum):
    """Why a call is refused. The values are the names; they are public API ."""

    INVALID_NUMBER = "INVALID_NUMBER"
    UNSUPPORTED_DESTINATION = "UNSUPPORTED_DESTINATION"
    CALLER_ID_INVALID = "CALLER_ID_INVALID"
    CALLER_ID_MOBILE = "CALLER_ID_MOBILE"
    CALLER_ID_NOT_NPV = "CALLER_ID_NOT_NPV"
    CALLER_ID_NOT_OWNED = "CALLER_ID_NOT_OWNED"
    WEEKEND = "WEEKEND"
    HOLIDAY = "HOLIDAY"
    OUTSIDE_HOURS = "OUTSIDE_HOURS"
    FREQUENCY_CAP = "FREQUENCY_CAP"
    REFUSAL_COOLDOWN = "REFUSAL_COOLDOWN"
    BLOCTEL_LISTED = "BLOCTEL_LISTED"
    BLOCTEL_UNCHECKED = "BLOCTEL_UNCHECKED"
    NO_CONSENT = "NO_CONSENT"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_WITHDRAWN = "CONSENT_WITHDRAWN"
    OPTED_OUT = "OPTED_OUT"
    SECTOR_BANNED = "SECTOR_BANNED"
    NO_CONTRACT = "NO_CONTRACT"
    LEDGER_UNAVAILABLE = "LEDGER_UNAVAILABLE"


class Purpose(_StrEnum):
    """Why the call is made (docs/rules.md §7 decides which rules apply to each)."""

    PROSPECTION = "PROSPECTION"
    CONTRACT = "CONTRACT"
    PRESS = "PRESS"
    NON_COMMERCIAL = "NON_COMMERCIAL"
    B2B = "B2B"


class Sector(_StrEnum):
    """Sectors that may not be canvassed by phone at all (docs/rules.md §8)."""

    ENERGY_RENOVATION = "ENERGY_RENOVATION"
    HOME_ADAPTATION = "HOME_ADAPTATION"
    CPF_TRAINING = "CPF_TRAINING"


class Outcome(_StrEnum):
    """What came of a call. Every outcome counts toward the cap (D223-9: « tenter de démarcher »)."""

    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    VOICEMAIL = "VOICEMAIL"
    FAILED = "FAILED"
    REFUSED = "REFUSED"
    OBJECTED = "OBJECTED"
