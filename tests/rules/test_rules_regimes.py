"""The dated table of regimes (docs/rules.md §1): rules/regimes.py."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from callguard import Guard, ReasonCode
from callguard.rules.regimes import regime_on
from conftest import MOBILE, NPV, clean_on_bloctel, consented, paris


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2016, 6, 1), "bloctel"),
        (date(2023, 2, 28), "bloctel"),
        (date(2023, 3, 1), "bloctel-hours"),
        (date(2026, 8, 10), "bloctel-hours"),
        (date(2026, 8, 11), "consent"),
        (date(2040, 1, 1), "consent"),
    ],
)
def test_regime_table(day: date, name: str) -> None:
    assert regime_on(day).name == name


def test_before_bloctel_is_out_of_range(guard: Guard) -> None:
    with pytest.raises(ValueError, match="2016-05-31"):
        guard.may_call(MOBILE, NPV, paris(2016, 5, 31, 11))


def test_naive_now_is_a_value_error(guard: Guard) -> None:
    with pytest.raises(ValueError, match="naive"):
        guard.may_call(MOBILE, NPV, datetime(2026, 11, 23, 11))


def test_decision_reports_regime_of_its_own_day(guard: Guard) -> None:
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 10, 11)).regime == "bloctel-hours"
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 11)).regime == "consent"
    assert guard.may_call(MOBILE, NPV, paris(2020, 1, 6, 11)).regime == "bloctel"


def test_switch_day_bloctel_to_consent(guard: Guard) -> None:
    clean_on_bloctel(guard, MOBILE, paris(2026, 8, 1))
    last_opt_out_day = guard.may_call(MOBILE, NPV, paris(2026, 8, 10, 19, 59, 59))
    assert last_opt_out_day.allowed
    first_opt_in_day = guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 10))
    assert first_opt_in_day.codes == {ReasonCode.NO_CONSENT}
    assert first_opt_in_day.next_allowed_at is None


def test_bloctel_listing_lapses_with_the_consent_regime(guard: Guard) -> None:
    # Listed on Bloctel but consented: refused until the law changes, allowed from 2026-08-11.
    guard.import_bloctel([MOBILE], paris(2026, 8, 1))
    consented(guard, MOBILE, paris(2026, 8, 3))
    d = guard.may_call(MOBILE, NPV, paris(2026, 8, 4, 11))
    assert d.codes == {ReasonCode.BLOCTEL_LISTED}
    assert d.next_allowed_at == paris(2026, 8, 11, 10)
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 10)).allowed
