"""The rules together (rules/__init__.py): which apply to each purpose, and every reason listed."""

from __future__ import annotations

import pytest

from callguard import Guard, Purpose, ReasonCode, Sector
from conftest import MOBILE, NPV, paris


def test_press_exempt_from_consent_and_bloctel_not_from_cap(guard: Guard) -> None:
    assert guard.may_call(MOBILE, NPV, paris(2025, 3, 3, 11), purpose=Purpose.PRESS).allowed
    assert guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.PRESS).allowed
    for d in (2, 3, 4, 5):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 6, 11), purpose=Purpose.PRESS)
    assert d.codes == {ReasonCode.FREQUENCY_CAP}


@pytest.mark.parametrize("purpose", [Purpose.B2B, Purpose.NON_COMMERCIAL])
def test_outside_canvassing_rules(guard: Guard, purpose: Purpose) -> None:
    for d in (2, 3, 4, 5, 6):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    sunday_night = paris(2026, 11, 22, 22)
    d = guard.may_call(MOBILE, NPV, sunday_night, purpose=purpose, sector=Sector.CPF_TRAINING)
    assert d.allowed
    # ... but the opt-out list and the caller-ID rules apply whatever the purpose.
    assert guard.may_call(MOBILE, "06 99 88 77 66", sunday_night, purpose=purpose).codes >= {
        ReasonCode.CALLER_ID_MOBILE
    }
    guard.add_optout(MOBILE, paris(2026, 11, 1))
    assert guard.may_call(MOBILE, NPV, sunday_night, purpose=purpose).codes == {
        ReasonCode.OPTED_OUT
    }


def test_bad_purpose_names_the_choices(guard: Guard) -> None:
    with pytest.raises(ValueError, match="PROSPECTION"):
        guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose="telesales")


def test_all_failing_rules_are_listed(guard: Guard) -> None:
    guard.record_refusal(MOBILE, paris(2026, 11, 1, 11))
    guard.add_optout(MOBILE, paris(2026, 11, 2))
    for d in (2, 3, 4, 5):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    d = guard.may_call(MOBILE, "06 99 88 77 66", paris(2026, 11, 22, 22), sector="CPF_TRAINING")
    assert d.codes == {
        ReasonCode.CALLER_ID_MOBILE,
        ReasonCode.CALLER_ID_NOT_NPV,
        ReasonCode.OPTED_OUT,
        ReasonCode.SECTOR_BANNED,
        ReasonCode.NO_CONSENT,
        ReasonCode.WEEKEND,
        ReasonCode.OUTSIDE_HOURS,
        ReasonCode.FREQUENCY_CAP,
        ReasonCode.REFUSAL_COOLDOWN,
    }
    for reason in d.reasons:
        assert reason.message and reason.message_fr and reason.legal_basis
    assert d.next_allowed_at is None
