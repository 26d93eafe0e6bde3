"""Working with lists: bulk scrub, Bloctel submission files, call-history imports, opt-out lists.

**Set-based reads.** A scrub does not ask the ledger about each number in turn: the engine
(:meth:`~callguard._engine.Engine.decide_numbers`) keys a batch of numbers at once, reads the
facts of those that have any in one statement per fact table the instant can use
(``Ledger.facts_many``), and runs the rules — pure Python over ``Facts`` — once per situation
(class of line and facts), not per number. The decisions are exactly those
:meth:`Guard.may_call` gives for each number at the same instant; tests hold the two paths equal.

The CLI commands ``scrub``, ``bloctel export``, ``import-calls`` and ``optout list`` are thin
layers over the functions here.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

from ._calllog import CallLogFormat, CallSource, parse_pairs, read_call_log
from ._decision import Decision
from ._engine import BATCH, apply_outcome
from ._exceptions import CallguardError, ConfigurationError, InvalidNumberError, LedgerError
from ._files import (
    Columns,
    ContactFile,
    Row,
    header_key,
    invalid_why,
    is_output_column,
    neutralise,
    open_contacts,
    text_writer,
)
from ._guard import Guard
from ._i18n import Joined, Message, Translated, _
from ._numbers import parse_caller, parse_number
from ._reports import (
    CallImportReport,
    FactImportReport,
    Rejected,
    ScrubSummary,
    SubmissionReport,
)
from ._time import from_us, instant, now_utc, parse_instant, require_aware, to_us
from ._types import Purpose, ReasonCode, Sector
from .rules import calendar as cal

__all__ = [
    "CONSENT_COLUMNS",
    "OUTPUT_COLUMNS",
    "WITHDRAWAL_COLUMNS",
    "CallImportReport",
    "ConsentRow",
    "FactImportReport",
    "OptOutEntry",
    "ScrubSummary",
    "SubmissionReport",
    "bloctel_submission",
    "import_calls",
    "import_consents",
    "list_optouts",
    "scrub",
    "scrub_file",
    "withdraw_consents",
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
    return guard.scrub(
        numbers, caller_id, now, purpose=purpose, sector=sector, callee_tz=callee_tz,
        department=department, recorded_message=recorded_message,
    )  # fmt: skip


Output = str | os.PathLike[str] | IO[bytes]


@contextmanager
def _output(output: Output, encoding: str, inputs: Iterable[str]) -> Iterator[TextIO]:
    """A text stream on ``output``. A path is written to a temporary file renamed into place on
    success only, so a failed run never leaves half a file (nor truncates the input); a file
    replaced keeps its mode; a symbolic link or a non-regular file is refused."""
    if not isinstance(output, (str, os.PathLike)):
        stream = text_writer(output, encoding)
        try:
            yield stream
            stream.flush()
        finally:
            stream.detach()
        return
    target = os.path.abspath(os.fspath(output))
    existing = _writable_target(os.fspath(output))
    for path in inputs:
        if existing is not None and os.path.samefile(path, target):
            raise ConfigurationError(
                _("the output {path} is an input file", path=repr(os.fspath(output))),
                field="output",
                value=output,
            )
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".callguard-", suffix=".tmp")
    try:
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))  # the file replaced keeps its mode
        with os.fdopen(fd, "wb") as binary, text_writer(binary, encoding) as stream:
            yield stream
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _writable_target(name: str) -> os.stat_result | None:
    """The status of the regular file an output replaces (None when there is none yet).

    A symbolic link is refused, not followed: the file it points to could be anyone's. So is a
    device, FIFO or directory (``/dev/null``): renaming over it would replace it.
    """
    try:
        st = os.lstat(name)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise ConfigurationError(
            _(
                "{file}: is a symbolic link; callguard does not write through links, name the "
                "file itself",
                file=name,
            ),
            field="output",
            value=name,
        )
    if not stat.S_ISREG(st.st_mode):
        raise ConfigurationError(
            _(
                "{file}: is not a regular file (a device, FIFO or directory); refusing to write "
                "over it",
                file=name,
            ),
            field="output",
            value=name,
        )
    return st


def _local(moment: datetime, zone: str) -> str:
    """``moment`` in the consumer's zone (Paris when the zone is unknown), never bare UTC."""
    try:
        return moment.astimezone(ZoneInfo(zone)).isoformat()
    except (ValueError, KeyError):
        return moment.astimezone(ZoneInfo("Europe/Paris")).isoformat()


@dataclass(frozen=True, slots=True)
class _Shown:
    """How a verdict shows in a scrubbed file: its cells after the number, its reason codes
    (as counted in the summary), and whether it names an invalid number (a note to list)."""

    cells: list[str]
    codes: list[str]
    invalid: bool


def _shown(decision: Decision) -> _Shown:
    """The cells, codes and note flag of ``decision``; a ledger that could not be read raises
    (the file is not written: fail closed)."""
    codes = decision.codes
    if ReasonCode.LEDGER_UNAVAILABLE in codes:
        raise LedgerError(decision.reasons[0].message)
    return _Shown(
        _decision_cells(decision)[1:],
        [code.value for code in codes],
        ReasonCode.INVALID_NUMBER in codes,
    )


def _decision_cells(decision: Decision) -> list[str]:
    nxt = decision.next_allowed_at
    return [
        decision.number or "",
        "true" if decision.allowed else "false",
        "|".join(r.code.value for r in decision.reasons),
        "" if nxt is None else _local(nxt, decision.callee_tz),
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
    column: Columns = None,
    progress: Callable[[int], None] | None = None,
    preset: str | None = None,
) -> ScrubSummary:
    """Scrub a contact file into ``output``: every input row and column, in order, plus
    :data:`OUTPUT_COLUMNS`, with the input's delimiter, encoding and line endings.

    Every phone column is judged (those found by header, or those ``column`` names). With one,
    the four :data:`OUTPUT_COLUMNS` are added; with several, one group of four per column,
    named after it (``callguard_allowed (Tél. portable)``), then ``callguard_allowed_columns``,
    the columns that may be called, joined by ``|``. An empty cell is "no number" (nothing to
    judge) unless every phone cell of the row is empty: then the row is refused as
    ``INVALID_NUMBER`` on its first phone column, and listed. The ``callguard_*`` columns of a
    file scrubbed before are replaced, not repeated.

    Cells a spreadsheet would run as a formula are neutralised (:func:`neutralise`). A file
    without a header gets one (``number`` for a plain list, ``column_1``… otherwise) so that the
    added columns are named. ``progress`` is called with about how many bytes were read since
    its last call. A ledger that cannot be read raises ``LedgerError`` and writes nothing.
    ``preset`` reads a dialer's lead export (``vicidial``: phone_number, alt_phone and address3
    judged, each with the row's phone_code as its country code).
    """
    t = guard.engine.now(now)
    Purpose.coerce(purpose)  # bad options fail before any output, even for a header-only file
    if sector is not None:
        Sector.coerce(sector)
    with open_contacts(source, column=column, preset=preset) as cf:
        summary = ScrubSummary(encoding=cf.encoding, delimiter=cf.delimiter)
        if cf.empty:
            with _output(output, cf.encoding, [os.fspath(source)]) as stream:
                # An empty file still gets a header, so that whatever reads the output finds
                # the columns it expects.
                stream.write(";".join(OUTPUT_COLUMNS) + cf.newline)
            summary.blank_lines = list(cf.blank_lines)
            return summary
        names = cf.column_names
        summary.columns = list(names)
        summary.by_column = dict.fromkeys(names, 0)
        multi = len(cf.columns) > 1
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
            # The columns a previous scrub added are replaced by this one's.
            keep = [i for i, h in enumerate(header) if not is_output_column(h)]
            added: list[str] = []
            if multi:
                for name in names:
                    added += [f"{c} ({name})" for c in OUTPUT_COLUMNS]
                added.append("callguard_allowed_columns")
            else:
                added = list(OUTPUT_COLUMNS)
            writer.writerow([neutralise(header[i]) for i in keep] + [neutralise(c) for c in added])
            seen = 0
            per_char = 2 if cf.encoding == "utf-16" else 1
            rows = _RowWriter(cf, writer, summary, names, keep)

            def ask(numbers: list[str]) -> list[Decision]:
                return scrub(
                    guard, numbers, caller_id, t, purpose=purpose, sector=sector,
                    department=department, recorded_message=recorded_message,
                )  # fmt: skip

            for batch in _batched(cf, _block_rows(width)):
                rows.write(batch, ask)
                if progress is not None:
                    done = cf.chars_read * per_char  # ≈ bytes read, for a bar sized in bytes
                    progress(done - seen)
                    seen = done
        summary.blank_lines = list(cf.blank_lines)
    return summary


_CELLS_PER_BLOCK = 2_000_000
"""How many input cells a scrub holds at once (rows of a block times the file's width)."""


def _block_rows(width: int) -> int:
    """Rows of a file scrubbed together: as many as the engine reads at once (:data:`BATCH`),
    fewer for a wide file, so that memory stays bounded whatever the file's shape."""
    return max(1_000, min(BATCH, _CELLS_PER_BLOCK // max(width, 1)))


_NO_NUMBER = ["", "false", "", ""]
"""The four cells of a phone column with no number in it (nothing judged)."""


class _RowWriter:
    """:func:`scrub_file`'s one row loop: each row written as its kept cells, then four cells
    per phone column (one column is the n = 1 case), then, with several columns, those that
    may be called; each row counted in the summary."""

    def __init__(
        self, cf: ContactFile, writer: Any, summary: ScrubSummary, names: list[str],
        keep: list[int],
    ) -> None:  # fmt: skip
        self.cf = cf
        self.write_row = writer.writerow
        self.summary = summary
        self.names = names
        self.keep = keep
        self.width = cf.width
        self.every = keep == list(range(cf.width))  # no column of a previous scrub to drop
        self.multi = len(names) > 1

    def numbers(self, batch: list[Row]) -> tuple[list[str], list[list[int | None]]]:
        """The numbers to judge, in order, and for each row where each column's number is
        among them (None: an empty cell). A row with no number at all is judged on its value,
        in its first column: refused and listed."""
        cf, cols = self.cf, self.cf.columns
        wanted: list[str] = []
        where: list[list[int | None]] = []
        for row in batch:
            values = ["" if row.unreadable else cf.number_at(row.cells, i) for i in cols]
            if not any(values):  # nothing at all: judged, refused, listed
                where.append([len(wanted)] + [None] * (len(values) - 1))
                wanted.append(row.value)
                continue
            slots: list[int | None] = []
            for v in values:
                slots.append(len(wanted) if v else None)
                if v:
                    wanted.append(v)
            where.append(slots)
        return wanted, where

    def kept(self, cells: list[str]) -> list[str]:
        """The row's own cells as written out: padded to the file's width, neutralised, those
        of a previous scrub dropped."""
        width = self.width
        if self.every:
            out = list(map(neutralise, cells))
            if len(cells) < width:
                out += [""] * (width - len(cells))
            return out
        cells = cells + [""] * (width - len(cells))
        out = [neutralise(cells[i]) for i in self.keep if i < len(cells)]
        out += [neutralise(c) for c in cells[width:]]
        return out

    def write(self, batch: list[Row], ask: Callable[[list[str]], list[Decision]]) -> None:
        """Judge every number of ``batch`` (all columns together, in one set-based read) and
        write its rows."""
        wanted, where = self.numbers(batch)
        decisions = ask(wanted)
        # Decisions sharing an answer share its reasons and next instant (the same objects, held
        # by ``decisions`` for the whole batch): they are shown the same way, worked out once.
        looks: dict[tuple[int, int], _Shown] = {}
        by_column = self.summary.by_column
        for row, slots in zip(batch, where, strict=True):
            out = self.kept(row.cells)
            allowed_in: list[str] = []
            row_codes: list[list[str]] = []
            notes: list[tuple[str, Message]] = []
            for name, slot in zip(self.names, slots, strict=True):
                if slot is None:
                    out += _NO_NUMBER
                    continue
                decision = decisions[slot]
                key = (id(decision.reasons), id(decision.next_allowed_at))
                look = looks.get(key)
                if look is None:
                    look = looks[key] = _shown(decision)
                out.append(decision.number or "")
                out += look.cells
                by_column[name] += 1
                row_codes.append(look.codes)
                if decision.allowed:
                    allowed_in.append(name)
                if look.invalid:
                    notes += _notes(wanted[slot], decision, name if self.multi else None)
            if self.multi:
                out.append(neutralise("|".join(allowed_in)))
            self.write_row(out)
            _count_row(self.summary, row, notes, row_codes, bool(allowed_in))


def _csv_writer(stream: TextIO, cf: ContactFile) -> Any:
    # A plain list has no delimiter of its own: the output takes French Excel's.
    return csv.writer(stream, delimiter=cf.delimiter or ";", lineterminator=cf.newline)


def _notes(value: str, decision: Decision, column: str | None) -> list[tuple[str, Message]]:
    """(value, why) for a number that is not one (naming its column when there are several)."""
    notes: list[tuple[str, Message]] = []
    for reason in decision.reasons:
        if reason.code is ReasonCode.INVALID_NUMBER:
            message = invalid_why(value, Translated(reason.message, reason.message_fr))
            notes.append(
                (value, message if column is None else
                 _("{column}: {reason}", column=column, reason=message))
            )  # fmt: skip
    return notes


def _count_row(
    summary: ScrubSummary,
    row: Row,
    notes: list[tuple[str, Message]],
    codes: list[list[str]],
    allowed: bool,
) -> None:
    """Count one row: ``codes`` holds the reason codes of each of its decisions."""
    summary.rows += 1
    if allowed:
        summary.allowed += 1
    by_code = summary.by_code
    for these in codes:
        for code in these:
            by_code[code] += 1
    reasons: list[Message | str] = [row.problem] if row.problem else []
    reasons += [why for _value, why in notes]
    if reasons:
        value = notes[0][0] if notes else row.value
        summary.bad_lines.append(Rejected.of(row.line, value, Joined(reasons)))


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
    progress: Callable[[int], None] | None = None,
) -> SubmissionReport:
    """Write the Bloctel submission file for ``contacts`` (docs/rules.md §5).

    One line per distinct French consumer number that needs a check at ``now``: never checked,
    or last checked more than ``max_age_days`` days before (in the consumer's calendar days, as
    the ``BLOCTEL_UNCHECKED`` rule counts them). Format ``Telephone;Identifiant``, 10-digit
    national numbers, CRLF line endings; ``Identifiant`` copies ``id_column`` when given, else
    is empty. Bloctel results are shared by every professional, so the guard's does not matter.
    ``progress`` is called with about how many bytes were read since its last call.
    """
    if not isinstance(max_age_days, int) or isinstance(max_age_days, bool) or max_age_days < 0:
        raise ConfigurationError(
            _("max_age_days must be a whole number ≥ 0, not {value}", value=repr(max_age_days)),
            field="max_age_days",
            value=max_age_days,
        )
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
                    _("{file}: no column named {column} ({columns})",
                      file=os.fspath(contacts), column=repr(id_column), columns=shown),
                    field="id_column", value=id_column,
                )  # fmt: skip
            id_index = keys.index(header_key(id_column))
        for row in _fact_rows(cf, progress):
            report.rows += 1
            try:
                number = parse_number(row.value)
            except InvalidNumberError as exc:
                why = invalid_why(row.value, exc.why)
                reason = why if row.problem is None else Joined([row.problem, why])
                report.rejected.append(Rejected.of(row.line, row.value, reason))
                continue
            if not number.consumer_line:
                report.rejected.append(
                    Rejected.of(row.line, row.value, _("not a French consumer line"))
                )
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


def import_calls(
    guard: Guard,
    calls: CallSource,
    *,
    log_format: CallLogFormat | None = None,
    progress: Callable[[int], None] | None = None,
) -> CallImportReport:
    """Record a call history (a call log, as :func:`callguard.audit` reads it) in the ledger.

    Each call is recorded as :meth:`Guard.record_call` would: it counts toward the cap whatever
    its outcome, ``REFUSED`` starts the cooldown, ``OBJECTED`` adds a permanent opt-out. A row's
    ``professional`` column overrides the guard's. A call already recorded at the same instant
    for the same professional and number is skipped. All or nothing: the good rows are written
    in one transaction; bad rows are reported, never dropped silently. ``log_format`` reads a
    dialer's own log (:func:`call_log_format`); ``progress`` is called with about how many
    bytes of the file were read since its last call.
    """
    skipped: list[int] = []
    log, rejected = read_call_log(
        calls,
        professional=guard.professional,
        log_format=log_format,
        progress=progress,
        skipped=skipped,
    )
    report = CallImportReport(rejected=rejected, skipped=len(skipped))
    recorded_at = to_us(now_utc())
    with guard.engine.write("import the calls") as ledger:
        pids: dict[str, int] = {}
        for call in log:
            try:
                key = parse_number(call.number).key
            except InvalidNumberError as exc:
                report.rejected.append(
                    Rejected.of(call.line, call.number, invalid_why(call.number, exc.why))
                )
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


# -- consents and withdrawals from files ------------------------------------------------------------

# Header names of a lead vendor's consent export, French or English, compared without case,
# accents, spaces or punctuation.
CONSENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "telephone", "tel", "phone", "phonenumber", "numero", "mobile",
               "portable", "msisdn", "numerotelephone"),
    "consented_at": ("consentedat", "consentat", "consentdate", "consentementle",
                     "dateconsentement", "dateduconsentement", "dateoptin", "optindate",
                     "optinat", "collectedat", "datecollecte", "datedecollecte", "date"),
    "proof": ("proof", "proofref", "proofreference", "proofurl", "preuve", "referencepreuve",
              "refpreuve", "preuveduconsentement", "reference"),
    "expires_at": ("expiresat", "expires", "expiration", "expiry", "dateexpiration",
                   "datedexpiration", "expirele", "finconsentement"),
    "channel": ("channel", "canal"),
    "source": ("source", "origine", "site", "formulaire"),
    "wording": ("wording", "consenttext", "texte", "texteduconsentement", "libelle", "mention"),
    "proof_sha256": ("proofsha256", "sha256", "empreinte", "empreintesha256", "hashpreuve"),
    "off_hours": ("offhours", "horsheures", "horsplages", "soirees", "soiree"),
}  # fmt: skip
"""The columns ``consent import`` reads; number, consented_at and proof are required."""

WITHDRAWAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": CONSENT_COLUMNS["number"] + ("from", "expediteur", "emetteur", "sender"),
    "at": ("at", "withdrawnat", "receivedat", "recule", "dateheure", "horodatage", "timestamp",
           "datetime", "date", "stopat", "dateretrait", "reception"),
}  # fmt: skip
"""The columns ``consent withdraw --file`` reads: the number, and the time of the STOP."""

_TRUE = frozenset({"1", "true", "yes", "oui", "vrai", "y", "o", "x"})
_FALSE = frozenset({"0", "false", "no", "non", "faux", "n", ""})
_SHA256 = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One consent read from a file, checked."""

    line: int
    number: str
    consented_at: datetime
    proof: str
    expires_at: datetime | None = None
    channel: str | None = None
    source: str | None = None
    wording: str | None = None
    proof_sha256: str | None = None
    off_hours: bool | None = None


def _fact_columns(
    header: list[str] | None,
    name: str,
    aliases: dict[str, tuple[str, ...]],
    mapping: str | dict[str, str] | None,
    required: tuple[str, ...],
) -> dict[str, int]:
    """Field → column index, from ``mapping`` (field=header) then the known header names."""
    if header is None:
        raise ConfigurationError(
            f"{name}: the file needs a header line naming its columns ({', '.join(required)}…)"
        )
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for fieldname, column in parse_pairs("--map", mapping).items():
        wanted = fieldname.strip().lower()
        if wanted not in aliases:
            raise ConfigurationError(
                _("--map: {value} is not a field; the fields are: {choices}",
                  value=repr(fieldname), choices=", ".join(aliases)),
                field="mapping", value=fieldname,
            )  # fmt: skip
        if header_key(column) not in keys:
            raise ConfigurationError(
                _("{file}: no column {mapped} for {field}; the header has: {columns}", file=name,
                  mapped=repr(column), field=wanted, columns=", ".join(repr(h) for h in header)),
                field="mapping", value=f"{fieldname}={column}",
            )  # fmt: skip
        found[wanted] = keys.index(header_key(column))
    for fieldname, names in aliases.items():
        if fieldname in found:
            continue
        for alias in names:
            if alias in keys and keys.index(alias) not in found.values():
                found[fieldname] = keys.index(alias)
                break
    missing = [f for f in required if f not in found]
    if missing:
        raise ConfigurationError(
            f"{name}: no {', '.join(repr(m) for m in missing)} column (name it with --map "
            f"{missing[0]}=COLUMN); the header has: {', '.join(repr(h) for h in header)}"
        )
    return found


def _fact_rows(cf: ContactFile, progress: Callable[[int], None] | None) -> Iterator[Row]:
    seen, per_char = 0, 2 if cf.encoding == "utf-16" else 1
    for count, row in enumerate(cf, start=1):
        yield row
        if progress is not None and count % 4096 == 0:
            done = cf.chars_read * per_char
            progress(done - seen)
            seen = done
    if progress is not None:
        progress(cf.chars_read * per_char - seen)


def _consent_row(line: int, cells: dict[str, str]) -> ConsentRow:
    """A checked consent, or ValueError naming the bad value."""
    number = cells.get("number", "")
    parse_number(number)  # InvalidNumberError is a ValueError
    raw_at = cells.get("consented_at", "")
    try:
        at = parse_instant(raw_at)
    except ValueError:
        raise ConfigurationError(
            _(
                "{field} {value} is not a date or an ISO 8601 time",
                field="consented_at",
                value=repr(raw_at),
            )
        ) from None
    proof = cells.get("proof", "")
    if not proof:
        raise ConfigurationError(
            _("no proof: L223-1 requires the reference of where the consent is kept")
        )
    expires: datetime | None = None
    raw_exp = cells.get("expires_at", "")
    if raw_exp:
        try:
            expires = _end_of(raw_exp)
        except ValueError:
            raise ConfigurationError(
                _(
                    "{field} {value} is not a date or an ISO 8601 time",
                    field="expires_at",
                    value=repr(raw_exp),
                )
            ) from None
        if expires <= at:
            raise ConfigurationError(
                _(
                    "expires_at {end} is not after consented_at {start}",
                    end=repr(raw_exp),
                    start=repr(raw_at),
                )
            )
    digest = cells.get("proof_sha256", "").lower() or None
    if digest is not None and (len(digest) != 64 or not set(digest) <= _SHA256):
        raise ConfigurationError(
            _("proof_sha256 {value} is not 64 hexadecimal digits", value=repr(digest))
        )
    off_hours: bool | None = None
    raw_off = cells.get("off_hours", "").lower()
    if "off_hours" in cells:
        if raw_off in _TRUE:
            off_hours = True
        elif raw_off in _FALSE:
            off_hours = False if raw_off else None
        else:
            raise ConfigurationError(
                _("off_hours {value} is not yes/no (oui/non, true/false, 1/0)", value=repr(raw_off))
            )
    return ConsentRow(
        line=line,
        number=number,
        consented_at=at,
        proof=proof,
        expires_at=expires,
        channel=cells.get("channel") or None,
        source=cells.get("source") or None,
        wording=cells.get("wording") or None,
        proof_sha256=digest,
        off_hours=off_hours,
    )


_DAY_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}")


def _end_of(text: str) -> datetime:
    """An expiry: a date alone runs through that day (the next midnight, Paris)."""
    moment = parse_instant(text)
    if _DAY_ONLY.fullmatch(text.strip()):
        moment = instant(moment.date(), "expires_at", end_of_day=True)
    return moment


def _record_consent(guard: Guard, row: ConsentRow) -> None:
    """Record one consent read from a file, with all the evidence its row gives."""
    guard.record_consent(
        row.number, row.consented_at, proof=row.proof, expires_at=row.expires_at,
        off_hours=bool(row.off_hours), channel=row.channel, source=row.source,
        wording=row.wording, proof_sha256=row.proof_sha256,
    )  # fmt: skip


def import_consents(
    guard: Guard,
    source: str | os.PathLike[str],
    *,
    mapping: str | dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> FactImportReport:
    """Record the consents of a lead vendor's export (CSV or .xlsx).

    Columns are found by their headers, French or English (:data:`CONSENT_COLUMNS`), or named
    with ``mapping`` (``number=tel,consented_at=date_optin``): ``number``, ``consented_at`` and
    ``proof`` are required; ``expires_at``, ``channel``, ``source``, ``wording``,
    ``proof_sha256`` and ``off_hours`` are read when present. A naive time is Europe/Paris; an
    expiry given as a date runs through that day. Every bad row is reported with its line;
    the good ones are recorded together, in one transaction.
    """
    name = os.fspath(source)
    report = FactImportReport()
    good: list[ConsentRow] = []
    with open_contacts(source, column=1) as cf:
        if cf.empty:
            return report
        columns = _fact_columns(cf.header, name, CONSENT_COLUMNS, mapping,
                                ("number", "consented_at", "proof"))  # fmt: skip
        assert cf.header is not None
        report.columns = {f: cf.header[i] for f, i in columns.items()}
        for row in _fact_rows(cf, progress):
            if row.unreadable or len(row.cells) > cf.width:
                # More fields than the header: the values may sit in the wrong columns.
                report.rejected.append(Rejected(row.line, _raw(cf, row), row.problem or ""))
                continue
            cells = {f: row.cells[i].strip() for f, i in columns.items() if i < len(row.cells)}
            try:
                good.append(_consent_row(row.line, cells))
            except ValueError as exc:
                report.rejected.append(Rejected.of(row.line, cells.get("number", ""), _why(exc)))
    with guard.batch():
        for consent in good:
            _record_consent(guard, consent)
            report.recorded += 1
    return report


def _raw(cf: ContactFile, row: Row) -> str:
    return (cf.delimiter or ";").join(row.cells)


def withdraw_consents(
    guard: Guard,
    source: str | os.PathLike[str],
    *,
    at: datetime | None = None,
    mapping: str | dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> FactImportReport:
    """Record the consent withdrawals of a file of STOP replies (CSV or .xlsx).

    Either a number and a time column (by header, French or English:
    :data:`WITHDRAWAL_COLUMNS`, or named with ``mapping``), or numbers alone with ``at``, the
    time every withdrawal takes effect (a time column, when there is one, wins over it). Every
    bad row is reported with its line; the good ones are recorded together, in one transaction.
    """
    name = os.fspath(source)
    report = FactImportReport()
    good: list[tuple[str, datetime]] = []
    if at is not None:
        require_aware(at, "at")
    with open_contacts(source, column=1) as cf:
        if cf.empty:
            return report
        if cf.header is None or (at is not None and mapping is None and len(cf.header) == 1):
            columns = {"number": cf.column}
        else:
            required = ("number",) if at is not None else ("number", "at")
            try:
                columns = _fact_columns(cf.header, name, WITHDRAWAL_COLUMNS, mapping, required)
            except ConfigurationError as exc:
                if "'at'" not in str(exc):
                    raise
                raise ConfigurationError(
                    _("{problem}; or give the time of every STOP with --at", problem=exc.message),
                    field="at",
                ) from None
        header = cf.header or ["number"]
        report.columns = {f: header[i] if i < len(header) else "" for f, i in columns.items()}
        for row in _fact_rows(cf, progress):
            if row.unreadable or len(row.cells) > cf.width:
                # More fields than the header: the values may sit in the wrong columns.
                report.rejected.append(Rejected(row.line, _raw(cf, row), row.problem or ""))
                continue
            cells = {f: row.cells[i].strip() for f, i in columns.items() if i < len(row.cells)}
            number = cells.get("number", "")
            try:
                parse_number(number)
                raw = cells.get("at", "")
                if raw:
                    try:
                        when = parse_instant(raw)
                    except ValueError:
                        raise ValueError(f"at {raw!r} is not an ISO 8601 time") from None
                elif at is not None:
                    when = at
                else:
                    raise ValueError("no time: fill the column, or give --at")
            except ValueError as exc:
                reason = getattr(exc, "reason", None) or str(exc)
                report.rejected.append(Rejected(row.line, number, reason))
                continue
            good.append((number, when))
    with guard.batch():
        for number, when in good:
            guard.withdraw_consent(number, when)
            report.recorded += 1
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


def _why(exc: ValueError) -> Message | str:
    """Why a row was refused: a library error's message, else the error as it reads."""
    if isinstance(exc, InvalidNumberError):
        return exc.why
    if isinstance(exc, CallguardError):
        return exc.message
    return str(exc)
