"""Local holidays of the overseas territories (docs/rules.md §2), reached through the number and
through the consumer's known zone: each closes its own day, and only that day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callguard import Guard, Policy, ReasonCode
from callguard.testing import fresh_guard
from conftest import MOBILE, NPV, consented

# Numbers whose prefix names exactly one territory (or, for 0590 00, Saint-Martin alone).
GUADELOUPE = "0590 01 12 34"
SAINT_MARTIN = "0590 00 12 34"
MARTINIQUE = "0596 30 12 34"
GUYANE = "0594 10 12 34"
REUNION = "0262 16 12 34"
MAYOTTE = "0269 60 12 34"


def local(zone: str, y: int, m: int, d: int, h: int = 11) -> datetime:
    return datetime(y, m, d, h, tzinfo=ZoneInfo(zone))


@pytest.fixture
def g() -> Iterator[Guard]:
    guard = fresh_guard(professional="acme")
    yield guard
    guard.close()


def _reachable(guard: Guard, number: str, day: datetime) -> None:
    # Consent regime: a consent a month before, so only the calendar can refuse.
    consented(guard, number, day - timedelta(days=30))


# (territory, number, zone of the territory, holiday, next weekday that is a working day there)
HOLIDAYS = [
    ("Mayotte", MAYOTTE, "Indian/Mayotte", (2027, 4, 27), (2027, 4, 28)),
    ("Martinique", MARTINIQUE, "America/Martinique", (2028, 5, 22), (2028, 5, 23)),
    ("Guadeloupe", GUADELOUPE, "America/Guadeloupe", (2027, 5, 27), (2027, 5, 28)),
    ("Guyane", GUYANE, "America/Cayenne", (2027, 6, 10), (2027, 6, 11)),
    ("Réunion", REUNION, "Indian/Reunion", (2027, 12, 20), (2027, 12, 21)),
    ("Réunion 0692", "0692 12 34 56", "Indian/Reunion", (2027, 12, 20), (2027, 12, 21)),
    ("Réunion 0693", "0693 12 34 56", "Indian/Reunion", (2027, 12, 20), (2027, 12, 21)),
    ("Mayotte 0639", "0639 00 12 34", "Indian/Mayotte", (2027, 4, 27), (2027, 4, 28)),
    ("Saint-Martin", SAINT_MARTIN, "America/Marigot", (2030, 5, 27), (2030, 5, 29)),
]
IDS = [h[0] for h in HOLIDAYS]


@pytest.mark.parametrize(("name", "number", "zone", "day", "after"), HOLIDAYS, ids=IDS)
def test_local_holiday_through_the_number(
    g: Guard,
    name: str,
    number: str,
    zone: str,
    day: tuple[int, int, int],
    after: tuple[int, int, int],
) -> None:
    on = local(zone, *day)
    _reachable(g, number, on)
    d = g.may_call(number, NPV, on)
    assert d.callee_tz == zone
    assert d.codes == {ReasonCode.HOLIDAY}, name
    assert d.next_allowed_at == local(zone, *after, h=10)
    assert g.may_call(number, NPV, local(zone, *after)).allowed


@pytest.mark.parametrize(("name", "number", "zone", "day", "after"), HOLIDAYS, ids=IDS)
def test_local_holiday_through_callee_tz(
    g: Guard,
    name: str,
    number: str,
    zone: str,
    day: tuple[int, int, int],
    after: tuple[int, int, int],
) -> None:
    # A metropolitan mobile whose owner is known to live in the territory: the zone alone
    # brings the territory's holiday.
    on = local(zone, *day)
    _reachable(g, MOBILE, on)
    d = g.may_call(MOBILE, NPV, on, callee_tz=zone)
    assert d.callee_tz == zone
    assert d.codes == {ReasonCode.HOLIDAY}, name
    assert d.next_allowed_at == local(zone, *after, h=10)
    assert g.may_call(MOBILE, NPV, local(zone, *after), callee_tz=zone).allowed


@pytest.mark.parametrize(("name", "number", "zone", "day", "after"), HOLIDAYS, ids=IDS)
def test_local_holiday_is_not_a_holiday_in_metropolitan_france(
    g: Guard,
    name: str,
    number: str,
    zone: str,
    day: tuple[int, int, int],
    after: tuple[int, int, int],
) -> None:
    on = local("Europe/Paris", *day)
    _reachable(g, MOBILE, on)
    assert g.may_call(MOBILE, NPV, on).allowed, name


@pytest.mark.parametrize(("name", "number", "zone", "day", "after"), HOLIDAYS, ids=IDS)
def test_local_holiday_opens_without_strict_local_holidays(
    name: str, number: str, zone: str, day: tuple[int, int, int], after: tuple[int, int, int]
) -> None:
    guard = fresh_guard(policy=Policy(strict_local_holidays=False))
    on = local(zone, *day)
    _reachable(guard, number, on)
    assert guard.may_call(number, NPV, on).allowed, name


@pytest.mark.parametrize("number", [SAINT_MARTIN, MOBILE])
def test_saint_martin_closes_27_and_28_may(g: Guard, number: str) -> None:
    """Saint-Martin: 27 May, and 28 May since 2018 (both closed, the safe reading)."""
    zone = "America/Marigot"
    _reachable(g, number, local(zone, 2030, 5, 27))
    for day in (27, 28):  # Monday and Tuesday 2030
        d = g.may_call(number, NPV, local(zone, 2030, 5, day), callee_tz=zone)
        assert d.codes == {ReasonCode.HOLIDAY}, day
        assert d.next_allowed_at == local(zone, 2030, 5, 29, h=10)
    assert g.may_call(number, NPV, local(zone, 2030, 5, 29), callee_tz=zone).allowed
    # 2027: Thursday 27 and Friday 28 May closed, open again on Monday 31 May.
    _reachable(g, number, local(zone, 2027, 5, 27))
    for day in (27, 28):
        d = g.may_call(number, NPV, local(zone, 2027, 5, day), callee_tz=zone)
        assert d.codes == {ReasonCode.HOLIDAY}, day
        assert d.next_allowed_at == local(zone, 2027, 5, 31, h=10)


def test_saint_barthelemy_closes_9_october_through_callee_tz(g: Guard) -> None:
    zone = "America/St_Barthelemy"
    for number in (MOBILE, GUADELOUPE, "0590 27 12 34"):
        _reachable(g, number, local(zone, 2028, 10, 9))
        d = g.may_call(number, NPV, local(zone, 2028, 10, 9), callee_tz=zone)  # Monday
        assert d.callee_tz == zone
        assert d.codes == {ReasonCode.HOLIDAY}, number
        assert d.next_allowed_at == local(zone, 2028, 10, 10, h=10)
        assert g.may_call(number, NPV, local(zone, 2028, 10, 10), callee_tz=zone).allowed


def test_saint_barthelemy_9_october_through_the_number(g: Guard) -> None:
    # 0590 27 is a Saint-Barthélemy / Saint-Martin block: both territories' days close it.
    number = "0590 27 12 34"
    _reachable(g, number, local("America/St_Barthelemy", 2028, 10, 9))
    d = g.may_call(number, NPV, local("America/St_Barthelemy", 2028, 10, 9))
    assert d.codes == {ReasonCode.HOLIDAY}
    # Guadeloupe alone does not keep 9 October.
    _reachable(g, GUADELOUPE, local("America/Guadeloupe", 2028, 10, 9))
    assert g.may_call(GUADELOUPE, NPV, local("America/Guadeloupe", 2028, 10, 9)).allowed


@pytest.mark.parametrize(
    ("number", "zone", "day"),
    [
        (GUADELOUPE, "America/Guadeloupe", (2030, 5, 28)),  # Saint-Martin's second day
        (GUADELOUPE, "America/Guadeloupe", (2027, 6, 10)),  # Guyane's day
        (MARTINIQUE, "America/Martinique", (2027, 5, 27)),  # Guadeloupe's day
        (GUYANE, "America/Cayenne", (2028, 5, 22)),  # Martinique's day
        (REUNION, "Indian/Reunion", (2027, 4, 27)),  # Mayotte's day
        (MAYOTTE, "Indian/Mayotte", (2027, 12, 20)),  # Réunion's day
    ],
)
def test_another_territorys_day_stays_open(
    g: Guard, number: str, zone: str, day: tuple[int, int, int]
) -> None:
    on = local(zone, *day)
    _reachable(g, number, on)
    assert g.may_call(number, NPV, on).allowed
