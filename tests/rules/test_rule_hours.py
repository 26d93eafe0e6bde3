"""D223-9 days and hours (docs/rules.md §2): boundaries to the second, zones, holidays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard, Policy, ReasonCode
from conftest import MOBILE, NPV, consented, paris

CALENDAR = {ReasonCode.WEEKEND, ReasonCode.HOLIDAY, ReasonCode.OUTSIDE_HOURS}


def calendar_codes(guard: Guard, number: str, at: datetime, **kw: object) -> set[ReasonCode]:
    return set(guard.may_call(number, NPV, at, **kw).codes) & CALENDAR  # type: ignore[arg-type]


@pytest.fixture
def g(guard: Guard) -> Guard:
    # Consent regime; consent on record so only the calendar can refuse.
    for number in (
        MOBILE,
        "0690 12 34 56",
        "0262 16 12 34",
        "0596 30 12 34",
        "03 88 12 34 56",
        "0269 60 12 34",
        "0594 10 12 34",
    ):
        consented(guard, number, paris(2026, 9, 1))
    return guard


# Monday 2026-11-23, Europe/Paris.
@pytest.mark.parametrize(
    ("h", "mi", "s", "ok"),
    [
        (9, 59, 59, False),
        (10, 0, 0, True),
        (12, 59, 59, True),
        (13, 0, 0, False),
        (13, 59, 59, False),
        (14, 0, 0, True),
        (19, 59, 59, True),
        (20, 0, 0, False),
        (0, 0, 0, False),
        (23, 59, 59, False),
    ],
)
def test_hours_are_half_open_windows(g: Guard, h: int, mi: int, s: int, ok: bool) -> None:
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 23, h, mi, s))
    assert d.allowed is ok
    assert (ReasonCode.OUTSIDE_HOURS in d.codes) is (not ok)


def test_weekend_refused_and_reopens_monday(g: Guard) -> None:
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 21, 11))  # Saturday
    assert d.codes == {ReasonCode.WEEKEND}
    assert d.next_allowed_at == paris(2026, 11, 23, 10)
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 22, 21))  # Sunday evening
    assert d.codes == {ReasonCode.WEEKEND, ReasonCode.OUTSIDE_HOURS}


@pytest.mark.parametrize(
    "day",
    [
        "2026-01-01",
        "2026-04-06",
        "2026-05-01",
        "2026-05-08",
        "2026-05-14",
        "2026-05-25",
        "2026-07-14",
        "2026-11-11",
        "2026-12-25",
    ],
)
def test_national_holidays_l3133_1(g: Guard, day: str) -> None:
    at = datetime.fromisoformat(day).replace(hour=11, tzinfo=ZoneInfo("Europe/Paris"))
    assert ReasonCode.HOLIDAY in g.may_call(MOBILE, NPV, at).codes


def test_whit_monday_then_next_day(g: Guard) -> None:
    d = g.may_call(MOBILE, NPV, paris(2027, 5, 17, 11))
    assert d.codes == {ReasonCode.HOLIDAY}
    assert d.next_allowed_at == paris(2027, 5, 18, 10)


def test_alsace_moselle_good_friday_and_26_december(g: Guard) -> None:
    alsace = "03 88 12 34 56"
    good_friday = paris(2026, 4, 3, 11)
    assert ReasonCode.HOLIDAY in g.may_call(alsace, NPV, good_friday).codes
    assert ReasonCode.HOLIDAY not in g.may_call("01 45 12 34 56", NPV, good_friday).codes
    assert ReasonCode.HOLIDAY in g.may_call(alsace, NPV, paris(2025, 12, 26, 11)).codes  # Friday
    assert ReasonCode.HOLIDAY not in g.may_call(MOBILE, NPV, paris(2025, 12, 26, 11)).codes


def test_local_holidays_follow_policy(guard: Guard, make_guard: Callable[..., Guard]) -> None:
    literal = make_guard("literal", Policy(strict_local_holidays=False))
    alsace = "03 88 12 34 56"
    for g in (guard, literal):
        consented(g, alsace, paris(2026, 9, 1))
    good_friday = paris(2027, 3, 26, 11)
    assert ReasonCode.HOLIDAY in guard.may_call(alsace, NPV, good_friday).codes
    assert literal.may_call(alsace, NPV, good_friday).allowed


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("0690 12 34 56", "America/Guadeloupe"),
        ("0596 30 12 34", "America/Martinique"),
        ("0594 10 12 34", "America/Cayenne"),
        ("0262 16 12 34", "Indian/Reunion"),
        ("0269 60 12 34", "Indian/Mayotte"),
    ],
)
def test_overseas_numbers_use_their_zone(g: Guard, number: str, zone: str) -> None:
    tz = ZoneInfo(zone)
    d = g.may_call(number, NPV, datetime(2026, 11, 24, 10, 0, tzinfo=tz))
    assert d.allowed, d.reasons
    assert d.callee_tz == zone
    d = g.may_call(number, NPV, datetime(2026, 11, 24, 9, 59, 59, tzinfo=tz))
    assert d.codes == {ReasonCode.OUTSIDE_HOURS}
    assert d.next_allowed_at == datetime(2026, 11, 24, 10, 0, tzinfo=tz)


def test_guadeloupe_hours_are_local(g: Guard) -> None:
    # 15:30 in Paris is 10:30 in Guadeloupe (UTC-4, winter): allowed there; 09:30 there refused.
    assert g.may_call("0690 12 34 56", NPV, paris(2026, 11, 24, 15, 30)).allowed
    d = g.may_call("0690 12 34 56", NPV, paris(2026, 11, 24, 14, 30))
    assert d.codes == {ReasonCode.OUTSIDE_HOURS}
    assert d.callee_tz == "America/Guadeloupe"
    assert d.next_allowed_at == datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("America/Guadeloupe"))


def test_abolition_days_close_their_territory_only(g: Guard) -> None:
    gp = datetime(2026, 5, 27, 11, tzinfo=ZoneInfo("America/Guadeloupe"))
    assert ReasonCode.HOLIDAY in g.may_call("0690 12 34 56", NPV, gp).codes
    mq = datetime(2026, 5, 27, 11, tzinfo=ZoneInfo("America/Martinique"))
    assert ReasonCode.HOLIDAY not in g.may_call("0596 30 12 34", NPV, mq).codes
    mq22 = datetime(2026, 5, 22, 11, tzinfo=ZoneInfo("America/Martinique"))
    assert ReasonCode.HOLIDAY in g.may_call("0596 30 12 34", NPV, mq22).codes
    re20 = datetime(2027, 12, 20, 11, tzinfo=ZoneInfo("Indian/Reunion"))
    assert ReasonCode.HOLIDAY in g.may_call("0262 16 12 34", NPV, re20).codes


def test_callee_tz_wins(g: Guard) -> None:
    # A metropolitan mobile whose owner lives in Réunion (UTC+4): 10:30 Paris is 13:30 there.
    at = paris(2026, 11, 24, 10, 30)
    assert g.may_call(MOBILE, NPV, at).allowed
    d = g.may_call(MOBILE, NPV, at, callee_tz="Indian/Reunion")
    assert d.codes == {ReasonCode.OUTSIDE_HOURS}
    assert d.callee_tz == "Indian/Reunion"


def test_ambiguous_zone_must_fit_every_candidate() -> None:
    # Two candidate zones an hour apart (Reunion UTC+4, Mayotte UTC+3): the call must be inside
    # the window in both, so the common window is 10:00-13:00 Reunion = 09:00-12:00 Mayotte
    # intersected with 10:00-13:00 Mayotte = 11:00-13:00 Reunion.
    from callguard import Policy, Purpose
    from callguard._engine import judge, read_terms
    from callguard._facts import Facts
    from callguard._numbers import parse_number
    from callguard._question import Question

    def evaluate(call: Question, facts: Facts, at: datetime) -> tuple[list[object], object]:
        answer = judge(call._replace(at=at), facts)
        nxt = answer.next_allowed_at
        return list(answer.reasons), None if nxt is None else nxt.astimezone(ZoneInfo("UTC"))

    re, yt = ZoneInfo("Indian/Reunion"), ZoneInfo("Indian/Mayotte")
    number = parse_number("0692 12 34 56")
    terms = read_terms(NPV, Purpose.PROSPECTION, None, False, Policy())
    call = Question(
        number, number.key, number.e164, None, (re, yt), ("RE", "YT"), terms,
        datetime(2026, 11, 24, tzinfo=ZoneInfo("UTC")), 0,
    )  # fmt: skip
    facts = Facts(consents=[(0, None)])
    facts.consents = [(int(datetime(2026, 9, 1, tzinfo=re).timestamp() * 1e6), None)]
    at = datetime(2026, 11, 24, 10, 30, tzinfo=re)  # 09:30 in Mayotte
    reasons, nxt = evaluate(call, facts, at.astimezone(ZoneInfo("UTC")))
    assert {r.code for r in reasons} == {ReasonCode.OUTSIDE_HOURS}
    assert nxt == datetime(2026, 11, 24, 11, 0, tzinfo=re)
    ok, _ = evaluate(call, facts, datetime(2026, 11, 24, 11, 0, tzinfo=re))
    assert ok == []
    # 27 April (Mayotte's abolition day) closes the day for the ambiguous number too.
    hol, _ = evaluate(call, facts, datetime(2027, 4, 27, 12, 0, tzinfo=re))
    assert {r.code for r in hol} == {ReasonCode.HOLIDAY}


@pytest.mark.parametrize(
    ("local", "ok"),
    # Summer time starts Sunday 2027-03-28 and ends Sunday 2026-10-25 (Europe/Paris).
    [
        ((2027, 3, 30, 9, 59, 59), False),
        ((2027, 3, 30, 10, 0, 0), True),  # 29th: Easter Monday
        ((2027, 3, 30, 19, 59, 59), True),
        ((2027, 3, 30, 20, 0, 0), False),
        ((2026, 10, 26, 9, 59, 59), False),
        ((2026, 10, 26, 10, 0, 0), True),
        ((2026, 10, 26, 19, 59, 59), True),
        ((2026, 10, 26, 20, 0, 0), False),
    ],
)
def test_dst_changes_keep_local_hours(g: Guard, local: tuple[int, ...], ok: bool) -> None:
    assert g.may_call(MOBILE, NPV, paris(*local)).allowed is ok


def test_next_window_across_dst_change(g: Guard) -> None:
    # Friday 2026-10-23 20:00 CEST -> Monday 2026-10-26 10:00 CET, after the clocks went back.
    d = g.may_call(MOBILE, NPV, paris(2026, 10, 23, 20))
    assert d.next_allowed_at == paris(2026, 10, 26, 10)
    assert d.next_allowed_at.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_no_hours_before_2023_03_01(guard: Guard) -> None:
    number = MOBILE
    guard.import_bloctel([], paris(2023, 2, 20), submitted=[number])
    sunday_night = paris(2023, 2, 26, 23)
    assert guard.may_call(number, NPV, sunday_night).allowed
    d = guard.may_call(number, NPV, paris(2023, 3, 5, 23))  # Sunday after the decree
    assert {ReasonCode.WEEKEND, ReasonCode.OUTSIDE_HOURS} <= d.codes


def test_slot_consent_opens_a_precise_slot(g: Guard) -> None:
    g.record_slot_consent(MOBILE, paris(2026, 11, 24, 20, 30), paris(2026, 11, 24, 21), proof="rdv")
    assert g.may_call(MOBILE, NPV, paris(2026, 11, 24, 20, 45)).allowed
    assert not g.may_call(MOBILE, NPV, paris(2026, 11, 24, 21, 0)).allowed
    d = g.may_call(MOBILE, NPV, paris(2026, 11, 24, 20, 15))
    assert d.next_allowed_at == paris(2026, 11, 24, 20, 30)


def test_off_hours_consent_opens_hours_only_before_consent_regime(guard: Guard) -> None:
    # D223-9 al. 2 (docs/rules.md §2): only an express off-hours consent opens them, and only
    # before 2026-08-11; a general consent never did.
    n = MOBILE
    guard.import_bloctel([], paris(2025, 3, 1), submitted=[n])
    consented(guard, n, paris(2025, 3, 1))
    d = guard.may_call(n, NPV, paris(2025, 3, 8, 22))  # Saturday night, 2025
    assert {ReasonCode.WEEKEND, ReasonCode.OUTSIDE_HOURS} == d.codes
    guard.record_consent(n, paris(2025, 3, 2), proof="form", off_hours=True)
    assert guard.may_call(n, NPV, paris(2025, 3, 8, 22)).allowed
    guard.import_bloctel([], paris(2026, 9, 1), submitted=[n])
    guard.record_consent(n, paris(2026, 9, 1), proof="form", off_hours=True)
    d = guard.may_call(n, NPV, paris(2026, 11, 28, 22))  # Saturday night, consent regime
    assert {ReasonCode.WEEKEND, ReasonCode.OUTSIDE_HOURS} == d.codes
