"""D223-9 sixty-day cooldown after a refusal (docs/rules.md §4): rules/cooldown.py."""

from __future__ import annotations

import pytest

from callguard import Guard, Outcome, ReasonCode
from conftest import MOBILE, NPV, consented, paris


@pytest.fixture
def g(guard: Guard) -> Guard:
    consented(guard, MOBILE, paris(2026, 9, 1))
    return guard


def test_fourth_attempt_allowed_fifth_refused(g: Guard) -> None:
    days = [paris(2026, 11, d, 11) for d in (2, 3, 4)]
    for at in days:
        g.record_call(MOBILE, at)
    fourth = g.attempt(MOBILE, NPV, paris(2026, 11, 5, 11))
    assert fourth.allowed and fourth.attempt_id is not None
    fifth = g.attempt(MOBILE, NPV, paris(2026, 11, 6, 11))
    assert fifth.codes == {ReasonCode.FREQUENCY_CAP}
    assert fifth.attempt_id is None
    # The window is 30 calendar days: the 2 Nov attempt leaves it on 2 Dec (day 31).
    assert fifth.next_allowed_at == paris(2026, 12, 2, 10)


def test_refused_2025_05_05_callable_from_2025_07_05(guard: Guard) -> None:
    # The rulebook's own example: refused 2025-05-05, refused through 2025-07-04.
    n = MOBILE
    guard.import_bloctel([], paris(2025, 7, 1), submitted=[n])
    guard.record_refusal(n, paris(2025, 5, 5, 11))
    d = guard.may_call(n, NPV, paris(2025, 7, 4, 19, 59, 59))  # Friday, day 60
    assert d.codes == {ReasonCode.REFUSAL_COOLDOWN}
    assert d.next_allowed_at == paris(2025, 7, 7, 10)  # 5-6 July is a weekend
    ok = guard.may_call(n, NPV, paris(2025, 7, 7, 10))
    assert ok.allowed


def test_cooldown_day_60_and_61(g: Guard) -> None:
    g.record_refusal(MOBILE, paris(2026, 9, 2, 19, 30))  # R = 2 Sept
    day60 = paris(2026, 11, 1, 23, 59, 59)  # R + 60 = 1 Nov (Sunday; cap/hours aside)
    day61 = paris(2026, 11, 2, 0, 0, 0)
    assert ReasonCode.REFUSAL_COOLDOWN in g.may_call(MOBILE, NPV, day60).codes
    assert ReasonCode.REFUSAL_COOLDOWN not in g.may_call(MOBILE, NPV, day61).codes
    assert g.may_call(MOBILE, NPV, paris(2026, 11, 2, 10)).allowed


def test_refused_outcome_starts_cooldown_and_objection_opts_out(g: Guard) -> None:
    g.record_call(MOBILE, paris(2026, 11, 2, 11), outcome=Outcome.REFUSED)
    assert ReasonCode.REFUSAL_COOLDOWN in g.may_call(MOBILE, NPV, paris(2026, 11, 3, 11)).codes
    other = "06 98 76 54 32"
    consented(g, other, paris(2026, 9, 1))
    decision = g.attempt(other, NPV, paris(2026, 11, 2, 11))
    assert decision.attempt_id is not None
    g.record_outcome(decision.attempt_id, Outcome.OBJECTED)
    d = g.may_call(other, NPV, paris(2027, 6, 1, 11))
    assert d.codes == {ReasonCode.OPTED_OUT}
    assert d.next_allowed_at is None


def test_refusal_stamped_later_is_in_force_live_but_does_not_reach_back_in_an_audit(
    g: Guard,
) -> None:
    # The public contract: a closing fact stamped after now is already in force for may_call
    # (hosts' clocks differ), while an audit judges the past call by what was known then.
    from callguard import audit

    g.record_refusal(MOBILE, paris(2026, 11, 10, 11))
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 9, 11))
    assert ReasonCode.REFUSAL_COOLDOWN in d.codes
    at = paris(2026, 11, 9, 11).isoformat()
    report = audit([{"number": MOBILE, "caller_id": NPV, "started_at": at}], db=g)
    assert not any("REFUSAL_COOLDOWN" in v.codes for v in report.violations)


def test_no_cooldown_before_2023_03_01(guard: Guard) -> None:
    guard.import_bloctel([], paris(2023, 2, 1), submitted=[MOBILE])
    guard.record_refusal(MOBILE, paris(2023, 2, 1, 11))
    assert guard.may_call(MOBILE, NPV, paris(2023, 2, 2, 11)).allowed
    guard.import_bloctel([], paris(2023, 3, 1), submitted=[MOBILE])
    d = guard.may_call(MOBILE, NPV, paris(2023, 3, 1, 11))
    assert d.codes == {ReasonCode.REFUSAL_COOLDOWN}
