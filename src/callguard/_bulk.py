"""Working with lists: bulk scrub, Bloctel submission files, call-history imports, opt-out lists.

**Set-based reads.** A scrub does not ask the ledger about each number in turn: the engine
(:meth:`~callguard._engine.Engine.decide_many`) reads the facts of a batch of numbers in one
statement per fact table (``Ledger.facts_many``), and the rules — pure Python over ``Facts`` —
then run per number. The decisions are exactly those :meth:`Guard.may_call` gives for each number at the
same instant; a test holds the two paths equal.

The CLI commands ``scrub``, ``bloctel export``, ``import-calls`` and ``optout list`` are thin
layers over the functions here.
"""

from __future__ import annotations

import csv
import itertools
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, TextIO, TypeVar

from ._calllog import CallSource, read_call_log
from ._decision import Decision
from ._engine import BATCH, apply_outcome
from ._exceptions import ConfigurationError, InvalidNumberError, LedgerError
from ._files import ContactFile, header_key, neutralise, open_contacts, text_writer
from ._guard import Guard
from ._numbers import parse_caller, parse_number
from ._reports import CallImportReport, Rejected, ScrubSummary, SubmissionReport
from ._time import from_us, now_utc, to_us
from ._types import Purpose, ReasonCode, Sector
from .rules import calendar as cal

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
    department: str | None = None,
    recorded_message: bool = False,
) -> list[Decision]:
    """One :class:`Decision` per number, in order, as :meth:`Guard.may_call` would give each.

    Read-only. Every number is judged at the same instant ``now`` (taken once). Raises like
    ``may_call`` for a naive ``now`` or a bad ``purpose``/``sector``/``callee_tz``; a bad number
    is a refusal, and a ledger that cannot be read refuses the valid numbers with
    ``LEDGER_UNAVAILABLE``.
    """
    return guard.engine.decide_numbers(
        numbers, caller_id, now, purpose=purpose, sector=sector, callee_tz=callee_tz,
        department=department, recorded_message=recorded_message,
    )  # fmt: skip


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
    department: str | None = None,
    recorded_message: bool = False,
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
    t = guard.engine.now(now)
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
                decisions = scrub(
                    guard, values, caller_id, t, purpose=purpose, sector=sector,
                    department=department, recorded_message=recorded_message,
                )  # fmt: skip
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
    if not isinstance(max_age_days, int) or isinstance(max_age_days, bool) or max_age_days < 0:
        raise ConfigurationError(f"max_age_days must be a whole number ≥ 0, not {max_age_days!r}")
    t = guard.engine.now(now)
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
    latest = guard.engine.ledger.latest_bloctel_checks(wanted)
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


def import_calls(guard: Guard, calls: CallSource) -> CallImportReport:
    """Record a call history (a call log, as :func:`callguard.audit` reads it) in the ledger.

    Each call is recorded as :meth:`Guard.record_call` would: it counts toward the cap whatever
    its outcome, ``REFUSED`` starts the cooldown, ``OBJECTED`` adds a permanent opt-out. A row's
    ``professional`` column overrides the guard's. A call already recorded at the same instant
    for the same professional and number is skipped. All or nothing: the good rows are written
    in one transaction; bad rows are reported, never dropped silently.
    """
    log, rejected = read_call_log(calls, professional=guard.professional)
    report = CallImportReport(rejected=rejected)
    recorded_at = to_us(now_utc())
    with guard.engine.write("import the calls") as ledger:
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
            caller, _ = parse_caller(call.caller_id)
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
            apply_outcome(ledger, pid, key, at, call.outcome, attempt_id)
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
    t = guard.engine.now(at)
    paris = cal.zone("Europe/Paris")

    def when(us: int | None) -> datetime | None:
        return None if us is None else from_us(us).astimezone(paris)

    entries = []
    for key, start, expires, removed, source in guard.engine.ledger.optout_rows(guard.engine.pid):
        entry = OptOutEntry(
            _e164(key), from_us(start).astimezone(paris), when(expires), when(removed), source
        )
        if include_ended or entry.active(t):
            entries.append(entry)
    return entries
