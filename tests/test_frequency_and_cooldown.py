"""D223-9 frequency cap (docs/rules.md §3) and 60-day cooldown (§4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callguard import Guard, Outcome, Policy, ReasonCode
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


# Attempts on Mon 2, Tue 3, Wed 4 and Thu 5 Nov 2026: 2 Nov is day 1 of the window, so
# 30 Nov is day 29, 1 Dec day 30 (still inside) and 2 Dec day 31 (the first attempt has left).
@pytest.mark.parametrize(
    ("at", "refused"),
    [
        (paris(2026, 11, 30, 10), True),
        (paris(2026, 12, 1, 10), True),
        (paris(2026, 12, 1, 19, 59, 59), True),
        (paris(2026, 12, 2, 10, 0, 0), False),
    ],
    ids=["day29", "day30", "day30-last-second", "day31"],
)
def test_window_is_thirty_local_calendar_days(g: Guard, at: object, refused: bool) -> None:
    for d in (2, 3, 4, 5):
        g.record_call(MOBILE, paris(2026, 11, d, 19, 59))
    d = g.may_call(MOBILE, NPV, at)
    assert (ReasonCode.FREQUENCY_CAP in d.codes) is refused
    assert d.allowed is (not refused)


def test_window_counts_local_dates_not_24h_periods(g: Guard) -> None:
    # 2 Nov 23:30 Paris is still 2 Nov locally: it leaves the window at local midnight 2 Dec,
    # not at 23:30 on 2 Dec.
    g.record_call(MOBILE, paris(2026, 11, 2, 23, 30))
    for d in (3, 4, 5):
        g.record_call(MOBILE, paris(2026, 11, d, 11))
    assert g.may_call(MOBILE, NPV, paris(2026, 12, 2, 10)).allowed


def test_attempts_count_whatever_the_outcome(g: Guard) -> None:
    for d, outcome in zip((2, 3, 4, 5), ("ANSWERED", "BUSY", "VOICEMAIL", "FAILED"), strict=True):
        g.record_call(MOBILE, paris(2026, 11, d, 11), outcome=outcome)
    assert ReasonCode.FREQUENCY_CAP in g.may_call(MOBILE, NPV, paris(2026, 11, 6, 11)).codes


def test_later_attempts_count_too(g: Guard, make_guard: Callable[..., Guard]) -> None:
    # A replayed log or a host with a skewed clock: attempts dated after `now` still count.
    for d in (10, 11, 12, 13):
        g.record_call(MOBILE, paris(2026, 11, d, 11))
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 9, 11))
    assert ReasonCode.FREQUENCY_CAP in d.codes
    # Same day, later hour: also counts.
    g2 = make_guard("other")
    consented(g2, MOBILE, paris(2026, 9, 1))
    for h in (15, 16, 17, 18):
        g2.record_call(MOBILE, paris(2026, 11, 9, h))
    assert ReasonCode.FREQUENCY_CAP in g2.may_call(MOBILE, NPV, paris(2026, 11, 9, 11)).codes


def test_counter_belongs_to_the_professional(make_guard: Callable[..., Guard]) -> None:
    acme = make_guard("acme")
    other = make_guard("globex")
    for guard in (acme, other):
        consented(guard, MOBILE, paris(2026, 9, 1))
    for d in (2, 3, 4, 5):
        acme.record_call(MOBILE, paris(2026, 11, d, 11))
    assert ReasonCode.FREQUENCY_CAP in acme.may_call(MOBILE, NPV, paris(2026, 11, 6, 11)).codes
    assert other.may_call(MOBILE, NPV, paris(2026, 11, 6, 11)).allowed
    # A subcontractor dialing for acme opens the same professional: it sees acme's attempts.
    subcontractor = make_guard("acme")
    assert not subcontractor.may_call(MOBILE, NPV, paris(2026, 11, 6, 11)).allowed


def test_stricter_cap_policy(make_guard: Callable[..., Guard]) -> None:
    strict = make_guard("strict", Policy(cap_calls=2))
    consented(strict, MOBILE, paris(2026, 9, 1))
    strict.record_call(MOBILE, paris(2026, 11, 2, 11))
    assert strict.may_call(MOBILE, NPV, paris(2026, 11, 3, 11)).allowed
    strict.record_call(MOBILE, paris(2026, 11, 3, 11))
    assert not strict.may_call(MOBILE, NPV, paris(2026, 11, 4, 11)).allowed


@pytest.mark.parametrize(
    ("value", "field"),
    [(5, "cap_calls"), (0, "cap_calls"), (29, "cap_days"), (59, "refusal_cooldown_days")],
)
def test_policy_cannot_loosen_the_law(value: int, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Policy(**{field: value})


# -- cooldown ---------------------------------------------------------------------------------


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


def test_refusal_recorded_later_does_not_reach_back(g: Guard) -> None:
    g.record_refusal(MOBILE, paris(2026, 11, 10, 11))
    assert g.may_call(MOBILE, NPV, paris(2026, 11, 9, 11)).allowed


def test_no_cooldown_before_2023_03_01(guard: Guard) -> None:
    guard.import_bloctel([], paris(2023, 2, 1), submitted=[MOBILE])
    guard.record_refusal(MOBILE, paris(2023, 2, 1, 11))
    assert guard.may_call(MOBILE, NPV, paris(2023, 2, 2, 11)).allowed
    guard.import_bloctel([], paris(2023, 3, 1), submitted=[MOBILE])
    d = guard.may_call(MOBILE, NPV, paris(2023, 3, 1, 11))
    assert d.codes == {ReasonCode.REFUSAL_COOLDOWN}
