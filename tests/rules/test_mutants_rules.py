"""The rules' behaviours the mutation run found unpinned, asked through ``Guard.may_call`` and
``callguard.windows``: which territory a local holiday's refusal names, and the calling windows
of a week (the days-and-hours rule's calendar, day after day)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import callguard
from callguard import Guard, ReasonCode
from conftest import NPV, paris


def _holiday(number: str, t: datetime) -> str:
    with Guard(":memory:") as g:
        d = g.may_call(number, NPV, t)
    messages = [r.message for r in d.reasons if r.code is ReasonCode.HOLIDAY]
    assert messages, d.reasons
    return messages[0]


@pytest.mark.parametrize(
    ("number", "day", "zone", "territory"),
    [
        ("0590 81 23 45", (2025, 5, 27), "America/Guadeloupe", "Guadeloupe"),
        ("0590 27 12 34", (2025, 10, 9), "America/St_Barthelemy", "Saint-Barthélemy"),
    ],
)
def test_a_local_holiday_s_refusal_names_its_territory(
    number: str, day: tuple[int, int, int], zone: str, territory: str
) -> None:
    t = datetime(*day, 11, tzinfo=ZoneInfo(zone))
    assert f"Abolition de l'esclavage ({territory})" in _holiday(number, t)


def test_the_windows_of_a_week_are_its_weekdays_mornings_and_afternoons() -> None:
    # Thursday 20 November 2025, 21:00, to Wednesday 26, 21:00, in Paris: ten to one and two to
    # eight on Friday, Monday, Tuesday and Wednesday; the weekend is skipped.
    start = paris(2025, 11, 20, 21)
    found = list(callguard.windows("06 12 34 56 78", start, start + timedelta(days=6)))
    days = [s.date().isoformat() for s, _ in found]
    assert days == [d for d in ("2025-11-21", "2025-11-24", "2025-11-25", "2025-11-26")
                    for _ in range(2)]  # fmt: skip
    assert found[0] == (paris(2025, 11, 21, 10), paris(2025, 11, 21, 13))
    assert found[-1] == (paris(2025, 11, 26, 14), paris(2025, 11, 26, 20))


@pytest.mark.parametrize(
    "zone",
    ["Africa/Abidjan", "America/Cayenne", "Antarctica/Troll", "Asia/Tokyo", "Atlantic/Azores",
     "Australia/Sydney", "Europe/Paris", "Indian/Reunion", "Pacific/Noumea"],
)  # fmt: skip
def test_a_callee_zone_of_every_geographic_area_is_accepted(zone: str) -> None:
    with Guard(":memory:") as g:
        d = g.may_call("06 12 34 56 78", NPV, paris(2025, 11, 24, 11), callee_tz=zone)
    assert d.callee_tz == zone


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT-1", "Factory"])
def test_a_callee_zone_that_is_no_place_is_refused(zone: str) -> None:
    with Guard(":memory:") as g, pytest.raises(callguard.ConfigurationError):
        g.may_call("06 12 34 56 78", NPV, paris(2025, 11, 24, 11), callee_tz=zone)


def test_a_bad_caller_id_is_named_even_when_the_number_is_invalid_too() -> None:
    # The caller-ID rule does not need the consumer's number: both faults are reported at once.
    with Guard(":memory:") as g:
        d = g.may_call("not a number", "06 12 34 56 78", paris(2025, 11, 24, 11))
        hidden = g.may_call("not a number", None, paris(2025, 11, 24, 11))
    assert d.codes == {
        ReasonCode.INVALID_NUMBER,
        ReasonCode.CALLER_ID_MOBILE,
        ReasonCode.CALLER_ID_NOT_NPV,
    }
    assert hidden.codes == {ReasonCode.INVALID_NUMBER, ReasonCode.CALLER_ID_INVALID}


def test_a_full_window_that_ends_the_day_before_does_not_refuse_the_day() -> None:
    # 25 October and three calls on 23 November fill the thirty days that end on the 23rd; no
    # window of thirty days holding the 24th holds four calls (the 23 December one included).
    t = paris(2026, 11, 24, 11)
    number = "06 12 34 56 78"
    with Guard(":memory:") as g:
        g.record_consent(number, t - timedelta(days=60), proof="form")
        g.record_call(number, paris(2026, 10, 25, 11))
        for hour in (10, 11, 12):
            g.record_call(number, paris(2026, 11, 23, hour))
        g.record_call(number, paris(2026, 12, 23, 11))
        d = g.may_call(number, NPV, t)
        g.record_call(number, paris(2026, 11, 23, 13))  # now 26 Oct to 24 Nov holds four
        full = g.may_call(number, NPV, t)
    assert d.allowed, d.reasons
    assert ReasonCode.FREQUENCY_CAP in full.codes


def test_an_opt_out_s_refusal_names_its_end_only_when_it_has_one() -> None:
    t = paris(2026, 11, 24, 11)
    ending, forever = "06 12 34 56 78", "06 98 76 54 32"
    with Guard(":memory:") as g:
        for number in (ending, forever):
            g.record_consent(number, t - timedelta(days=60), proof="form")
        g.add_optout(ending, t - timedelta(days=1), expires_at=paris(2026, 12, 1, 9))
        g.add_optout(forever, t - timedelta(days=1))
        until = [r.message for r in g.may_call(ending, NPV, t).reasons]
        for_good = [r.message for r in g.may_call(forever, NPV, t).reasons]
    assert until == [
        "The consumer is on the professional's do-not-call list until 2026-12-01T09:00:00+01:00."
    ]
    assert for_good == ["The consumer is on the professional's do-not-call list."]


def test_a_call_outside_hours_is_refused_with_the_consumer_s_local_time() -> None:
    # Tuesday 24 November 2026, 20:30 in Paris: the refusal says what time it is there.
    t = paris(2026, 11, 24, 20, 30)
    with Guard(":memory:") as g:
        d = g.may_call("06 12 34 56 78", NPV, t)
    messages = [r.message for r in d.reasons if r.code is ReasonCode.OUTSIDE_HOURS]
    assert messages == [
        "It is 20:30 in Europe/Paris: consumers may only be called 10:00-13:00 and "
        "14:00-20:00 their time."
    ]
