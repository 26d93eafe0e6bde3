"""Contract calls (docs/rules.md §7): rules/contract.py."""

from __future__ import annotations

from datetime import timedelta

from callguard import Guard, Purpose, ReasonCode
from conftest import MOBILE, NPV, paris


def test_contract_calls_exempt_from_consent_but_not_hours(guard: Guard) -> None:
    at = paris(2026, 11, 23, 11)
    d = guard.may_call(MOBILE, NPV, at, purpose=Purpose.CONTRACT)
    assert d.codes == {ReasonCode.NO_CONTRACT}
    guard.record_contract(MOBILE, paris(2025, 1, 1), subject="énergie")
    assert guard.may_call(MOBILE, NPV, at, purpose=Purpose.CONTRACT).allowed
    night = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 21), purpose="CONTRACT")
    assert night.codes == {ReasonCode.OUTSIDE_HOURS}


def test_contract_must_be_running(guard: Guard) -> None:
    guard.record_contract(MOBILE, paris(2025, 1, 1), paris(2026, 6, 30))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.CONTRACT)
    assert d.codes == {ReasonCode.NO_CONTRACT}
    guard.record_contract(MOBILE, paris(2026, 12, 1))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.CONTRACT)
    assert d.next_allowed_at == paris(2026, 12, 1, 10)


def test_a_contract_has_ended_at_the_instant_of_its_end(guard: Guard) -> None:
    # The end is exclusive: a contract ending at 11:00 covers 10:59:59.999999, not 11:00 itself.
    end = paris(2026, 11, 23, 11)
    guard.record_contract(MOBILE, paris(2025, 1, 1), end)
    before = guard.may_call(MOBILE, NPV, end - timedelta(microseconds=1), purpose="CONTRACT")
    assert before.allowed
    at_end = guard.may_call(MOBILE, NPV, end, purpose=Purpose.CONTRACT)
    assert at_end.codes == {ReasonCode.NO_CONTRACT}
    assert guard.scrub([MOBILE], NPV, end, purpose=Purpose.CONTRACT) == [at_end]
