"""Pins for two tables: the départements (zone and local days each code brings) and the words a
dialer writes for a hidden caller ID."""

from __future__ import annotations

from datetime import datetime

import pytest

from callguard import Guard, ReasonCode
from conftest import NPV, paris

GEO = "01 23 45 67 89"


@pytest.mark.parametrize(
    ("department", "zone"),
    [
        ("01", "Europe/Paris"),
        ("19", "Europe/Paris"),
        ("21", "Europe/Paris"),
        ("95", "Europe/Paris"),
        ("2A", "Europe/Paris"),
        ("2b", "Europe/Paris"),  # written in lower case by a CRM
        ("971", "America/Guadeloupe"),
        ("972", "America/Martinique"),
        ("973", "America/Cayenne"),
        ("974", "Indian/Reunion"),
        ("975", "America/Miquelon"),
        ("976", "Indian/Mayotte"),
        ("977", "America/St_Barthelemy"),
        ("978", "America/Marigot"),
    ],
)
def test_each_department_decides_its_zone(guard: Guard, department: str, zone: str) -> None:
    assert guard.may_call(GEO, NPV, paris(2025, 3, 4, 11), department=department).callee_tz == zone


@pytest.mark.parametrize("bad", ["00", "96", "20", "970", "979", "2C", "57 "])
def test_codes_outside_the_table_are_refused(guard: Guard, bad: str) -> None:
    if bad == "57 ":  # surrounding spaces are forgiven: it is Moselle
        guard.may_call(GEO, NPV, paris(2025, 3, 4, 11), department=bad)
        return
    with pytest.raises(ValueError, match=repr(bad)):
        guard.may_call(GEO, NPV, paris(2025, 3, 4, 11), department=bad)


# The abolition day of each overseas collectivité, at 11:00 there, a weekday.
@pytest.mark.parametrize(
    ("department", "local"),
    [
        ("971", "2025-05-27T11:00:00-04:00"),
        ("972", "2025-05-22T11:00:00-04:00"),
        ("973", "2025-06-10T11:00:00-03:00"),
        ("974", "2024-12-20T11:00:00+04:00"),
        ("976", "2026-04-27T11:00:00+03:00"),
        ("977", "2025-10-09T11:00:00-04:00"),
        ("978", "2025-05-28T11:00:00-04:00"),
    ],
)
def test_each_overseas_department_brings_its_own_holiday(
    guard: Guard, department: str, local: str
) -> None:
    at = datetime.fromisoformat(local)
    assert ReasonCode.HOLIDAY in guard.may_call(GEO, NPV, at, department=department).codes
    assert ReasonCode.HOLIDAY not in guard.may_call(GEO, NPV, at, department="75").codes


def test_saint_pierre_has_no_abolition_day(guard: Guard) -> None:
    at = datetime.fromisoformat("2025-05-27T11:00:00-03:00")
    assert ReasonCode.HOLIDAY not in guard.may_call(GEO, NPV, at, department="975").codes


@pytest.mark.parametrize(
    "shown",
    ["anonymous", "Anonyme", "PRIVATE", "prive", "Privé", "hidden", "masque", "Masqué",
     "unknown", "Inconnu", "restricted", "<unknown>", "(anonymous)"],
)  # fmt: skip
def test_every_hidden_caller_id_word_is_hidden(guard: Guard, shown: str) -> None:
    [reason] = [
        r for r in guard.may_call(GEO, shown, paris(2025, 3, 4, 11)).reasons
        if r.code is ReasonCode.CALLER_ID_INVALID
    ]  # fmt: skip
    assert "hidden" in reason.message
