"""Working with lists: bulk scrub, Bloctel submission files, call-history imports, opt-out lists.

**Set-based reads.** A scrub does not ask the ledger about each number in turn: the numbers'
keys go into a temporary table that one statement per fact table joins against
(:meth:`SQLiteLedger.facts_many`), and the rules — pure Python over :class:`Facts` — then run
per number. The decisions are exactly those :meth:`Guard.may_call` gives for each number at the
same instant; a test holds the two paths equal.

The CLI commands ``scrub``, ``bloctel export``, ``import-calls`` and ``optout list`` are thin
layers over the functions here.
"""

from __future__ import annotations

import csv
import itertools
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, TextIO, TypeVar

from . import _calendar as cal
from ._decision import Decision
from ._exceptions import ConfigurationError, InvalidNumberError, LedgerError
from ._facts import Facts
from ._files import ContactFile, header_key, neutralise, open_contacts, text_writer
from ._numbers import parse_number
from ._rules import Verdict, judge
from ._time import from_us, now_utc, to_us
from ._types import Outcome, Purpose, ReasonCode, Sector

if TYPE_CHECKING:
    from ._audit import CallSource
    from ._guard import Guard, Rejected

__all__ = [
    "OUTPUT_COLUMNS",
    "CallImportReport",
    "OptOutEntry",
    "ScrubSummary",
    "SubmissionReport",
    "bloctel_submission",
    "import_calls",
    "list_optouts",
    "scrub",
    "scrub_file",
]

_VERDICTS_KEPT = 100_000
"""Distinct verdicts remembered during one scrub (a bound on memory, not on correctness)."""

BATCH = 5_000
"""Numbers read from the ledger per set-based query (bounds memory on huge files)."""

OUTPUT_COLUMNS = (
    "callguard_number",
    "callguard_allowed",
    "callguard_reasons",
    "callguard_next_allowed_at",
)

T = TypeVar("T")


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


# -- scrub ----------------------------------------------------------------------------------------


def scrub(
    guard: Guard,
    numbers: Iterable[object],
    caller_id: object,
    now: datetime | None = None,
    *,
    purpose: Purpose | str = Purpose.PROSPECTION,
    sector: Sector | str | None = None,
    callee_tz: str | None = None,
) -> list[Decision]:
    """One :class:`Decision` per number, in order, as :meth:`Guard.may_call` would give each.

    Read-only. Every number is judged at the same instant ``now`` (taken once). Raises like
    ``may_call`` for a naive ``now`` or a bad ``purpose``/``sector``/``callee_tz``; a bad number
    is a refusal, and a ledger that cannot be read refuses the valid numbers with
    ``LEDGER_UNAVAILABLE``.
    """
    if isinstance(numbers, (str, bytes)):
        raise ValueError(
            f"numbers must be an iterable of phone numbers, not one string ({numbers[:40]!r})"
        )
    t = guard._now(now)
    Purpose.coerce(purpose)  # raise before any work, even on an empty list
    if sector is not None:
        Sector.coerce(sector)
    decisions: list[Decision] = []
    verdicts: dict[object, Verdict] = {}
    for batch in _batched(numbers, BATCH):
        decisions.extend(
            _scrub_batch(guard, batch, caller_id, t, purpose, sector, callee_tz, verdicts)
        )
    return decisions


def _scrub_batch(
    guard: Guard,
    numbers: list[object],
    caller_id: object,
    t: datetime,
    purpose: Purpose | str,
    sector: Sector | str | None,
    callee_tz: str | None,
    verdicts: dict[object, Verdict],
) -> list[Decision]:
    from ._guard import _e164_of, _unavailable

    calls = [guard._call(n, caller_id, purpose, sector, callee_tz) for n in numbers]
    keys = {c.number.key for c in calls if c.number_problem is None and c.number is not None}
    error: str | None = None
    facts: dict[int, Facts] = {}
    try:
        facts = guard._ledger.facts_many(guard._pid, keys, to_us(t), to_us(t - guard._lookback))
    except guard._errors as exc:
        error = str(exc)
    none = Facts()
    decisions: list[Decision] = []
    for call in calls:
        if call.number_problem is not None or call.number is None:
            verdict = judge(call, none, t)
        elif error is not None:
            decisions.append(_unavailable(error, t, call.zones[0].key, _e164_of(call)))
            continue
        else:
            # The caller ID, purpose, sector, policy and instant are the same for the whole list:
            # numbers in the same zones with the same facts get the same verdict, computed once.
            these = facts[call.number.key]
            signature = (call.zones, call.areas, these.signature())
            cached = verdicts.get(signature)
            if cached is None:
                if len(verdicts) >= _VERDICTS_KEPT:
                    verdicts.clear()
                cached = verdicts[signature] = judge(call, these, t)
            verdict = cached
        decisions.append(guard._decision(call, t, verdict))
    return decisions


@dataclass
class ScrubSummary:
    """What a file scrub did: rows judged, by verdict and by reason, and the lines to look at."""

    rows: int = 0
    allowed: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    """How many rows each reason code refused (a row refused for two reasons counts in both)."""
    bad_lines: list[Rejected] = field(default_factory=list)
    """Rows whose line could not be read, had the wrong number of fields, or held no valid
    phone number: still in the output (refused when there was no number), listed here."""
    blank_lines: list[int] = field(default_factory=list)
    """Lines with nothing in them, left out of the output."""
    encoding: str = ""
    delimiter: str | None = None

    @property
    def refused(self) -> int:
        return self.rows - self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "allowed": self.allowed,
            "refused": self.refused,
            "summary": dict(sorted(self.by_code.items())),
            "bad_lines": [
                {"line": r.line, "value": r.value, "reason": r.reason} for r in self.bad_lines
            ],
            "blank_lines": self.blank_lines,
        }

    def render(self, limit: int = 20) -> str:
        lines = [f"{self.rows} rows: {self.allowed} allowed, {self.refused} refused"]
        width = max((len(code) for code in self.by_code), default=0)
        for code, count in sorted(self.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {code:<{width}}  {count}")
        if self.bad_lines:
            lines.append(f"lines to check: {len(self.bad_lines)}")
            lines += [f"  line {r.line}: {r.reason}" for r in self.bad_lines[:limit]]
            if len(self.bad_lines) > limit:
                lines.append(f"  … and {len(self.bad_lines) - limit} more")
        if self.blank_lines:
            shown = ", ".join(map(str, self.blank_lines[:limit]))
            more = " …" if len(self.blank_lines) > limit else ""
            lines.append(f"blank lines left out: {len(self.blank_lines)} (line {shown}{more})")
        return "\n".join(lines)


Output = str | os.PathLike[str] | IO[bytes]


@contextmanager
def _output(output: Output, encoding: str, inputs: Iterable[str]) -> Iterator[TextIO]:
    """A text stream on ``output``. A path is written to a temporary file renamed into place on
    success only, so a failed run never leaves half a file (nor truncates the input)."""
    if not isinstance(output, (str, os.PathLike)):
        stream = text_writer(output, encoding)
        try:
            yield stream
            stream.flush()
        finally:
            stream.detach()
        return
    target = os.path.abspath(os.fspath(output))
    for path in inputs:
        if os.path.exists(target) and os.path.samefile(path, target):
            raise ConfigurationError(f"the output {os.fspath(output)!r} is an input file")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".callguard-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as binary, text_writer(binary, encoding) as stream:
            yield stream
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _decision_cells(decision: Decision) -> list[str]:
    nxt = decision.next_allowed_at
    return [
        decision.number or "",
        "true" if decision.allowed else "false",
        "|".join(r.code.value for r in decision.reasons),
        "" if nxt is None else nxt.isoformat(),
    ]


def scrub_file(
    guard: Guard,
    source: str | os.PathLike[str],
    output: Output,
    caller_id: object,
    now: datetime | None = None,
    *,
    purpose: Purpose | str = Purpose.PROSPECTION,
    sector: Sector | str | None = None,
    column: str | int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScrubSummary:
    """Scrub a contact file into ``output``: every input row and column, in order, plus
    :data:`OUTPUT_COLUMNS`, with the input's delimiter, encoding and line endings.

    Cells a spreadsheet would run as a formula are neutralised (:func:`neutralise`). A file
    without a header gets one (``number`` for a plain list, ``column_1``… otherwise) so that the
    added columns are named. ``progress`` is called with about how many bytes were read since
    its last call. A ledger that cannot be read raises ``LedgerError`` and writes nothing.
    """
    from ._guard import Rejected

    t = guard._now(now)
    Purpose.coerce(purpose)  # bad options fail before any output, even for a header-only file
    if sector is not None:
        Sector.coerce(sector)
    with open_contacts(source, column=column) as cf:
        summary = ScrubSummary(encoding=cf.encoding, delimiter=cf.delimiter)
        if cf.empty:
            with _output(output, cf.encoding, [os.fspath(source)]):
                pass  # an empty file scrubs to an empty file
            summary.blank_lines = list(cf.blank_lines)
            return summary
        with _output(output, cf.encoding, [os.fspath(source)]) as stream:
            writer = _csv_writer(stream, cf)
            if cf.sep_line is not None:
                stream.write(cf.sep_line + cf.newline)
            width = cf.width
            if cf.header is not None:
                header = cf.header
            elif cf.delimiter is None:
                header = ["number"]
            else:
                header = [f"column_{i + 1}" for i in range(width)]
            writer.writerow([neutralise(c) for c in header] + list(OUTPUT_COLUMNS))
            seen = 0
            per_char = 2 if cf.encoding == "utf-16" else 1
            for batch in _batched(cf, BATCH):
                values = [row.value for row in batch]
                decisions = scrub(guard, values, caller_id, t, purpose=purpose, sector=sector)
                for row, decision in zip(batch, decisions, strict=True):
                    if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
                        raise LedgerError(decision.reasons[0].message)
                    cells = row.cells + [""] * (width - len(row.cells))
                    writer.writerow([neutralise(c) for c in cells] + _decision_cells(decision))
                    _count(summary, row.line, row.value, row.problem, decision, Rejected)
                if progress is not None:
                    done = cf.chars_read * per_char  # ≈ bytes read, for a bar sized in bytes
                    progress(done - seen)
                    seen = done
        summary.blank_lines = list(cf.blank_lines)
    return summary


def _csv_writer(stream: TextIO, cf: ContactFile) -> Any:
    # A plain list has no delimiter of its own: the output takes French Excel's.
    return csv.writer(stream, delimiter=cf.delimiter or ";", lineterminator=cf.newline)


def _count(
    summary: ScrubSummary,
    line: int,
    value: str,
    problem: str | None,
    decision: Decision,
    rejected: type[Rejected],
) -> None:
    summary.rows += 1
    if decision.allowed:
        summary.allowed += 1
    for code in decision.codes:
        summary.by_code[code.value] += 1
    notes = [problem] if problem else []
    for reason in decision.reasons:
        if reason.code is ReasonCode.INVALID_NUMBER:
            notes.append(reason.message)
    if notes:
        summary.bad_lines.append(rejected(line, value, "; ".join(notes)))


# -- Bloctel submission -----------------------------------------------------------------------------


@dataclass
class SubmissionReport:
    """What ``bloctel export`` wrote: numbers to check, and why the others were left out."""

    numbers: int = 0
    """Distinct numbers written to the submission file."""
    rows: int = 0
    """Contact rows read."""
    fresh: int = 0
    """Distinct numbers left out because their last check is recent enough."""
    duplicates: int = 0
    """Rows left out because their number was already written."""
    rejected: list[Rejected] = field(default_factory=list)
    """Rows without a French consumer number (Bloctel checks nothing else)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers,
            "rows": self.rows,
            "fresh": self.fresh,
            "duplicates": self.duplicates,
            "rejected": [
                {"line": r.line, "value": r.value, "reason": r.reason} for r in self.rejected
            ],
        }

    def __str__(self) -> str:
        lines = [
            f"numbers to check: {self.numbers}",
            f"checked recently enough: {self.fresh}",
            f"duplicate rows: {self.duplicates}",
            f"rejected: {len(self.rejected)}",
        ]
        lines += [f"  line {r.line}: {r.value!r}: {r.reason}" for r in self.rejected]
        return "\n".join(lines)


BLOCTEL_HEADER = ("Telephone", "Identifiant")


def bloctel_submission(
    guard: Guard,
    contacts: str | os.PathLike[str],
    output: Output,
    now: datetime | None = None,
    *,
    max_age_days: int = 30,
    column: str | int | None = None,
    id_column: str | None = None,
) -> SubmissionReport:
    """Write the Bloctel submission file for ``contacts`` (docs/rules.md §5).

    One line per distinct French consumer number that needs a check at ``now``: never checked,
    or last checked more than ``max_age_days`` days before (in the consumer's calendar days, as
    the ``BLOCTEL_UNCHECKED`` rule counts them). Format ``Telephone;Identifiant``, 10-digit
    national numbers, CRLF line endings; ``Identifiant`` copies ``id_column`` when given, else
    is empty. Bloctel results are shared by every professional, so the guard's does not matter.
    """
    from ._guard import Rejected

    if not isinstance(max_age_days, int) or isinstance(max_age_days, bool) or max_age_days < 0:
        raise ConfigurationError(f"max_age_days must be a whole number ≥ 0, not {max_age_days!r}")
    t = guard._now(now)
    report = SubmissionReport()
    wanted: dict[int, tuple[str, str, str]] = {}  # key -> (national, identifier, zone)
    with open_contacts(contacts, column=column) as cf:
        id_index: int | None = None
        if id_column is not None:
            keys = [header_key(c) for c in cf.header or []]
            if header_key(id_column) not in keys:
                shown = ", ".join(repr(c) for c in cf.header) if cf.header else "no header"
                raise ConfigurationError(
                    f"{os.fspath(contacts)}: no column named {id_column!r} ({shown})"
                )
            id_index = keys.index(header_key(id_column))
        for row in cf:
            report.rows += 1
            try:
                number = parse_number(row.value)
            except InvalidNumberError as exc:
                reason = exc.reason if row.problem is None else f"{row.problem}; {exc.reason}"
                report.rejected.append(Rejected(row.line, row.value, reason))
                continue
            if not number.consumer_line:
                report.rejected.append(Rejected(row.line, row.value, "not a French consumer line"))
                continue
            if number.key in wanted:
                report.duplicates += 1
                continue
            ident = ""
            if id_index is not None and id_index < len(row.cells):
                ident = row.cells[id_index].strip()
            wanted[number.key] = (number.national, ident, number.zones[0])
    latest = guard._ledger.latest_bloctel_checks(wanted)
    with _output(output, "utf-8", [os.fspath(contacts)]) as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
        writer.writerow(BLOCTEL_HEADER)
        for key, (national, ident, zone) in wanted.items():
            checked = latest.get(key)
            if checked is not None:
                tz = cal.zone(zone)
                age = (t.astimezone(tz).date() - from_us(checked).astimezone(tz).date()).days
                if age <= max_age_days:
                    report.fresh += 1
                    continue
            writer.writerow([national, neutralise(ident)])
            report.numbers += 1
    return report


# -- call history import ----------------------------------------------------------------------------


@dataclass
class CallImportReport:
    """What ``import-calls`` did: calls recorded, calls already in the ledger, rows rejected."""

    imported: int = 0
    duplicates: int = 0
    """Calls already recorded (same professional, number and instant): importing a log twice
    adds nothing."""
    rejected: list[Rejected] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": [
                {"line": r.line, "value": r.value, "reason": r.reason} for r in self.rejected
            ],
        }

    def __str__(self) -> str:
        lines = [
            f"imported: {self.imported}",
            f"already in the ledger: {self.duplicates}",
            f"rejected: {len(self.rejected)}",
        ]
        lines += [f"  line {r.line}: {r.value!r}: {r.reason}" for r in self.rejected]
        return "\n".join(lines)


def import_calls(guard: Guard, calls: CallSource) -> CallImportReport:
    """Record a call history (a call log, as :func:`callguard.audit` reads it) in the ledger.

    Each call is recorded as :meth:`Guard.record_call` would: it counts toward the cap whatever
    its outcome, ``REFUSED`` starts the cooldown, ``OBJECTED`` adds a permanent opt-out. A row's
    ``professional`` column overrides the guard's. A call already recorded at the same instant
    for the same professional and number is skipped. All or nothing: the good rows are written
    in one transaction; bad rows are reported, never dropped silently.
    """
    from ._audit import read_call_log
    from ._guard import Rejected, _parse_caller

    log, rejected = read_call_log(calls, professional=guard.professional)
    report = CallImportReport(rejected=rejected)
    recorded_at = to_us(now_utc())
    with guard._write("import the calls") as ledger:
        pids: dict[str, int] = {}
        for call in log:
            try:
                key = parse_number(call.number).key
            except InvalidNumberError as exc:
                report.rejected.append(Rejected(call.line, call.number, exc.reason))
                continue
            pid = pids.get(call.professional)
            if pid is None:
                pid = pids[call.professional] = ledger.professional_id(call.professional)
            at = to_us(call.started_at)
            if ledger.has_attempt(pid, key, at):
                report.duplicates += 1
                continue
            caller, _ = _parse_caller(call.caller_id)
            attempt_id = ledger.insert_attempt(
                pid,
                key,
                at,
                caller_id=caller.e164 if caller else (call.caller_id or None),
                outcome=None if call.outcome is None else call.outcome.value,
                campaign=call.campaign,
                purpose=None if call.purpose is None else call.purpose.value,
                recorded_at=recorded_at,
            )
            # As Guard.record_call does (see Outcome).
            if call.outcome is Outcome.REFUSED:
                ledger.insert_refusal(pid, key, at, attempt_id)
            elif call.outcome is Outcome.OBJECTED:
                ledger.insert_optout(pid, key, at, None, "objection")
            report.imported += 1
    report.rejected.sort(key=lambda r: r.line)
    return report


# -- opt-out list ---------------------------------------------------------------------------------


def _e164(key: int) -> str:
    return "+" + str(key) if key >= 10_000_000 else str(key)  # short codes are stored as typed


@dataclass(frozen=True, slots=True)
class OptOutEntry:
    """One entry of a professional's do-not-call list."""

    number: str
    at: datetime
    expires_at: datetime | None
    removed_at: datetime | None
    source: str

    @property
    def ends_at(self) -> datetime | None:
        ends = [e for e in (self.expires_at, self.removed_at) if e is not None]
        return min(ends) if ends else None

    def active(self, at: datetime) -> bool:
        end = self.ends_at
        return self.at <= at and (end is None or at < end)

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return None if d is None else d.isoformat()

        return {
            "number": self.number,
            "at": self.at.isoformat(),
            "expires_at": iso(self.expires_at),
            "removed_at": iso(self.removed_at),
            "source": self.source,
        }


def list_optouts(
    guard: Guard, at: datetime | None = None, *, include_ended: bool = False
) -> list[OptOutEntry]:
    """The guard's professional's opt-outs in force at ``at`` (all of them with
    ``include_ended``), oldest first. Instants are in Europe/Paris."""
    t = guard._now(at)
    paris = cal.zone("Europe/Paris")

    def when(us: int | None) -> datetime | None:
        return None if us is None else from_us(us).astimezone(paris)

    entries = []
    for key, start, expires, removed, source in guard._ledger.optout_rows(guard._pid):
        entry = OptOutEntry(
            _e164(key), from_us(start).astimezone(paris), when(expires), when(removed), source
        )
        if include_ended or entry.active(t):
            entries.append(entry)
    return entries
