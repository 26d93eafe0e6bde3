"""Every fast path answers exactly what the general path answers, or leaves the question to it.

The metropolitan number parser (``_numbers._fast``) and the Bloctel key (``national_key``) are
held equal to the full parser on every written form of tests/test_numbers.py, on every 4-digit
prefix of the national plan, and on random digit strings in every form. The scrub's pipeline
(verdicts shared by numbers in the same situation) is held equal to ``may_call`` number by number
over random ledgers, in every regime, for every purpose, in and out of hours; so is a decision
read with only the fact kinds its regime can use to the same decision judged on every fact.
"""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, Purpose, Sector
from callguard._engine import decision, facts_read, judge
from callguard._exceptions import InvalidNumberError
from callguard._numbers import _fast, _general, national_key, parse_number
from callguard._time import to_us
from conftest import NPV, PARIS, voided_attempt


def _general_or_error(value: str) -> object:
    try:
        return _general(value)
    except InvalidNumberError as exc:
        return exc.reason


def _assert_fast_equal(value: str) -> None:
    fast = _fast(value)
    if fast is not None:
        general = _general_or_error(value)
        assert fast == general, value
        assert hash(fast) == hash(general)


def _assert_key_equal(value: str) -> None:
    key = national_key(value)
    if key is None:
        return
    number = _general(value)
    assert number.consumer_line
    assert key == number.key


def _test_number_strings() -> list[str]:
    """Every string constant of tests/test_numbers.py: the forms, ranges and errors it names."""
    tree = ast.parse((Path(__file__).parent / "test_numbers.py").read_text(encoding="utf-8"))
    found = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 65
    }
    return sorted(found)


@pytest.mark.parametrize("value", _test_number_strings())
def test_fast_parser_equals_general_on_the_documented_forms(value: str) -> None:
    _assert_fast_equal(value)
    _assert_key_equal(value)


def _forms(nsn: str) -> list[str]:
    spaced = " ".join([nsn[0], nsn[1:3], nsn[3:5], nsn[5:7], nsn[7:9]])
    return [
        "0" + nsn,
        "0" + spaced,
        "0" + nsn[0] + "." + nsn[1:],
        "+33" + nsn,
        "+33 " + spaced,
        "+33 (0)" + spaced,
        "+330" + nsn,
        "0033" + nsn,
        "0033 " + spaced,
        "33" + nsn,
        nsn,
        " \t0" + nsn + "\n",
    ]


@pytest.mark.parametrize("first", "0123456789")
def test_fast_parser_equals_general_on_every_prefix(first: str) -> None:
    # Every 4-digit NSN prefix, with two endings: overseas prefixes must win as on the full path.
    for rest in range(1000):
        prefix = f"{first}{rest:03d}"
        for tail in ("00000", "56789"):
            for value in _forms(prefix + tail):
                _assert_fast_equal(value)
            _assert_key_equal("0" + prefix + tail)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_fast_parser_equals_general_on_random_numbers(nsn: str) -> None:
    for value in _forms(nsn):
        _assert_fast_equal(value)
    _assert_key_equal("0" + nsn)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789+ .-/()\t", min_size=1, max_size=20))
def test_fast_parser_equals_general_on_random_text(value: str) -> None:
    _assert_fast_equal(value)
    _assert_key_equal(value)


def test_parse_number_takes_the_fast_path_for_metropolitan_forms() -> None:
    assert _fast("06 12 34 56 78") == parse_number("+33612345678")
    assert _fast("0696 12 34 56") is None  # Martinique: the full path, the overseas reading wins
    assert parse_number("0696 12 34 56").territory == "MQ"


# -- scrub == may_call --------------------------------------------------------------------------

# Two numbers per situation (so verdicts are shared), overseas and ambiguous zones, Alsace-Moselle,
# an NPV line, a special number, a foreign one, a short code and invalid text.
SCRUB_NUMBERS = [
    "06 12 34 56 78", "+33 6 12 34 56 79", "0690 00 12 34", "0690 00 12 35", "03 88 12 34 56",
    "0262 16 12 34", "09 47 50 12 34", "0948123457", "0800 12 34 56", "+44 20 7946 0958", "3010",
    "not a number", "07 80 12 34 56", "0033 7 80 12 34 57",
]  # fmt: skip
# Decisions are taken in each regime, in and out of hours (Paris).
MOMENTS = [
    datetime(2022, 5, 10, 10, 30, tzinfo=PARIS), datetime(2022, 5, 10, 21, 30, tzinfo=PARIS),
    datetime(2025, 5, 13, 10, 30, tzinfo=PARIS), datetime(2025, 5, 13, 21, 30, tzinfo=PARIS),
    datetime(2026, 11, 24, 10, 30, tzinfo=PARIS), datetime(2026, 11, 28, 11, 0, tzinfo=PARIS),
]  # fmt: skip
_numbers = st.sampled_from(SCRUB_NUMBERS[:3] + SCRUB_NUMBERS[4:7] + SCRUB_NUMBERS[12:13])
_days_before = st.integers(min_value=0, max_value=400).map(lambda d: timedelta(days=d, hours=3))
_facts = st.lists(
    st.tuples(
        st.sampled_from(["attempt", "refusal", "optout", "consent", "withdrawal", "slot",
                         "contract", "listed", "clean", "voided", "voided_answered"]),
        _numbers,
        _days_before,
    ),
    max_size=12,
)  # fmt: skip


def _record(guard: Guard, kind: str, number: str, at: datetime) -> None:
    if kind == "attempt":
        guard.record_call(number, at, caller_id=NPV)
    elif kind.startswith("voided"):
        voided_attempt(guard, number, at, answered=kind == "voided_answered")
    elif kind == "refusal":
        guard.record_refusal(number, at)
    elif kind == "optout":
        guard.add_optout(number, at)
    elif kind == "consent":
        guard.record_consent(number, at, proof="form")
    elif kind == "withdrawal":
        guard.withdraw_consent(number, at)
    elif kind == "slot":
        guard.record_slot_consent(number, at, at + timedelta(days=3), proof="call")
    elif kind == "contract":
        guard.record_contract(number, at)
    else:
        guard.import_bloctel([number] if kind == "listed" else [], at, submitted=[number])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=_facts, moment=st.sampled_from(MOMENTS), purpose=st.sampled_from(list(Purpose)))
def test_scrub_equals_may_call(
    facts: list[tuple[str, str, timedelta]], moment: datetime, purpose: Purpose
) -> None:
    with Guard(":memory:") as guard:
        for kind, number, before in facts:
            _record(guard, kind, number, moment - before)
        for caller_id in (NPV, "06 11 22 33 44"):
            scrubbed = guard.scrub(SCRUB_NUMBERS * 2, caller_id, moment, purpose=purpose)
            one_by_one = [
                guard.may_call(n, caller_id, moment, purpose=purpose) for n in SCRUB_NUMBERS * 2
            ]
            assert scrubbed == one_by_one


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts,
    moment=st.sampled_from(MOMENTS),
    purpose=st.sampled_from(list(Purpose)),
    sector=st.sampled_from([None, *Sector]),
    recorded=st.booleans(),
)
def test_facts_read_by_regime_equal_every_fact(
    facts: list[tuple[str, str, timedelta]],
    moment: datetime,
    purpose: Purpose,
    sector: Sector | None,
    recorded: bool,
) -> None:
    # may_call reads only the fact kinds its regime, purpose and sector can use (facts_read);
    # judged on every fact, the decision is the same.
    with Guard(":memory:") as guard:
        for kind, number, before in facts:
            _record(guard, kind, number, moment - before)
        engine = guard.engine
        t = engine.now(moment)
        for number in SCRUB_NUMBERS:
            question = engine.question(number, engine.terms(NPV, purpose, sector, recorded), t)
            everything = (
                engine.ledger.facts(engine.pid, question.key, to_us(t), to_us(t - engine.lookback))
                if question.key is not None
                else engine.read(question)
            )
            assert engine.decide(question) == decision(
                judge(question, everything), question.e164, t
            )


def test_the_kinds_read_follow_the_rules_that_apply() -> None:
    from callguard._facts import FactKind
    from callguard.rules.regimes import regime_on

    bloctel, consent = (
        regime_on(datetime(2025, 5, 13).date()),
        regime_on(datetime(2026, 11, 24).date()),
    )
    # A canvassing call without a banned sector reads no contract; with one, it does.
    assert FactKind.CONTRACT not in facts_read(bloctel, Purpose.PROSPECTION, None)
    assert FactKind.CONTRACT in facts_read(bloctel, Purpose.PROSPECTION, Sector.CPF_TRAINING)
    assert FactKind.CONTRACT in facts_read(bloctel, Purpose.CONTRACT, None)
    # A non-commercial call reads neither attempts nor refusals nor Bloctel checks.
    assert facts_read(bloctel, Purpose.NON_COMMERCIAL, None) == {
        FactKind.OPTOUT, FactKind.CONSENT, FactKind.WITHDRAWAL,
    }  # fmt: skip
    assert FactKind.BLOCTEL not in facts_read(consent, Purpose.PROSPECTION, None)
    assert facts_read(bloctel) == set(FactKind)
