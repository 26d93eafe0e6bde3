"""The engine's one chain: a question read once, an answer shared only where it is the answer.

``Engine.ask`` (``may_call``), ``Engine.attempt`` and ``Engine.decide_numbers`` (scrubs) answer
through the :class:`~callguard._engine.AnswerCache`; ``Engine.decide`` judges every question on
its own. Here the shared answers are compared with it on the questions the other modules do not
vary (a zone or a département given, a list), and the question is checked to be read once.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import ConfigurationError, Guard, Purpose, _engine
from callguard._engine import read_question
from callguard._question import Question, Terms
from conftest import NPV, PARIS
from test_fast_paths import MOMENTS
from test_lean_path import NUMBERS, _facts, _questions, _store, _within

_places = st.tuples(
    st.sampled_from([None, "Europe/Paris", "Indian/Reunion", "America/Cayenne"]),
    st.sampled_from([None, "57", "974", "75", "2A"]),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts,
    moment=st.sampled_from(MOMENTS),
    within=st.lists(_within, min_size=1, max_size=2),
    question=_questions,
    places=st.lists(_places, min_size=1, max_size=2),
)
def test_shared_answers_for_a_zone_or_a_departement_equal_the_general_engine(
    facts: list[tuple[str, str, object]],
    moment: datetime,
    within: list[object],
    question: tuple[str, object, object, bool],
    places: list[tuple[str | None, str | None]],
) -> None:
    caller_id, purpose, sector, recorded = question
    minute = moment.replace(second=0, microsecond=0)
    with Guard(":memory:") as guard:
        for kind, number, offset in facts:
            _store(guard, kind, number, minute - offset)  # type: ignore[operator]
        engine = guard.engine
        terms = engine.terms(caller_id, purpose, sector, recorded)
        for callee_tz, department in places:
            for delta in within:
                t = engine.now(minute + delta)  # type: ignore[operator]
                for number in NUMBERS:
                    shared = guard.may_call(
                        number, caller_id, t, purpose=purpose, sector=sector,
                        callee_tz=callee_tz, department=department, recorded_message=recorded,
                    )  # fmt: skip
                    alone = engine.decide(read_question(number, terms, t, callee_tz, department))
                    assert shared == alone, (number, t, callee_tz, department)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts,
    moment=st.sampled_from(MOMENTS),
    question=_questions,
    place=_places,
)
def test_a_list_answers_each_number_as_the_general_engine(
    facts: list[tuple[str, str, object]],
    moment: datetime,
    question: tuple[str, object, object, bool],
    place: tuple[str | None, str | None],
) -> None:
    caller_id, purpose, sector, recorded = question
    callee_tz, department = place
    with Guard(":memory:") as guard:
        for kind, number, offset in facts:
            _store(guard, kind, number, moment - offset)  # type: ignore[operator]
        engine = guard.engine
        t = engine.now(moment)
        listed = guard.scrub(
            NUMBERS * 2, caller_id, t, purpose=purpose, sector=sector, callee_tz=callee_tz,
            department=department, recorded_message=recorded,
        )  # fmt: skip
        terms = engine.terms(caller_id, purpose, sector, recorded)
        alone = [
            engine.decide(read_question(n, terms, t, callee_tz, department)) for n in NUMBERS * 2
        ]
        assert listed == alone


T = datetime(2026, 11, 24, 10, 30, tzinfo=PARIS)


def test_remembered_terms_never_accept_what_reading_them_refuses() -> None:
    # 1 == True and hash(1) == hash(True): terms remembered for True must not answer for 1.
    with Guard(":memory:") as guard:
        guard.may_call("06 12 34 56 78", NPV, T, recorded_message=True)
        for bad in (1, 0, "yes"):
            with pytest.raises(ConfigurationError) as raised:
                guard.may_call("06 12 34 56 78", NPV, T, recorded_message=bad)  # type: ignore[arg-type]
            assert raised.value.field == "recorded_message"


def test_an_attempt_reads_its_caller_id_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    parse_caller = _engine.parse_caller

    def counting(raw: object) -> object:
        calls.append(raw)
        return parse_caller(raw)

    monkeypatch.setattr(_engine, "parse_caller", counting)
    with Guard(":memory:") as guard:
        guard.record_consent("06 12 34 56 78", T.replace(month=9), proof="form")
        decision = guard.attempt("06 12 34 56 78", "09 48 12 34 99", T)
    assert decision.allowed and decision.attempt_id is not None
    assert calls == ["09 48 12 34 99"]


@pytest.mark.parametrize("number", ["06 12 34 56 78", "0690 00 12 34", "+44 20 7946 0958"])
def test_a_number_is_parsed_once_when_no_answer_is_shared(
    monkeypatch: pytest.MonkeyPatch, number: str
) -> None:
    reads: dict[str, list[object]] = {"consumer_line": [], "parse_number": []}
    with Guard(":memory:") as guard:
        guard.may_call("07 00 00 00 01", NPV, T)  # the terms read and remembered
        guard.record_refusal(number, T.replace(month=10))  # no answer to share: judged alone
        for name, seen in reads.items():
            real = getattr(_engine, name)

            def counting(value: object, real: object = real, seen: list[object] = seen) -> object:
                seen.append(value)
                return real(value)  # type: ignore[operator]

            monkeypatch.setattr(_engine, name, counting)
        guard.may_call(number, NPV, T)
    # The common forms are read without building a PhoneNumber; the rest are parsed once.
    assert reads["consumer_line"] == [number]
    assert reads["parse_number"] == ([] if number == "06 12 34 56 78" else [number])


def test_a_question_is_frozen_and_whole() -> None:
    with Guard(":memory:") as guard:
        engine = guard.engine
        terms = engine.terms(NPV, "prospection", None, False)
        question = read_question("06 12 34 56 78", terms, engine.now(T), campaign="spring")
    assert isinstance(question, Question) and isinstance(terms, Terms)
    assert terms.purpose is Purpose.PROSPECTION and terms.caller_id == "+33948123456"
    assert question.key == 33612345678 and question.e164 == "+33612345678"
    assert question.zones[0].key == "Europe/Paris" and question.campaign == "spring"
    with pytest.raises(AttributeError):
        question.key = 1  # type: ignore[misc]
    # Terms are read once per engine and shared by every question on them.
    assert engine.terms(NPV, "prospection", None, False) is terms
