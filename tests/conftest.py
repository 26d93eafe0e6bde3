from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard, Policy

PARIS = ZoneInfo("Europe/Paris")
NPV = "09 48 12 34 56"  # a verified caller ID (ARCEP NPV range 09 48)
MOBILE = "06 12 34 56 78"


def paris(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=PARIS)


@pytest.fixture(params=["sqlite"])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's fresh ledger lives, once per backend the behaviour suite runs against."""
    return str(tmp_path / "ledger.db")


@pytest.fixture
def make_guard(ledger_location: str) -> Iterator[Callable[..., Guard]]:
    """Guards on one fresh ledger: ``make_guard(professional="acme", policy=None)``."""
    guards: list[Guard] = []

    def make(professional: str = "acme", policy: Policy | None = None) -> Guard:
        g = Guard(ledger_location, professional=professional, policy=policy)
        guards.append(g)
        return g

    yield make
    for g in guards:
        g.close()


@pytest.fixture
def guard(make_guard: Callable[..., Guard]) -> Guard:
    return make_guard()


def clean_on_bloctel(guard: Guard, number: str, at: datetime) -> None:
    """Record a clean Bloctel check of ``number`` at ``at``."""
    guard.import_bloctel([], at, submitted=[number])


def consented(guard: Guard, number: str, at: datetime) -> None:
    guard.record_consent(number, at, proof=f"form-{number}")
