"""Regimes (docs/rules.md §1), Bloctel (§5), consent (§6), exceptions (§7), sectors (§8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from callguard import Guard, Policy, Purpose, ReasonCode, Sector
from callguard._regimes import regime_on
from conftest import MOBILE, NPV, clean_on_bloctel, consented, paris


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2016, 6, 1), "bloctel"),
        (date(2023, 2, 28), "bloctel"),
        (date(2023, 3, 1), "bloctel-hours"),
        (date(2026, 8, 10), "bloctel-hours"),
        (date(2026, 8, 11), "consent"),
        (date(2040, 1, 1), "consent"),
    ],
)
def test_regime_table(day: date, name: str) -> None:
    assert regime_on(day).name == name


def test_before_bloctel_is_out_of_range(guard: Guard) -> None:
    with pytest.raises(ValueError, match="2016-05-31"):
        guard.may_call(MOBILE, NPV, paris(2016, 5, 31, 11))


def test_naive_now_is_a_value_error(guard: Guard) -> None:
    with pytest.raises(ValueError, match="naive"):
        guard.may_call(MOBILE, NPV, datetime(2026, 11, 23, 11))


def test_decision_reports_regime_of_its_own_day(guard: Guard) -> None:
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 10, 11)).regime == "bloctel-hours"
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 11)).regime == "consent"
    assert guard.may_call(MOBILE, NPV, paris(2020, 1, 6, 11)).regime == "bloctel"


def test_switch_day_bloctel_to_consent(guard: Guard) -> None:
    clean_on_bloctel(guard, MOBILE, paris(2026, 8, 1))
    last_opt_out_day = guard.may_call(MOBILE, NPV, paris(2026, 8, 10, 19, 59, 59))
    assert last_opt_out_day.allowed
    first_opt_in_day = guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 10))
    assert first_opt_in_day.codes == {ReasonCode.NO_CONSENT}
    assert first_opt_in_day.next_allowed_at is None


def test_bloctel_listing_lapses_with_the_consent_regime(guard: Guard) -> None:
    # Listed on Bloctel but consented: refused until the law changes, allowed from 2026-08-11.
    guard.import_bloctel([MOBILE], paris(2026, 8, 1))
    consented(guard, MOBILE, paris(2026, 8, 3))
    d = guard.may_call(MOBILE, NPV, paris(2026, 8, 4, 11))
    assert d.codes == {ReasonCode.BLOCTEL_LISTED}
    assert d.next_allowed_at == paris(2026, 8, 11, 10)
    assert guard.may_call(MOBILE, NPV, paris(2026, 8, 11, 10)).allowed


# -- Bloctel ----------------------------------------------------------------------------------


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


# -- consent ----------------------------------------------------------------------------------


def test_consent_needed_from_2026_08_11(guard: Guard) -> None:
    at = paris(2026, 11, 23, 11)
    assert guard.may_call(MOBILE, NPV, at).codes == {ReasonCode.NO_CONSENT}
    consented(guard, MOBILE, paris(2026, 11, 20))
    assert guard.may_call(MOBILE, NPV, at).allowed


def test_consent_recorded_tomorrow_does_not_open_today(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 11, 24, 12, 30))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.NO_CONSENT}
    assert d.next_allowed_at == paris(2026, 11, 24, 12, 30)


@pytest.mark.parametrize(
    ("at", "ok"),
    [(paris(2027, 9, 1, 10, 59, 59), True), (paris(2027, 9, 1, 11, 0, 0), False)],
)
def test_consent_valid_one_year(guard: Guard, at: datetime, ok: bool) -> None:
    # Given Tuesday 2026-09-01 11:00; 365 days later is Wednesday 2027-09-01 11:00.
    consented(guard, MOBILE, paris(2026, 9, 1, 11))
    d = guard.may_call(MOBILE, NPV, at)
    assert d.allowed is ok
    if not ok:
        assert d.codes == {ReasonCode.CONSENT_EXPIRED}
        assert d.next_allowed_at is None


def test_consent_expires_at_and_withdrawal(guard: Guard) -> None:
    guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", expires_at=paris(2026, 10, 1))
    assert guard.may_call(MOBILE, NPV, paris(2026, 9, 30, 11)).allowed
    assert guard.may_call(MOBILE, NPV, paris(2026, 10, 1, 11)).codes == {ReasonCode.CONSENT_EXPIRED}
    other = "06 11 22 33 44"
    consented(guard, other, paris(2026, 9, 1))
    guard.withdraw_consent(other, paris(2026, 9, 15, 12))
    assert guard.may_call(other, NPV, paris(2026, 9, 15, 11)).allowed
    d = guard.may_call(other, NPV, paris(2026, 9, 15, 14))
    assert d.codes == {ReasonCode.CONSENT_WITHDRAWN}
    assert d.next_allowed_at is None
    consented(guard, other, paris(2026, 10, 1))  # a new consent after the withdrawal counts
    assert guard.may_call(other, NPV, paris(2026, 10, 1, 11)).allowed


def test_consent_is_per_professional(make_guard: Callable[..., Guard]) -> None:
    consented(make_guard("a"), MOBILE, paris(2026, 9, 1))
    assert make_guard("a").may_call(MOBILE, NPV, paris(2026, 11, 23, 11)).allowed
    assert not make_guard("b").may_call(MOBILE, NPV, paris(2026, 11, 23, 11))


def test_consent_requires_proof(guard: Guard) -> None:
    with pytest.raises(ValueError, match="proof"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="  ")


# -- purposes, contracts, sectors -------------------------------------------------------------


def test_contract_calls_exempt_from_consent_but_not_hours(guard: Guard) -> None:
    at = paris(2026, 11, 23, 11)
    d = guard.may_call(MOBILE, NPV, at, purpose=Purpose.CONTRACT)
    assert d.codes == {ReasonCode.NO_CONTRACT}
    guard.record_contract(MOBILE, paris(2025, 1, 1), subject="énergie")
    assert guard.may_call(MOBILE, NPV, at, purpose=Purpose.CONTRACT).allowed
    night = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 21), purpose="CONTRACT")
    assert night.codes == {ReasonCode.OUTSIDE_HOURS}


def test_contract_must_be_running(guard: Guard) -> None:
    guard.record_contract(MOBILE, paris(2025, 1, 1), paris(2026, 6, 30))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.CONTRACT)
    assert d.codes == {ReasonCode.NO_CONTRACT}
    guard.record_contract(MOBILE, paris(2026, 12, 1))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.CONTRACT)
    assert d.next_allowed_at == paris(2026, 12, 1, 10)


def test_press_exempt_from_consent_and_bloctel_not_from_cap(guard: Guard) -> None:
    assert guard.may_call(MOBILE, NPV, paris(2025, 3, 3, 11), purpose=Purpose.PRESS).allowed
    assert guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose=Purpose.PRESS).allowed
    for d in (2, 3, 4, 5):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 6, 11), purpose=Purpose.PRESS)
    assert d.codes == {ReasonCode.FREQUENCY_CAP}


@pytest.mark.parametrize("purpose", [Purpose.B2B, Purpose.NON_COMMERCIAL])
def test_outside_canvassing_rules(guard: Guard, purpose: Purpose) -> None:
    for d in (2, 3, 4, 5, 6):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    sunday_night = paris(2026, 11, 22, 22)
    d = guard.may_call(MOBILE, NPV, sunday_night, purpose=purpose, sector=Sector.CPF_TRAINING)
    assert d.allowed
    # ... but the opt-out list and the caller-ID rules apply whatever the purpose.
    assert guard.may_call(MOBILE, "06 99 88 77 66", sunday_night, purpose=purpose).codes >= {
        ReasonCode.CALLER_ID_MOBILE
    }
    guard.add_optout(MOBILE, paris(2026, 11, 1))
    assert guard.may_call(MOBILE, NPV, sunday_night, purpose=purpose).codes == {
        ReasonCode.OPTED_OUT
    }


@pytest.mark.parametrize(
    ("sector", "first_day"),
    [
        (Sector.ENERGY_RENOVATION, date(2020, 7, 26)),
        (Sector.HOME_ADAPTATION, date(2025, 7, 1)),
        (Sector.CPF_TRAINING, date(2022, 12, 21)),
    ],
)
def test_sector_bans_from_their_date(guard: Guard, sector: Sector, first_day: date) -> None:
    before = datetime.combine(
        first_day - timedelta(days=1), datetime.min.time(), paris(2020, 1, 1).tzinfo
    )
    on = datetime.combine(first_day, datetime.min.time(), paris(2020, 1, 1).tzinfo)
    assert ReasonCode.SECTOR_BANNED not in guard.may_call(MOBILE, NPV, before, sector=sector).codes
    d = guard.may_call(MOBILE, NPV, on, sector=sector)
    assert ReasonCode.SECTOR_BANNED in d.codes


def test_consent_does_not_lift_a_sector_ban_but_a_contract_does(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 9, 1))
    at = paris(2026, 11, 23, 11)
    d = guard.may_call(MOBILE, NPV, at, sector="energy_renovation")
    assert d.codes == {ReasonCode.SECTOR_BANNED}
    assert d.next_allowed_at is None
    guard.record_contract(MOBILE, paris(2026, 1, 1))
    assert guard.may_call(MOBILE, NPV, at, sector="ENERGY_RENOVATION", purpose="contract").allowed


def test_bad_purpose_names_the_choices(guard: Guard) -> None:
    with pytest.raises(ValueError, match="PROSPECTION"):
        guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11), purpose="telesales")


def test_all_failing_rules_are_listed(guard: Guard) -> None:
    guard.record_refusal(MOBILE, paris(2026, 11, 1, 11))
    guard.add_optout(MOBILE, paris(2026, 11, 2))
    for d in (2, 3, 4, 5):
        guard.record_call(MOBILE, paris(2026, 11, d, 11))
    d = guard.may_call(MOBILE, "06 99 88 77 66", paris(2026, 11, 22, 22), sector="CPF_TRAINING")
    assert d.codes == {
        ReasonCode.CALLER_ID_MOBILE,
        ReasonCode.CALLER_ID_NOT_NPV,
        ReasonCode.OPTED_OUT,
        ReasonCode.SECTOR_BANNED,
        ReasonCode.NO_CONSENT,
        ReasonCode.WEEKEND,
        ReasonCode.OUTSIDE_HOURS,
        ReasonCode.FREQUENCY_CAP,
        ReasonCode.REFUSAL_COOLDOWN,
    }
    for reason in d.reasons:
        assert reason.message and reason.message_fr and reason.legal_basis
    assert d.next_allowed_at is None


def test_stricter_bloctel_age(make_guard: Callable[..., Guard]) -> None:
    g = make_guard("strict", Policy(bloctel_max_age_days=7))
    clean_on_bloctel(g, MOBILE, paris(2025, 3, 3))
    assert g.may_call(MOBILE, NPV, paris(2025, 3, 10, 11)).allowed
    assert not g.may_call(MOBILE, NPV, paris(2025, 3, 11, 11)).allowed
