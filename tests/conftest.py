from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard

PARIS = ZoneInfo("Europe/Paris")
NPV = "09 48 12 34 56"  # a verified caller ID (ARCEP NPV range 09 48)
MOBILE = "06 12 34 56 78"


def paris(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=PARIS)


@pytest.fixture
def guard() -> Iterator[Guard]:
    with Guard(":memory:", professional="acme") as g:
        yield g


def clean_on_bloctel(guard: Guard, number: str, at: datetime) -> None:
    """Record a clean Bloctel check of ``number`` at ``at``."""
    guard.import_bloctel([], at, submitted=[number])


def consented(guard: Guard, number: str, at: datetime) -> None:
    guard.record_consent(number, at, proof=f"form-{number}")
