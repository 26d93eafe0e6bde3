"""When a refused call becomes allowed (``next_allowed_at``): a contract that starts later in a
banned sector, a slot consent's exclusive end, a consent withdrawn the instant it was given, and
the two-year horizon of the search."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, Purpose, ReasonCode, Sector
from callguard.testing import fresh_guard
from conftest import MOBILE, NPV, clean_on_bloctel, consented, paris


@pytest.fixture
def g() -> Iterator[Guard]:
    guard = fresh_guard(professional="acme")
    yield guard
    guard.close()


# -- a contract that starts later, in a banned sector (docs/rules.md §7, §8) ----------------------

MONDAY = paris(2026, 11, 23, 11)


@pytest.mark.parametrize("sector", list(Sector))
def test_contract_call_in_banned_sector_waits_for_the_contract(g: Guard, sector: Sector) -> None:
    start = paris(2026, 11, 25, 11)  # Wednesday 11:00
    g.record_contract(MOBILE, start)
    d = g.may_call(MOBILE, NPV, MONDAY, purpose=Purpose.CONTRACT, sector=sector)
    assert d.codes == {ReasonCode.NO_CONTRACT, ReasonCode.SECTOR_BANNED}
    assert d.next_allowed_at == start
    assert g.may_call(MOBILE, NPV, start, purpose=Purpose.CONTRACT, sector=sector).allowed
    before = start - timedelta(seconds=1)
    d = g.may_call(MOBILE, NPV, before, purpose=Purpose.CONTRACT, sector=sector)
    assert d.codes == {ReasonCode.NO_CONTRACT, ReasonCode.SECTOR_BANNED}


@pytest.mark.parametrize(
    ("start", "opens"),
    [
        (paris(2026, 11, 25, 21), paris(2026, 11, 26, 10)),  # evening: next morning's window
        (paris(2026, 11, 25, 13, 30), paris(2026, 11, 25, 14)),  # lunch break
        (paris(2026, 11, 28, 11), paris(2026, 11, 30, 10)),  # Saturday: Monday
    ],
)
def test_contract_starting_outside_the_hours_opens_at_the_next_window(
    g: Guard, start: datetime, opens: datetime
) -> None:
    g.record_contract(MOBILE, start)
    d = g.may_call(MOBILE, NPV, MONDAY, purpose=Purpose.CONTRACT, sector=Sector.ENERGY_RENOVATION)
    assert d.codes == {ReasonCode.NO_CONTRACT, ReasonCode.SECTOR_BANNED}
    assert d.next_allowed_at == opens


def test_contract_that_has_ended_leaves_the_sector_banned_for_good(g: Guard) -> None:
    end = paris(2026, 11, 23, 10, 30)
    g.record_contract(MOBILE, paris(2026, 1, 1), end)
    for purpose in (Purpose.CONTRACT, Purpose.PROSPECTION):
        d = g.may_call(MOBILE, NPV, MONDAY, purpose=purpose, sector=Sector.ENERGY_RENOVATION)
        assert ReasonCode.SECTOR_BANNED in d.codes
        assert d.next_allowed_at is None
    assert g.may_call(
        MOBILE, NPV, end - timedelta(minutes=1), purpose=Purpose.CONTRACT,
        sector=Sector.ENERGY_RENOVATION,
    ).allowed  # fmt: skip


def test_consent_does_not_lift_a_sector_ban_only_a_contract_call_does(g: Guard) -> None:
    consented(g, MOBILE, paris(2026, 11, 1))
    g.record_contract(MOBILE, paris(2026, 11, 1))
    d = g.may_call(MOBILE, NPV, MONDAY, sector=Sector.CPF_TRAINING)
    assert d.codes == {ReasonCode.SECTOR_BANNED}
    assert d.next_allowed_at is None
    assert g.may_call(
        MOBILE, NPV, MONDAY, purpose=Purpose.CONTRACT, sector=Sector.CPF_TRAINING
    ).allowed


# -- a slot consent's end is exclusive (docs/rules.md §2) ----------------------------------------

SATURDAY = (2026, 12, 5)
SLOT_START = paris(*SATURDAY, 15)
SLOT_END = paris(*SATURDAY, 16)
NEXT_MONDAY = paris(2026, 12, 7, 10)


@pytest.fixture
def slot(g: Guard) -> Guard:
    consented(g, MOBILE, paris(2026, 11, 1))
    g.record_slot_consent(MOBILE, SLOT_START, SLOT_END, proof="call-back-form-1")
    return g


def test_slot_opens_its_start_and_closes_at_its_end(slot: Guard) -> None:
    d = slot.may_call(MOBILE, NPV, paris(*SATURDAY, 14))
    assert d.codes == {ReasonCode.WEEKEND}
    assert d.next_allowed_at == SLOT_START
    assert slot.may_call(MOBILE, NPV, SLOT_START).allowed
    assert slot.may_call(MOBILE, NPV, SLOT_END - timedelta(seconds=1)).allowed
    d = slot.may_call(MOBILE, NPV, SLOT_END)
    assert d.codes == {ReasonCode.WEEKEND}
    assert d.next_allowed_at == NEXT_MONDAY


def test_search_never_lands_on_the_slot_end(slot: Guard) -> None:
    # Opted out until the very end of the slot: the slot is spent by then.
    slot.add_optout(MOBILE, paris(*SATURDAY, 9), expires_at=SLOT_END)
    d = slot.may_call(MOBILE, NPV, paris(*SATURDAY, 14))
    assert d.codes == {ReasonCode.WEEKEND, ReasonCode.OPTED_OUT}
    assert d.next_allowed_at != SLOT_END
    assert d.next_allowed_at == NEXT_MONDAY


def test_search_lands_inside_the_slot(slot: Guard) -> None:
    inside = paris(*SATURDAY, 15, 30)
    slot.add_optout(MOBILE, paris(*SATURDAY, 9), expires_at=inside)
    d = slot.may_call(MOBILE, NPV, paris(*SATURDAY, 14))
    assert d.next_allowed_at == inside


# -- consent given and withdrawn at the same instant (docs/rules.md §6) --------------------------


def test_consent_withdrawn_the_instant_it_was_given_is_withdrawn(g: Guard) -> None:
    """Fail closed: a withdrawal stamped with the consent's own instant wins."""
    given = MONDAY
    g.record_consent(MOBILE, given, proof="form-1")
    g.withdraw_consent(MOBILE, given)
    for at in (given, given + timedelta(hours=1), given + timedelta(days=30)):
        d = g.may_call(MOBILE, NPV, at)
        assert d.codes == {ReasonCode.CONSENT_WITHDRAWN}, at
        assert d.next_allowed_at is None


def test_consent_withdrawn_the_instant_asked_is_withdrawn(g: Guard) -> None:
    g.record_consent(MOBILE, paris(2026, 11, 1), proof="form-1")
    g.withdraw_consent(MOBILE, MONDAY)
    d = g.may_call(MOBILE, NPV, MONDAY)
    assert d.codes == {ReasonCode.CONSENT_WITHDRAWN}
    assert d.next_allowed_at is None


@pytest.mark.parametrize("fact", ["withdrawal", "optout", "refusal", "bloctel"])
def test_closing_fact_stamped_after_now_is_already_in_force(g: Guard, fact: str) -> None:
    later = MONDAY + timedelta(hours=1)
    now = MONDAY
    if fact == "bloctel":  # bloctel-hours regime: clean a week ago, listed an hour from now
        now, later = paris(2025, 11, 24, 11), paris(2025, 11, 24, 12)
        clean_on_bloctel(g, MOBILE, now - timedelta(days=7))
        g.import_bloctel([MOBILE], later, submitted=[MOBILE])
    else:
        consented(g, MOBILE, paris(2026, 11, 1))
    if fact == "withdrawal":
        g.withdraw_consent(MOBILE, later)
    elif fact == "optout":
        g.add_optout(MOBILE, later)
    elif fact == "refusal":
        g.record_refusal(MOBILE, later)
    assert not g.may_call(MOBILE, NPV, now).allowed
    # The same for the other live decisions: a scrub and an attempt (which records nothing).
    [scrubbed] = g.scrub([MOBILE], NPV, now)
    assert not scrubbed.allowed
    tried = g.attempt(MOBILE, NPV, now)
    assert not tried.allowed and tried.attempt_id is None


def test_a_refusal_stamped_after_now_runs_60_days_from_its_own_date(g: Guard) -> None:
    # Refused at 00:30 on Tuesday by a host whose clock is ahead; asked at 23:00 on Monday.
    now = paris(2026, 11, 23, 23)
    consented(g, MOBILE, paris(2026, 11, 1))
    g.record_refusal(MOBILE, paris(2026, 11, 24, 0, 30))
    d = g.may_call(MOBILE, NPV, now)
    assert ReasonCode.REFUSAL_COOLDOWN in d.codes
    # Refused on 24 Nov: callable from 24 Nov + 61 days = 24 Jan 2027 (a Sunday): Monday 25.
    assert d.next_allowed_at == paris(2027, 1, 25, 10)


def test_an_audit_judges_by_what_was_known_then(g: Guard) -> None:
    from callguard import audit

    consented(g, MOBILE, paris(2026, 11, 1))
    g.add_optout(MOBILE, MONDAY + timedelta(hours=1))
    report = audit([{"number": MOBILE, "caller_id": NPV, "started_at": MONDAY.isoformat()}], db=g)
    assert report.violations == []


def test_consent_counts_from_its_own_instant(g: Guard) -> None:
    given = MONDAY
    g.record_consent(MOBILE, given, proof="form-1")
    d = g.may_call(MOBILE, NPV, given - timedelta(hours=1))
    assert d.codes == {ReasonCode.NO_CONSENT}
    assert d.next_allowed_at == given
    assert g.may_call(MOBILE, NPV, given).allowed


# -- the two-year horizon of the search ---------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "found"),
    [
        (timedelta(days=700), True),
        (timedelta(days=731), True),
        (timedelta(days=732), True),  # exactly at the horizon: still inside
        (timedelta(days=732, seconds=1), False),
        (timedelta(days=733), False),
        (timedelta(days=3 * 365), False),
    ],
)
def test_search_looks_two_years_ahead(g: Guard, after: timedelta, found: bool) -> None:
    # A business call: only the opt-out stands in the way, so it opens when the opt-out ends.
    now = paris(2026, 11, 23, 11)
    expires = now + after
    g.add_optout(MOBILE, now - timedelta(days=1), expires_at=expires)
    d = g.may_call(MOBILE, NPV, now, purpose=Purpose.B2B)
    assert d.codes == {ReasonCode.OPTED_OUT}
    assert d.next_allowed_at == (expires if found else None)


def test_search_within_the_horizon_for_a_canvassing_call(g: Guard) -> None:
    # Bloctel-hours regime: an opt-out ending a year and a half later, on a Saturday, opens
    # the next Monday morning (Bloctel checks on record cover that day).
    now = paris(2024, 11, 25, 11)
    expires = paris(2026, 5, 30, 12)  # Saturday
    g.add_optout(MOBILE, now - timedelta(days=1), expires_at=expires)
    clean_on_bloctel(g, MOBILE, now - timedelta(days=1))
    clean_on_bloctel(g, MOBILE, paris(2026, 5, 29, 9))
    d = g.may_call(MOBILE, NPV, now)
    assert d.codes == {ReasonCode.OPTED_OUT}
    assert d.next_allowed_at == paris(2026, 6, 1, 10)


# -- days and hours before 2026-08-11: only an express consent opens them (docs/rules.md §2) -------


def test_general_consent_does_not_open_evenings_before_2026_08_11(g: Guard) -> None:
    evening = paris(2025, 11, 24, 21)  # Monday 21:00, bloctel-hours regime
    clean_on_bloctel(g, MOBILE, paris(2025, 11, 20))
    consented(g, MOBILE, paris(2025, 11, 1))
    d = g.may_call(MOBILE, NPV, evening)
    assert d.codes == {ReasonCode.OUTSIDE_HOURS}


# -- the cap's candidates (docs/rules.md §3) ------------------------------------------------------
#
# The search for next_allowed_at asks the cap only about "attempt day + 30 days" midnights; the
# reference asks about every midnight. Both find the same instant on random bursts of attempts,
# in every zone a number may have (0690: Guadeloupe, Saint-Martin or Saint-Barthélemy), with the
# hours and the other rules in play.


def _every_midnight(self: object, ctx: object, t: datetime) -> Iterator[datetime]:
    from callguard.rules.base import midnight

    def midnights(tz: object) -> Iterator[datetime]:
        day = t.astimezone(tz).date()  # type: ignore[arg-type]
        while True:
            day += timedelta(days=1)
            yield midnight(day, tz)  # type: ignore[arg-type]

    import heapq

    return heapq.merge(*(midnights(tz) for tz in ctx.question.zones))  # type: ignore[attr-defined]


_CAP_NUMBERS = ["06 12 34 56 78", "0690 00 12 34", "03 88 12 34 56"]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    number=st.sampled_from(_CAP_NUMBERS),
    days=st.lists(st.integers(min_value=-45, max_value=3), min_size=3, max_size=12),
    hours=st.lists(st.integers(min_value=0, max_value=23), min_size=12, max_size=12),
    now_hour=st.integers(min_value=0, max_value=23),
    refused=st.booleans(),
)
def test_the_cap_frees_on_the_same_day_as_scanning_every_midnight(
    number: str, days: list[int], hours: list[int], now_hour: int, refused: bool
) -> None:
    from callguard.rules.frequency import Frequency

    now = paris(2026, 11, 24, now_hour) + timedelta(minutes=7)
    answers = []
    for reference in (False, True):
        with fresh_guard(professional="acme") as guard, pytest.MonkeyPatch.context() as patch:
            if reference:
                patch.setattr(Frequency, "starts", _every_midnight)
            consented(guard, number, now - timedelta(days=90))
            for day, hour in zip(days, hours, strict=False):
                guard.record_call(number, now + timedelta(days=day, hours=hour - now_hour))
            if refused:
                guard.record_refusal(number, now - timedelta(days=50))
            engine = guard.engine
            terms = engine.terms(NPV, Purpose.PROSPECTION, None, False)
            answers.append(engine.decide(engine.question(number, terms, engine.now(now))))
    assert answers[0] == answers[1]
