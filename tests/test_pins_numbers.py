"""Saint-Pierre-et-Miquelon numbers written with the French trunk 0 (docs/rules.md §2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callguard import Guard
from callguard.testing import fresh_guard
from conftest import NPV, paris

SPM_E164 = "+508411234"


@pytest.fixture
def g() -> Iterator[Guard]:
    guard = fresh_guard(professional="acme")
    yield guard
    guard.close()


@pytest.mark.parametrize(
    "written",
    [
        "+508 41 12 34",
        "+508 0 41 12 34",
        "+5080411234",
        "00508 041 12 34",
        "00508 41 12 34",
        "0508 41 12 34",
        "+508 (0)41 12 34",
    ],
)
def test_spm_forms_are_one_number_in_miquelon(g: Guard, written: str) -> None:
    d = g.may_call(written, NPV, paris(2026, 11, 23, 15))
    assert d.number == SPM_E164
    assert d.callee_tz == "America/Miquelon"


def test_spm_facts_follow_the_number_whatever_its_form(g: Guard) -> None:
    g.add_optout("+508 0 41 12 34", paris(2026, 11, 1))
    for written in ("+508 41 12 34", "00508 041 12 34", "0508 41 12 34"):
        d = g.may_call(written, NPV, paris(2026, 11, 23, 15))
        assert "OPTED_OUT" in {r.code.value for r in d.reasons}, written


@pytest.mark.parametrize("written", ["+508 00 41 12 34", "+508 1 41 12 34", "+508 41 12 3"])
def test_spm_malformed_forms_are_invalid(g: Guard, written: str) -> None:
    d = g.may_call(written, NPV, paris(2026, 11, 23, 15))
    assert d.number is None
    assert [r.code.value for r in d.reasons] == ["INVALID_NUMBER"]


@pytest.mark.parametrize("written", ["+800 1234 5678", "+882 16 12345678", "+979 123456789"])
def test_non_geographic_foreign_number_is_refused_not_an_error(g: Guard, written: str) -> None:
    # International numbers with no time zone: a refusal judged in Paris time, never an error.
    d = g.may_call(written, NPV, paris(2026, 11, 23, 15))
    assert [r.code.value for r in d.reasons] == ["UNSUPPORTED_DESTINATION"]
    assert d.callee_tz == "Europe/Paris"
    assert d.next_allowed_at is None
