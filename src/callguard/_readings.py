"""What the engine and the rules read of a :class:`~callguard._policy.Policy`, with the law's
defaults, in a plain frozen object: a guard opened without a policy decides under these and
builds no pydantic model (pydantic costs about a third of the CPU of a ``callguard check``).
``Guard.policy`` still answers a real ``Policy()``, built when first asked for.
tests/test_startup.py holds every field and default equal to Policy's.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_READINGS", "Readings"]


@dataclass(frozen=True, slots=True)
class Readings:
    """The fields of ``Policy()``, read by attribute as the engine reads a Policy."""

    automated: bool = True
    own_caller_ids: frozenset[str] | None = None
    strict_local_holidays: bool = True
    cap_calls: int = 4
    cap_days: int = 30
    refusal_cooldown_days: int = 60
    consent_max_age_days: int = 365
    bloctel_max_age_days: int = 30


DEFAULT_READINGS = Readings()
