"""The dated table of legal regimes (docs/rules.md §1) and of the rules with dates of their own.

A decision always uses the regime in force on the consumer's local date of the call, so a replayed
call log judges each call by the rules of its own day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .._types import Sector

__all__ = [
    "CALLER_ID_MOBILE_BAN_FROM",
    "CALLER_ID_PLAN_FROM",
    "EARLIEST",
    "REGIMES",
    "SECTOR_BANS",
    "Regime",
    "regime_on",
]


@dataclass(frozen=True)
class Regime:
    name: str
    start: date
    opt_in: bool
    """Only consumers who gave prior consent may be canvassed (new L223-1)."""
    bloctel: bool
    """Consumers registered on Bloctel may not be canvassed (old L223-1)."""
    calendar: bool
    """D223-9 days, hours, 4-per-30-days and 60-day cooldown apply."""
    hours_open_with_express_consent: bool
    """Old D223-9 al. 2: the consumer's « consentement exprès et préalable » to be called then
    opens any day and hour — a consent recorded ``off_hours=True`` (or a slot consent), never a
    general marketing consent. From 2026-08-11 only a consent to a precise date and time does
    (slot consent)."""
    legal_basis: str


REGIMES: tuple[Regime, ...] = (
    # Loi n° 2014-344 (« loi Hamon »): Bloctel opened on 2016-06-01.
    Regime(
        "bloctel",
        date(2016, 6, 1),
        opt_in=False,
        bloctel=True,
        calendar=False,
        hours_open_with_express_consent=True,
        legal_basis="Code de la consommation, art. L223-1 (loi n° 2014-344)",
    ),
    # Décret n° 2022-1313 du 13 octobre 2022, in force 2023-03-01: D223-9 days/hours/frequency.
    Regime(
        "bloctel-hours",
        date(2023, 3, 1),
        opt_in=False,
        bloctel=True,
        calendar=True,
        hours_open_with_express_consent=True,
        legal_basis="Code de la consommation, art. L223-1 and D223-9 (décret n° 2022-1313)",
    ),
    # Loi n° 2025-594 du 30 juin 2025, art. 13: opt-in from 2026-08-11, the day after the Bloctel
    # concession ended; D223-9 rewritten by décret n° 2026-662 du 23 juillet 2026.
    Regime(
        "consent",
        date(2026, 8, 11),
        opt_in=True,
        bloctel=False,
        calendar=True,
        hours_open_with_express_consent=False,
        legal_basis="Code de la consommation, art. L223-1 (loi n° 2025-594, art. 13) and D223-9",
    ),
)

EARLIEST = min(r.start for r in REGIMES)
"""Before it no regime is known: a call on an earlier date cannot be judged."""
CONSENT_REGIME_START = min(r.start for r in REGIMES if r.opt_in)
"""The first day of the opt-in regime (consent needed; Bloctel proves nothing any more)."""

# ARCEP décision n° 2022-1583, in force 2023-01-01: NPV caller IDs for automated systems, no
# 06/07 mobiles. Before it only the hidden/invalid caller-ID ban (L221-17) applies.
CALLER_ID_PLAN_FROM = date(2023, 1, 1)

# ARCEP décision n° 2019-0954 du 11 juillet 2019 (amending décision n° 2018-0881): automated
# calling systems may not present 06/07 mobile numbers from 2019-08-01 (Conseil d'État n° 434538,
# 12 February 2021, records the ban). Its announced 2021 ban on geographic and polyvalent numbers
# is unconfirmed (L) and not applied.
CALLER_ID_MOBILE_BAN_FROM = date(2019, 8, 1)

# The rulebook (docs/rules.md §8): sectors that may not be canvassed by phone, and since when.
SECTOR_BANS: dict[Sector, tuple[date, str]] = {
    # Loi n° 2020-901 du 24 juillet 2020, in force 2020-07-26.
    Sector.ENERGY_RENOVATION: (
        date(2020, 7, 26),
        "Code de la consommation, art. L223-1 (loi n° 2020-901): energy renovation",
    ),
    # Ban on canvassing for adapting housing to ageing or disability, July 2025 (we take 07-01).
    Sector.HOME_ADAPTATION: (
        date(2025, 7, 1),
        "Code de la consommation, art. L223-1 (2025): housing adaptation",
    ),
    # Code du travail L6323-8-1 (loi n° 2022-1587 du 19 décembre 2022), taken in force 2022-12-21.
    Sector.CPF_TRAINING: (
        date(2022, 12, 21),
        "Code du travail, art. L6323-8-1 (loi n° 2022-1587): CPF training",
    ),
}


def regime_on(day: date) -> Regime:
    """The regime in force on ``day``; a day before 2016-06-01 is a ``ValueError``."""
    if day < EARLIEST:
        raise ValueError(
            f"{day.isoformat()} is before {EARLIEST.isoformat()}, the opening of Bloctel: "
            "callguard has no rules for calls that early"
        )
    current = REGIMES[0]
    for regime in REGIMES:
        if regime.start <= day:
            current = regime
    return current
