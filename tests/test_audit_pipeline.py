"""The audit's set-based replay gives, row for row, the report of a replay judging each call.

``replay_each`` below is the audit as it was written first: every row built into a full call and
judged on its own, in time order, with the whole history of its number. The pipeline in
``callguard._audit`` decides which calls share a verdict and asks ``judge`` once per situation;
these tests hold it to the same report (violations with their reasons, in order, rejected rows,
calls counted) over random ledgers and random logs, on both backends.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import callguard
from callguard import Guard, Policy, _audit
from callguard._audit import _WINDOWS_ON_THE_HOUR, _closed
from callguard._calllog import (
    CallColumns,
    LoggedCall,
    call_log_format,
    read_call_columns,
    read_call_log,
)
from callguard._engine import apply_outcome, judge, lookback, read_question, read_terms
from callguard._exceptions import InvalidNumberError
from callguard._facts import Facts
from callguard._files import open_contacts
from callguard._numbers import parse_number
from callguard._reports import AuditReport, Rejected, Violation
from callguard._time import UTC, to_us
from callguard._types import Purpose
from callguard.rules import calendar as cal
from callguard.rules.hours import _calendar as calendar_reasons
from callguard.storage import Ledger
from conftest import NPV, postgres_schema, voided_attempt

PARIS = ZoneInfo("Europe/Paris")

# -- the reference: one call at a time ------------------------------------------------------------


@dataclass(slots=True)
class _Pair:
    facts: Facts
    ledger_refusals: list[int]
    ledger_optouts: list[tuple[int, int | None]]
    log_refusals: list[int] = field(default_factory=list)
    log_optouts: list[tuple[int, int | None]] = field(default_factory=list)

    def insert_refusal(
        self, professional: int, number: int, at: int, attempt_id: int | None = None
    ) -> None:
        self.log_refusals.append(at)

    def insert_optout(
        self, professional: int, number: int, at: int, expires_at: int | None, source: str
    ) -> None:
        self.log_optouts.append((at, expires_at))


def _shown(raw: object) -> object:
    """What a violation shows: E.164 when the number parses, else as written."""
    try:
        return parse_number(raw).e164
    except InvalidNumberError:
        return raw


def replay_each(
    policy: Policy, ledger: Ledger, log: list[LoggedCall], rejected: list[Rejected]
) -> AuditReport:
    """Every call built and judged on its own, in time order, with all of its history."""
    report = AuditReport(rejected=list(rejected))
    judged = [
        (
            c,
            read_question(
                c.number,
                read_terms(
                    c.caller_id,
                    c.purpose or Purpose.PROSPECTION,
                    c.sector,
                    c.recorded_message,
                    policy,
                ),
                c.started_at.astimezone(UTC),
                None,
                c.department,
            ),
        )
        for c in log
    ]
    if not judged:
        return report
    start = min(c.started_at for c, _ in judged)
    start_us = to_us(start)
    since_us = to_us(start - lookback(policy))
    wanted: dict[str, set[int]] = {}
    for c, call in judged:
        if call.key is not None:
            wanted.setdefault(c.professional, set()).add(call.key)
    pairs: dict[tuple[str, int], _Pair] = {}
    for name, keys in wanted.items():
        pid = ledger.find_professional(name)
        known = ledger.facts_many(-1 if pid is None else pid, keys, start_us, since_us)
        for key, f in known.items():
            pairs[(name, key)] = _Pair(
                facts=Facts(
                    attempts=[a for a in f.attempts if a < start_us],
                    consents=f.consents,
                    off_hours=f.off_hours,
                    withdrawals=f.withdrawals,
                    slots=f.slots,
                    contracts=f.contracts,
                    bloctel=f.bloctel,
                ),
                ledger_refusals=sorted(f.refusals),
                ledger_optouts=f.optouts,
            )
    order = sorted(judged, key=lambda cc: (cc[0].started_at.astimezone(UTC), cc[0].line))
    none = Facts()
    for c, call in order:
        t = c.started_at.astimezone(UTC)
        tu = to_us(t)
        pair: _Pair | None = None
        facts = none
        if call.key is not None:
            pair = pairs[(c.professional, call.key)]
            facts = pair.facts
            facts.refusals = [r for r in pair.ledger_refusals if r < tu] + pair.log_refusals
            facts.optouts = [o for o in pair.ledger_optouts if o[0] < tu] + pair.log_optouts
        try:
            reasons = judge(call, facts, search=False, live=False).reasons
        except ValueError as exc:
            report.rejected.append(Rejected(c.line, c.started_at.isoformat(), str(exc)))
            continue
        report.calls += 1
        if reasons:
            number = _shown(c.number)
            report.violations.append(
                Violation(c.line, number, c.started_at, c.caller_id, c.professional, tuple(reasons))
            )
        if pair is not None:
            pair.facts.attempts.append(tu)
            apply_outcome(pair, -1, call.key or 0, tu, c.outcome)
    report.violations.sort(key=lambda v: v.line)
    report.rejected.sort(key=lambda r: r.line)
    return report


def audit_each(source: Any, guard: Guard, **options: Any) -> AuditReport:
    log, rejected = read_call_log(source, professional=guard.professional, **options)
    return replay_each(guard.policy, guard.engine.ledger, log, rejected)


def same(got: AuditReport, want: AuditReport) -> None:
    assert got.rejected == want.rejected
    assert [(v.line, v.number, v.codes) for v in got.violations] == [
        (v.line, v.number, v.codes) for v in want.violations
    ]
    assert got.violations == want.violations  # the reasons' texts too
    assert got.calls == want.calls


# -- random ledgers and logs ----------------------------------------------------------------------

# Consumer lines of several zones (metropolitan, Alsace-Moselle, Réunion, Guadeloupe, Guyane,
# Polynesia), numbers that are not consumer lines (foreign, premium-rate, short) and invalid ones.
CONSUMERS = [
    "06 12 00 00 21", "+33612000022", "0033 6 12 00 00 23", "03 88 12 34 56", "02 62 12 34 56",
    "0590 12 34 56", "0594 12 34 56", "+689 87 12 34 56",
]  # fmt: skip
OTHERS = ["+44 20 7946 0000", "08 99 12 34 56", "3010", "12", "not a number"]
CALLERS = [NPV, NPV, NPV, NPV, "06 11 22 33 44", "01 42 12 34 56", "anonymous", ""]
# Days around the regime switches (calendar 2023-03-01, consent 2026-08-11), holidays,
# daylight-saving changes, weekends, the rulebook's first day and the day before it.
DAYS = [
    date(2016, 5, 31), date(2016, 6, 1), date(2023, 2, 27), date(2023, 2, 28), date(2023, 3, 1),
    date(2023, 3, 2), date(2025, 5, 1), date(2025, 5, 2), date(2025, 7, 14), date(2026, 3, 27),
    date(2026, 3, 29), date(2026, 3, 30), date(2026, 8, 10), date(2026, 8, 11),
    date(2026, 8, 12), date(2026, 8, 15), date(2026, 10, 23), date(2026, 10, 25),
    date(2026, 11, 11), date(2026, 11, 12), date(2026, 12, 26),
]  # fmt: skip
# Minutes around the windows' edges, and any minute.
MINUTES = st.one_of(
    st.sampled_from([0, 59, 60, 599, 600, 601, 779, 780, 839, 840, 1199, 1200, 1439]),
    st.integers(0, 24 * 60 - 1),
)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    day = draw(st.sampled_from(DAYS)) + timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 3, 29])))
    minute = draw(MINUTES)
    second = draw(st.sampled_from([0, 0, 30, 59]))
    tz = draw(st.sampled_from([PARIS, PARIS, ZoneInfo("Indian/Reunion"), timezone.utc]))
    local = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute, seconds=second)
    return local.replace(tzinfo=tz)


def written(moment: datetime, form: int) -> str:
    if form == 0:  # naive: Paris
        return moment.astimezone(PARIS).replace(tzinfo=None).isoformat()
    if form == 1:
        return moment.isoformat()
    if form == 2:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")  # French Excel


def near(draw: st.DrawFn, moments: list[datetime]) -> datetime:
    """One of the example's moments, or a few minutes, hours or days from it: calls and facts
    fall on the same days, on both sides of each other, in and out of the same hours."""
    base = draw(st.sampled_from(moments))
    shift = draw(
        st.sampled_from([0, 0, 1, -1, 7, -7, 30, -30, 59, 61, 180, 1440, -1440, 1440 * 29,
                         1440 * 31, 1440 * 61])
    )  # fmt: skip
    return base + timedelta(minutes=shift)


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, str]:
    """What a row says besides its number, time and outcome."""
    profile = {
        "caller_id": draw(st.sampled_from(CALLERS)),
        "purpose": draw(st.sampled_from(["", "", "", "PROSPECTION", "CONTRACT", "PRESS", "B2B"])),
        "sector": draw(st.sampled_from(["", "", "", "", "ENERGY_RENOVATION"])),
        "department": draw(st.sampled_from(["", "", "", "", "75", "67", "974"])),
        "recorded_message": draw(st.sampled_from(["", "", "", "0", "1"])),
        "professional": draw(st.sampled_from(["", "", "", "acme", "other"])),
    }
    if draw(st.integers(0, 9)) == 0:  # a row the reader rejects
        profile[draw(st.sampled_from(["purpose", "department", "recorded_message"]))] = "?"
    return profile


@st.composite
def rows(
    draw: st.DrawFn, moments: list[datetime], numbers: list[str], kinds: list[dict[str, str]]
) -> dict[str, str]:
    number = draw(st.sampled_from(numbers))
    if draw(st.integers(0, 19)) == 0:
        number = draw(st.sampled_from(OTHERS))
    started: datetime | str = near(draw, moments)
    if draw(st.integers(0, 29)) == 0:
        started = draw(st.sampled_from(["", "yesterday", "2101-01-01T10:00"]))
    outcome = ["REFUSED", "OBJECTED", "NO_ANSWER", "NO_ANSWER", "ANSWERED", "", "refused", "?"]
    return {
        **draw(st.sampled_from(kinds)),
        "number": number if draw(st.booleans()) else f" {number} ",
        "started_at": started
        if isinstance(started, str)
        else written(started, draw(st.integers(0, 3))),
        "outcome": draw(st.sampled_from(outcome)),
    }


@st.composite
def examples(
    draw: st.DrawFn,
) -> tuple[list[dict[str, str]], list[tuple[str, str, datetime, int]]]:
    """A log and the ledger's facts, around a few shared moments and a few numbers."""
    moments = draw(st.lists(instants(), min_size=1, max_size=4))
    numbers = draw(st.lists(st.sampled_from(CONSUMERS), min_size=1, max_size=3, unique=True))
    kinds = draw(st.lists(profiles(), min_size=1, max_size=3))
    log = draw(st.lists(rows(moments, numbers, kinds), min_size=3, max_size=30))
    facts_of = st.sampled_from(
        ["attempt", "refusal", "optout", "optout_until", "consent", "consent_off_hours",
         "consent_until", "withdrawal", "slot", "contract", "bloctel_clean", "bloctel_listed",
         "voided", "voided_answered"]
    )  # fmt: skip
    facts = []
    for _ in range(draw(st.integers(0, 12))):
        moment = near(draw, moments) - timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 40, 70])))
        if moment.astimezone(UTC) < datetime(2016, 6, 2, tzinfo=UTC):
            moment = datetime(2016, 6, 2, 12, tzinfo=UTC)
        days = draw(st.sampled_from([1, 10, 100]))
        facts.append((draw(facts_of), draw(st.sampled_from(numbers)), moment, days))
    return log, facts


def record(guard: Guard, facts: list[tuple[str, str, datetime, Any]]) -> None:
    for kind, number, at, days in facts:
        later = at + timedelta(days=days)
        if kind == "attempt":
            guard.record_call(number, at, caller_id=NPV)
        elif kind.startswith("voided"):
            voided_attempt(guard, number, at, answered=kind == "voided_answered")
        elif kind == "refusal":
            guard.record_refusal(number, at)
        elif kind == "optout":
            guard.add_optout(number, at)
        elif kind == "optout_until":
            guard.add_optout(number, at, expires_at=later)
        elif kind.startswith("consent"):
            guard.record_consent(
                number, at, proof="form", off_hours=kind == "consent_off_hours",
                expires_at=later if kind == "consent_until" else None,
            )  # fmt: skip
        elif kind == "withdrawal":
            guard.withdraw_consent(number, at)
        elif kind == "slot":
            guard.record_slot_consent(number, at, at + timedelta(hours=days), proof="slot")
        elif kind == "contract":
            guard.record_contract(number, at, later)
        else:
            listed = [number] if kind == "bloctel_listed" else []
            guard.import_bloctel(listed, at, submitted=[number])


COLUMNS = [
    "number", "caller_id", "started_at", "outcome", "purpose", "sector", "department",
    "recorded_message", "professional",
]  # fmt: skip


def write(path: Path, log: list[dict[str, str]], delimiter: str = ";") -> Path:
    lines = [delimiter.join(COLUMNS)] + [delimiter.join(r[c] for c in COLUMNS) for r in log]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def fresh_guard(backend: str, policy: Policy | None = None) -> Iterator[Guard]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            guard = Guard(os.path.join(tmp, "ledger.db"), professional="acme", policy=policy)
            try:
                yield guard
            finally:
                guard.close()
        return
    with postgres_schema(_server()) as dsn:
        guard = Guard(dsn, professional="acme", policy=policy)
        try:
            yield guard
        finally:
            guard.close()


_SERVERS: list[str] = []


def _server() -> str:
    assert _SERVERS, "the test asked for the postgres_server fixture first"
    return _SERVERS[0]


POLICIES = st.sampled_from(
    [
        Policy(),
        Policy(automated=True),
        Policy(cap_calls=2, cap_days=45, refusal_cooldown_days=90),
        Policy(strict_local_holidays=True),
    ]
)

EXAMPLES = {"sqlite": 120, "postgres": 30}


@pytest.mark.slow
@pytest.mark.parametrize("backend_", ["sqlite", "postgres"])
def test_the_pipeline_reports_what_judging_each_call_reports(
    backend_: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend_ == "postgres":
        _SERVERS[:] = [request.getfixturevalue("postgres_server")]

    @settings(
        max_examples=EXAMPLES[backend_],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(example=examples(), policy=POLICIES)
    def check(example: tuple[list[dict[str, str]], list[Any]], policy: Policy) -> None:
        log, facts = example
        with fresh_guard(backend_, policy) as guard:
            record(guard, facts)
            path = write(tmp_path / "calls.csv", log)
            report = callguard.audit(path, db=guard)
            same(report, audit_each(path, guard))
            event(f"violations: {min(len(report.violations), 5)}")
            event(f"distinct codes: {min(len(report.summary), 4)}")
            # Rows given as mappings are read row by row, and judged alike.
            same(callguard.audit(log, db=guard), audit_each(log, guard))

    check()


# -- the situations the pipeline must tell apart, one by one ----------------------------------------


def audit_both(tmp_path: Path, guard: Guard, log: list[dict[str, str]]) -> AuditReport:
    path = write(tmp_path / "calls.csv", log)
    report = callguard.audit(path, db=guard)
    same(report, audit_each(path, guard))
    return report


def call(number: str, started_at: str, outcome: str = "NO_ANSWER", **cells: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(number=number, caller_id=NPV, started_at=started_at, outcome=outcome, **cells)
    return row


def codes_by_line(report: AuditReport) -> dict[int, tuple[str, ...]]:
    return {v.line: tuple(sorted(v.codes)) for v in report.violations}


def test_a_fact_between_two_calls_of_one_day_splits_their_verdicts(
    guard: Guard, tmp_path: Path
) -> None:
    # Bloctel regime, in hours: unchecked at 10:30, checked clean at 12:00, fine at 14:30; the
    # same number again after a consent given at 15:00 in the consent regime.
    guard.import_bloctel([], datetime(2025, 5, 13, 12, tzinfo=PARIS), submitted=["06 12 00 00 21"])
    guard.record_consent("06 12 00 00 22", datetime(2026, 11, 24, 15, tzinfo=PARIS), proof="f")
    report = audit_both(
        tmp_path,
        guard,
        [
            call("06 12 00 00 21", "2025-05-13T10:30:00"),
            call("06 12 00 00 21", "2025-05-13T14:30:00"),
            call("06 12 00 00 22", "2026-11-24T14:30:00"),
            call("06 12 00 00 22", "2026-11-24T15:30:00"),
        ],
    )
    assert codes_by_line(report) == {2: ("BLOCTEL_UNCHECKED",), 4: ("NO_CONSENT",)}


def test_calls_out_of_hours_in_one_hour_show_their_own_minute(guard: Guard, tmp_path: Path) -> None:
    guard.record_consent("06 12 00 00 21", datetime(2026, 11, 1, tzinfo=PARIS), proof="f")
    guard.record_consent("06 12 00 00 22", datetime(2026, 11, 1, tzinfo=PARIS), proof="f")
    report = audit_both(
        tmp_path,
        guard,
        [
            call("06 12 00 00 21", "2026-11-24T21:05:00"),
            call("06 12 00 00 22", "2026-11-24T21:35:00"),
            call("06 12 00 00 21", "2026-11-24T12:59:00"),
            call("06 12 00 00 22", "2026-11-24T13:00:00"),
        ],
    )
    texts = [v.reasons[0].message for v in report.violations]
    assert [v.line for v in report.violations] == [2, 3, 5]
    assert "21:05" in texts[0] and "21:35" in texts[1] and "13:00" in texts[2]


def test_an_opt_out_ending_between_two_calls_of_one_day(guard: Guard, tmp_path: Path) -> None:
    number = "06 12 00 00 21"
    guard.record_consent(number, datetime(2026, 11, 1, tzinfo=PARIS), proof="f")
    guard.add_optout(
        number,
        datetime(2026, 11, 2, tzinfo=PARIS),
        expires_at=datetime(2026, 11, 24, 12, tzinfo=PARIS),
    )
    report = audit_both(
        tmp_path,
        guard,
        [call(number, "2026-11-24T10:30:00"), call(number, "2026-11-24T14:30:00")],
    )
    assert codes_by_line(report) == {2: ("OPTED_OUT",)}


def test_an_objection_in_the_log_closes_the_number_once(guard: Guard, tmp_path: Path) -> None:
    number = "06 12 00 00 21"
    guard.record_consent(number, datetime(2026, 11, 1, tzinfo=PARIS), proof="f")
    report = audit_both(
        tmp_path,
        guard,
        [
            call(number, "2026-11-24T10:30:00", "OBJECTED"),
            call(number, "2026-11-24T10:31:00", "OBJECTED"),
            call(number, "2026-11-24T10:32:00"),
        ],
    )
    assert codes_by_line(report) == {3: ("OPTED_OUT",), 4: ("OPTED_OUT",)}


def test_a_call_before_the_rulebook_is_rejected_and_not_an_attempt(
    make_guard: Any, tmp_path: Path
) -> None:
    guard = make_guard(policy=Policy(cap_calls=2, cap_days=30))
    number = "06 12 00 00 21"
    guard.import_bloctel([], datetime(2016, 6, 1, 9, tzinfo=PARIS), submitted=[number])
    report = audit_both(
        tmp_path,
        guard,
        [
            call(number, "2016-05-31T11:00:00", "OBJECTED"),  # would close the number
            call(number, "2016-05-31T12:00:00"),
            call(number, "2016-06-01T11:00:00"),
            call(number, "2016-06-01T12:00:00"),
        ],
    )
    assert [r.line for r in report.rejected] == [2, 3]
    assert report.calls == 2 and not report.violations


def test_the_cap_counts_the_log_and_the_ledger_before_it(guard: Guard, tmp_path: Path) -> None:
    number = "06 12 00 00 21"
    guard.record_consent(number, datetime(2026, 10, 1, tzinfo=PARIS), proof="f")
    for day in (2, 3):
        guard.record_call(number, datetime(2026, 11, day, 11, tzinfo=PARIS), caller_id=NPV)
    log = [call(number, f"2026-11-{d:02d}T11:00:00") for d in (4, 5, 6, 9)]
    log += [call(number, "2026-12-30T11:00:00")]  # the window has moved on
    report = audit_both(tmp_path, guard, log)
    assert codes_by_line(report) == {4: ("FREQUENCY_CAP",), 5: ("FREQUENCY_CAP",)}


def test_a_refusal_older_than_the_lookback_ends_no_cooldown(guard: Guard, tmp_path: Path) -> None:
    number = "06 12 00 00 21"
    guard.record_consent(number, datetime(2026, 9, 1, tzinfo=PARIS), proof="f")
    log = [
        call(number, "2026-09-09T11:00:00", "REFUSED"),
        call(number, "2026-11-06T11:00:00"),  # 60 full days not over
        call(number, "2026-11-09T11:00:00"),  # over
    ]
    report = audit_both(tmp_path, guard, log)
    assert codes_by_line(report) == {3: ("REFUSAL_COOLDOWN",)}


def test_the_hour_shortcut_rests_on_windows_on_the_hour() -> None:
    assert _WINDOWS_ON_THE_HOUR
    assert all(edge.minute == 0 for window in cal.WINDOWS for edge in window)


_ZONE_SETS = [
    *sorted({(tz,) for tz, _ in cal.DEPARTMENTS.values()}),
    ("Europe/Paris", "Indian/Reunion"),
    ("America/Cayenne", "America/Guadeloupe", "Pacific/Tahiti"),
]
_AREAS = sorted({a for _, areas in cal.DEPARTMENTS.values() for a in areas})


@settings(deadline=None)  # a year's holidays are built on first use
@given(
    zones=st.sampled_from(_ZONE_SETS),
    areas=st.lists(st.sampled_from(_AREAS), max_size=2, unique=True),
    strict=st.booleans(),
    # 2016-05-31 to 2100-12-31, most draws near the windows' edges of some day
    minute=st.one_of(
        st.integers(24_322_800, 68_374_079),
        st.builds(
            lambda day, m: day * 1440 + m,
            st.one_of(
                st.integers(16_891, 47_481),
                st.sampled_from([(d - date(1970, 1, 1)).days for d in DAYS[1:]]),  # holidays
            ),
            st.sampled_from([0, 59, 60, 479, 480, 539, 540, 599, 600, 659, 660, 1079, 1080]),
        ),
    ),
)
def test_closed_says_whether_the_calendar_gives_a_reason(
    zones: tuple[str, ...], areas: list[str], strict: bool, minute: int
) -> None:
    infos = tuple(ZoneInfo(z) for z in zones)
    want = bool(calendar_reasons(infos, tuple(areas), strict, minute))
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    assert _closed([at.astimezone(z) for z in infos], tuple(areas), strict) is want


def test_reading_into_columns_equals_reading_row_by_row(tmp_path: Path) -> None:
    rows_ = [
        call("06 12 00 00 21", "2026-11-24T10:30:00"),
        call(" 06 12 00 00 22 ", " 2026-11-24T10:30:00 ", "refused", purpose="CONTRACT"),
        call("", "2026-11-24T10:30:00"),
        call("06 12 00 00 23", "yesterday"),
        call("06 12 00 00 23", "2026-11-24T10:30:00", "MAYBE"),
        call("06 12 00 00 23", "2026-11-24T10:30:00", department="999"),
        call("06 12 00 00 23", "2026-11-24T10:30:00", recorded_message="maybe"),
        call("06 12 00 00 23", "24/11/2026 10:30", professional="other", department="974"),
        call("06 12 00 00 23", "2026-11-24T10:30:00+04:00", recorded_message="oui"),
    ]
    plain = write(tmp_path / "plain.csv", rows_)
    text = plain.read_text(encoding="utf-8").splitlines()
    text += ["06 12 00 00 24;" + NPV, "06 12 00 00 24;" + NPV + ";2026-11-24T10:30:00" + ";" * 9]
    text += ["06 12 00 00 25;" + NPV + ";2026-11-24T10:30:00;" + "x" * 140_000]  # over the limit
    plain.write_text("\n".join([*text[:3], "", ";;;", *text[3:]]) + "\n", encoding="utf-8")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(plain.read_text(encoding="utf-8").replace("yesterday", '"yesterday"'))
    with open_contacts(plain, column=1) as cf:
        assert cf.plain_records() is not None  # split line by line
    with open_contacts(quoted, column=1) as cf:
        assert cf.plain_records() is None  # the CSV parser's
    for path in (plain, quoted):
        columns, rejected = read_call_columns(path, professional="acme")
        log, want = read_call_log(path, professional="acme")
        assert rejected == want
        assert any("unreadable CSV line" in r.reason for r in rejected)
        assert columns == CallColumns.of(log)
    fmt = call_log_format(mapping={"number": "number"}, outcome_map="NI=REFUSED")
    columns, rejected = read_call_columns(plain, professional="x", log_format=fmt)
    log, want = read_call_log(plain, professional="x", log_format=fmt)
    assert (columns, rejected) == (CallColumns.of(log), want)


@pytest.mark.slow
def test_facts_read_a_few_numbers_at_a_time_give_the_same_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The ledger is read in chunks of numbers; one number a chunk puts every chunk boundary
    # between two numbers of the log (a fixed-facts model shared across chunks included).
    monkeypatch.setattr(_audit, "_READ_CHUNK", 1)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(example=examples(), policy=POLICIES)
    def check(example: tuple[list[dict[str, str]], list[Any]], policy: Policy) -> None:
        log, facts = example
        with fresh_guard("sqlite", policy) as guard:
            record(guard, facts)
            path = write(tmp_path / "calls.csv", log)
            same(callguard.audit(path, db=guard), audit_each(path, guard))

    check()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_audit_leaves_the_cycle_collector_as_it_found_it(
    guard: Guard, tmp_path: Path, enabled: bool
) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        audit_both(tmp_path, guard, [call("06 12 00 00 21", "2025-05-13T10:30:00")])
        assert gc.isenabled() is enabled

        def interrupted(_read: int) -> None:
            raise KeyboardInterrupt  # the reading stops inside the audit

        with pytest.raises(KeyboardInterrupt):
            callguard.audit(tmp_path / "calls.csv", db=guard, progress=interrupted)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
