"""`Policy`: the readings a professional may choose where the rulebook leaves room.

A policy can make callguard stricter than the rulebook, never looser than the law: a cap above
D223-9's four attempts, a window shorter than its thirty days or a cooldown shorter than its sixty
days is refused with a message naming the value. The one exception is
``strict_local_holidays=False``, the literal reading of D223-9 (only the national holidays of
L3133-1 close the day), which the rulebook (docs/rules.md §2) names as a legitimate, if riskier, reading.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._exceptions import CallguardError, ConfigurationError
from ._i18n import Joined, Message, _

__all__ = ["Policy"]


class Policy(BaseModel):
    """How strictly callguard reads the rules. Every field is optional; defaults follow the law."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any) -> None:
        """A bad field is a :class:`ConfigurationError` naming it and its allowed values."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _configuration_error(exc) from None

    automated: bool = True
    """The calls are placed by an automated calling system: the caller ID must be a verified NPV
    number (ARCEP décision n° 2022-1583). ARCEP's criterion is volume — a system that places more
    calls than it receives — so a predictive or progressive dialer with agents is automated;
    ``False`` is only for a person dialing one call at a time from an ordinary line."""

    own_caller_ids: frozenset[str] | None = None
    """Caller IDs the professional owns (any input form); a call presenting another is refused."""

    strict_local_holidays: bool = True
    """Close the local public holidays of Alsace-Moselle and the overseas territories too."""

    cap_calls: int = Field(default=4, ge=1, le=4)
    """At most this many attempts per ``cap_days`` (D223-9: four)."""

    cap_days: int = Field(default=30, ge=30, le=3660)
    """Length of the sliding window, in the consumer's calendar days (D223-9: thirty)."""

    refusal_cooldown_days: int = Field(default=60, ge=60, le=3660)
    """Full calendar days without a call after a refusal (D223-9: sixty « révolus »)."""

    consent_max_age_days: int = Field(default=365, ge=1, le=365)
    """A consent older than this no longer counts (décret 2026-662: one year at most)."""

    bloctel_max_age_days: int = Field(default=30, ge=0, le=30)
    """A Bloctel check older than this no longer proves anything (one-month file validity)."""

    @field_validator("own_caller_ids", mode="before")
    @classmethod
    def _normalise_caller_ids(cls, value: object) -> frozenset[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ConfigurationError(
                _("own_caller_ids must be a list of phone numbers, not {value}",
                  value=f"{value!r:.60}"),
                field="own_caller_ids", value=value,
            )  # fmt: skip
        from ._numbers import parse_number  # late import: _numbers pulls in phonenumbers

        normalised: set[str] = set()
        for item in value:
            try:
                normalised.add(parse_number(item).e164)
            except ValueError as exc:
                raise ConfigurationError(
                    _("own_caller_ids: {problem}",
                      problem=exc.message if isinstance(exc, CallguardError) else str(exc)),
                    field="own_caller_ids", value=item,
                ) from None  # fmt: skip
        if not normalised:
            raise ConfigurationError(
                _("own_caller_ids is empty: pass None to accept any caller ID"),
                field="own_caller_ids",
                value=value,
            )
        return frozenset(normalised)


def _allowed(name: str) -> Message:
    """The values field ``name`` accepts, in words."""
    field = Policy.model_fields.get(name)
    if field is None:
        return _("the fields are {fields}", fields=", ".join(Policy.model_fields))
    if field.annotation is bool:
        return _("True or False")
    if name == "own_caller_ids":
        return _("a list of phone numbers, or None for any caller ID")
    low = high = None
    for meta in field.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return _("a whole number from {low} to {high}", low=low, high=high)


def _configuration_error(exc: ValidationError) -> ConfigurationError:
    """One sentence per bad field, from the catalog; ``field`` and ``value`` name the first."""
    problems: list[Message | str] = []
    errors = exc.errors()
    for error in errors:
        name = ".".join(str(part) for part in error["loc"]) or "Policy"
        field = str(error["loc"][0]) if error["loc"] else ""
        shown = f"{error.get('input')!r:.60}"
        if error["type"] == "value_error":  # our own validator's sentence (own_caller_ids)
            problems.append(
                _("Policy {name}={value}: {problem} (allowed: {allowed})", name=name,
                  value=shown, problem=_problem(error), allowed=_allowed(field))
            )  # fmt: skip
        else:
            problems.append(
                _("Policy {name}={value} is refused (allowed: {allowed})", name=name,
                  value=shown, allowed=_allowed(field))
            )  # fmt: skip
    first = errors[0] if errors else None
    return ConfigurationError(
        Joined(problems),
        field=f"policy.{first['loc'][0]}" if first and first["loc"] else "policy",
        value=first.get("input") if first else None,
    )


def _problem(error: Any) -> Message | str:
    """A validator's own sentence: its message in the catalog when it raised a callguard error."""
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, CallguardError):
        return raised.message
    return str(error["msg"]).removeprefix("Value error, ")
