"""Caller ID (docs/rules.md §9): rules/caller_id.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callguard import Guard, Policy, ReasonCode
from conftest import MOBILE, consented, paris

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
    "caller",
    [
        "01 62 12 34 56",
        "01 63 12 34 56",
        "02 70 12 34 56",
        "02 71 12 34 56",
        "03 77 12 34 56",
        "03 78 12 34 56",
        "04 24 12 34 56",
        "04 25 12 34 56",
        "05 68 12 34 56",
        "05 69 12 34 56",
        "09 48 12 34 56",
        "09 49 12 34 56",
        "+33 9 48 12 34 56",
        "0800 12 34 56",
        "3010",
    ],
)
def test_npv_and_special_caller_ids_pass(g: Guard, caller: str) -> None:
    assert caller_codes(g, caller) == set()


@pytest.mark.parametrize(
    "caller", ["01 45 12 34 56", "09 72 12 34 56", "0899 12 34 56", "+44 20 7946 0958"]
)
def test_other_caller_ids_are_not_npv(g: Guard, caller: str) -> None:
    assert caller_codes(g, caller) == {ReasonCode.CALLER_ID_NOT_NPV}


@pytest.mark.parametrize("caller", ["06 12 34 56 78", "07 81 23 45 67"])
def test_mobile_caller_ids(g: Guard, caller: str, make_guard: Callable[..., Guard]) -> None:
    assert caller_codes(g, caller) == {ReasonCode.CALLER_ID_MOBILE, ReasonCode.CALLER_ID_NOT_NPV}
    manual = make_guard("manual", Policy(automated=False))
    assert caller_codes(manual, caller) == {ReasonCode.CALLER_ID_MOBILE}


@pytest.mark.parametrize("caller", [None, "", "   ", "anonymous", "Masqué", "private", "abc", 42.0])
def test_hidden_or_invalid_caller_ids(g: Guard, caller: object) -> None:
    d = g.may_call(MOBILE, caller, AT)
    assert ReasonCode.CALLER_ID_INVALID in d.codes
    assert d.next_allowed_at is None


def test_manual_calls_need_no_npv(g: Guard, make_guard: Callable[..., Guard]) -> None:
    manual = make_guard("manual", Policy(automated=False))
    assert caller_codes(manual, "01 45 12 34 56") == set()


def test_caller_id_plan_starts_2023_01_01(guard: Guard, make_guard: Callable[..., Guard]) -> None:
    # An automated dialer may not present a mobile from 2019-08-01 (ARCEP n° 2019-0954); from
    # 2023-01-01 no call centre may (n° 2022-1583).
    manual = make_guard("manual", Policy(automated=False))
    guard.import_bloctel([], paris(2022, 12, 20), submitted=[MOBILE])
    d = guard.may_call(MOBILE, "06 99 88 77 66", paris(2022, 12, 30, 11))
    assert d.codes == {ReasonCode.CALLER_ID_MOBILE}
    assert manual.may_call(MOBILE, "06 99 88 77 66", paris(2022, 12, 30, 11)).allowed
    d = manual.may_call(MOBILE, "06 99 88 77 66", paris(2023, 1, 2, 11))
    assert ReasonCode.CALLER_ID_MOBILE in d.codes
    # Hidden numbers were banned before too.
    assert (
        ReasonCode.CALLER_ID_INVALID in guard.may_call(MOBILE, None, paris(2022, 12, 30, 11)).codes
    )


def test_own_caller_ids(g: Guard, make_guard: Callable[..., Guard]) -> None:
    owned = make_guard("owned", Policy(own_caller_ids=["+33948123456"]))
    consented(owned, MOBILE, paris(2026, 9, 1))
    assert owned.may_call(MOBILE, "09.48.12.34.56", AT).allowed
    assert caller_codes(owned, "09 49 12 34 56") == {ReasonCode.CALLER_ID_NOT_OWNED}


def test_own_caller_ids_must_be_numbers() -> None:
    with pytest.raises(ValueError, match="nope"):
        Policy(own_caller_ids=["nope"])
