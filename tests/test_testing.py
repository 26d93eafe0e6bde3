"""callguard.testing: the clock, the history builders and the assertions platforms' tests use."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import callguard.testing
from callguard import Guard, Outcome, Policy, Purpose, ReasonCode
from callguard.testing import Clock, History, assert_allowed, assert_refused, explain, fresh_guard
from conftest import MOBILE, NPV, paris

GUADELOUPE = "0690 12 34 56"
GP = ZoneInfo("America/Guadeloupe")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> Guard:
    return fresh_guard(clock)


@pytest.fixture
def history(guard: Guard, clock: Clock) -> History:
    return History(guard, clock)


def test_public_names() -> None:
    assert set(callguard.testing.__all__) == {
        "Clock",
        "History",
        "assert_allowed",
        "assert_refused",
        "explain",
        "fresh_guard",
    }


# -- Clock -------------------------------------------------------------------------------------


def test_clock_starts_monday_morning_in_paris(clock: Clock) -> None:
    assert clock.now() == paris(2026, 11, 23, 10) == clock()
    assert clock.now().tzinfo == ZoneInfo("Europe/Paris")
    assert repr(clock) == "Clock(2026-11-23T10:00:00+01:00)"
    assert Clock(paris(2025, 1, 6, 9)).now() == paris(2025, 1, 6, 9)


def test_clock_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="naive"):
        Clock(datetime(2026, 11, 23, 10))


def test_advance_days_keeps_the_wall_clock_across_summer_time() -> None:
    clock = Clock(paris(2026, 10, 23, 10))  # summer time ends Sunday 2026-10-25
    assert clock.advance(days=3) == paris(2026, 10, 26, 10)
    assert clock.now().utcoffset() == timedelta(hours=1)
    assert clock.advance(minutes=90) == paris(2026, 10, 26, 11, 30)


def test_advance_hours_is_elapsed_time() -> None:
    clock = Clock(paris(2026, 10, 25, 1, 30))  # 23:30 UTC; at 03:00 CEST it is 02:00 CET
    moved = clock.advance(hours=2).astimezone(timezone.utc)  # (aware == skips the fold hour)
    assert moved == datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)
    assert clock.now().isoformat() == "2026-10-25T02:30:00+01:00"
    assert clock.advance(seconds=1, days=0).second == 1


def test_advance_only_moves_forward(clock: Clock) -> None:
    with pytest.raises(ValueError, match="move_to"):
        clock.advance(days=-1)


def test_move_to(clock: Clock) -> None:
    utc = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    assert clock.move_to(utc) == paris(2026, 12, 1, 10)
    assert clock.now().tzinfo == ZoneInfo("Europe/Paris")
    assert clock.move_to(paris(2026, 1, 5, 10)) == paris(2026, 1, 5, 10)  # back in time too
    with pytest.raises(ValueError, match="naive"):
        clock.move_to(datetime(2026, 1, 5, 10))
    with pytest.raises(ValueError, match="time alone"):
        clock.move_to(None)


def test_to_next_window() -> None:
    clock = Clock(paris(2026, 11, 20, 20))  # Friday evening
    assert clock.to_next_window(MOBILE) == paris(2026, 11, 23, 10)
    assert clock.to_next_window(MOBILE) == paris(2026, 11, 23, 14)  # strictly after now
    clock.move_to(paris(2027, 5, 14, 19))  # Friday before Whit Monday
    assert clock.to_next_window(MOBILE) == paris(2027, 5, 18, 10)
    clock.move_to(paris(2026, 11, 23, 10))
    assert clock.to_next_window(GUADELOUPE) == datetime(2026, 11, 23, 10, tzinfo=GP)
    assert clock.to_next_window(MOBILE, callee_tz="America/Guadeloupe") == paris(2026, 11, 23, 19)


# -- the guard reads the clock -----------------------------------------------------------------


def test_fresh_guard_reads_the_clock(guard: Guard, clock: Clock, history: History) -> None:
    history.consented(MOBILE)
    assert guard.may_call(MOBILE, NPV).at == clock.now()
    clock.advance(hours=3)  # 13:00, the lunch break
    assert_refused(
        guard.may_call(MOBILE, NPV),
        ReasonCode.OUTSIDE_HOURS,
        next_allowed_at=paris(2026, 11, 23, 14),
    )


def test_fresh_guard_is_empty_and_takes_options() -> None:
    a, b = fresh_guard(), fresh_guard(professional="acme", policy=Policy(automated=False))
    History(a).calls(MOBILE, at=[paris(2026, 11, 20, 11)] * 4)
    History(a).consented(MOBILE, on=date(2026, 11, 1))
    History(b).consented(MOBILE, on=date(2026, 11, 1))
    assert not a.may_call(MOBILE, NPV, paris(2026, 11, 23, 11)).allowed
    assert b.may_call(MOBILE, "01 45 12 34 56", paris(2026, 11, 23, 11)).allowed
    assert b.professional == "acme" and b.path == ":memory:"


# -- History -----------------------------------------------------------------------------------


def test_calls_fill_the_cap(guard: Guard, clock: Clock, history: History) -> None:
    history.reachable(MOBILE)
    ids = history.calls(
        MOBILE, at=[paris(2026, 11, d, 11) for d in (16, 17, 18)], outcome=Outcome.ANSWERED
    )
    assert len(ids) == 3 and len(set(ids)) == 3
    assert_allowed(guard.may_call(MOBILE, NPV))
    history.calls(MOBILE, at=[date(2026, 11, 19)])
    assert_refused(
        guard.may_call(MOBILE, NPV),
        ReasonCode.FREQUENCY_CAP,
        next_allowed_at=paris(2026, 12, 16, 10),
    )
    with pytest.raises(TypeError, match="list"):
        history.calls(MOBILE, at=clock.now())  # type: ignore[arg-type]


def test_refused_is_a_refused_call(guard: Guard, history: History) -> None:
    history.reachable(MOBILE, on=date(2026, 9, 1))
    history.refused(MOBILE, on=date(2026, 9, 2))
    d = guard.may_call(MOBILE, NPV, paris(2026, 10, 30, 11))
    assert d.codes == {ReasonCode.REFUSAL_COOLDOWN}
    assert d.next_allowed_at == paris(2026, 11, 2, 10)  # 2 Sept + 61 days
    history.calls(MOBILE, at=[paris(2026, 11, d, 11) for d in (2, 3, 4)])
    history.refused(MOBILE, on=paris(2026, 11, 5, 11))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 6, 11))
    assert d.codes == {ReasonCode.FREQUENCY_CAP, ReasonCode.REFUSAL_COOLDOWN}


def test_a_date_is_the_start_of_the_consumer_day(guard: Guard, history: History) -> None:
    history.consented(GUADELOUPE, on=date(2026, 11, 23))
    before = guard.may_call(GUADELOUPE, NPV, datetime(2026, 11, 22, 23, 59, tzinfo=GP))
    assert ReasonCode.NO_CONSENT in before.codes
    assert_allowed(guard.may_call(GUADELOUPE, NPV, datetime(2026, 11, 23, 10, tzinfo=GP)))
    assert before.next_allowed_at == datetime(2026, 11, 23, 10, tzinfo=GP)


def test_a_date_for_an_ambiguous_number_is_that_day_in_every_zone(
    guard: Guard, history: History
) -> None:
    number = "09 47 82 12 34"  # Paris, with Réunion and Mayotte as candidates
    history.consented(number, on=date(2026, 11, 23))
    reunion = ZoneInfo("Indian/Reunion")
    early = guard.may_call(number, NPV, datetime(2026, 11, 23, 2, 59, tzinfo=reunion))
    assert ReasonCode.NO_CONSENT in early.codes  # 23:59 on the 22nd in Paris
    at_midnight_paris = guard.may_call(number, NPV, paris(2026, 11, 23))
    assert ReasonCode.NO_CONSENT not in at_midnight_paris.codes


def test_consent_until_withdrawal_and_expiry(guard: Guard, history: History) -> None:
    history.consented(MOBILE, on=date(2026, 9, 1), proof="form-42", until=date(2026, 12, 31))
    assert_allowed(guard.may_call(MOBILE, NPV, paris(2026, 12, 31, 19)))
    assert_refused(
        guard.may_call(MOBILE, NPV, paris(2027, 1, 4, 11)),
        ReasonCode.CONSENT_EXPIRED,
        next_allowed_at=None,
    )
    other = "06 98 76 54 32"
    history.consented(other, on=date(2026, 9, 1))
    history.withdrew(other, on=paris(2026, 11, 20, 15))
    assert_refused(guard.may_call(other, NPV), ReasonCode.CONSENT_WITHDRAWN)


def test_slot_consent_opens_an_evening(guard: Guard, history: History) -> None:
    history.consented(MOBILE, on=date(2026, 9, 1))
    history.slot_consented(MOBILE, paris(2026, 11, 24, 20, 30), paris(2026, 11, 24, 21))
    assert_allowed(guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 20, 45)))
    assert_refused(guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 21)), "OUTSIDE_HOURS")


def test_opted_out_until(guard: Guard, history: History) -> None:
    history.reachable(MOBILE)
    history.opted_out(MOBILE, until=date(2026, 11, 27))
    assert_refused(
        guard.may_call(MOBILE, NPV), ReasonCode.OPTED_OUT, next_allowed_at=paris(2026, 11, 30, 10)
    )
    history.opted_out(GUADELOUPE, on=date(2026, 1, 1))
    assert_refused(guard.may_call(GUADELOUPE, NPV), ReasonCode.OPTED_OUT, next_allowed_at=None)


def test_contract(guard: Guard, history: History) -> None:
    d = guard.may_call(MOBILE, NPV, purpose=Purpose.CONTRACT)
    assert_refused(d, ReasonCode.NO_CONTRACT)
    history.contract(MOBILE, on=date(2026, 1, 1), until=date(2026, 12, 31), subject="energy")
    assert_allowed(guard.may_call(MOBILE, NPV, purpose=Purpose.CONTRACT))
    assert_refused(
        guard.may_call(MOBILE, NPV, paris(2027, 1, 4, 11), purpose="CONTRACT"),
        ReasonCode.NO_CONTRACT,
    )


def test_bloctel(guard: Guard, history: History) -> None:
    listed, clean = "06 11 11 11 11", "06 22 22 22 22"
    history.bloctel(listed=[listed], clean=[clean, GUADELOUPE], on=date(2025, 3, 3))
    at = paris(2025, 3, 10, 11)
    assert_refused(guard.may_call(listed, NPV, at), ReasonCode.BLOCTEL_LISTED)
    assert_allowed(guard.may_call(clean, NPV, at))
    assert_allowed(guard.may_call(GUADELOUPE, NPV, datetime(2025, 3, 10, 11, tzinfo=GP)))
    assert_refused(guard.may_call(clean, NPV, paris(2025, 4, 3, 11)), ReasonCode.BLOCTEL_UNCHECKED)
    with pytest.raises(ValueError, match=r"rejected:(.|\n)*'08 00 12 34 56': not a French"):
        history.bloctel(clean=["08 00 12 34 56"], on=date(2025, 3, 3))
    with pytest.raises(ValueError, match="invalid phone number '06 12'"):
        history.bloctel(clean=["06 12"], on=date(2025, 3, 3))
    with pytest.raises(TypeError, match="lists"):
        history.bloctel(clean=MOBILE, on=date(2025, 3, 3))


def test_reachable_records_what_the_regime_needs(guard: Guard, history: History) -> None:
    # Bloctel regime: a clean check, and no consent (which would also open the evenings).
    history.reachable(MOBILE, on=date(2025, 3, 3))
    assert_allowed(guard.may_call(MOBILE, NPV, paris(2025, 3, 4, 11)))
    assert_refused(guard.may_call(MOBILE, NPV, paris(2025, 3, 4, 21)), ReasonCode.OUTSIDE_HOURS)
    assert_refused(guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11)), ReasonCode.NO_CONSENT)
    # Consent regime: a consent (the clock's now by default).
    history.reachable(MOBILE)
    assert_allowed(guard.may_call(MOBILE, NPV))


def test_history_without_a_clock_needs_dates(guard: Guard) -> None:
    with pytest.raises(TypeError, match="on is required"):
        History(guard).consented(MOBILE)
    with pytest.raises(TypeError, match="datetime with a time zone or a date"):
        History(guard).consented(MOBILE, on="2026-11-23")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        History(guard).refused(MOBILE, on=datetime(2026, 11, 23, 11))


# -- assertions --------------------------------------------------------------------------------


@pytest.fixture
def capped(guard: Guard, history: History) -> Guard:
    history.reachable(MOBILE)
    history.calls(MOBILE, at=[paris(2026, 11, d, 11) for d in (16, 17, 18, 19)])
    return guard


def test_assert_allowed_failure_explains_every_reason_and_when(capped: Guard) -> None:
    d = capped.may_call(MOBILE, NPV, paris(2026, 11, 24, 21))
    with pytest.raises(AssertionError) as failure:
        assert_allowed(d)
    message = str(failure.value)
    assert message.startswith(
        "expected callguard to allow the call, but\nrefused: call to "
        "+33612345678 at Tuesday 2026-11-24 21:00:00 (Europe/Paris)"
    )
    assert "regime consent" in message
    assert "  FREQUENCY_CAP: 4 attempts already fall within 30 days (" in message
    assert "  OUTSIDE_HOURS: It is 21:00 in Europe/Paris" in message
    assert "[Code de la consommation, art. D223-9]" in message
    assert message.endswith("next allowed at: Wednesday 2026-12-16 10:00:00 (Europe/Paris)")


def test_assert_refused_passes_for_any_subset_of_the_reasons(capped: Guard) -> None:
    d = capped.may_call(MOBILE, NPV, paris(2026, 11, 24, 21))
    assert_refused(d)
    assert_refused(d, ReasonCode.FREQUENCY_CAP)
    assert_refused(d, "outside_hours", ReasonCode.FREQUENCY_CAP)
    assert_refused(d, ReasonCode.FREQUENCY_CAP, next_allowed_at=paris(2026, 12, 16, 10))
    assert_refused(d, next_allowed_at=datetime(2026, 12, 16, 9, tzinfo=timezone.utc))


def test_assert_refused_failures(capped: Guard, guard: Guard) -> None:
    d = capped.may_call(MOBILE, NPV)
    with pytest.raises(
        AssertionError,
        match=r"for REFUSAL_COOLDOWN, but REFUSAL_COOLDOWN is not "
        r"among its reasons:\nrefused: .*\n  FREQUENCY_CAP: ",
    ):
        assert_refused(d, ReasonCode.REFUSAL_COOLDOWN)
    with pytest.raises(AssertionError, match=r"HOLIDAY, WEEKEND are not"):
        assert_refused(d, "FREQUENCY_CAP", "HOLIDAY", "WEEKEND")
    with pytest.raises(
        AssertionError,
        match=r"expected next_allowed_at Thursday 2026-12-17 "
        r"10:00:00 \(Europe/Paris\), but\n(.|\n)*next allowed at: Wednesday",
    ):
        assert_refused(d, ReasonCode.FREQUENCY_CAP, next_allowed_at=paris(2026, 12, 17, 10))
    with pytest.raises(AssertionError, match="expected next_allowed_at None"):
        assert_refused(d, next_allowed_at=None)
    History(guard).consented("06 98 76 54 32", on=date(2026, 11, 1))
    ok = guard.may_call("06 98 76 54 32", NPV)
    with pytest.raises(
        AssertionError,
        match=r"^expected callguard to refuse the call for "
        r"FREQUENCY_CAP, but\nallowed: call to \+33698765432",
    ):
        assert_refused(ok, ReasonCode.FREQUENCY_CAP)
    with pytest.raises(ValueError, match="invalid ReasonCode 'CAP'"):
        assert_refused(d, "CAP")
    with pytest.raises(TypeError, match="Decision"):
        assert_allowed(True)  # type: ignore[arg-type]


def test_explain(guard: Guard) -> None:
    d = guard.may_call("06 12", "anonymous", paris(2026, 11, 23, 11))
    text = explain(d)
    assert text.startswith("refused: call to (invalid number) at Monday 2026-11-23 11:00:00")
    assert "  INVALID_NUMBER: " in text and "  CALLER_ID_INVALID: " in text
    assert text.endswith("next allowed at: never by waiting (time alone will not help)")


def test_assertion_frames_are_hidden_from_pytest_tracebacks() -> None:
    assert assert_allowed.__code__.co_varnames[:2] == ("decision", "__tracebackhide__")
    assert "__tracebackhide__" in assert_refused.__code__.co_varnames
