"""Caller-ID rules (docs/rules.md §9): the NPV plan's start date, the ranges and short numbers an
automated dialer may present, and what a CALLER_ID_INVALID refusal says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from callguard import Guard, Policy, ReasonCode
from callguard.testing import fresh_guard
from conftest import MOBILE, NPV, clean_on_bloctel, consented, paris

CALLER_CODES = {
    ReasonCode.CALLER_ID_INVALID,
    ReasonCode.CALLER_ID_MOBILE,
    ReasonCode.CALLER_ID_NOT_NPV,
    ReasonCode.CALLER_ID_NOT_OWNED,
}
GEOGRAPHIC = "01 23 45 67 89"  # a Paris geographic number outside the NPV blocks
CONSUMER = "06 12 34 56 78"


@pytest.fixture
def g() -> Iterator[Guard]:
    guard = fresh_guard(professional="acme")
    yield guard
    guard.close()


@pytest.mark.parametrize(
    ("at", "refused"),
    [
        (paris(2022, 12, 31, 12), False),  # Saturday, but the bloctel regime has no days/hours
        (paris(2022, 12, 31, 23, 59, 59), False),
        (paris(2023, 1, 1, 0, 0, 0), True),  # Sunday and New Year's Day: still no days/hours
        (paris(2023, 1, 1, 12), True),
        (paris(2023, 1, 2, 12), True),
    ],
)
def test_npv_required_from_2023_01_01(g: Guard, at: datetime, refused: bool) -> None:
    clean_on_bloctel(g, CONSUMER, paris(2022, 12, 20))
    d = g.may_call(CONSUMER, GEOGRAPHIC, at)
    assert d.regime == "bloctel"
    if refused:
        assert d.codes == {ReasonCode.CALLER_ID_NOT_NPV}
        assert d.next_allowed_at is None  # time alone will not make the caller ID an NPV
    else:
        assert d.allowed, d.reasons


def test_npv_plan_date_is_the_consumers_local_date(g: Guard) -> None:
    # 23:30 on 31 December in Paris is already 2023 in Réunion (UTC+4).
    number = "0692 12 34 56"
    clean_on_bloctel(g, number, paris(2022, 12, 20))
    assert g.may_call(number, GEOGRAPHIC, paris(2022, 12, 31, 19, 30)).allowed  # 22:30 there
    d = g.may_call(number, GEOGRAPHIC, paris(2022, 12, 31, 21, 30))  # 00:30 on 1 January there
    assert d.codes == {ReasonCode.CALLER_ID_NOT_NPV}


def test_geographic_caller_id_without_a_dialer_stays_allowed_after_2023(g: Guard) -> None:
    guard = fresh_guard(policy=Policy(automated=False))
    clean_on_bloctel(guard, CONSUMER, paris(2023, 1, 1))
    assert guard.may_call(CONSUMER, GEOGRAPHIC, paris(2023, 1, 2, 12)).allowed


@pytest.mark.parametrize("short", ["3179", "3100", "3199", "3000", "3079", "3099"])
def test_short_30_31_caller_ids_are_accepted_from_a_dialer(g: Guard, short: str) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, short, paris(2026, 11, 23, 11))
    assert not (d.codes & CALLER_CODES), d.reasons
    assert d.allowed


@pytest.mark.parametrize("short", ["3279", "3979", "3400", "3900"])
def test_other_short_caller_ids_are_not_npv(g: Guard, short: str) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, short, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.CALLER_ID_NOT_NPV}


NPV_BLOCKS = [
    "01 62 12 34 56", "01 63 12 34 56", "02 70 12 34 56", "02 71 12 34 56",
    "03 77 12 34 56", "03 78 12 34 56", "04 24 12 34 56", "04 25 12 34 56",
    "05 68 12 34 56", "05 69 12 34 56", "09 48 12 34 56", "09 49 12 34 56",
    "09 47 51 23 45", "09 47 61 23 45", "09 47 71 23 45", "09 47 81 23 45", "09 47 91 23 45",
]  # fmt: skip
NEIGHBOURS = [
    "01 61 12 34 56", "01 64 12 34 56", "02 68 12 34 56", "02 72 12 34 56",
    "03 76 12 34 56", "03 79 12 34 56", "04 23 12 34 56", "04 26 12 34 56",
    "05 67 12 34 56", "05 70 12 34 56", "09 47 12 34 56",
    "09 50 12 34 56", "09 47 41 23 45",
]  # fmt: skip


@pytest.mark.parametrize("caller", NPV_BLOCKS)
def test_every_npv_block_is_accepted(g: Guard, caller: str) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, caller, paris(2026, 11, 23, 11))
    assert not (d.codes & CALLER_CODES), d.reasons


@pytest.mark.parametrize("caller", NEIGHBOURS)
def test_neighbours_of_the_npv_blocks_are_refused(g: Guard, caller: str) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, caller, paris(2026, 11, 23, 11))
    assert ReasonCode.CALLER_ID_NOT_NPV in d.codes, caller


@pytest.mark.parametrize(
    ("caller", "accepted"),
    [("08 00 12 34 56", True), ("08 10 12 34 56", True), ("08 92 12 34 56", False)],
)
def test_special_numbers_except_089(g: Guard, caller: str, accepted: bool) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, caller, paris(2026, 11, 23, 11))
    assert (ReasonCode.CALLER_ID_NOT_NPV not in d.codes) is accepted


@pytest.mark.parametrize(
    ("caller", "named", "not_named"),
    [
        (None, "missing", "hidden"),
        ("", "missing", "hidden"),
        ("   ", "missing", "hidden"),
        ("anonymous", "hidden", "missing"),
        ("Masqué", "hidden", "missing"),
        ("<private>", "hidden", "missing"),
        ("abc", "letters", "hidden"),
        ("01 23", "digits", "hidden"),
        ("04 00 00 00 00", "not an allocated range", "hidden"),
    ],
)
def test_caller_id_invalid_names_the_problem(
    g: Guard, caller: str | None, named: str, not_named: str
) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    d = g.may_call(CONSUMER, caller, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.CALLER_ID_INVALID}
    (reason,) = d.reasons
    assert named in reason.message
    assert not_named not in reason.message
    assert reason.legal_basis == "Code de la consommation, art. L221-17"
    assert d.next_allowed_at is None


def test_invalid_caller_id_message_distinguishes_unparsable_from_invalid(g: Guard) -> None:
    consented(g, CONSUMER, paris(2026, 11, 1))
    at = paris(2026, 11, 23, 11)
    messages = {
        c: g.may_call(CONSUMER, c, at).reasons[0].message
        for c in ("hidden", "", "abc", "04 00 00 00 00")
    }
    assert len(set(messages.values())) == 4
    assert "invalid" in messages["abc"] and "invalid" in messages["04 00 00 00 00"]
    assert "invalid" not in messages["hidden"].split(":")[0]
    assert "invalid" not in messages[""].split(":")[0]


def test_mobile_caller_id_on_a_dialer_is_refused_from_2019_08_01(g: Guard) -> None:
    clean_on_bloctel(g, CONSUMER, paris(2020, 6, 1))
    d = g.may_call(CONSUMER, MOBILE, paris(2020, 6, 10, 12))
    assert ReasonCode.CALLER_ID_MOBILE in d.codes


def test_mobile_caller_id_on_a_dialer_is_allowed_before_2019_08_01(g: Guard) -> None:
    clean_on_bloctel(g, CONSUMER, paris(2019, 7, 20))
    assert g.may_call(CONSUMER, MOBILE, paris(2019, 7, 31, 12)).allowed
    assert g.may_call(CONSUMER, NPV, paris(2019, 7, 31, 12)).allowed
