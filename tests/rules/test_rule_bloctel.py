"""Bloctel in the opt-out regimes (docs/rules.md §5): rules/bloctel.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from callguard import Guard, Policy, ReasonCode
from conftest import MOBILE, NPV, clean_on_bloctel, paris


def test_unchecked_is_not_clean(guard: Guard) -> None:
    d = guard.may_call(MOBILE, NPV, paris(2025, 3, 3, 11))
    assert d.codes == {ReasonCode.BLOCTEL_UNCHECKED}
    # Waiting for the consent regime does not help either: it needs a consent.
    assert d.next_allowed_at is None


@pytest.mark.parametrize(("age", "fresh"), [(29, True), (30, True), (31, False)])
def test_bloctel_check_valid_thirty_days(guard: Guard, age: int, fresh: bool) -> None:
    checked = paris(2025, 3, 3, 9)
    clean_on_bloctel(guard, MOBILE, checked)
    at = (checked + timedelta(days=age)).replace(hour=11)
    d = guard.may_call(MOBILE, NPV, at)
    assert (ReasonCode.BLOCTEL_UNCHECKED not in d.codes) is fresh


def test_bloctel_listed(guard: Guard) -> None:
    report = guard.import_bloctel([MOBILE], paris(2025, 3, 1), submitted=[MOBILE, "0145123456"])
    assert (report.listed, report.clean, report.rejected) == (1, 1, [])
    d = guard.may_call(MOBILE, NPV, paris(2025, 3, 3, 11))
    assert d.codes == {ReasonCode.BLOCTEL_LISTED}
    assert guard.may_call("01 45 12 34 56", NPV, paris(2025, 3, 3, 11)).allowed


def test_bloctel_results_are_shared_by_professionals(make_guard: Callable[..., Guard]) -> None:
    make_guard("a").import_bloctel([MOBILE], paris(2025, 3, 1))
    d = make_guard("b").may_call(MOBILE, NPV, paris(2025, 3, 3, 11))
    assert d.codes == {ReasonCode.BLOCTEL_LISTED}


def test_check_recorded_later_does_not_count_yet(guard: Guard) -> None:
    clean_on_bloctel(guard, MOBILE, paris(2025, 3, 4, 9))
    d = guard.may_call(MOBILE, NPV, paris(2025, 3, 3, 11))
    assert d.codes == {ReasonCode.BLOCTEL_UNCHECKED}
    assert d.next_allowed_at == paris(2025, 3, 4, 10)


def test_import_rejects_bad_lines_with_their_line_number(guard: Guard) -> None:
    report = guard.import_bloctel(
        ["0612345678", "not a number", "", "+44 20 7946 0958"], paris(2025, 3, 1)
    )
    assert report.listed == 1
    assert [(r.line, r.value) for r in report.rejected] == [
        (2, "not a number"),
        (3, ""),
        (4, "+44 20 7946 0958"),
    ]


def test_import_bloctel_csv_file(guard: Guard, tmp_path: object) -> None:
    import pathlib

    f = pathlib.Path(str(tmp_path)) / "retour.csv"
    f.write_text("Telephone;Identifiant\n0612345678;A1\n0690001234;A2\nabc;A3\n", "utf-8")
    report = guard.import_bloctel(f, paris(2025, 3, 1))
    assert report.listed == 2
    assert [(r.line, r.value) for r in report.rejected] == [(4, "abc")]


def test_stricter_bloctel_age(make_guard: Callable[..., Guard]) -> None:
    g = make_guard("strict", Policy(bloctel_max_age_days=7))
    clean_on_bloctel(g, MOBILE, paris(2025, 3, 3))
    assert g.may_call(MOBILE, NPV, paris(2025, 3, 10, 11)).allowed
    assert not g.may_call(MOBILE, NPV, paris(2025, 3, 11, 11)).allowed
