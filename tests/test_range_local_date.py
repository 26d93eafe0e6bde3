"""The range's lower bound is the consumer's local date, like the regimes (docs/rules.md §1).

Bloctel opened on 2016-06-01: a call is judged from the first minute of that day **where the
consumer is**, so one UTC instant may be judged for a Réunion line (already 1 June there) and out
of range for a Guadeloupe line (still 31 May there). The boundary is the local midnight, to the
second, in every zone a consumer line can be in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callguard import Guard, audit
from conftest import NPV

UTC = timezone.utc
# (number, the UTC instant of 2016-06-01 00:00 on the line's local clock)
MIDNIGHTS = [
    ("0262 12 34 56", datetime(2016, 5, 31, 20, 0, tzinfo=UTC)),  # Réunion, UTC+4
    ("0269 61 23 45", datetime(2016, 5, 31, 21, 0, tzinfo=UTC)),  # Mayotte, UTC+3
    ("01 23 45 67 89", datetime(2016, 5, 31, 22, 0, tzinfo=UTC)),  # Paris, summer time UTC+2
    ("0590 12 34 56", datetime(2016, 6, 1, 4, 0, tzinfo=UTC)),  # Guadeloupe, UTC-4
    ("0594 12 34 56", datetime(2016, 6, 1, 3, 0, tzinfo=UTC)),  # Guyane, UTC-3
]
SECOND = timedelta(seconds=1)
TOO_EARLY = "2016-05-31 is before 2016-06-01|out of range"


@pytest.fixture
def guard() -> Guard:
    return Guard(":memory:", professional="acme")


@pytest.mark.parametrize(("number", "midnight"), MIDNIGHTS)
def test_a_call_is_judged_from_local_midnight_on_the_opening_day(
    guard: Guard, number: str, midnight: datetime
) -> None:
    decision = guard.may_call(number, NPV, midnight)
    assert decision.regime == "bloctel"
    with pytest.raises(ValueError, match=TOO_EARLY):
        guard.may_call(number, NPV, midnight - SECOND)


@pytest.mark.parametrize(("number", "midnight"), MIDNIGHTS)
def test_scrub_and_attempt_draw_the_same_line(
    guard: Guard, number: str, midnight: datetime
) -> None:
    [decision] = guard.scrub([number], NPV, midnight)
    assert decision == guard.may_call(number, NPV, midnight)
    assert guard.attempt(number, NPV, midnight).regime == "bloctel"
    with pytest.raises(ValueError, match=TOO_EARLY):
        guard.scrub([number], NPV, midnight - SECOND)
    with pytest.raises(ValueError, match=TOO_EARLY):
        guard.attempt(number, NPV, midnight - SECOND)


def test_one_instant_is_in_range_for_one_line_and_out_for_another(guard: Guard) -> None:
    at = datetime(2016, 5, 31, 23, 30, tzinfo=UTC)  # 01:30 in Paris and 03:30 in Réunion
    assert guard.may_call("01 23 45 67 89", NPV, at).regime == "bloctel"
    assert guard.may_call("0262 12 34 56", NPV, at).regime == "bloctel"
    with pytest.raises(ValueError, match="2016-05-31 is before 2016-06-01"):
        guard.may_call("0590 12 34 56", NPV, at)  # 19:30 on 31 May in Guadeloupe


def test_earlier_than_any_local_midnight_names_the_range(guard: Guard) -> None:
    with pytest.raises(ValueError, match="out of range"):
        guard.may_call("0262 12 34 56", NPV, datetime(2016, 5, 31, 19, 59, tzinfo=UTC))


def test_audit_judges_a_call_of_the_opening_day_by_its_local_date() -> None:
    rows = [
        {"number": number, "caller_id": NPV, "started_at": moment.isoformat()}
        for number, midnight in MIDNIGHTS
        for moment in (midnight, midnight - SECOND)
    ]
    report = audit(rows, db=":memory:")
    assert report.calls == len(MIDNIGHTS)  # each line's local midnight
    assert len(report.rejected) == len(MIDNIGHTS), report.rejected
    for rejected in report.rejected:
        assert "before 2016-06-01" in str(rejected) or "out of range" in str(rejected)
