"""Sectors banned from telephone canvassing (docs/rules.md §8): rules/sector_ban.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from callguard import Guard, ReasonCode, Sector
from conftest import MOBILE, NPV, consented, paris


@pytest.mark.parametrize(
    ("sector", "first_day"),
    [
        (Sector.ENERGY_RENOVATION, date(2020, 7, 26)),
        (Sector.HOME_ADAPTATION, date(2025, 7, 1)),
        (Sector.CPF_TRAINING, date(2022, 12, 21)),
    ],
)
def test_sector_bans_from_their_date(guard: Guard, sector: Sector, first_day: date) -> None:
    before = datetime.combine(
        first_day - timedelta(days=1), datetime.min.time(), paris(2020, 1, 1).tzinfo
    )
    on = datetime.combine(first_day, datetime.min.time(), paris(2020, 1, 1).tzinfo)
    assert ReasonCode.SECTOR_BANNED not in guard.may_call(MOBILE, NPV, before, sector=sector).codes
    d = guard.may_call(MOBILE, NPV, on, sector=sector)
    assert ReasonCode.SECTOR_BANNED in d.codes


def test_consent_does_not_lift_a_sector_ban_but_a_contract_does(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 9, 1))
    at = paris(2026, 11, 23, 11)
    d = guard.may_call(MOBILE, NPV, at, sector="energy_renovation")
    assert d.codes == {ReasonCode.SECTOR_BANNED}
    assert d.next_allowed_at is None
    guard.record_contract(MOBILE, paris(2026, 1, 1))
    assert guard.may_call(MOBILE, NPV, at, sector="ENERGY_RENOVATION", purpose="contract").allowed
