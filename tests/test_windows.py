"""callguard.windows: the D223-9 calendar for schedulers, consistent with may_call (§2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import callguard
from callguard import Guard, InvalidNumberError, Policy, ReasonCode, windows
from conftest import MOBILE, NPV, paris

CALENDAR = {ReasonCode.WEEKEND, ReasonCode.HOLIDAY, ReasonCode.OUTSIDE_HOURS}
REUNION, CAYENNE = ZoneInfo("Indian/Reunion"), ZoneInfo("America/Cayenne")

ALSACE = "03 88 12 34 56"
GUADELOUPE = "0690 12 34 56"
PARIS_REUNION_MAYOTTE = "09 47 82 12 34"  # NPV overseas block: +33, with RE and YT candidates
REUNION_GUYANE = "09 76 22 12 34"  # Réunion, with Guyane as a candidate: 7 hours apart
NUMBERS = [
    MOBILE,
    ALSACE,
    GUADELOUPE,
    "0596 30 12 34",
    "0262 16 12 34",
    "0269 60 12 34",
    PARIS_REUNION_MAYOTTE,
    REUNION_GUYANE,
]
LITERAL = Policy(strict_local_holidays=False)

# Read-only guards with empty ledgers: only the calendar rule decides the calendar codes.
GUARDS = {True: Guard(":memory:"), False: Guard(":memory:", policy=LITERAL)}


def calendar_codes(
    number: str, at: datetime, strict: bool = True, callee_tz: str | None = None
) -> set[ReasonCode]:
    return set(GUARDS[strict].may_call(number, NPV, at, callee_tz=callee_tz).codes) & CALENDAR


def between(
    number: str,
    start: datetime,
    end: datetime,
    *,
    callee_tz: str | None = None,
    policy: Policy | None = None,
) -> list[tuple[str, str]]:
    found = windows(number, start, end, callee_tz=callee_tz, policy=policy)
    return [(s.isoformat(), e.isoformat()) for s, e in found]


def test_a_week_in_paris() -> None:
    # Friday 2026-11-20 noon to Tuesday: the rest of Friday, no weekend, Monday's two windows.
    assert between(MOBILE, paris(2026, 11, 20, 12, 30), paris(2026, 11, 24)) == [
        ("2026-11-20T12:30:00+01:00", "2026-11-20T13:00:00+01:00"),
        ("2026-11-20T14:00:00+01:00", "2026-11-20T20:00:00+01:00"),
        ("2026-11-23T10:00:00+01:00", "2026-11-23T13:00:00+01:00"),
        ("2026-11-23T14:00:00+01:00", "2026-11-23T20:00:00+01:00"),
    ]


def test_windows_are_clipped_to_the_range_and_empty_range_is_empty() -> None:
    assert between(MOBILE, paris(2026, 11, 23, 11), paris(2026, 11, 23, 15)) == [
        ("2026-11-23T11:00:00+01:00", "2026-11-23T13:00:00+01:00"),
        ("2026-11-23T14:00:00+01:00", "2026-11-23T15:00:00+01:00"),
    ]
    assert between(MOBILE, paris(2026, 11, 23, 11), paris(2026, 11, 23, 11)) == []
    assert between(MOBILE, paris(2026, 11, 23, 13), paris(2026, 11, 23, 14)) == []


def test_whit_monday_and_alsace_good_friday() -> None:
    # Whit Monday 2027-05-17 is national; Good Friday 2027-03-26 closes Alsace-Moselle only.
    days = {s[:10] for s, _ in between(MOBILE, paris(2027, 5, 14), paris(2027, 5, 19))}
    assert days == {"2027-05-14", "2027-05-18"}
    good_friday = (paris(2027, 3, 26), paris(2027, 3, 27))
    assert between(ALSACE, *good_friday) == []
    assert len(between(MOBILE, *good_friday)) == 2
    assert len(between(ALSACE, *good_friday, policy=LITERAL)) == 2


def test_overseas_number_in_its_own_zone() -> None:
    gp = ZoneInfo("America/Guadeloupe")
    got = list(windows(GUADELOUPE, paris(2026, 11, 23), paris(2026, 11, 24)))
    assert got[0] == (datetime(2026, 11, 23, 10, tzinfo=gp), datetime(2026, 11, 23, 13, tzinfo=gp))
    assert all(s.tzinfo == gp for s, _ in got)
    # Saturday 2026-11-21 10:00 Guadeloupe is never in a window, whatever the Paris clock says.
    saturday = datetime(2026, 11, 21, tzinfo=gp)
    assert between(GUADELOUPE, saturday, saturday + timedelta(days=1)) == []


def test_ambiguous_zones_intersect() -> None:
    # Paris (UTC+1), Réunion (UTC+4), Mayotte (UTC+3): 11:00-12:00 and 13:00-16:00 UTC.
    assert between(PARIS_REUNION_MAYOTTE, paris(2026, 11, 23), paris(2026, 11, 24)) == [
        ("2026-11-23T12:00:00+01:00", "2026-11-23T13:00:00+01:00"),
        ("2026-11-23T14:00:00+01:00", "2026-11-23T17:00:00+01:00"),
    ]
    # Réunion (UTC+4) and Guyane (UTC-3): 17:00-20:00 in Réunion is 10:00-13:00 in Guyane.
    start = datetime(2026, 11, 23, tzinfo=REUNION)
    assert list(windows(REUNION_GUYANE, start, start + timedelta(days=1))) == [
        (datetime(2026, 11, 23, 17, tzinfo=REUNION), datetime(2026, 11, 23, 20, tzinfo=REUNION)),
    ]


def test_callee_tz_wins() -> None:
    got = between(MOBILE, paris(2026, 11, 23), paris(2026, 11, 24), callee_tz="Indian/Reunion")
    assert got[0] == ("2026-11-23T10:00:00+04:00", "2026-11-23T13:00:00+04:00")
    # Réunion's abolition day (20 December) closes it for a metropolitan number living there.
    dec20 = datetime(2027, 12, 20, tzinfo=REUNION)
    assert list(windows(MOBILE, dec20, dec20 + timedelta(days=1), callee_tz="Indian/Reunion")) == []


def test_before_2023_03_01_any_time_is_a_window() -> None:
    assert between(MOBILE, paris(2023, 2, 25, 22), paris(2023, 3, 2)) == [
        ("2023-02-25T22:00:00+01:00", "2023-03-01T00:00:00+01:00"),
        ("2023-03-01T10:00:00+01:00", "2023-03-01T13:00:00+01:00"),
        ("2023-03-01T14:00:00+01:00", "2023-03-01T20:00:00+01:00"),
    ]


def test_dst_change_keeps_local_hours() -> None:
    # Summer time ends Sunday 2026-10-25: Monday's windows are 10:00 local, i.e. 09:00 UTC.
    got = list(windows(MOBILE, paris(2026, 10, 23, 19), paris(2026, 10, 27)))
    assert got[1][0] == datetime(2026, 10, 26, 9, tzinfo=timezone.utc)
    assert got[0][1].utcoffset() == timedelta(hours=2)


def test_errors() -> None:
    with pytest.raises(ValueError, match="naive"):
        windows(MOBILE, datetime(2026, 11, 23), paris(2026, 11, 24))
    with pytest.raises(ValueError, match="before start"):
        windows(MOBILE, paris(2026, 11, 24), paris(2026, 11, 23))
    with pytest.raises(InvalidNumberError, match="consumer line"):
        windows("08 00 12 34 56", paris(2026, 11, 23), paris(2026, 11, 24))
    with pytest.raises(InvalidNumberError):
        windows("06 12", paris(2026, 11, 23), paris(2026, 11, 24))
    with pytest.raises(ValueError, match="unknown time zone"):
        windows(MOBILE, paris(2026, 11, 23), paris(2026, 11, 24), callee_tz="Mars/Olympus")
    with pytest.raises(ValueError, match="2016-06-01"):
        windows(MOBILE, paris(2015, 1, 1), paris(2015, 1, 2))


def test_module_level_name() -> None:
    assert callguard.windows is windows and "windows" in callguard.__all__


# -- consistency with may_call -----------------------------------------------------------------

US = timedelta(microseconds=1)


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "literal"])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (paris(2026, 12, 18), paris(2027, 1, 6)),  # Christmas, 26 Dec, Réunion's 20 Dec, New Year
        (paris(2027, 3, 24), paris(2027, 4, 30)),  # DST, Good Friday, Easter Monday, Mayotte 27 Apr
        (paris(2027, 5, 5), paris(2027, 6, 12)),  # 8 May, Ascension, Whit Monday, abolition days
        (paris(2023, 2, 27), paris(2023, 3, 3)),
    ],  # D223-9 comes into force
    ids=["winter", "spring", "may-june", "2023-03-01"],
)
def test_every_window_edge_agrees_with_may_call(
    number: str, strict: bool, start: datetime, end: datetime
) -> None:
    got = list(windows(number, start, end, policy=Policy(strict_local_holidays=strict)))
    assert got, "no window at all"
    for (s, e), nxt in zip(got, [*got[1:], (None, None)], strict=True):
        assert s < e and (nxt[0] is None or e < nxt[0])
        assert not calendar_codes(number, s, strict), s
        assert not calendar_codes(number, e - US, strict), e
        if s > start:
            assert calendar_codes(number, s - US, strict), s
        if e < end:
            assert calendar_codes(number, e, strict), e
        if nxt[0] is not None:
            assert calendar_codes(number, e + (nxt[0] - e) / 2, strict), (e, nxt[0])


@settings(max_examples=300, deadline=None)
@given(
    number=st.sampled_from(NUMBERS),
    moment=st.datetimes(
        datetime(2023, 1, 1), datetime(2029, 12, 31), timezones=st.just(timezone.utc)
    ),
    strict=st.booleans(),
    callee_tz=st.sampled_from([None, None, "Indian/Reunion", "America/Cayenne"]),
)
def test_inside_a_window_iff_the_calendar_allows(
    number: str, moment: datetime, strict: bool, callee_tz: str | None
) -> None:
    policy = Policy(strict_local_holidays=strict)
    around = windows(
        number,
        moment - timedelta(days=3),
        moment + timedelta(days=3),
        callee_tz=callee_tz,
        policy=policy,
    )
    inside = any(s <= moment < e for s, e in around)
    codes = calendar_codes(number, moment, strict, callee_tz)
    assert inside is (not codes), (moment, codes)
