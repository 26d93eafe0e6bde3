"""``Rule.passes`` is ``not Rule.check`` for every rule, and the calendar's day test is the
holiday names' own.

The search for ``next_allowed_at`` asks only whether each rule passes at an instant; the
calendar, the Bloctel rule and the consent rule answer it without writing their reasons, and
the calendar tells a holiday from the precomputed table instead of the ``holidays`` package.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, _engine
from callguard._engine import read_question
from callguard.rules import RULES, Context
from callguard.rules.calendar import ALSACE_MOSELLE, holiday_name, is_holiday
from callguard.rules.cooldown import Cooldown
from conftest import NPV, PARIS
from test_fast_paths import MOMENTS
from test_lean_path import NUMBERS, _facts, _questions, _store

# Instants the search visits: the question's, a midnight, a window's edges, a later day's hours.
_steps = st.sampled_from(
    [
        timedelta(0),
        timedelta(seconds=59),
        timedelta(hours=13, minutes=30),  # the next local midnight (from 10:30)
        timedelta(days=1, minutes=-31),  # 09:59 the next day (from 10:30)
        timedelta(days=1, minutes=-30),  # 10:00 the next day
        timedelta(days=3, hours=2, minutes=30),  # 13:00
        timedelta(days=30, hours=9, minutes=30),  # 20:00
        timedelta(days=61),
        timedelta(days=400),
    ]
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    facts=_facts,
    moment=st.sampled_from(MOMENTS),
    steps=st.lists(_steps, min_size=1, max_size=4),
    question=_questions,
    live=st.booleans(),
)
def test_every_rule_passes_exactly_when_it_gives_no_reason(
    facts: list[tuple[str, str, timedelta]],
    moment: datetime,
    steps: list[timedelta],
    question: tuple[str, object, object, bool],
    live: bool,
) -> None:
    caller_id, purpose, sector, recorded = question
    with Guard(":memory:") as guard:
        for kind, number, offset in facts:
            _store(guard, kind, number, moment - offset)
        engine = guard.engine
        terms = engine.terms(caller_id, purpose, sector, recorded)
        now = engine.now(moment)
        for number in NUMBERS[:8]:
            asked = read_question(number, terms, now)
            ctx = Context(asked, engine.read(asked), asked.at_us if live else None)
            for rule in RULES:
                if not rule.applies(terms.purpose, terms.sector):
                    continue
                for step in steps:
                    t = now + step
                    assert rule.passes(ctx, t) == (not rule.check(ctx, t)), (rule, number, t)


_AREAS = [(), ("FR",), (ALSACE_MOSELLE,), ("GP",), ("MF",), ("RE",), ("YT",), ("MQ", "GF")]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("areas", _AREAS)
def test_a_day_is_a_holiday_exactly_when_it_has_a_holidays_name(
    areas: tuple[str, ...], strict: bool
) -> None:
    # Inside the table's years (every day of 2016-2030) and outside them (the package answers).
    days = [date(2016, 1, 1) + timedelta(days=i) for i in range(15 * 366)]
    days += [date(1989, 12, 25) + timedelta(days=i) for i in range(14)]
    days += [date(2061, 5, 1) + timedelta(days=i) for i in range(60)]
    for day in days:
        assert is_holiday(day, areas, strict) == (holiday_name(day, areas, strict) is not None), day


def test_a_search_across_a_holiday_still_steps_over_it() -> None:
    # Wednesday 28 May 2025, evening; Thursday 29 May is Ascension: the next opening is Friday.
    t = datetime(2025, 5, 28, 21, 30, tzinfo=PARIS)
    with Guard(":memory:") as guard:
        guard.import_bloctel([], t - timedelta(days=2), submitted=["06 12 34 56 78"])
        decision = guard.may_call("06 12 34 56 78", NPV, t)
    assert decision.next_allowed_at == datetime(2025, 5, 30, 10, 0, tzinfo=PARIS)


def test_a_search_across_a_holiday_loads_no_holidays_package() -> None:
    # The search asks whether a day is open, not its holiday's name: the table answers.
    from test_startup import loaded_after

    code = (
        "from datetime import datetime, timedelta\n"
        "from zoneinfo import ZoneInfo\n"
        "from callguard import Guard\n"
        "t = datetime(2025, 5, 28, 21, 30, tzinfo=ZoneInfo('Europe/Paris'))\n"
        "g = Guard(':memory:')\n"
        "g.import_bloctel([], t - timedelta(days=2), submitted=['06 12 34 56 78'])\n"
        "d = g.may_call('06 12 34 56 78', '09 48 12 34 56', t)\n"
        "assert d.next_allowed_at.day == 30, d\n"
    )
    assert "holidays" not in loaded_after(code)


def test_the_search_asks_rules_whether_they_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # A listed number with a consent: the search crosses to the opt-in regime without writing a
    # reason at any instant but the question's.
    t = datetime(2025, 5, 13, 10, 30, tzinfo=PARIS)
    checked: list[str] = []
    for rule in RULES:
        original = type(rule).check

        def counting(self: object, ctx: Context, at: datetime, _o: object = original) -> object:
            if at != ctx.question.at:
                checked.append(type(self).__name__)
            return _o(self, ctx, at)  # type: ignore[operator]

        monkeypatch.setattr(type(rule), "check", counting)
    with Guard(":memory:") as guard:
        guard.import_bloctel(["06 12 34 56 78"], t - timedelta(days=2))
        guard.record_consent("06 12 34 56 78", datetime(2026, 3, 1, tzinfo=PARIS), proof="f")
        decision = guard.may_call("06 12 34 56 78", NPV, t)
    assert decision.next_allowed_at == datetime(2026, 8, 11, 10, 0, tzinfo=PARIS)
    assert {"Calendar", "Bloctel", "Consent"}.isdisjoint(checked), checked


def _every_end(self: Cooldown, ctx: Context, t: datetime) -> list[datetime]:
    """The cooldown's starts as an audit's replay needs them: every refusal's end."""
    return sorted({e for r in ctx.facts.refusals for e in self._ends(ctx, r) if e > t})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    refusals=st.lists(
        st.integers(min_value=-90 * 24, max_value=90 * 24).map(lambda h: timedelta(hours=h)),
        min_size=1,
        max_size=4,
    ),
    moment=st.sampled_from(MOMENTS),
    number=st.sampled_from(["06 12 34 56 78", "0692 00 12 34", "03 82 12 34 56"]),
    live=st.booleans(),
)
def test_a_live_search_waits_for_the_latest_refusal_alone(
    refusals: list[timedelta], moment: datetime, number: str, live: bool
) -> None:
    # In a live decision every refusal is in force from the question's instant on (one stamped
    # later too): the search steps to the end of the latest one's cooldown only. Compared with
    # the search stepping through every refusal's end.
    with Guard(":memory:") as guard:
        # Checked every 20 days and consented: the cooldown is what the answer waits for.
        for k in range(12):
            guard.import_bloctel([], moment + timedelta(days=20 * k - 1), submitted=[number])
        guard.record_consent(number, moment - timedelta(days=2), proof="form")
        for offset in refusals:
            guard.record_refusal(number, moment + offset)
        engine = guard.engine
        terms = engine.terms(NPV, "PROSPECTION", None, False)
        asked = read_question(number, terms, engine.now(moment))
        facts = engine.read(asked)
        found = _engine.judge(asked, facts, live=live)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Cooldown, "starts", _every_end)
            expected = _engine.judge(asked, facts, live=live)
    assert found == expected
