"""The scrub's pipeline gives, number by number, the Decision ``may_call`` gives.

The pipeline reads only the fact kinds the instant can use, reads facts only for the numbers
that have any, and shares one verdict between numbers of the same class with the same facts (or
with none). Each shortcut is held equal to the general engine here: random ledgers (every fact
kind, both backends), random lists (every written form, invalid values and odd types,
duplicates, overseas, Alsace-Moselle, 08, foreign and short numbers), every regime in and out of
hours and on the day the consent regime starts (when the consumer's local date differs from
Paris's), every purpose and sector, départements, zones, caller IDs and recorded messages. The
scrubbed file is also held byte for byte to one built from ``may_call`` row by row.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, Purpose, Sector
from callguard._bulk import OUTPUT_COLUMNS, _decision_cells, scrub_file
from callguard._engine import BATCH, _kinds_around, facts_read, regime_of_day
from callguard._facts import FactKind
from callguard._files import neutralise
from conftest import NPV, paris

# Numbers the ledger may know: metropolitan mobiles, Alsace-Moselle, overseas lines (their own
# zones and holidays), an NPV line.
KNOWN = [
    "06 12 34 56 78", "07 80 12 34 56", "03 88 12 34 56", "0696 12 34 56", "0262 16 12 34",
    "09 47 50 12 34", "0594 12 34 56",
]  # fmt: skip


def _forms(number: str) -> list[str]:
    """Written forms of a French number (national with spaces): every one the parser reads."""
    digits = number.replace(" ", "")
    nsn = digits[1:]
    return [
        number, digits, "+33" + nsn, "+33 (0)" + nsn, "0033 " + nsn, "33" + nsn,
        ".".join(digits[i : i + 2] for i in range(0, 10, 2)), " \t" + digits + "\n",
    ]  # fmt: skip


# Every value a list may hold: each known number in every form, numbers never seen, and values
# that are not consumer lines (invalid text, odd types, 08, a foreign number, short codes).
OTHERS: list[object] = [
    "06 99 88 77 66", "0690 00 12 35", "0388999999", "0800 12 34 56", "0899123456",
    "+44 20 7946 0958", "+32 470 12 34 56", "3010", "118712", "not a number", "", "06 12 34",
    None, 12.5, True, 612345678, 33612345679,
]  # fmt: skip
VALUES: list[object] = [form for n in KNOWN for form in _forms(n)] + OTHERS

# Every regime, in and out of hours, a Sunday, and the first day of the consent regime late in
# the evening in Paris (already that day in Réunion, still the day before in Martinique).
MOMENTS = [
    paris(2022, 5, 10, 10, 30), paris(2022, 5, 10, 21, 30),
    paris(2025, 5, 13, 10, 30), paris(2025, 5, 13, 21, 30), paris(2025, 5, 18, 11),
    paris(2026, 8, 10, 23, 30), datetime(2026, 8, 11, 1, 0, tzinfo=timezone.utc),
    paris(2026, 8, 11, 10, 30),
    paris(2026, 11, 24, 10, 30), paris(2026, 11, 28, 21, 0),
]  # fmt: skip

_days_before = st.integers(min_value=0, max_value=400).map(lambda d: timedelta(days=d, hours=3))
_facts = st.lists(
    st.tuples(
        st.sampled_from(["attempt", "refused", "objected", "refusal", "optout", "optout_until",
                         "consent", "consent_until", "withdrawal", "slot", "contract",
                         "consent_off_hours", "optout_removed", "refusal_lifted",
                         "contract_ended", "listed", "clean"]),
        st.sampled_from(KNOWN),
        _days_before,
    ),
    max_size=14,
)  # fmt: skip
_lists = st.lists(st.sampled_from(VALUES), max_size=40)
_options = st.fixed_dictionaries(
    {
        "purpose": st.sampled_from(list(Purpose)),
        "sector": st.sampled_from([None, *Sector]),
        "department": st.sampled_from([None, "75", "67", "972", "974", "2A"]),
        "callee_tz": st.sampled_from([None, "Europe/Paris", "America/Martinique"]),
        "recorded_message": st.booleans(),
    }
)
_caller_ids = st.sampled_from([NPV, "06 11 22 33 44", "anonymous", None, "0899123456"])

_professionals = (f"pro-{i}" for i in itertools.count())


def _lifted(guard: Guard, number: str, at: datetime) -> None:
    guard.record_refusal(number, at)
    guard.lift_refusal(number, at + timedelta(hours=1), reason="mistake")


def _removed(guard: Guard, number: str, at: datetime) -> None:
    guard.add_optout(number, at)
    guard.remove_optout(number, at + timedelta(days=2))


_RECORD: dict[str, Callable[[Guard, str, datetime], object]] = {
    "attempt": lambda g, n, at: g.record_call(n, at, caller_id=NPV),
    "refused": lambda g, n, at: g.record_call(n, at, caller_id=NPV, outcome="REFUSED"),
    "objected": lambda g, n, at: g.record_call(n, at, caller_id=NPV, outcome="OBJECTED"),
    "refusal": lambda g, n, at: g.record_refusal(n, at),
    "optout": lambda g, n, at: g.add_optout(n, at),
    "optout_until": lambda g, n, at: g.add_optout(n, at, expires_at=at + timedelta(days=30)),
    "consent": lambda g, n, at: g.record_consent(n, at, proof="form"),
    "consent_until": lambda g, n, at: g.record_consent(
        n, at, proof="form", expires_at=at + timedelta(days=90)
    ),
    "consent_off_hours": lambda g, n, at: g.record_consent(n, at, proof="form", off_hours=True),
    "optout_removed": _removed,
    "refusal_lifted": _lifted,
    "contract_ended": lambda g, n, at: g.record_contract(n, at, at + timedelta(days=20)),
    "withdrawal": lambda g, n, at: g.withdraw_consent(n, at),
    "slot": lambda g, n, at: g.record_slot_consent(n, at, at + timedelta(days=3), proof="call"),
    "contract": lambda g, n, at: g.record_contract(n, at),
}


def _record(guard: Guard, kind: str, number: str, at: datetime) -> None:
    if kind in _RECORD:
        _RECORD[kind](guard, number, at)
    else:
        guard.import_bloctel([number] if kind == "listed" else [], at, submitted=[number])


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    facts=_facts,
    numbers=_lists,
    moment=st.sampled_from(MOMENTS),
    caller_id=_caller_ids,
    options=_options,
)
def test_scrub_equals_may_call_decision_for_decision(
    ledger_location: str,
    facts: list[tuple[str, str, timedelta]],
    numbers: list[object],
    moment: datetime,
    caller_id: object,
    options: dict[str, object],
) -> None:
    # A professional of its own per example: the ledger's Bloctel checks are shared, the rest
    # starts empty.
    with Guard(ledger_location, professional=next(_professionals)) as guard:
        for kind, number, before in facts:
            _record(guard, kind, number, moment - before)
        scrubbed = guard.scrub(numbers, caller_id, moment, **options)  # type: ignore[arg-type]
        one_by_one = [
            guard.may_call(n, caller_id, moment, **options)  # type: ignore[arg-type]
            for n in numbers
        ]
        assert scrubbed == one_by_one


def test_a_list_longer_than_a_batch_shares_verdicts_across_batches_exactly(tmp_path: Path) -> None:
    # Batches share the verdicts found so far: numbers with the same facts in later batches
    # get them, and each decision still carries its own number.
    with Guard(tmp_path / "ledger.db") as guard:
        at = paris(2025, 5, 2, 10)
        guard.import_bloctel(["06 12 34 56 78"], at, submitted=["07 80 12 34 56"])
        guard.record_call("03 88 12 34 56", at, caller_id=NPV)
        numbers = [f"06{10_000_000 + i:08d}" for i in range(BATCH + 7)]
        special = ["06 12 34 56 78", "07 80 12 34 56", "03 88 12 34 56", "nope", "0696 12 34 56"]
        picked = list(range(3, len(numbers), 997))
        for i in picked:
            numbers[i] = special[i % len(special)]
        moment = paris(2025, 5, 13, 10, 30)
        scrubbed = guard.scrub(numbers, NPV, moment)
        assert len(scrubbed) == len(numbers)
        for i in picked + list(range(0, len(numbers), 251)) + [len(numbers) - 1]:
            assert scrubbed[i] == guard.may_call(numbers[i], NPV, moment), numbers[i]


def test_a_consumer_still_under_bloctel_is_read_bloctel_when_paris_is_not(tmp_path: Path) -> None:
    # The first day of the consent regime has begun in Paris and in UTC, but it is still the day
    # before in Martinique: the Bloctel listing there refuses the call, in a scrub as in may_call.
    with Guard(tmp_path / "ledger.db") as guard:
        moment = datetime(2026, 8, 11, 1, 0, tzinfo=timezone.utc)
        guard.import_bloctel(["0696 12 34 56"], moment - timedelta(days=3), submitted=[])
        numbers = ["0696 12 34 56", "06 12 34 56 78", "0696 12 34 57"]
        expected = [guard.may_call(n, NPV, moment, purpose="PROSPECTION") for n in numbers]
        assert expected[0].regime == "bloctel-hours"
        assert "BLOCTEL_LISTED" in [c.value for c in expected[0].codes]
        assert guard.scrub(numbers, NPV, moment) == expected


def test_the_kinds_read_cover_every_local_date_of_the_instant() -> None:
    # On the first day of the consent regime, Bloctel is still read: in Martinique it is the
    # day before, under the Bloctel regime.
    late = paris(2026, 8, 10, 23, 30)
    assert FactKind.BLOCTEL in _kinds_around(late)
    for tz in ("America/Martinique", "Indian/Reunion", "Europe/Paris", "Pacific/Kiritimati"):
        local = late.astimezone(ZoneInfo(tz)).date()
        assert facts_read(regime_of_day(local)) <= _kinds_around(late)
    assert FactKind.BLOCTEL not in _kinds_around(paris(2026, 11, 24, 10, 30))


def test_facts_many_known_only_leaves_out_numbers_without_facts(ledger_location: str) -> None:
    with Guard(ledger_location, professional="acme") as guard:
        at = paris(2026, 11, 2, 10)
        guard.record_consent("06 12 34 56 78", at, proof="form")
        guard.import_bloctel([], at, submitted=["07 80 12 34 56"])
        engine = guard.engine
        keys = {33612345678, 33780123456, 33699887766}
        now, since = 1_900_000_000_000_000, 0
        every = engine.ledger.facts_many(engine.pid, keys, now, since)
        assert set(every) == keys
        known = engine.ledger.facts_many(engine.pid, keys, now, since, known_only=True)
        assert known == {k: f for k, f in every.items() if k != 33699887766}
        no_bloctel = frozenset(FactKind) - {FactKind.BLOCTEL}
        consent_only = engine.ledger.facts_many(
            engine.pid, keys, now, since, no_bloctel, known_only=True
        )
        assert set(consent_only) == {33612345678}
        assert consent_only[33612345678] == every[33612345678]


# -- the scrubbed file --------------------------------------------------------------------------


@pytest.mark.parametrize("moment", [MOMENTS[2], MOMENTS[3], MOMENTS[7]])
def test_scrub_file_bytes_equal_a_file_built_from_may_call(
    tmp_path: Path, moment: datetime
) -> None:
    # A list with a header, then the values, repeated so that verdicts are shared: the output is
    # each input row with may_call's four cells, written as the CLI has always written them.
    values = [v for v in VALUES if isinstance(v, str) and v.strip() and "\t" not in v] * 3
    with Guard(tmp_path / "ledger.db") as guard:
        at = moment - timedelta(days=5)
        guard.import_bloctel([KNOWN[0]], at, submitted=KNOWN[1:4])
        guard.record_call(KNOWN[2], at, caller_id=NPV)
        guard.record_consent(KNOWN[3], at, proof="form")
        source = tmp_path / "list.csv"
        source.write_bytes(("\r\n".join(["number", *values]) + "\r\n").encode("utf-8"))
        out = tmp_path / "out.csv"
        scrub_file(guard, source, out, NPV, moment)
        expected = io.StringIO()
        writer = csv.writer(expected, delimiter=";", lineterminator="\r\n")
        writer.writerow(["number", *OUTPUT_COLUMNS])
        for value in values:
            cells = _decision_cells(guard.may_call(value, NPV, moment))
            writer.writerow([neutralise(c) for c in (value, *cells)])
        assert out.read_bytes() == expected.getvalue().encode("utf-8")


def test_scrub_file_with_two_phone_columns_bytes_equal_a_file_built_from_may_call(
    tmp_path: Path,
) -> None:
    # Two phone columns, empty cells, a row with no number at all, and the columns of a previous
    # scrub (dropped and replaced): each group of four cells is may_call's, or empty.
    moment = MOMENTS[7]
    phones = [v for v in VALUES if isinstance(v, str) and ";" not in v and "\t" not in v]
    rows = [
        [f"=client {i}", phones[i % len(phones)], "" if i % 3 else phones[(i * 7) % len(phones)]]
        for i in range(60)
    ] + [["nobody", "", ""]]
    with Guard(tmp_path / "ledger.db") as guard:
        at = moment - timedelta(days=5)
        guard.import_bloctel([KNOWN[0]], at, submitted=KNOWN[1:4])
        guard.record_consent(KNOWN[3], at, proof="form")
        source = tmp_path / "contacts.csv"
        lines = ["nom;Tél. portable;Tél. fixe;callguard_allowed"]
        lines += [";".join([*r, "old"]) for r in rows]
        source.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
        out = tmp_path / "out.csv"
        summary = scrub_file(guard, source, out, NPV, moment)
        expected = io.StringIO()
        writer = csv.writer(expected, delimiter=";", lineterminator="\r\n")
        names = ["Tél. portable", "Tél. fixe"]
        writer.writerow(
            ["nom", *names, *(f"{c} ({n})" for n in names for c in OUTPUT_COLUMNS),
             "callguard_allowed_columns"]
        )  # fmt: skip
        allowed_rows = 0
        for r in rows:
            cells = [neutralise(c) for c in r]
            allowed_in = []
            for i, name in enumerate(names):
                value = r[1 + i] or ("" if any(r[1:]) or i else r[1])
                if not value and (any(r[1:]) or i):
                    cells += ["", "false", "", ""]
                    continue
                decision = guard.may_call(value, NPV, moment)
                cells += _decision_cells(decision)
                if decision.allowed:
                    allowed_in.append(name)
            allowed_rows += bool(allowed_in)
            writer.writerow([*cells, neutralise("|".join(allowed_in))])
        assert out.read_bytes() == expected.getvalue().encode("utf-8")
        assert (summary.rows, summary.allowed) == (len(rows), allowed_rows)


def test_an_unreadable_ledger_refuses_every_consumer_line_as_may_call_does() -> None:
    # Fail closed on both paths of the pipeline (keyed at once, and parsed one by one): each
    # consumer line is LEDGER_UNAVAILABLE in its own zone, the rest is judged as ever.
    guard = Guard(":memory:")
    guard.engine.ledger.conn.close()  # type: ignore[attr-defined]
    numbers = [*VALUES, *VALUES[:5]]
    for moment in (MOMENTS[0], MOMENTS[5], MOMENTS[8]):
        scrubbed = guard.scrub(numbers, NPV, moment)
        assert scrubbed == [guard.may_call(n, NPV, moment) for n in numbers]
        assert {d.callee_tz for d in scrubbed if "LEDGER_UNAVAILABLE" in d.codes} >= {
            "Europe/Paris", "America/Martinique", "Indian/Reunion",
        }  # fmt: skip
