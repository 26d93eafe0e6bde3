"""Local public holidays: the days the rulebook names, dated by the `holidays` package's French
subdivisions with the years it gives them, and none of the customary days it also lists."""

from __future__ import annotations

from datetime import date

import pytest

from callguard.rules.calendar import ALSACE_MOSELLE, holiday_name


@pytest.mark.parametrize(
    ("area", "day"),
    [
        (ALSACE_MOSELLE, date(2026, 4, 3)),  # Good Friday
        (ALSACE_MOSELLE, date(2026, 12, 26)),  # Saint-Étienne
        ("YT", date(2026, 4, 27)),
        ("MQ", date(2026, 5, 22)),
        ("GP", date(2026, 5, 27)),
        ("MF", date(2026, 5, 27)),
        ("MF", date(2026, 5, 28)),
        ("GF", date(2026, 6, 10)),
        ("BL", date(2026, 10, 9)),
        ("RE", date(2026, 12, 20)),
    ],
)
def test_the_named_local_holidays_close_the_day(area: str, day: date) -> None:
    assert holiday_name(day, (area,), strict_local=True) is not None
    assert holiday_name(day, (area,), strict_local=False) is None


@pytest.mark.parametrize(
    ("area", "day"),
    [
        ("GP", date(2026, 7, 21)),  # Victor Schœlcher: customary, not named by the rulebook
        ("MQ", date(2026, 7, 21)),
        ("MF", date(2026, 7, 21)),
        ("GP", date(2026, 3, 12)),  # Mi-Carême
        ("GP", date(2026, 4, 3)),  # Good Friday closes Alsace-Moselle only
        ("RE", date(2026, 11, 2)),
    ],
)
def test_customary_days_do_not_close_the_day(area: str, day: date) -> None:
    assert holiday_name(day, (area,), strict_local=True) is None


def test_local_holidays_start_when_the_law_made_them() -> None:
    # Décret n° 83-1003 dated the abolition days from 1983-1984; Saint-Barthélemy's from 2012.
    assert holiday_name(date(1983, 5, 27), ("GP",), strict_local=True) is None
    assert holiday_name(date(1984, 5, 27), ("GP",), strict_local=True) is not None
    assert holiday_name(date(2011, 10, 10), ("BL",), strict_local=True) is None
    assert holiday_name(date(2012, 10, 9), ("BL",), strict_local=True) is not None
    # Saint-Martin's 28 May from 2018, its 27 May (Guadeloupe's) before and since.
    assert holiday_name(date(2017, 5, 28), ("MF",), strict_local=True) is None
    assert holiday_name(date(2018, 5, 28), ("MF",), strict_local=True) is not None
