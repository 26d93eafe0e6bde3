"""The 4-per-30-days cap (docs/rules.md §3) scans backwards and forwards: a call on local date D is
refused when it would put a fifth attempt into any 30-day window, including windows made of
attempts recorded on later dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest

from callguard import Guard, ReasonCode
from callguard.testing import fresh_guard
from conftest import NPV, PARIS, consented, paris

NUMBER = "06 12 34 56 78"
D = date(2027, 2, 1)  # a Monday, consent regime, no holiday within a month either side


def on(offset: int, hour: int = 11) -> datetime:
    return datetime.combine(D + timedelta(days=offset), time(hour), PARIS)


@pytest.fixture
def g() -> Iterator[Guard]:
    guard = fresh_guard(professional="acme")
    consented(guard, NUMBER, paris(2026, 12, 1))
    yield guard
    guard.close()


def _calls(guard: Guard, offsets: list[int]) -> None:
    for offset in offsets:
        guard.record_call(NUMBER, on(offset), caller_id=NPV)


@pytest.mark.parametrize(
    ("offsets", "refused", "next_day"),
    [
        ([1, 2, 3, 29], True, 31),  # the window [D, D+29] would hold five
        ([-28, 1, 1, 1], True, 2),  # the window [D-28, D+1] would hold five
        ([-29, 1, 1, 1], False, None),  # no 30-day window holds D-29, D and D+1
        ([-30, 1, 1, 1], False, None),
        ([-1, -1, -1, 28], True, 29),  # [D-1, D+28]
        ([-1, -1, -1, 29], False, None),
        ([0, 0, 0, 0], True, 30),  # four the same day, at a later hour (15:00 below)
        ([1, 2, 3], False, None),
    ],
)
def test_cap_counts_attempts_on_both_sides_of_the_call(
    g: Guard, offsets: list[int], refused: bool, next_day: int | None
) -> None:
    for offset in offsets:
        g.record_call(NUMBER, on(offset, 15 if offset == 0 else 11), caller_id=NPV)
    d = g.may_call(NUMBER, NPV, on(0))
    if not refused:
        assert d.allowed, d.reasons
        return
    assert d.codes == {ReasonCode.FREQUENCY_CAP}
    assert next_day is not None
    assert d.next_allowed_at == on(next_day, 10)
    assert g.may_call(NUMBER, NPV, on(next_day, 10)).allowed
    assert not g.may_call(NUMBER, NPV, on(next_day - 1, 19)).allowed


def test_cap_message_lists_the_attempts_of_the_full_window(g: Guard) -> None:
    _calls(g, [1, 2, 3, 29])
    (reason,) = g.may_call(NUMBER, NPV, on(0)).reasons
    assert "2027-02-02, 2027-02-03, 2027-02-04, 2027-03-02" in reason.message
    assert "4 attempts" in reason.message


def test_attempt_refuses_the_fifth_call_of_a_window_recorded_later(g: Guard) -> None:
    _calls(g, [1, 2, 3, 29])
    d = g.attempt(NUMBER, NPV, on(0))
    assert not d.allowed
    assert d.attempt_id is None
    assert d.codes == {ReasonCode.FREQUENCY_CAP}
