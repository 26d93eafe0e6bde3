"""The lean path of ``may_call`` and ``attempt`` answers exactly what the general engine answers.

The lean path (``Engine.ask``) reads a consumer line without building a ``PhoneNumber``
(``consumer_line``) and shares one verdict between plain questions in the same situation (same
question, zones, areas, minute, Bloctel checks and opt-outs; see ``_engine``). Here every
decision it gives is compared with ``Engine.decide`` on a freshly built call — over random
ledgers holding every kind of fact, some stamped inside the very minute asked about or after it,
in every regime, in and out of hours, for several instants of the same minute and several
numbers of the same situation, so that shared verdicts are really reused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, Purpose, Sector, _engine
from callguard._exceptions import InvalidNumberError
from callguard._numbers import consumer_line, parse_number
from conftest import NPV, PARIS
from test_fast_paths import MOMENTS, _forms, _record, _test_number_strings


def _assert_line_equal(value: str) -> None:
    line = consumer_line(value)
    if line is None:
        return
    number = parse_number(value)
    assert number.consumer_line, value
    assert line == (
        number.key, number.e164, number.zones, number.territories, number.alsace_moselle
    ), value  # fmt: skip


@pytest.mark.parametrize("value", _test_number_strings())
def test_consumer_line_equals_parse_number_on_the_documented_forms(value: str) -> None:
    _assert_line_equal(value)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_consumer_line_equals_parse_number_on_random_numbers(nsn: str) -> None:
    for form in _forms(nsn):
        _assert_line_equal(form)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789+ .-/()\t", min_size=1, max_size=20))
def test_consumer_line_equals_parse_number_on_random_text(value: str) -> None:
    _assert_line_equal(value)


def test_consumer_line_answers_the_common_forms_and_leaves_the_rest() -> None:
    key = 33_612_345_678
    for form in ("06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678", "+33 (0)6 12 34 56 78"):
        assert consumer_line(form) == (key, "+33612345678", ("Europe/Paris",), ("FR",), False)
    assert consumer_line("03 88 12 34 56") is not None  # an Alsace-Moselle candidate
    assert consumer_line("03 88 12 34 56")[4] is True  # type: ignore[index]
    for other in ("0696 12 34 56", "0800 12 34 56", "3010", "+44 20 7946 0958", "x" * 200):
        assert consumer_line(other) is None
    with pytest.raises(InvalidNumberError):
        parse_number("0" * 200)
    assert consumer_line("0" * 190 + "0612345678") is None  # too long: the full path refuses it


# -- lean == general ---------------------------------------------------------------------------

# Numbers sharing situations (two metropolitan mobiles, two Paris lines), an Alsace-Moselle
# candidate, an overseas line, a 09 line, and forms the lean path leaves to the general one.
NUMBERS = [
    "06 12 34 56 78", "+33 6 12 34 56 79", "0033 6 12 34 56 80", "01 42 12 34 56",
    "01 42 12 34 57", "03 88 12 34 56", "0690 00 12 34", "09 47 50 12 34", "0800 12 34 56",
    "not a number",
]  # fmt: skip
_recorded_numbers = st.sampled_from(NUMBERS[:8])
# Facts days before, or seconds around, the instants asked about (some inside the same minute,
# some after it: a live decision takes a closing fact stamped later as already in force).
_offsets = st.one_of(
    st.integers(min_value=0, max_value=400).map(lambda d: timedelta(days=d, hours=3)),
    st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
    st.sampled_from([-20, -40]).map(lambda s: timedelta(seconds=s)),  # inside the minute
    st.integers(min_value=-3, max_value=3).map(lambda d: timedelta(days=30 * d, seconds=-7)),
    # Later the same evening or night: a fact stamped before the next opening.
    st.integers(min_value=-900, max_value=-1).map(lambda m: timedelta(minutes=m)),
)
_facts = st.lists(
    st.tuples(
        st.sampled_from(["attempt", "refusal", "optout", "consent", "withdrawal", "slot",
                         "contract", "listed", "clean", "off_hours", "expiring", "clean_all",
                         "optout_expiring", "voided", "voided_answered", "off_hours_brief"]),
        _recorded_numbers,
        _offsets,
    ),
    max_size=14,
)  # fmt: skip
# Several instants inside one minute: its first microsecond, its middle, its last.
_within = st.sampled_from(
    [
        timedelta(0),
        timedelta(seconds=29, microseconds=1),
        timedelta(seconds=59, microseconds=999_999),
    ]
)
_questions = st.tuples(
    st.sampled_from([NPV, "06 11 22 33 44", "hidden", "01 42 00 00 00"]),
    st.sampled_from([Purpose.PROSPECTION, "prospection", Purpose.CONTRACT, Purpose.PRESS,
                     Purpose.NON_COMMERCIAL]),
    st.sampled_from([None, Sector.ENERGY_RENOVATION, "CPF_TRAINING"]),
    st.booleans(),
)  # fmt: skip


def _store(guard: Guard, kind: str, number: str, at: datetime) -> None:
    if kind == "clean_all":  # one Bloctel return for every number: the same check for all
        guard.import_bloctel([], at, submitted=NUMBERS[:8])
    elif kind == "optout_expiring":
        guard.add_optout(number, at, expires_at=at + timedelta(days=1, seconds=13))
    elif kind == "off_hours":
        guard.record_consent(number, at, proof="form", off_hours=True)
    elif kind == "off_hours_brief":  # opens the evenings for an hour
        guard.record_consent(
            number, at, proof="form", off_hours=True, expires_at=at + timedelta(hours=1)
        )
    elif kind == "expiring":
        guard.record_consent(number, at, proof="form", expires_at=at + timedelta(days=2))
    else:
        _record(guard, kind, number, at)


def _general(guard: Guard) -> Callable[..., object]:
    engine = guard.engine

    def decide(number: str, caller_id: str, t: datetime, purpose: object, sector: object,
               recorded: bool) -> object:  # fmt: skip
        terms = engine.terms(caller_id, purpose, sector, recorded)
        return engine.decide(engine.question(number, terms, engine.now(t)))

    return decide


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts,
    moment=st.sampled_from(MOMENTS),
    within=st.lists(_within, min_size=1, max_size=3),
    questions=st.lists(_questions, min_size=1, max_size=2),
)
def test_lean_may_call_equals_the_general_engine(
    facts: list[tuple[str, str, timedelta]],
    moment: datetime,
    within: list[timedelta],
    questions: list[tuple[str, object, object, bool]],
) -> None:
    minute = moment.replace(second=0, microsecond=0)
    with Guard(":memory:") as guard:
        for kind, number, offset in facts:
            _store(guard, kind, number, minute - offset)
        general = _general(guard)
        for caller_id, purpose, sector, recorded in questions:
            for delta in within:
                t = minute + delta
                for number in NUMBERS:
                    lean = guard.may_call(
                        number, caller_id, t, purpose=purpose, sector=sector,
                        recorded_message=recorded,
                    )  # fmt: skip
                    assert lean == general(number, caller_id, t, purpose, sector, recorded), (
                        number, t, caller_id, purpose, sector, recorded,
                    )  # fmt: skip


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=_facts, moment=st.sampled_from(MOMENTS), within=_within)
def test_lean_attempt_equals_the_general_engine(
    facts: list[tuple[str, str, timedelta]], moment: datetime, within: timedelta
) -> None:
    # attempt() decides as may_call does and records only what it allows: compared on two
    # ledgers built alike, one of them answered by the general engine alone.
    t = moment.replace(second=0, microsecond=0) + within
    answers: list[list[object]] = []
    for lean in (False, True):
        with Guard(":memory:") as guard, pytest.MonkeyPatch.context() as patch:
            if not lean:
                patch.setattr(_engine.Engine, "shared", lambda *args: None)
            for kind, number, offset in facts:
                _store(guard, kind, number, t - offset)
            answers.append([guard.attempt(number, NPV, t) for number in NUMBERS * 3])
            answers.append([guard.may_call(number, NPV, t) for number in NUMBERS])
            if lean and not facts:
                assert len(guard.engine.answers)  # shared answers did answer
    assert answers[0] == answers[2]
    assert answers[1] == answers[3]


def test_plain_questions_in_one_minute_share_one_judgement(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    judge = _engine.judge

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return judge(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "judge", counting)
    t = datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS)  # out of hours: a refusal and a search
    numbers = [f"06 12 34 {i // 100:02d} {i % 100:02d}" for i in range(200)]
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=3), submitted=numbers)
        guard.may_call("06 00 00 00 01", NPV, t)  # the question is accepted once, in full
        calls.clear()
        decisions = [
            guard.may_call(n, NPV, t + timedelta(seconds=i % 50)) for i, n in enumerate(numbers)
        ]
    assert len(calls) == 1
    assert {d.next_allowed_at for d in decisions} == {datetime(2025, 5, 14, 10, 0, tzinfo=PARIS)}
    assert [d.number for d in decisions] == [parse_number(n).e164 for n in numbers]


def test_only_a_consent_valid_in_the_same_way_shares_an_allowed_verdict() -> None:
    # Out of hours in 2025 an off-hours consent opens the call, a general consent does not:
    # two numbers in the same situation but for that are judged apart.
    t = datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=2), submitted=NUMBERS[:3])
        guard.record_consent(NUMBERS[0], t - timedelta(days=1), proof="form", off_hours=True)
        guard.record_consent(NUMBERS[1], t - timedelta(days=1), proof="form")
        guard.may_call(NUMBERS[2], NPV, t)  # the question is accepted once, in full
        first = guard.may_call(NUMBERS[0], NPV, t)
        second = guard.may_call(NUMBERS[1], NPV, t)
    assert first.allowed
    assert not second.allowed
    assert [r.code for r in second.reasons] == ["OUTSIDE_HOURS"]


def test_a_bloctel_check_inside_the_minute_is_judged_on_its_own() -> None:
    # Checked at 10:30:20: asked at 10:30:10 the number is unchecked, at 10:30:30 it is clean.
    check = datetime(2022, 5, 10, 10, 30, 20, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], check, submitted=["06 12 34 56 78"])
        before = guard.may_call("06 12 34 56 78", NPV, check - timedelta(seconds=10))
        after = guard.may_call("06 12 34 56 78", NPV, check + timedelta(seconds=10))
        again = guard.may_call("06 12 34 56 78", NPV, check - timedelta(seconds=5))
    assert not before.allowed and after.allowed and not again.allowed


# Numbers with consents share a verdict only when their consents answer alike now and until the
# verdict's next_allowed_at. Each scenario: (instant, facts of A, facts of B); A and B are
# Bloctel-checked together, so only their consents tell them apart. Both orders are asked.
_A, _B, _C = NUMBERS[0], NUMBERS[1], NUMBERS[2]
_T25 = datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS)  # out of hours, Bloctel regime
_T26 = datetime(2026, 11, 24, 21, 30, 5, tzinfo=PARIS)  # out of hours, consent regime
_YEAR = timedelta(days=365)
CONSENT_SCENARIOS = {
    # B's consent expires before tomorrow's opening: its search goes on past it.
    "expires before the opening": (
        _T26,
        [("consent", _A, timedelta(days=10))],
        [("consent", _B, timedelta(days=10), -timedelta(hours=1))],
    ),
    # B's off-hours consent is given in half an hour and ends in an hour: open in between.
    "a consent given before the opening": (
        _T25,
        [("consent", _A, timedelta(days=10))],
        [
            ("consent", _B, timedelta(days=10)),
            ("off_hours", _B, -timedelta(minutes=30), -timedelta(hours=1)),
        ],
    ),
    # Both consents expired: the refusal names each one's date.
    "expired consents of different dates": (
        _T26,
        [("consent", _A, 2 * _YEAR + timedelta(days=200))],
        [("consent", _B, 2 * _YEAR + timedelta(days=300))],
    ),
}


@pytest.mark.parametrize("name", sorted(CONSENT_SCENARIOS))
@pytest.mark.parametrize("first", ["A", "B"])
def test_consented_numbers_share_only_a_steady_verdict(name: str, first: str) -> None:
    t, facts_a, facts_b = CONSENT_SCENARIOS[name]
    order = [_A, _B] if first == "A" else [_B, _A]
    answers: list[list[object]] = []
    for lean in (False, True):
        with Guard(":memory:") as guard, pytest.MonkeyPatch.context() as patch:
            if not lean:
                patch.setattr(_engine.Engine, "shared", lambda *args: None)
            guard.import_bloctel([], t - timedelta(days=2), submitted=[_A, _B, _C])
            for kind, number, before, *until in facts_a + facts_b:
                guard.record_consent(
                    number, t - before, proof="form", off_hours=kind == "off_hours",
                    expires_at=t - until[0] if until else None,
                )  # fmt: skip
            guard.may_call(_C, NPV, t)  # the question is accepted once, in full
            answers.append(
                [guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(order * 2)]
            )
    assert answers[0] == answers[1]
    assert answers[0][0].reasons != answers[0][1].reasons or (
        answers[0][0].next_allowed_at != answers[0][1].next_allowed_at
    )  # the two numbers are judged differently


# An off-hours consent given between the question and the next opening, and perhaps ended
# before it, opens calls a shared answer would not: two numbers alike but for it (a consent each,
# the same Bloctel check), asked both ways round, in the evenings and nights of the regimes
# that read off-hours consents and of the one that does not.
_EVENINGS = [
    datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS),  # Tuesday night
    datetime(2025, 5, 16, 20, 0, 0, tzinfo=PARIS),  # Friday, as the hours close
    datetime(2025, 5, 17, 9, 59, 59, tzinfo=PARIS),  # Saturday morning
    datetime(2025, 12, 24, 19, 59, tzinfo=PARIS),  # the eve of a holiday
    datetime(2026, 8, 10, 21, 30, tzinfo=PARIS),  # the eve of the opt-in regime
    _T26,
]


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moment=st.sampled_from(_EVENINGS),
    given=st.integers(min_value=-30, max_value=900),  # minutes after the question
    lasts=st.one_of(st.none(), st.integers(min_value=1, max_value=900)),  # minutes
    consent_days=st.sampled_from([10, 400]),
    b_first=st.booleans(),
)
def test_an_off_hours_consent_given_before_the_opening_is_never_shared_away(
    moment: datetime, given: int, lasts: int | None, consent_days: int, b_first: bool
) -> None:
    order = [_B, _A] * 2 if b_first else [_A, _B] * 2
    with Guard(":memory:") as guard:
        guard.import_bloctel([], moment - timedelta(days=2), submitted=[_A, _B])
        for number in (_A, _B):
            guard.record_consent(number, moment - timedelta(days=consent_days), proof="form")
        at = moment + timedelta(minutes=given)
        guard.record_consent(
            _B, at, proof="form", off_hours=True,
            expires_at=None if lasts is None else at + timedelta(minutes=lasts),
        )  # fmt: skip
        decisions = [guard.may_call(n, NPV, moment + timedelta(seconds=i))
                     for i, n in enumerate(order)]  # fmt: skip
        general = _general(guard)
        expected = [general(n, NPV, moment + timedelta(seconds=i), "PROSPECTION", None, False)
                    for i, n in enumerate(order)]  # fmt: skip
    assert decisions == expected


def test_attempts_at_the_cap_are_a_numbers_own() -> None:
    # Four attempts each, on different days: each refusal names its own days.
    t = datetime(2026, 11, 24, 11, 0, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=1), submitted=[_A, _B, _C])
        for number, first in ((_A, 2), (_B, 9)):
            guard.record_consent(number, t - timedelta(days=60), proof="form")
            for day in range(4):
                guard.record_call(number, t - timedelta(days=first + day), caller_id=NPV)
        guard.may_call(_C, NPV, t)  # the question is accepted once, in full
        lean = [guard.may_call(n, NPV, t) for n in (_A, _B)]
        scrubbed = guard.scrub([_A, _B], NPV, t)
        general = _general(guard)
        expected = [general(n, NPV, t, Purpose.PROSPECTION, None, False) for n in (_A, _B)]
    assert lean == expected == scrubbed
    assert lean[0].reasons != lean[1].reasons


def test_an_opt_out_ending_inside_the_minute_is_judged_on_its_own() -> None:
    # The opt-out ends at 11:00:20: asked at 11:00:05 the call waits for it, at 11:00:30 not.
    t = datetime(2026, 11, 24, 11, 0, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        for number in (_A, _B):
            guard.record_consent(number, t - timedelta(days=60), proof="form")
        guard.add_optout(_A, t - timedelta(days=3), expires_at=t + timedelta(seconds=15))
        guard.may_call(_B, NPV, t)  # the question is accepted once, in full
        before = guard.may_call(_A, NPV, t)
        after = guard.may_call(_A, NPV, t + timedelta(seconds=25))
    assert not before.allowed and before.next_allowed_at == t + timedelta(seconds=15)
    assert after.allowed


def test_a_scrub_tells_numbers_apart_by_their_consents() -> None:
    # Same class of line, same Bloctel check, a few attempts each: only A has a consent.
    t = datetime(2026, 11, 24, 11, 0, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=1), submitted=[_A, _B])
        guard.record_consent(_A, t - timedelta(days=60), proof="form")
        for number in (_A, _B):
            guard.record_call(number, t - timedelta(days=3), caller_id=NPV)
        scrubbed = guard.scrub([_A, _B, _A], NPV, t)
        one_by_one = [guard.may_call(n, NPV, t) for n in (_A, _B, _A)]
    assert scrubbed == one_by_one
    assert [d.allowed for d in scrubbed] == [True, False, True]


@pytest.mark.parametrize("moselle_first", [True, False])
def test_lines_of_one_zone_but_other_holidays_never_share_a_verdict(moselle_first: bool) -> None:
    # Good Friday is a public holiday in Alsace-Moselle only (Code du travail L3134-13): a Metz
    # line and a Paris line share a zone (Europe/Paris) and a minute, not the closed day.
    t = datetime(2025, 4, 18, 11, 0, 5, tzinfo=PARIS)
    metz, paris_line = "03 87 12 34 56", "01 42 12 34 56"
    order = [metz, paris_line] if moselle_first else [paris_line, metz]
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=2), submitted=order)
        guard.may_call("01 42 00 00 01", NPV, t)  # the question is accepted once, in full
        at = {n: t + timedelta(seconds=i) for i, n in enumerate(order)}
        decisions = {n: guard.may_call(n, NPV, at[n]) for n in order}
        decide = _general(guard)
        general = {n: decide(n, NPV, at[n], "PROSPECTION", None, False) for n in order}
        attempts = {n: guard.attempt(n, NPV, at[n]) for n in order}
    assert decisions[paris_line].allowed
    assert not decisions[metz].allowed
    assert decisions == general
    assert attempts[paris_line].allowed and attempts[paris_line].attempt_id is not None
    assert not attempts[metz].allowed and attempts[metz].attempt_id is None
    assert attempts[metz].reasons == general[metz].reasons


# -- what the situation reads of the facts ---------------------------------------------------------
#
# A shared answer holds of a number's facts only what the rules read: of a Bloctel check made
# before the minute, whether it listed the number and its local date; of a permanent opt-out,
# that there is one; of consents, whether one is valid where the rules read it; of attempts
# and refusals, that too few attempts fall around the answer's span to fill a window and no
# cooldown runs there. Each number below has a story of its own (checks at instants of their
# own, some at a local midnight 29 to 31 days before, some inside the minute or later; attempts
# and refusals before, inside the minute and after, years apart; an opt-out; a consent of some
# kind, before or after the opt-in regime): every answer must still be the general engine's.

_SHARERS = [
    "06 12 34 56 78",
    "+33 6 12 34 56 79",
    "07 31 00 00 01",
    "0692 00 12 34",
    "0692 00 12 35",
]
_ZONES = {n: "Indian/Reunion" if n.startswith("0692") else "Europe/Paris" for n in _SHARERS}
_SWITCH_EVE = [
    datetime(2026, 8, 10, 21, 30, tzinfo=PARIS),  # Réunion is already in the opt-in regime
    datetime(2026, 8, 10, 11, 0, tzinfo=PARIS),
]
_check_offsets = st.one_of(
    st.tuples(st.integers(0, 35), st.integers(0, 1439)).map(
        lambda dm: timedelta(days=dm[0], minutes=dm[1])
    ),
    st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=1, max_value=40).map(lambda d: -timedelta(days=d, minutes=7)),
    st.sampled_from([29, 30, 31]),  # the local midnight that many days before
)
_consent_offsets = st.one_of(
    st.integers(min_value=-500, max_value=400).map(lambda d: timedelta(days=d, hours=5)),
    st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
    st.integers(min_value=-900, max_value=-1).map(lambda m: timedelta(minutes=m)),  # tonight
)
_stories = st.fixed_dictionaries(
    {
        "checks": st.lists(st.tuples(st.booleans(), _check_offsets), max_size=2),
        "attempts": st.lists(
            st.one_of(
                st.integers(min_value=-40, max_value=70).map(lambda d: timedelta(days=d, hours=2)),
                st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
                st.integers(min_value=-3, max_value=3).map(lambda y: timedelta(days=365 * y)),
            ),
            max_size=7,
        ),
        "refusals": st.lists(
            st.one_of(
                st.integers(min_value=-10, max_value=75).map(lambda d: timedelta(days=d, hours=7)),
                st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
                st.integers(min_value=1, max_value=3).map(lambda y: timedelta(days=365 * y)),
            ),
            max_size=2,
        ),
        "optout": st.one_of(st.none(), _offsets),
        # (Two: a consent and an off-hours one given tonight, say.)
        "consents": st.lists(
            st.tuples(
                st.sampled_from(["consent", "off_hours", "expiring", "off_hours_brief"]),
                _consent_offsets,
            ),
            max_size=2,
        ),
    }
)


def _when(minute: datetime, offset: timedelta | int, zone: str) -> datetime:
    if isinstance(offset, int):
        local = minute.astimezone(ZoneInfo(zone)).date() - timedelta(days=offset)
        return datetime.combine(local, datetime.min.time(), ZoneInfo(zone))
    return minute - offset


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stories=st.lists(_stories, min_size=len(_SHARERS), max_size=len(_SHARERS)),
    order=st.permutations(_SHARERS),
    moment=st.sampled_from(MOMENTS + _SWITCH_EVE),
    within=st.lists(_within, min_size=1, max_size=2),
    purpose=st.sampled_from([Purpose.PROSPECTION, Purpose.PRESS]),
    recorded=st.booleans(),
)
def test_numbers_with_facts_of_their_own_share_only_the_general_engines_answer(
    stories: list[dict[str, object]],
    order: list[str],
    moment: datetime,
    within: list[timedelta],
    purpose: Purpose,
    recorded: bool,
) -> None:
    minute = moment.replace(second=0, microsecond=0)
    with Guard(":memory:") as guard:
        for number, story in zip(_SHARERS, stories, strict=True):
            zone = _ZONES[number]
            for listed, offset in story["checks"]:  # type: ignore[attr-defined]
                at = _when(minute, offset, zone)
                guard.import_bloctel([number] if listed else [], at, submitted=[number])
            for offset in story["attempts"]:  # type: ignore[attr-defined]
                guard.record_call(number, minute - offset, caller_id=NPV)
            for offset in story["refusals"]:  # type: ignore[attr-defined]
                guard.record_refusal(number, minute - offset)
            if story["optout"] is not None:
                guard.add_optout(number, minute - story["optout"])  # type: ignore[operator]
            for kind, offset in story["consents"]:  # type: ignore[attr-defined]
                _store(guard, kind, number, minute - offset)
        general = _general(guard)
        for delta in within:
            for number in order:
                t = minute + delta
                shared = guard.may_call(number, NPV, t, purpose=purpose, recorded_message=recorded)
                expected = general(number, NPV, t, purpose, None, recorded)
                assert shared == expected, (number, t, purpose, recorded)


def _counting_judge(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    judge = _engine.judge

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return judge(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_engine, "judge", counting)
    return calls


_T = datetime(2025, 5, 13, 10, 30, 5, tzinfo=PARIS)  # in hours, Bloctel regime


def test_numbers_checked_at_different_instants_of_one_day_share_one_judgement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_judge(monkeypatch)
    day = datetime(2025, 5, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([_A], day + timedelta(hours=9))
        guard.import_bloctel([_B], day + timedelta(hours=16, minutes=41, seconds=7))
        guard.import_bloctel([_C], day - timedelta(minutes=1))  # 4 May, 23:59
        guard.import_bloctel([], _T - timedelta(days=3), submitted=["06 00 00 00 01"])
        guard.may_call("06 00 00 00 01", NPV, _T)  # the question is accepted once, in full
        calls.clear()
        decisions = [guard.may_call(n, NPV, _T + timedelta(seconds=i)) for i, n in enumerate(
            (_A, _B, _C))]  # fmt: skip
        judged = len(calls)
        general = _general(guard)
        expected = [
            general(n, NPV, _T + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate((_A, _B, _C))
        ]
    assert decisions == expected
    assert judged == 2  # A and B share; C's check is of another day, which its refusal names
    assert decisions[0].reasons == decisions[1].reasons != decisions[2].reasons


@pytest.mark.parametrize("later", [False, True])
@pytest.mark.parametrize("zone", ["Europe/Paris", "Indian/Reunion"])
def test_a_check_ages_by_its_local_date(zone: str, later: bool) -> None:
    # Checked at the consumer's midnight 30 days ago: still valid; a second earlier (23:59:59
    # the day before, the same UTC date) 31 days ago: too old. Each age twice, alternating, so
    # a shared answer is offered to a number checked on the other local date.
    numbers = ["0692 00 12 3" + str(i) for i in range(4)] if zone == "Indian/Reunion" else [
        "06 12 34 56 7" + str(i) for i in range(4)]  # fmt: skip
    t = datetime(2025, 5, 13, 14, 0, 5, tzinfo=ZoneInfo(zone))
    midnight = datetime.combine(t.date() - timedelta(days=30), datetime.min.time(), ZoneInfo(zone))
    checks = (midnight, midnight - timedelta(seconds=1)) * 2
    assert checks[0].astimezone(timezone.utc).date() == checks[1].astimezone(timezone.utc).date()
    with Guard(":memory:") as guard:
        for number, at in zip(numbers, checks, strict=True):
            guard.import_bloctel([], at, submitted=[number])
        if later:  # every number checked again in two days: the stale ones wait for it
            guard.import_bloctel([], t + timedelta(days=2), submitted=numbers)
        guard.may_call(numbers[0], NPV, t)
        decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(
            numbers)]  # fmt: skip
        general = _general(guard)
        expected = [
            general(n, NPV, t + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate(numbers)
        ]
    assert decisions == expected
    assert [d.allowed for d in decisions] == [True, False, True, False]


def test_a_check_inside_the_minute_is_still_judged_on_its_own_beside_a_shared_answer() -> None:
    # A checked a day before, B checked at 10:30:20: B's answer changes inside the minute.
    with Guard(":memory:") as guard:
        guard.import_bloctel([], _T - timedelta(days=1), submitted=[_A])
        guard.import_bloctel([], _T.replace(second=20), submitted=[_B])
        guard.may_call(_A, NPV, _T)
        before = guard.may_call(_B, NPV, _T + timedelta(seconds=5))
        after = guard.may_call(_B, NPV, _T + timedelta(seconds=25))
    assert not before.allowed and [r.code for r in before.reasons] == ["BLOCTEL_UNCHECKED"]
    assert before.next_allowed_at == _T.replace(second=20)
    assert after.allowed


def test_numbers_opted_out_on_different_days_share_one_judgement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_judge(monkeypatch)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], _T - timedelta(days=3), submitted=[_A, _B, _C])
        guard.add_optout(_A, _T - timedelta(days=200))
        guard.add_optout(_B, _T - timedelta(days=2, hours=5))
        guard.add_optout(_C, _T + timedelta(minutes=3))  # stamped later: in force already
        guard.may_call("06 00 00 00 01", NPV, _T)  # the question is accepted once, in full
        calls.clear()
        decisions = [guard.may_call(n, NPV, _T + timedelta(seconds=i)) for i, n in enumerate(
            (_A, _B, _C))]  # fmt: skip
        judged = len(calls)
        general = _general(guard)
        expected = [
            general(n, NPV, _T + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate((_A, _B, _C))
        ]
    assert decisions == expected
    assert judged == 1
    assert {r.code for d in decisions for r in d.reasons} == {"OPTED_OUT"}


def test_listed_numbers_share_an_answer_when_their_consents_agree_from_the_opt_in_regime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Listed on Bloctel in May 2025, each with a consent given in 2026: the consent is read only
    # from 11 August 2026 on. A and B consented before it (valid from then on: one answer, the
    # regime's first opening); C after it, on a date of its own; D on its first day, at noon;
    # F in 2024 (expired: never callable); E on the regime's first night, for one day.
    calls = _counting_judge(monkeypatch)
    given = {
        _A: datetime(2026, 2, 3, 15, 7, tzinfo=PARIS),
        _B: datetime(2026, 6, 30, 9, 1, tzinfo=PARIS),
        _C: datetime(2026, 9, 2, 16, 33, tzinfo=PARIS),
        "06 12 34 56 81": datetime(2026, 8, 11, 12, 10, tzinfo=PARIS),
        "06 12 34 56 83": datetime(2024, 1, 10, 12, 0, tzinfo=PARIS),
        "06 12 34 56 82": datetime(2026, 8, 11, 0, 30, tzinfo=PARIS),
    }
    with Guard(":memory:") as guard:
        guard.import_bloctel(list(given), _T - timedelta(days=3))
        for number, at in given.items():
            ends = at + timedelta(days=1) if number.endswith("82") else None
            guard.record_consent(number, at, proof="form", expires_at=ends)
        guard.may_call("06 00 00 00 01", NPV, _T)  # the question is accepted once, in full
        calls.clear()
        decisions = [guard.may_call(n, NPV, _T + timedelta(seconds=i)) for i, n in enumerate(
            given)]  # fmt: skip
        judged = len(calls)
        general = _general(guard)
        expected = [
            general(n, NPV, _T + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate(given)
        ]
    assert decisions == expected
    # A alone is judged in full: B shares its answer, and the others are refused until its
    # next_allowed_at, from which their own search starts.
    assert judged == 1
    assert [d.next_allowed_at for d in decisions] == [
        datetime(2026, 8, 11, 10, 0, tzinfo=PARIS),
        datetime(2026, 8, 11, 10, 0, tzinfo=PARIS),
        datetime(2026, 9, 2, 16, 33, tzinfo=PARIS),
        datetime(2026, 8, 11, 12, 10, tzinfo=PARIS),
        None,
        datetime(2026, 8, 11, 10, 0, tzinfo=PARIS),
    ]


def test_attempts_far_from_the_answers_span_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # May 2022 (Bloctel regime, no cap): A and B have four attempts each in 2025, C four in the
    # days around the question. The cap is read from 1 March 2023 on and only around the
    # answer's span: A and B share one answer with a number without attempts; C, whose
    # attempts fall in the windows around the instant asked about, is judged on its own.
    t = datetime(2022, 5, 10, 10, 30, 5, tzinfo=PARIS)
    calls = _counting_judge(monkeypatch)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=3), submitted=[_A, _B, _C, "06 00 00 00 01"])
        for number, first in ((_A, datetime(2025, 1, 6, 11, tzinfo=PARIS)),
                              (_B, datetime(2025, 3, 3, 15, tzinfo=PARIS)),
                              (_C, t - timedelta(days=2))):  # fmt: skip
            for day in range(4):
                guard.record_call(number, first + timedelta(days=day), caller_id=NPV)
        guard.may_call("06 00 00 00 01", NPV, t)  # the question is accepted once, in full
        calls.clear()
        decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(
            (_A, _B, _C))]  # fmt: skip
        judged = len(calls)
        general = _general(guard)
        expected = [
            general(n, NPV, t + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate((_A, _B, _C))
        ]
    assert decisions == expected
    assert all(d.allowed for d in decisions)
    assert judged == 1  # C alone


def test_attempts_that_fill_a_window_the_search_crosses_are_read() -> None:
    # Out of hours on Friday 16 May 2025: the next opening is Monday 19 May. A's four attempts
    # fill the window of 19 May from 20 May on, B's from 2 June: both are asked after a number
    # without attempts answered "Monday 10:00", and A's own answer is later.
    t = datetime(2025, 5, 16, 21, 30, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=3), submitted=[_A, _B, _C])
        for number, first in ((_A, datetime(2025, 5, 20, 11, tzinfo=PARIS)),
                              (_B, datetime(2025, 6, 2, 11, tzinfo=PARIS))):  # fmt: skip
            for day in range(4):
                guard.record_call(number, first + timedelta(days=day), caller_id=NPV)
        plain = guard.may_call(_C, NPV, t)
        decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i + 1)) for i, n in enumerate(
            (_A, _B))]  # fmt: skip
        general = _general(guard)
        expected = [
            general(n, NPV, t + timedelta(seconds=i + 1), "PROSPECTION", None, False)
            for i, n in enumerate((_A, _B))
        ]
    assert decisions == expected
    assert plain.next_allowed_at == datetime(2025, 5, 19, 10, 0, tzinfo=PARIS)
    assert decisions[0].next_allowed_at != plain.next_allowed_at


def test_refusals_are_read_only_where_their_cooldown_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # May 2022 (Bloctel regime, no cooldown before 1 March 2023): numbers refused the day
    # before, or in 2025, share an allowed answer with a number never refused. In May 2025, a
    # refusal of March 2025 (cooldown over) is not read; one of last week is the number's own.
    calls = _counting_judge(monkeypatch)
    plain = "06 00 00 00 01"
    answers = {}
    for t, refused in (
        (datetime(2022, 5, 10, 10, 30, 5, tzinfo=PARIS),
         {_A: timedelta(days=1), _B: -timedelta(days=1100)}),
        (datetime(2025, 5, 13, 10, 30, 5, tzinfo=PARIS),
         {_A: timedelta(days=61, hours=11), _B: timedelta(days=7)}),
    ):  # fmt: skip
        with Guard(":memory:") as guard:
            guard.import_bloctel([], t - timedelta(days=3), submitted=[_A, _B, plain])
            for number, before in refused.items():
                guard.record_refusal(number, t - before)
            guard.may_call(plain, NPV, t)  # the question is accepted once, in full
            calls.clear()
            decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(
                (_A, _B))]  # fmt: skip
            answers[t.year] = (decisions, len(calls))
            general = _general(guard)
            expected = [
                general(n, NPV, t + timedelta(seconds=i), "PROSPECTION", None, False)
                for i, n in enumerate((_A, _B))
            ]
        assert decisions == expected
    assert answers[2022][1] == 0 and all(d.allowed for d in answers[2022][0])
    assert answers[2025][1] == 1
    assert answers[2025][0][0].allowed and not answers[2025][0][1].allowed


@pytest.mark.parametrize("zone", ["Europe/Paris", "Indian/Reunion"])
@pytest.mark.parametrize("edge", ["first day", "last day"])
def test_attempts_at_the_edges_of_a_window_are_read(zone: str, edge: str) -> None:
    # Four attempts in the 30 days ending (or starting) on the day asked about, one of them on
    # the window's first (or last) day at its first (or last) minute: the cap refuses. Asked
    # after a number without attempts, whose allowed answer must not be shared.
    tz = ZoneInfo(zone)
    number, plain = ("0692 00 12 34", "0692 00 12 35") if zone == "Indian/Reunion" else (_A, _B)
    t = datetime(2025, 5, 13, 11, 0, 5, tzinfo=tz)
    today = datetime.combine(t.date(), datetime.min.time(), tz)
    if edge == "first day":
        attempts = [today - timedelta(days=29), *(t - timedelta(days=d) for d in (1, 2, 3))]
    else:
        last = today + timedelta(days=30, minutes=-1)
        attempts = [last, *(t + timedelta(days=d) for d in (1, 2, 3))]
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=3), submitted=[number, plain])
        for at in attempts:
            guard.record_call(number, at, caller_id=NPV)
        first = guard.may_call(plain, NPV, t)
        decision = guard.may_call(number, NPV, t + timedelta(seconds=1))
        expected = _general(guard)(number, NPV, t + timedelta(seconds=1), "PROSPECTION", None,
                                   False)  # fmt: skip
    assert first.allowed
    assert decision == expected
    assert [r.code for r in decision.reasons] == ["FREQUENCY_CAP"]


@pytest.mark.parametrize(
    ("asked", "refused", "allowed"),
    [
        # The last evening of the Bloctel regime: no cooldown yet.
        (datetime(2023, 2, 28, 23, 59, 5, tzinfo=PARIS), datetime(2023, 2, 20, 11, tzinfo=PARIS),
         True),
        # The D223-9 calendar's first morning: the refusal of 20 February is in force.
        (datetime(2023, 3, 1, 10, 30, 5, tzinfo=PARIS), datetime(2023, 2, 20, 11, tzinfo=PARIS),
         False),
        # 60 full days after 20 April (refused through 19 June), callable from 20 June.
        (datetime(2023, 6, 19, 19, 59, 5, tzinfo=PARIS), datetime(2023, 4, 20, 11, tzinfo=PARIS),
         False),
        (datetime(2023, 6, 20, 10, 0, 5, tzinfo=PARIS), datetime(2023, 4, 20, 11, tzinfo=PARIS),
         True),
    ],
)  # fmt: skip
def test_a_refusal_is_read_from_the_calendars_first_day_to_its_cooldowns_end(
    asked: datetime, refused: datetime, allowed: bool
) -> None:
    # A refused number asked after one never refused, in the same minute.
    with Guard(":memory:") as guard:
        guard.import_bloctel([], asked - timedelta(days=3), submitted=[_A, _B])
        guard.record_refusal(_A, refused)
        first = guard.may_call(_B, NPV, asked)
        decision = guard.may_call(_A, NPV, asked + timedelta(seconds=1))
        expected = _general(guard)(_A, NPV, asked + timedelta(seconds=1), "PROSPECTION", None,
                                   False)  # fmt: skip
    assert first.allowed
    assert decision == expected
    assert decision.allowed is allowed


def test_an_off_hours_consent_is_read_until_the_opt_in_regime() -> None:
    # Sunday 9 August 2026, evening (Bloctel regime): both numbers are checked at 02:00 on
    # Monday, when only a consent to calls outside the hours opens them. B's lasts; A's ends at
    # 01:00 (A keeps a general consent, so both answer alike from 11 August on): A waits for
    # Monday 10:00, B is callable at 02:00.
    t = datetime(2026, 8, 9, 21, 30, 5, tzinfo=PARIS)
    checked = datetime(2026, 8, 10, 2, 0, tzinfo=PARIS)
    given = datetime(2026, 8, 1, 12, 0, tzinfo=PARIS)
    for first in (_A, _B):
        with Guard(":memory:") as guard:
            guard.import_bloctel([], checked, submitted=[_A, _B])
            guard.record_consent(_A, given, proof="form", off_hours=True,
                                 expires_at=datetime(2026, 8, 10, 1, 0, tzinfo=PARIS))  # fmt: skip
            guard.record_consent(_A, given, proof="form")
            guard.record_consent(_B, given, proof="form", off_hours=True)
            order = [first, _B if first == _A else _A]
            decisions = {n: guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(
                order)}  # fmt: skip
            general = _general(guard)
            expected = {
                n: general(n, NPV, t + timedelta(seconds=i), "PROSPECTION", None, False)
                for i, n in enumerate(order)
            }
        assert decisions == expected
        assert decisions[_A].next_allowed_at == datetime(2026, 8, 10, 10, 0, tzinfo=PARIS)
        assert decisions[_B].next_allowed_at == checked


# -- refusals that time does not lift ----------------------------------------------------------
#
# A number listed on Bloctel is refused until the opt-in regime, and from then on needs a
# consent: without one (or in May 2022, when the regime's first day lies beyond the search's
# horizon) time never lifts its refusal. Attempts and refusals only take instants away from
# where every rule passes, so such an answer, kept for a number without them, is that of a
# number with them whenever the cap and the cooldown pass at the instant asked about; a
# permanent opt-out likewise refuses at every instant whatever consents the number has.


def test_attempts_and_refusals_out_of_the_instant_do_not_move_a_refusal_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Listed on Bloctel, without a consent: refused for good. A was refused in February 2025
    # (in May 2022 the cooldown has not begun yet; the search's span reaches the calendar's
    # regimes, where it runs), B has four attempts in October 2023 and four in October 2025
    # (each set fills windows the span holds, none around the instant asked about): both share
    # the answer of a listed number without them. In May 2025 C, refused a week ago, and D,
    # whose four attempts fill the window of the day asked about, are refused for reasons of
    # their own; in May 2022 D's attempts are near enough to the instant to be judged apart.
    calls = _counting_judge(monkeypatch)
    plain, d = "06 00 00 00 01", "06 12 34 56 81"
    for t, judged in ((datetime(2022, 5, 10, 21, 30, 5, tzinfo=PARIS), 1),
                      (datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS), 2)):  # fmt: skip
        with Guard(":memory:") as guard:
            guard.import_bloctel([_A, _B, _C, d, plain], t - timedelta(days=3))
            guard.record_refusal(_A, datetime(2025, 2, 3, 11, 0, tzinfo=PARIS))
            guard.record_refusal(_C, t - timedelta(days=7))
            for day in range(4):
                for year in (2023, 2025):
                    guard.record_call(_B, datetime(year, 10, 6 + day, 11, 0, tzinfo=PARIS),
                                      caller_id=NPV)  # fmt: skip
                guard.record_call(d, t - timedelta(days=day + 1), caller_id=NPV)
            plain_answer = guard.may_call(plain, NPV, t)
            calls.clear()
            numbers = (_A, _B, _C, d)
            decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i + 1)) for i, n in enumerate(
                numbers)]  # fmt: skip
            count = len(calls)
            general = _general(guard)
            expected = [
                general(n, NPV, t + timedelta(seconds=i + 1), "PROSPECTION", None, False)
                for i, n in enumerate(numbers)
            ]
        assert decisions == expected
        assert plain_answer.next_allowed_at is None
        assert [d.next_allowed_at for d in decisions] == [None] * 4
        assert decisions[0].reasons == decisions[1].reasons == plain_answer.reasons
        assert count == judged
        if t.year == 2025:
            assert plain_answer.reasons not in (decisions[2].reasons, decisions[3].reasons)


def test_an_answer_a_refusal_keeps_for_good_is_not_kept_for_numbers_without_one() -> None:
    # May 2022: A and B were checked 40 days ago (too old) and are found clean on 1 June 2023,
    # under the D223-9 calendar. A was refused on 20 May 2023: the cooldown, not run yet in
    # 2022, keeps it until 20 July 2023, after its check is too old again, so time never
    # lifts A's refusal; B is callable on 1 June 2023. Asked after A, B must not get A's
    # answer.
    t = datetime(2022, 5, 10, 21, 30, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=40), submitted=[_A, _B])
        guard.import_bloctel([], datetime(2023, 6, 1, 11, 0, tzinfo=PARIS), submitted=[_A, _B])
        guard.record_refusal(_A, datetime(2023, 5, 20, 11, 0, tzinfo=PARIS))
        decisions = [guard.may_call(n, NPV, t + timedelta(seconds=i)) for i, n in enumerate(
            (_A, _B))]  # fmt: skip
        general = _general(guard)
        expected = [
            general(n, NPV, t + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate((_A, _B))
        ]
    assert decisions == expected
    assert decisions[0].reasons == decisions[1].reasons
    assert decisions[0].next_allowed_at is None
    assert decisions[1].next_allowed_at == datetime(2023, 6, 1, 11, 0, tzinfo=PARIS)


def test_opted_out_numbers_share_an_answer_whatever_their_consents_given_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Opted out for good, each with a consent given in 2026: refused at every instant from now
    # on. The consent is read from the opt-in regime on, so the numbers whose consent is valid
    # there share one answer and those whose consent comes later another.
    calls = _counting_judge(monkeypatch)
    given = {
        _A: datetime(2026, 9, 2, 16, 33, tzinfo=PARIS),
        _B: datetime(2026, 2, 3, 15, 7, tzinfo=PARIS),
        _C: datetime(2026, 12, 1, 10, 0, tzinfo=PARIS),
        "06 12 34 56 81": datetime(2026, 10, 10, 11, 0, tzinfo=PARIS),
        "06 12 34 56 82": datetime(2026, 5, 5, 12, 0, tzinfo=PARIS),
    }
    with Guard(":memory:") as guard:
        guard.import_bloctel([], _T25 - timedelta(days=3), submitted=[*given, "06 00 00 00 01"])
        for number, at in given.items():
            guard.record_consent(number, at, proof="form")
            guard.add_optout(number, _T25 - timedelta(days=40))
        guard.may_call("06 00 00 00 01", NPV, _T25)  # the question is accepted once, in full
        calls.clear()
        decisions = [guard.may_call(n, NPV, _T25 + timedelta(seconds=i)) for i, n in enumerate(
            given)]  # fmt: skip
        judged = len(calls)
        general = _general(guard)
        expected = [
            general(n, NPV, _T25 + timedelta(seconds=i), "PROSPECTION", None, False)
            for i, n in enumerate(given)
        ]
    assert decisions == expected
    assert judged == 2
    assert {d.next_allowed_at for d in decisions} == {None}
    assert {r.code for d in decisions for r in d.reasons} == {"OPTED_OUT", "OUTSIDE_HOURS"}


# Attempts and refusals up to two years ahead (the search's span) or back, alone or in runs of
# a few days (which fill windows of the cap); consents given up to two years ahead.
_far = st.integers(min_value=-800, max_value=100).map(lambda d: timedelta(days=d, hours=5))
_run = st.tuples(
    st.one_of(st.integers(min_value=-800, max_value=40), st.integers(min_value=-35, max_value=3)),
    st.integers(3, 5),
).map(lambda dk: [timedelta(days=dk[0] - k, hours=6) for k in range(dk[1])])
_stories_for_good = st.fixed_dictionaries(
    {
        "attempts": st.one_of(st.lists(_far, max_size=6), _run),
        "refusals": st.lists(_far, max_size=2),
        "optout": st.one_of(st.none(), _offsets),
        "consent": st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from(["consent", "consent", "off_hours", "expiring"]),
                st.one_of(
                    st.integers(min_value=-800, max_value=400).map(
                        lambda d: timedelta(days=d, hours=5)
                    ),
                    st.integers(min_value=-560, max_value=-440).map(  # around 11 August 2026
                        lambda d: timedelta(days=d, hours=5)
                    ),
                    st.integers(min_value=-90, max_value=90).map(lambda s: timedelta(seconds=s)),
                ),
            ),
        ),
    }
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stories=st.lists(_stories_for_good, min_size=len(_SHARERS), max_size=len(_SHARERS)),
    listed=st.lists(st.booleans(), min_size=len(_SHARERS), max_size=len(_SHARERS)),
    checked=st.sampled_from([3, 45]),
    again=st.one_of(st.none(), st.integers(min_value=20, max_value=800)),
    order=st.permutations(_SHARERS),
    moment=st.sampled_from(MOMENTS + _SWITCH_EVE),
    within=st.lists(_within, min_size=1, max_size=2),
    purpose=st.sampled_from([Purpose.PROSPECTION, Purpose.PROSPECTION, Purpose.PRESS]),
    recorded=st.sampled_from([False, False, True]),
)
def test_refusals_for_good_are_shared_only_as_the_general_engine_answers(
    stories: list[dict[str, object]],
    listed: list[bool],
    checked: int,
    again: int | None,
    order: list[str],
    moment: datetime,
    within: list[timedelta],
    purpose: Purpose,
    recorded: bool,
) -> None:
    # Every number Bloctel-checked days before (listed or not; 45 days: too old), and perhaps
    # found clean again in days to come, then given a story of its own; numbers without one
    # (listed, listed and opted out, clean) are asked between two rounds of them in each
    # instant, so answers are kept and offered both ways.
    minute = moment.replace(second=0, microsecond=0)
    plain = ["07 31 00 00 02", "07 31 00 00 03", "07 31 00 00 04"]
    with Guard(":memory:") as guard:
        guard.import_bloctel(
            [n for n, on in zip(_SHARERS, listed, strict=True) if on] + plain[:2],
            minute - timedelta(days=checked),
            submitted=_SHARERS + plain,
        )
        if again is not None:
            guard.import_bloctel([], minute + timedelta(days=again), submitted=_SHARERS + plain)
        guard.add_optout(plain[1], minute - timedelta(days=9))
        for number, story in zip(_SHARERS, stories, strict=True):
            for offset in story["attempts"]:  # type: ignore[attr-defined]
                guard.record_call(number, minute - offset, caller_id=NPV)
            for offset in story["refusals"]:  # type: ignore[attr-defined]
                guard.record_refusal(number, minute - offset)
            if story["optout"] is not None:
                guard.add_optout(number, minute - story["optout"])  # type: ignore[operator]
            if story["consent"] is not None:
                kind, offset = story["consent"]  # type: ignore[misc]
                _store(guard, kind, number, minute - offset)
        general = _general(guard)
        for delta in within:
            t = minute + delta
            for number in order + plain + order:
                shared = guard.may_call(number, NPV, t, purpose=purpose, recorded_message=recorded)
                expected = general(number, NPV, t, purpose, None, recorded)
                assert shared == expected, (number, t, purpose, recorded)


# -- a search started from a shared answer -----------------------------------------------------
#
# Before the opt-in regime a canvassing call reads no consent: a number whose consent comes
# later is refused at least until the answer of the numbers in its situation whose consent is
# valid from the regime's first day, and its own search starts there. Numbers of two zones
# (Réunion enters the regime hours before Paris), listed or not, with consents given around
# the switch (general, off-hours, expiring; one or two), off-hours consents before the
# question, attempts (some at the cap) and opt-outs: every answer is the general engine's.

_SWITCH = datetime(2026, 8, 11, tzinfo=PARIS)
_around_switch = st.tuples(
    st.integers(min_value=-420, max_value=420),
    st.sampled_from([0, 300, 630, 810, 1199, 1201, 1320]),  # minutes into the day
).map(lambda dm: _SWITCH + timedelta(days=dm[0], minutes=dm[1]))
_later_stories = st.fixed_dictionaries(
    {
        "listed": st.sampled_from([True, True, False]),
        "consents": st.lists(
            st.tuples(
                st.sampled_from(["consent", "consent", "off_hours", "expiring"]), _around_switch
            ),
            min_size=1,
            max_size=2,
        ),
        "attempts": st.lists(st.integers(min_value=-60, max_value=60), max_size=5),
        "optout": st.sampled_from([False, False, False, True]),
        "off_hours": st.one_of(st.none(), st.integers(min_value=-3000, max_value=3000)),
    }
)
_LATER = ["06 12 34 56 78", "+33 6 12 34 56 79", "07 31 00 00 01", "0692 00 12 34",
          "0692 00 12 35", "0692 00 12 36"]  # fmt: skip
# Consent valid from the switch on: two listed, one clean.
_LATER_FIRST = ["07 31 00 00 09", "0692 00 12 39", "07 31 00 00 08"]


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stories=st.lists(_later_stories, min_size=len(_LATER), max_size=len(_LATER)),
    order=st.permutations(_LATER),
    moment=st.sampled_from(
        [
            datetime(2025, 5, 13, 10, 30, tzinfo=PARIS),
            datetime(2025, 5, 13, 21, 30, tzinfo=PARIS),
            datetime(2025, 12, 24, 19, 59, tzinfo=PARIS),
            datetime(2026, 8, 7, 22, 0, tzinfo=PARIS),  # Friday night before the switch
            *_SWITCH_EVE,
        ]
    ),
    within=st.lists(_within, min_size=1, max_size=2),
    purpose=st.sampled_from([Purpose.PROSPECTION, Purpose.PROSPECTION, Purpose.PRESS]),
    recorded=st.sampled_from([False, False, False, True]),
    first_given=st.sampled_from([-300, -1, 0, 200]),  # days after the switch
)
def test_a_search_from_a_shared_answer_finds_the_general_engines_answer(
    stories: list[dict[str, object]],
    order: list[str],
    moment: datetime,
    within: list[timedelta],
    purpose: Purpose,
    recorded: bool,
    first_given: int,
) -> None:
    minute = moment.replace(second=0, microsecond=0)
    checked = minute - timedelta(days=3)
    with Guard(":memory:") as guard:
        listed = [n for n, story in zip(_LATER, stories, strict=True) if story["listed"]]
        guard.import_bloctel(listed + _LATER_FIRST[:2], checked, submitted=_LATER + _LATER_FIRST)
        for number in _LATER_FIRST:
            guard.record_consent(number, _SWITCH + timedelta(days=first_given, hours=9),
                                 proof="form")  # fmt: skip
        for number, story in zip(_LATER, stories, strict=True):
            for kind, at in story["consents"]:  # type: ignore[attr-defined]
                _store(guard, kind, number, at)
            for days in story["attempts"]:  # type: ignore[attr-defined]
                guard.record_call(number, minute + timedelta(days=days, hours=1), caller_id=NPV)
            if story["optout"]:
                guard.add_optout(number, minute - timedelta(days=5))
            if story["off_hours"] is not None:  # minutes from the question's
                at = minute + timedelta(minutes=story["off_hours"])  # type: ignore[arg-type]
                guard.record_consent(number, at, proof="form", off_hours=True)
        general = _general(guard)
        for delta in within:
            t = minute + delta
            for number in _LATER_FIRST + order:
                shared = guard.may_call(number, NPV, t, purpose=purpose, recorded_message=recorded)
                expected = general(number, NPV, t, purpose, None, recorded)
                assert shared == expected, (number, t, purpose, recorded)


def test_an_off_hours_consent_given_tonight_is_read_before_a_shared_answers_opening() -> None:
    # Tuesday 13 May 2025, 21:30: A and B are clean, each with a consent valid from the opt-in
    # regime on; B's off-hours consent, given at 22:30, opens its calls tonight. A's answer
    # (tomorrow 10:00) is where a number refused until then starts its search; B is not one.
    t = datetime(2025, 5, 13, 21, 30, 5, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=3), submitted=[_A, _B])
        for number in (_A, _B):
            guard.record_consent(number, datetime(2026, 3, 1, 9, tzinfo=PARIS), proof="form")
        guard.record_consent(_B, t + timedelta(hours=1), proof="form", off_hours=True)
        decisions = [guard.may_call(n, NPV, t) for n in (_A, _B)]
        general = _general(guard)
        expected = [general(n, NPV, t, "PROSPECTION", None, False) for n in (_A, _B)]
    assert decisions == expected
    assert decisions[0].next_allowed_at == datetime(2025, 5, 14, 10, 0, tzinfo=PARIS)
    assert decisions[1].next_allowed_at == t + timedelta(hours=1)
