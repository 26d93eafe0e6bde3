"""The engine's behaviours the mutation run found unpinned, asked through ``Guard.may_call``:
how an invalid number is shown in its refusal, and which sentence tells a foreign, special,
short or otherwise non-consumer number apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from callguard import Guard, ReasonCode
from conftest import MOBILE, NPV, consented, paris

AT = paris(2026, 11, 24, 10, 30)


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    g = Guard(str(tmp_path / "ledger.db"), professional="acme")
    yield g
    g.close()


def _reason(guard: Guard, number: str, code: ReasonCode) -> str:
    d = guard.may_call(number, NPV, AT)
    assert not d.allowed
    messages = [r.message for r in d.reasons if r.code is code]
    assert messages, d.reasons
    return messages[0]


# -- an invalid number in its refusal -----------------------------------------------------------


def test_an_invalid_number_of_forty_characters_is_shown_whole(guard: Guard) -> None:
    raw = "1" * 40
    assert f"{raw!r} is not a valid phone number" in _reason(guard, raw, ReasonCode.INVALID_NUMBER)


def test_a_longer_invalid_number_is_shown_cut_to_thirty_seven_characters(guard: Guard) -> None:
    raw = "2" * 41
    message = _reason(guard, raw, ReasonCode.INVALID_NUMBER)
    assert repr("2" * 37 + "...") in message
    assert "2" * 38 not in message


# -- which sentence a number that is not a consumer line gets -----------------------------------


def test_a_foreign_number_is_named_foreign(guard: Guard) -> None:
    message = _reason(guard, "+44 20 7946 0000", ReasonCode.UNSUPPORTED_DESTINATION)
    assert "is a foreign number" in message


def test_a_premium_rate_number_is_named_special(guard: Guard) -> None:
    message = _reason(guard, "08 92 12 34 56", ReasonCode.UNSUPPORTED_DESTINATION)
    assert "special or premium-rate" in message
    assert "foreign" not in message


def test_a_short_code_is_named_a_short_code(guard: Guard) -> None:
    message = _reason(guard, "3949", ReasonCode.UNSUPPORTED_DESTINATION)
    assert "is a short code" in message
    assert "foreign" not in message


# -- a ledger that cannot be read ---------------------------------------------------------------


def test_a_question_asked_again_on_an_unreadable_ledger_is_refused_as_unavailable(
    tmp_path: Path,
) -> None:
    import sqlite3

    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        assert g.may_call(MOBILE, NPV, AT).codes  # the general path: asked once, accepted
        with sqlite3.connect(location) as conn:
            for table in (
                "consents", "optouts", "refusals", "attempts", "bloctel_checks", "facts_by_number",
            ):  # fmt: skip
                conn.execute(f"ALTER TABLE {table} RENAME TO gone_{table}")
        d = g.may_call(MOBILE, NPV, AT)  # the same question again: the lean path
    assert not d.allowed
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
    assert d.callee_tz == "Europe/Paris"
    assert d.number == "+33612345678"


def test_a_foreign_number_is_refused_for_its_destination_even_on_an_unreadable_ledger(
    tmp_path: Path,
) -> None:
    # What the number is decides without the ledger: no read, so no LEDGER_UNAVAILABLE.
    import sqlite3

    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        g.may_call(MOBILE, NPV, AT)
        with sqlite3.connect(location) as conn:
            for table in (
                "consents", "optouts", "refusals", "attempts", "bloctel_checks", "facts_by_number",
            ):  # fmt: skip
                conn.execute(f"ALTER TABLE {table} RENAME TO gone_{table}")
        asked = g.may_call("+44 20 7946 0000", NPV, AT)
        tried = g.attempt("+44 20 7946 0000", NPV, AT)
    for d in (asked, tried):
        assert d.codes == {ReasonCode.UNSUPPORTED_DESTINATION}
        assert d.attempt_id is None


# -- a verdict shared within one minute ---------------------------------------------------------


def test_a_bloctel_check_where_the_search_s_horizon_ends_is_judged_per_question() -> None:
    # The search for next_allowed_at looks 732 days ahead. A check 732 days and 20 seconds after
    # the minute asked is beyond the horizon at 10:30:10 and within it at 10:30:40: the two
    # questions of one minute must not share one verdict.
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    start = paris(2022, 5, 9, 10, 30)  # a Monday; the check falls on Friday 10 May 2024
    check = start + timedelta(days=732, seconds=20)
    with Guard(":memory:") as g:
        g.import_bloctel([], check, submitted=[MOBILE])
        early = g.may_call(MOBILE, NPV, start + timedelta(seconds=10))
        late = g.may_call(MOBILE, NPV, start + timedelta(seconds=40))
        early_again = g.may_call(MOBILE, NPV, start + timedelta(seconds=15))
    assert early.codes == late.codes == {ReasonCode.BLOCTEL_UNCHECKED}
    assert early.next_allowed_at is None and early_again.next_allowed_at is None
    assert late.next_allowed_at == check.astimezone(ZoneInfo("Europe/Paris"))


# -- a list's decisions ---------------------------------------------------------------------------


def test_a_scrub_tells_a_moselle_line_from_another_on_an_alsace_moselle_holiday() -> None:
    # 26 December is a public holiday in Alsace-Moselle only (03 87: Moselle; 02 35: Rouen). Two
    # first-time classes of line, neither with facts: each gets its own class's verdict.
    t = paris(2025, 12, 26, 11)
    # 03 86 95 (Nièvre) and 03 87 01 (Moselle) are neighbours in the numbering plan: keys a
    # hundred thousand apart tell their classes apart, not a step that straddles the two.
    numbers = ["02 35 71 23 45", "03 87 71 23 45", "02 35 71 23 46", "03 87 71 23 46",
               "03 86 95 12 34", "03 87 01 23 45"]  # fmt: skip
    with Guard(":memory:") as g:
        scrubbed = g.scrub(numbers, NPV, t)
        one_by_one = [g.may_call(n, NPV, t) for n in numbers]
    assert scrubbed == one_by_one
    assert [ReasonCode.HOLIDAY in d.codes for d in scrubbed] == [False, True] * 3


def test_a_scrub_tells_apart_the_last_nievre_line_and_the_first_moselle_one() -> None:
    # The two ends of the boundary between 03 86 and 03 87: one key apart, two classes.
    t = paris(2025, 12, 26, 11)
    numbers = ["03 86 99 99 99", "03 87 00 00 00"]
    with Guard(":memory:") as g:
        scrubbed = g.scrub(numbers, NPV, t)
    assert [ReasonCode.HOLIDAY in d.codes for d in scrubbed] == [False, True]


# -- batches --------------------------------------------------------------------------------------


def test_a_nested_batch_is_part_of_the_outer_one_all_or_nothing(tmp_path: Path) -> None:
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        with pytest.raises(RuntimeError), g.batch():
            g.record_consent(MOBILE, AT, proof="outer")
            with g.batch():
                g.record_consent("06 98 76 54 32", AT, proof="inner")
            g.record_consent("06 11 22 33 44", AT, proof="after the inner")
            raise RuntimeError("the outer batch fails")
        assert not g.may_call(MOBILE, NPV, AT + timedelta(days=1)).allowed
        with g.batch():
            with g.batch():
                g.record_consent(MOBILE, AT, proof="inner")
            g.record_consent("06 98 76 54 32", AT, proof="outer")
        assert g.verify().ok
    import sqlite3

    with sqlite3.connect(location) as conn:
        proofs = sorted(p for (p,) in conn.execute("SELECT proof FROM consents"))
    assert proofs == ["inner", "outer"]


def test_numbers_whose_off_hours_consents_end_apart_do_not_share_a_search() -> None:
    # Before 2026-08-11 an off-hours consent opens the evenings. A and B are on Bloctel until a
    # check on Friday evening clears them; both have a consent and an off-hours consent valid
    # now, but B's off-hours consent ends before Friday: A may be called then, B only Monday.
    t = paris(2025, 5, 13, 21, 30, 5)
    a, b = "06 12 34 56 78", "06 12 34 56 79"
    with Guard(":memory:") as g:
        g.import_bloctel([a, b], t - timedelta(days=1), submitted=[a, b])
        g.import_bloctel([], t + timedelta(days=3, minutes=15), submitted=[a, b])
        for number, until in ((a, timedelta(days=10)), (b, timedelta(days=1))):
            g.record_consent(number, t - timedelta(days=10), proof="form")
            g.record_consent(number, t - timedelta(days=10), proof="evenings", off_hours=True,
                             expires_at=t + until)  # fmt: skip
        g.may_call("06 55 55 55 55", NPV, t)  # the question accepted once: the lean path next
        first_a, then_b = g.may_call(a, NPV, t), g.may_call(b, NPV, t)
    assert first_a.codes == then_b.codes == {ReasonCode.BLOCTEL_LISTED}
    assert first_a.next_allowed_at == paris(2025, 5, 16, 21, 45, 5)
    assert then_b.next_allowed_at == paris(2025, 5, 19, 10)


def test_a_scrub_on_the_eve_of_bloctel_reads_the_checks_of_a_line_already_on_its_first_day() -> (
    None
):
    # 31 May 2016 22:30 UTC is 1 June 02:30 in Réunion: Bloctel's first day there. The list reads
    # the fact kinds of every local date the instant falls on, the next UTC day's included.
    from datetime import UTC, datetime

    t = datetime(2016, 5, 31, 22, 30, tzinfo=UTC)
    reunion = "0262 12 34 56"
    with Guard(":memory:") as g:
        g.import_bloctel([reunion], t - timedelta(hours=2), submitted=[reunion])
        scrubbed = g.scrub([reunion], NPV, t)
        asked = g.may_call(reunion, NPV, t)
    assert scrubbed == [asked]
    assert asked.codes == {ReasonCode.BLOCTEL_LISTED}


# -- the search for the next allowed instant ----------------------------------------------------


def test_the_next_allowed_instant_passes_every_rule_not_only_the_last_one_to_move_it(
    guard: Guard,
) -> None:
    # Tuesday 24 November, 21:30: outside hours, and four attempts in 30 days. The hours move
    # the search to Wednesday 10:00, where the cap still holds until its window lets the first
    # attempt go, on Thursday at midnight: the hours must be asked again there.
    consented(guard, MOBILE, paris(2026, 9, 1, 11))
    for t in (paris(2026, 10, 27, 19, 50), paris(2026, 11, 3, 11), paris(2026, 11, 10, 11),
              paris(2026, 11, 17, 11)):  # fmt: skip
        guard.record_call(MOBILE, t)
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 24, 21, 30))
    assert {r.code for r in d.reasons} == {ReasonCode.OUTSIDE_HOURS, ReasonCode.FREQUENCY_CAP}
    assert d.next_allowed_at == paris(2026, 11, 26, 10)


# -- found by this round's second mutation run ----------------------------------------------------


def test_terms_never_remembered_never_share_an_answer(guard: Guard) -> None:
    """Terms read without a memo (an engine does so for arguments it cannot key) answer for
    themselves: a refusal for one caller ID is not another caller ID's answer."""
    from callguard._engine import read_question, read_terms

    engine = guard.engine
    consented(guard, MOBILE, AT - timedelta(days=3))
    allowed = read_terms(NPV, "prospection", None, False, engine.policy)
    hidden = read_terms(None, "prospection", None, False, engine.policy)
    assert engine.ask(read_question(MOBILE, allowed, AT)).allowed
    refused = engine.ask(read_question(MOBILE, hidden, AT + timedelta(seconds=1)))
    assert not refused.allowed


def test_the_search_asks_every_rule_again_at_the_instant_it_settles_on() -> None:
    """The round-robin of ``next_allowed``: the last rule of the list is asked at the instant
    the first one moved to, and moves it again."""
    from datetime import datetime, timezone

    from callguard._engine import next_allowed

    start = datetime(2026, 11, 24, tzinfo=timezone.utc)

    class Until:
        """Fails before ``after`` hours from the start, passes from then on."""

        def __init__(self, after: int) -> None:
            self.at = start + timedelta(hours=after)

        def passes(self, ctx: object, t: datetime) -> bool:
            return t >= self.at

        def starts(self, ctx: object, t: datetime) -> list[datetime]:
            return [self.at]

    first, middle = Until(10), Until(0)
    last = Until(20)  # passes at the start, as the middle one, but not at 10 h
    rules = [first, middle, last]
    found = next_allowed(None, rules, start, [first])  # type: ignore[arg-type]
    assert found == start + timedelta(hours=20)


def test_an_attempt_is_stamped_with_the_hosts_clock(guard: Guard) -> None:
    import time

    consented(guard, MOBILE, AT - timedelta(days=3))
    d = guard.attempt(MOBILE, NPV, AT)
    assert d.attempt_id is not None
    rows = guard.engine.ledger.service_rows(  # type: ignore[attr-defined]
        "SELECT recorded_at FROM attempts WHERE id = ?", (d.attempt_id,)
    )
    assert abs(int(rows[0][0]) / 1e6 - time.time()) < 60


def test_an_unreadable_ledger_names_the_numbers_primary_zone(tmp_path: Path) -> None:
    """A number of the 09 47 5 block may be in three zones: the refusal names the first, as
    every decision on it does."""
    import sqlite3

    from callguard._engine import read_question

    number = "09 47 51 23 45"
    location = str(tmp_path / "ledger.db")
    with Guard(location, professional="acme") as g:
        terms = g.engine.terms(NPV, "prospection", None, False)
        assert len(read_question(number, terms, AT).zones) > 1
        primary = g.may_call(number, NPV, AT).callee_tz
        with sqlite3.connect(location) as conn:
            conn.execute("ALTER TABLE facts_by_number RENAME TO gone")
        d = g.may_call(number, NPV, AT + timedelta(minutes=1))
    assert d.codes == {ReasonCode.LEDGER_UNAVAILABLE}
    assert d.callee_tz == primary


def test_a_list_shares_no_answer_between_numbers_whose_consents_differ(guard: Guard) -> None:
    """In a list, a number with consents is judged on them: a withdrawn consent is not a
    valid one, whatever the order."""
    valid, withdrawn = "06 11 22 33 44", "06 55 66 77 88"
    for number in (valid, withdrawn):
        consented(guard, number, AT - timedelta(days=3))
    guard.withdraw_consent(withdrawn, AT - timedelta(days=1))
    for order in ([valid, withdrawn], [withdrawn, valid]):
        decided = {d.number: d.allowed for d in guard.scrub(order, NPV, AT)}
        assert decided == {"+33611223344": True, "+33655667788": False}
