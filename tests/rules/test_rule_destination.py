"""Destination checks (docs/rules.md §2, §7): rules/destination.py."""

from __future__ import annotations

import pytest

from callguard import Guard, ReasonCode
from conftest import MOBILE, NPV, consented, paris

AT = paris(2026, 11, 23, 11)
CALLER_CODES = {
    ReasonCode.CALLER_ID_INVALID,
    ReasonCode.CALLER_ID_MOBILE,
    ReasonCode.CALLER_ID_NOT_NPV,
    ReasonCode.CALLER_ID_NOT_OWNED,
}


@pytest.fixture
def g(guard: Guard) -> Guard:
    consented(guard, MOBILE, paris(2026, 9, 1))
    return guard


def caller_codes(guard: Guard, caller: object, **kw: object) -> set[ReasonCode]:
    return set(guard.may_call(MOBILE, caller, AT, **kw).codes) & CALLER_CODES  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "number",
    ["", "hello", "06 12", "+33 6 12 34 56 78 90 12", None, 3.14, "x" * 10_000, "٠٦١٢٣٤٥٦٧٨x"],
)
def test_invalid_numbers_are_refusals_not_errors(g: Guard, number: object) -> None:
    d = g.may_call(number, NPV, AT)
    assert not d.allowed
    assert ReasonCode.INVALID_NUMBER in d.codes
    assert d.number is None and d.next_allowed_at is None
    assert len(d.reasons[0].message) < 300


@pytest.mark.parametrize(
    "number", ["+44 20 7946 0958", "0899 12 34 56", "0800 12 34 56", "3010", "+687 26 12 34"]
)
def test_unsupported_destinations(g: Guard, number: str) -> None:
    d = g.may_call(number, NPV, AT)
    assert d.codes == {ReasonCode.UNSUPPORTED_DESTINATION}


@pytest.mark.parametrize(
    "form",
    [
        "06 12 34 56 78",
        "+33 6 12 34 56 78",
        "0033612345678",
        "+33 (0)6 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "+33612345678",
    ],
)
def test_number_forms_reach_the_same_ledger_row(g: Guard, form: str) -> None:
    for d in (2, 3, 4, 5):
        g.record_call(MOBILE, paris(2026, 11, d, 11))
    d = g.may_call(form, NPV, paris(2026, 11, 6, 11))
    assert d.number == "+33612345678"
    assert d.codes == {ReasonCode.FREQUENCY_CAP}


def test_overseas_national_prefix_is_the_territory(g: Guard) -> None:
    d = g.may_call("0690 00 12 34", NPV, AT)
    assert d.number == "+590690001234"
    assert d.callee_tz == "America/Guadeloupe"


def test_writes_reject_invalid_numbers_by_name(g: Guard) -> None:
    from callguard import InvalidNumberError

    with pytest.raises(InvalidNumberError, match="'12ab'"):
        g.record_refusal("12ab", AT)
