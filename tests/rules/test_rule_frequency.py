"""D223-9 frequency cap (docs/rules.md §3): rules/frequency.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callguard import Guard, Policy, ReasonCode
from conftest import MOBILE, NPV, consented, paris


@pytest.fixture
def g(guard: Guard) -> Guard:
    consented(guard, MOBILE, paris(2026, 9, 1))
    return guard


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
