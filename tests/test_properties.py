"""Invariants over random histories (hypothesis).

* never a 5th attempt recorded by ``attempt()`` in any 30-day window of local dates;
* never an allow inside a refusal cooldown;
* ``may_call`` at ``next_allowed_at`` is allowed, and one second earlier it is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, Purpose
from conftest import NPV

PARIS = ZoneInfo("Europe/Paris")
NUMBERS = ["06 12 34 56 78", "0690 00 12 34", "03 88 12 34 56", "0262 16 12 34"]
START = datetime(2026, 6, 1, tzinfo=timezone.utc)
SPAN_MINUTES = 200 * 24 * 60

instants = st.integers(min_value=0, max_value=SPAN_MINUTES).map(
    lambda m: START + timedelta(minutes=m)
)
# Dialers call in bursts inside business hours: bias toward weekday windows so that the cap and
# the cooldown, not the calendar, are what refuse.
business = st.tuples(
    st.integers(min_value=0, max_value=199),
    st.sampled_from([10, 11, 12, 14, 15, 16, 17, 18, 19]),
    st.integers(min_value=0, max_value=59),
).map(
    lambda t: datetime.combine(
        (START + timedelta(days=t[0])).date(), datetime.min.time(), PARIS
    ).replace(hour=t[1], minute=t[2])
)

settings.register_profile(
    "callguard", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.load_profile("callguard")


def _local_days(guard: Guard, number: str) -> list[int]:
    from callguard._numbers import parse_number

    parsed = parse_number(number)
    tz = ZoneInfo(parsed.zones[0])
    rows = guard.engine.ledger.conn.execute(  # type: ignore[attr-defined]
        "SELECT at FROM attempts WHERE number = ?", (parsed.key,)
    ).fetchall()
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return sorted(
        (epoch + timedelta(microseconds=r[0])).astimezone(tz).date().toordinal() for r in rows
    )


@given(st.lists(st.tuples(st.sampled_from(NUMBERS), business), min_size=1, max_size=40))
def test_never_a_fifth_attempt_in_any_window(calls: list[tuple[str, datetime]]) -> None:
    with Guard(":memory:") as guard:
        for number in NUMBERS:
            guard.record_consent(number, START - timedelta(days=1), proof="p")
            guard.import_bloctel([], START, submitted=[number])
            guard.import_bloctel([], START + timedelta(days=60), submitted=[number])
            guard.import_bloctel([], START + timedelta(days=120), submitted=[number])
            guard.import_bloctel([], START + timedelta(days=180), submitted=[number])
        for number, at in calls:  # in the order drawn: not chronological
            guard.attempt(number, NPV, at, purpose=Purpose.PROSPECTION)
        for number in NUMBERS:
            days = _local_days(guard, number)
            for i, first in enumerate(days):
                assert sum(1 for d in days[i:] if d - first < 30) <= 4, days


@given(
    refusals=st.lists(st.tuples(st.sampled_from(NUMBERS), instants), max_size=4),
    asks=st.lists(st.tuples(st.sampled_from(NUMBERS), business), min_size=1, max_size=15),
)
def test_never_an_allow_inside_a_cooldown(
    refusals: list[tuple[str, datetime]], asks: list[tuple[str, datetime]]
) -> None:
    from callguard._numbers import parse_number

    with Guard(":memory:") as guard:
        for number in NUMBERS:
            guard.record_consent(number, START - timedelta(days=1), proof="p")
            guard.add_optout(
                number, START - timedelta(days=5), expires_at=START - timedelta(days=4)
            )
        for number, at in refusals:
            guard.record_refusal(number, at)
        for number, at in asks:
            if at.astimezone(PARIS).date() < datetime(2026, 8, 11).date():
                continue  # Bloctel regime: no check on record, always refused anyway
            decision = guard.may_call(number, NPV, at)
            if not decision.allowed:
                continue
            tz = ZoneInfo(parse_number(number).zones[0])
            day = at.astimezone(tz).date()
            for other, refused_at in refusals:
                if other == number and refused_at <= at:
                    assert (day - refused_at.astimezone(tz).date()).days > 60


fact = st.one_of(
    st.tuples(st.just("call"), instants),
    # A burst of attempts on consecutive days, so the cap is often what refuses.
    st.tuples(st.just("burst"), instants, st.integers(min_value=3, max_value=6)),
    st.tuples(st.just("refusal"), instants),
    st.tuples(st.just("consent"), instants),
    st.tuples(st.just("withdraw"), instants),
    st.tuples(st.just("optout"), instants, st.integers(min_value=1, max_value=90)),
    st.tuples(st.just("slot"), instants, st.integers(min_value=10, max_value=600)),
    st.tuples(st.just("contract"), instants),
    st.tuples(st.just("bloctel"), instants, st.booleans()),
)


def _apply(guard: Guard, number: str, item: tuple[object, ...]) -> None:
    kind, at = item[0], item[1]
    assert isinstance(at, datetime)
    if kind == "call":
        guard.record_call(number, at)
    elif kind == "burst":
        for day in range(int(item[2])):  # type: ignore[call-overload]
            guard.record_call(number, at + timedelta(days=day, hours=day))
    elif kind == "refusal":
        guard.record_refusal(number, at)
    elif kind == "consent":
        guard.record_consent(number, at, proof="p")
    elif kind == "withdraw":
        guard.withdraw_consent(number, at)
    elif kind == "optout":
        guard.add_optout(number, at, expires_at=at + timedelta(days=int(item[2])))  # type: ignore[call-overload]
    elif kind == "slot":
        guard.record_slot_consent(number, at, at + timedelta(minutes=int(item[2])), proof="p")  # type: ignore[call-overload]
    elif kind == "contract":
        guard.record_contract(number, at)
    else:
        guard.import_bloctel([number] if item[2] else [], at, submitted=[number])


@given(
    number=st.sampled_from(NUMBERS),
    history=st.lists(fact, max_size=12),
    now=instants,
    purpose=st.sampled_from([Purpose.PROSPECTION, Purpose.CONTRACT, Purpose.PRESS]),
)
def test_next_allowed_at_is_exact(
    number: str, history: list[tuple[object, ...]], now: datetime, purpose: Purpose
) -> None:
    with Guard(":memory:") as guard:
        for item in history:
            _apply(guard, number, item)
        decision = guard.may_call(number, NPV, now, purpose=purpose)
        if decision.allowed:
            assert decision.next_allowed_at is None
            return
        nxt = decision.next_allowed_at
        if nxt is None:
            return
        assert nxt > now
        at_next = guard.may_call(number, NPV, nxt, purpose=purpose)
        assert at_next.allowed, (nxt, at_next.reasons)
        before = guard.may_call(number, NPV, nxt - timedelta(seconds=1), purpose=purpose)
        assert not before.allowed, nxt
