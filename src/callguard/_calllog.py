"""Call logs: the calls a dialer placed, read from a CSV file or from rows as mappings.

:func:`callguard.audit` replays them against the rules; ``import-calls`` records them in the
ledger. Both read them here, with one parser for their times (:func:`parse_time`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._exceptions import CallguardError, ConfigurationError
from ._files import ContactFile, Row, header_key, open_contacts, with_country_code
from ._i18n import Message, _
from ._reports import Rejected
from ._time import EARLIEST, LATEST, UTC, in_range, parse_instant, to_us
from ._types import Outcome, Purpose, Sector
from .rules.calendar import DEPARTMENTS

__all__ = [
    "PRESETS",
    "CallColumns",
    "CallLogFormat",
    "CallSource",
    "LoggedCall",
    "call_log_format",
    "internal_call",
    "parse_pairs",
    "parse_time",
    "read_call_columns",
    "read_call_log",
]

CallSource = str | os.PathLike[str] | Iterable[Mapping[str, object]]
"""A call log: a CSV file path, or rows as mappings (``{"number": ..., "started_at": ...}``)."""

# Accepted header names (compared without case, accents, spaces or punctuation).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "telephone", "tel", "phone", "numero", "msisdn", "destination", "callee"),
    "caller_id": ("callerid", "caller", "cli", "numeropresente"),
    "started_at": ("startedat", "start", "starttime", "startedon", "datetime", "timestamp"),
    "outcome": ("outcome", "result", "resultat"),
    "purpose": ("purpose",),
    "sector": ("sector",),
    "professional": ("professional",),
    "campaign": ("campaign", "campagne"),
    "department": ("department", "departement"),
    "recorded_message": ("recordedmessage",),
}
_REQUIRED = ("number", "caller_id", "started_at")
_FLAGS = {
    "": False, "0": False, "false": False, "no": False, "non": False, "n": False,
    "1": True, "true": True, "yes": True, "oui": True, "y": True, "o": True,
}  # fmt: skip


@dataclass(frozen=True)
class CallLogFormat:
    """How to read a dialer's call log: which column holds each field, what its statuses mean.

    Build one with :func:`call_log_format` (a preset, a column mapping, an outcome mapping).
    """

    name: str = "callguard"
    columns: Mapping[str, str] = field(default_factory=dict)
    """Field (number, caller_id, started_at, outcome, …) → the header of its column."""
    outcomes: Mapping[str, Outcome] = field(default_factory=dict)
    """A status as the dialer writes it (upper case) → its outcome."""
    fixed_header: tuple[str, ...] | None = None
    """The column names of a log without a header line (Asterisk's ``Master.csv``)."""
    caller_id: str | None = None
    """The number presented, for a log without a caller ID column (VICIdial's ``vicidial_log``)."""
    tz: str | None = None
    """The zone of the log's times written without an offset (default Europe/Paris)."""
    named: frozenset[str] = frozenset()
    """The fields the caller mapped: their columns must exist (a preset's optional ones may not)."""
    strict_outcomes: bool = False
    """A status outside ``outcomes`` is rejected rather than read as an outcome name: a dialer's
    status callguard does not know could be a consumer's objection."""
    internal_contexts: frozenset[str] | None = None
    """The dialplan contexts of internal calls (Asterisk): with them, a call to an extension,
    to ``s``, or in one of these contexts to anything but a phone number is skipped, not
    judged. None: every row is a call to judge."""


# VICIdial's system statuses (docs/VICIDIAL_statuses.txt). « A » is the agent's « Answering
# Machine », not « answered »; DNC is the agent's « Do Not Call »: the consumer objected.
_VICIDIAL_ANSWERED = (
    "SALE", "PU", "PM", "XFER", "NP", "CALLBK", "CBHOLD", "DROP", "XDROP", "PDROP", "INCALL",
    "ERI", "IVRXFR", "TIMEOT",
)  # fmt: skip
_VICIDIAL_OUTCOMES: dict[str, Outcome] = {
    **dict.fromkeys(_VICIDIAL_ANSWERED, Outcome.ANSWERED),
    **dict.fromkeys(("NI", "DEC"), Outcome.REFUSED),
    **dict.fromkeys(("DNC", "DNCC"), Outcome.OBJECTED),
    **dict.fromkeys(("NA", "N"), Outcome.NO_ANSWER),
    **dict.fromkeys(("A", "AA", "AM", "AL"), Outcome.VOICEMAIL),
    **dict.fromkeys(("B", "AB"), Outcome.BUSY),
    **dict.fromkeys(("DC", "ADC", "AFAX"), Outcome.FAILED),
}

# Asterisk cdr_csv's Master.csv (cdr/cdr_csv.c, build_csv_record): no header, this order;
# uniqueid and userfield when loguniqueid / loguserfield are set, then peeraccount, linkedid and
# sequence when newcdrcolumns is (Asterisk 12 on): 16 to 21 fields, the first 16 always in the
# same place, so every layout is read by position. disposition is ANSWERED, NO ANSWER, BUSY,
# FAILED or CONGESTION. src is the presented caller ID number, dst the number dialled, dcontext
# the dialplan context the call ran in.
_ASTERISK_COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid", "userfield", "peeraccount", "linkedid", "sequence",
)  # fmt: skip

DEFAULT_INTERNAL_CONTEXTS = ("from-internal",)
"""The Asterisk contexts of internal calls when ``--internal-context`` names none."""

PRESETS: dict[str, CallLogFormat] = {
    "vicidial": CallLogFormat(
        name="vicidial",
        columns={
            "number": "phone_number",
            "started_at": "call_date",
            "outcome": "status",
            "campaign": "campaign_id",
            # vicidial_log keeps the country code apart: phone_number « 612345678 » with
            # phone_code « 33 » is +33 6 12 34 56 78.
            "phone_code": "phone_code",
        },
        outcomes=_VICIDIAL_OUTCOMES,
        strict_outcomes=True,
    ),
    "asterisk": CallLogFormat(
        name="asterisk",
        columns={
            "number": "dst",
            "caller_id": "src",
            "started_at": "start",
            "outcome": "disposition",
            "context": "dcontext",
        },
        outcomes={
            "ANSWERED": Outcome.ANSWERED,
            "NO ANSWER": Outcome.NO_ANSWER,
            "BUSY": Outcome.BUSY,
            "FAILED": Outcome.FAILED,
            "CONGESTION": Outcome.FAILED,
        },
        fixed_header=_ASTERISK_COLUMNS,
        strict_outcomes=True,
        internal_contexts=frozenset(DEFAULT_INTERNAL_CONTEXTS),
    ),
}
"""The call-log formats of common dialers, for ``--preset``."""


def parse_pairs(option: str, spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``a=b,c=d`` (or a mapping) as a dict, refusing a pair without ``=``."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in spec.items()}
    pairs: dict[str, str] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigurationError(
                _("{option}: {value} is not NAME=VALUE", option=option, value=repr(item.strip())),
                field={"--map": "mapping"}.get(option, option.lstrip("-").replace("-", "_")),
                value=item.strip(),
            )
        pairs[key.strip()] = value.strip()
    return pairs


def call_log_format(
    preset: str | None = None,
    *,
    mapping: str | Mapping[str, str] | None = None,
    outcome_map: str | Mapping[str, str] | None = None,
    caller_id: str | None = None,
    tz: str | None = None,
    internal_contexts: Iterable[str] | None = None,
) -> CallLogFormat:
    """A call-log format: ``preset`` (``vicidial``, ``asterisk``) or callguard's own columns,
    with ``mapping`` (``number=phone_number,started_at=call_date``: field=header) and
    ``outcome_map`` (``NI=REFUSED,DNC=OBJECTED``: status=outcome) over it. ``caller_id`` is the
    number presented by every call of a log without a caller ID column; ``tz`` the zone of its
    times written without an offset. ``internal_contexts`` replaces the ``asterisk`` preset's
    contexts of internal calls (``from-internal``). Raises ``ConfigurationError`` naming a bad
    value."""
    base = CallLogFormat()
    if preset is not None:
        base = PRESETS.get(preset.strip().lower(), base)
        if base.name != preset.strip().lower():
            raise ConfigurationError(
                _(
                    "unknown call-log preset {value}; the presets are: {choices}",
                    value=repr(preset),
                    choices=", ".join(PRESETS),
                ),
                field="preset",
                value=preset,
            )
    columns = dict(base.columns)
    named: set[str] = set()
    for name, header in parse_pairs("--map", mapping).items():
        key = header_key(name).replace("callerid", "caller_id").replace("startedat", "started_at")
        if key not in _COLUMNS:
            raise ConfigurationError(
                _(
                    "--map: {value} is not a call-log field; the fields are: {choices}",
                    value=repr(name),
                    choices=", ".join(_COLUMNS),
                ),
                field="mapping",
                value=name,
            )
        columns[key] = header
        named.add(key)
    outcomes = dict(base.outcomes)
    for status, outcome in parse_pairs("--outcome-map", outcome_map).items():
        try:
            outcomes[status.upper()] = Outcome.coerce(outcome)
        except ValueError as exc:
            raise ConfigurationError(
                _(
                    "--outcome-map: {status}={outcome}: {reason}",
                    status=status,
                    outcome=outcome,
                    reason=exc.message if isinstance(exc, CallguardError) else str(exc),
                ),
                field="outcome_map",
                value=f"{status}={outcome}",
            ) from None
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                _(
                    "--tz: {value} is not an IANA time zone (e.g. Europe/Paris, UTC)",
                    value=repr(tz),
                ),
                field="tz",
                value=tz,
            ) from None
    contexts = base.internal_contexts
    if internal_contexts is not None:
        names = [c.strip() for c in internal_contexts]
        if names and contexts is None:
            raise ConfigurationError(
                _(
                    "--internal-context {value}: only an Asterisk log has dialplan contexts "
                    "(--preset asterisk)",
                    value=repr(names[0]),
                ),
                field="internal_contexts",
                value=names[0],
            )
        if any(not c for c in names):
            raise ConfigurationError(
                _("--internal-context: an empty context name"), field="internal_contexts", value=""
            )
        if names:
            contexts = frozenset(names)
    return CallLogFormat(
        name=base.name,
        columns=columns,
        outcomes=outcomes,
        fixed_header=base.fixed_header,
        caller_id=caller_id,
        tz=tz,
        named=frozenset(named),
        strict_outcomes=base.strict_outcomes,
        internal_contexts=contexts,
    )


# An extension: a few digits, or a feature code (*97, #1). Dialled numbers are longer: a French
# one has ten digits; the shortest public numbers are four-digit services no campaign calls.
_EXTENSION = re.compile(r"[0-9*#]{1,6}")
# What a number to the public network looks like, before it is checked: digits and the
# separators people write, seven digits or more.
_DIALLED = re.compile(r"\+?[0-9][0-9 .()/-]{6,}")

SKIPPED = "internal call"
"""The reason :func:`_logged` gives for a row it skips (never a rejection)."""


def internal_call(dst: str, context: str, contexts: frozenset[str]) -> bool:
    """Whether an Asterisk CDR row is an internal call, not a call to judge: to ``s`` (the
    start extension of a context, an incoming or internal leg), to an extension or feature
    code, or in one of ``contexts`` to anything that is not a phone number. A call to a phone
    number is judged, whatever its context: in FreePBX, agents' phones dial out from
    ``from-internal`` too, and an outbound call skipped would be a violation lost."""
    dst = dst.strip()
    if dst == "s" or _EXTENSION.fullmatch(dst) is not None:
        return True
    return context.strip() in contexts and _DIALLED.fullmatch(dst) is None


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One row of a call log, read and checked."""

    line: int
    number: str
    caller_id: str
    started_at: datetime
    """Aware (a naive time in the log is Europe/Paris)."""
    outcome: Outcome | None
    purpose: Purpose | None
    """None when the log does not say (judged as PROSPECTION)."""
    sector: Sector | None
    professional: str
    campaign: str | None
    department: str | None = None
    """The INSEE code of the consumer's département, when the log gives it."""
    recorded_message: bool = False
    """The call played a recorded message without a human (CPCE L34-5)."""


def parse_time(value: object, tz: str | None = None) -> datetime:
    """A call's start: ISO 8601 (or the ``23/11/2026 10:30`` French Excel writes), naive = Paris
    (or ``tz``).

    Raises ``ValueError`` naming the value.
    """
    if not isinstance(value, datetime) and not str(value).strip():
        raise ValueError("no started_at")
    try:
        moment = None
        if tz is not None:
            naive = value if isinstance(value, datetime) else _naive(str(value))
            if naive is not None and naive.tzinfo is None:
                moment = naive.replace(tzinfo=ZoneInfo(tz))
        if moment is None:
            moment = parse_instant(value)
    except ValueError:
        raise ConfigurationError(
            _(
                "started_at {value} is not an ISO 8601 time (e.g. 2026-11-23T10:30:00+01:00)",
                value=repr(str(value).strip()),
            )
        ) from None
    try:
        in_range(moment, "started_at")
    except ValueError:
        # Too early is the rulebook's to say (« before 2016-06-01 »), once the row is judged; too
        # late, or out of what a datetime holds, is refused here, never an OverflowError later.
        try:
            early = moment.astimezone(UTC) < EARLIEST
        except OverflowError:
            early = False
        if not early:
            raise
    return moment


def _naive(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _cell(row: Mapping[str, object], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _logged(
    line: int, row: Mapping[str, object], professional: str, fmt: CallLogFormat
) -> tuple[LoggedCall | None, str, Message | str]:
    """The call of a normalised row, or (None, bad value, reason)."""
    number = _cell(row, "number")
    if not number:
        return None, "", _("no number")
    if fmt.internal_contexts is not None and internal_call(
        number, _cell(row, "context"), fmt.internal_contexts
    ):
        return None, number, SKIPPED
    number = with_country_code(number, _cell(row, "phone_code"))
    raw_time = row.get("started_at")
    try:
        started = parse_time("" if raw_time is None else raw_time, fmt.tz)
    except ValueError as exc:
        return (
            None,
            _cell(row, "started_at"),
            (exc.message if isinstance(exc, CallguardError) else str(exc)),
        )
    extras, bad, reason = _extras(
        _cell(row, "outcome"),
        _cell(row, "purpose"),
        _cell(row, "sector"),
        _cell(row, "department"),
        _cell(row, "recorded_message"),
        fmt,
    )
    if extras is None:
        return None, bad, reason
    outcome, purpose, sector, department, recorded = extras
    return (
        LoggedCall(
            line=line,
            number=number,
            caller_id=_cell(row, "caller_id") or (fmt.caller_id or ""),
            started_at=started,
            outcome=outcome,
            purpose=purpose,
            sector=sector,
            professional=_cell(row, "professional") or professional,
            campaign=_cell(row, "campaign") or None,
            department=department,
            recorded_message=recorded,
        ),
        "",
        "",
    )


_Extras = tuple[Outcome | None, Purpose | None, Sector | None, str | None, bool]
"""A row's outcome, purpose, sector, département and recorded-message flag, read."""


def _extras(
    status: str, purpose: str, sector: str, department: str, flag: str, fmt: CallLogFormat
) -> tuple[_Extras | None, str, str]:
    """A row's cells after its number and time (each stripped), read and checked in the order
    their problems are reported: ``(extras, "", "")`` or ``(None, bad value, reason)``. A log
    repeats a handful of such combinations: the column reader asks once per distinct one."""
    enums: dict[str, Any] = {}
    if status:
        mapped = fmt.outcomes.get(status.upper())
        if mapped is not None:
            enums["outcome"] = mapped
        elif fmt.strict_outcomes:
            return (
                None,
                status,
                (
                    f"status {status!r} is not a {fmt.name} status callguard knows; say what it "
                    f"means with --outcome-map {status}=OUTCOME (one of "
                    f"{', '.join(o.value for o in Outcome)})"
                ),
            )
    cells = {"outcome": status, "purpose": purpose, "sector": sector}
    for name, enum in (("outcome", Outcome), ("purpose", Purpose), ("sector", Sector)):
        if name in enums:
            continue
        text = cells[name]
        try:
            enums[name] = enum.coerce(text) if text else None
        except ValueError as exc:
            return None, text, str(exc)
    if department and department.upper() not in DEPARTMENTS:
        return None, department, f"department {department!r} is not a French département code"
    flag = flag.lower()
    if flag not in _FLAGS:
        return None, flag, "recorded_message must be true or false (1/0, yes/no, oui/non)"
    return (
        (enums["outcome"], enums["purpose"], enums["sector"], department or None, _FLAGS[flag]),
        "",
        "",
    )


def _columns(header: list[str], name: str, fmt: CallLogFormat) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for column, mapped in fmt.columns.items():
        if header_key(mapped) in keys:
            found[column] = keys.index(header_key(mapped))
        elif column in fmt.named or column in _REQUIRED:
            raise ConfigurationError(
                _(
                    "{file}: no column {mapped} for {field}; the header has: {columns}",
                    file=name,
                    mapped=repr(mapped),
                    field=column,
                    columns=", ".join(repr(h) for h in header),
                ),
                # A column the user named with --map is that option's mistake; a preset's is
                # the file's (not the log the preset describes).
                field="mapping" if column in fmt.named else None,
                value=f"{column}={mapped}" if column in fmt.named else None,
            )
    for column, aliases in _COLUMNS.items():
        if column in found or column in fmt.columns:
            continue
        for alias in aliases:
            if alias in keys:
                found[column] = keys.index(alias)
                break
    missing = [c for c in _REQUIRED if c not in found]
    if "caller_id" in missing and fmt.caller_id is not None:
        missing.remove("caller_id")
    if missing:
        raise ConfigurationError(
            _(
                "{file}: no {missing} column; a call log needs number, caller_id and started_at "
                "(outcome, purpose, sector, professional and campaign are optional; --map names a "
                "column, --caller-id gives the number every call presented); the header has: "
                "{columns}",
                file=name,
                missing=", ".join(repr(m) for m in missing),
                columns=", ".join(repr(h) for h in header),
            )
        )
    return found


@contextmanager
def _opened(
    calls: str | os.PathLike[str], fmt: CallLogFormat
) -> Iterator[tuple[ContactFile, dict[str, int], int] | None]:
    """A call-log file opened, with the index of each field's column and the row width (None
    for an empty file)."""
    name = os.fspath(calls)
    fixed = fmt.fixed_header
    with open_contacts(calls, column=1, headerless=fixed is not None) as cf:
        if cf.empty:
            yield None
            return
        header = list(fixed) if fixed is not None else cf.header
        if header is None:
            raise ConfigurationError(
                _(
                    "{file}: a call log needs a header line naming its columns (number, caller_id, "
                    "started_at…), or a --preset for a dialer's log without one",
                    file=name,
                )
            )
        yield cf, _columns(header, name, fmt), len(header)


def _rows(
    cf: ContactFile,
    columns: dict[str, int],
    width: int,
    add: Callable[[int, Mapping[str, object]], None],
    rejected: list[Rejected],
    progress: Callable[[int], None] | None,
) -> None:
    """Every record of an opened log through ``add`` as a row of fields, or into ``rejected``."""
    seen, per_char = 0, 2 if cf.encoding == "utf-16" else 1
    for count, r in enumerate(cf, start=1):
        if r.unreadable or len(r.cells) > width:
            rejected.append(_too_many(r.line, r.cells, width, cf.delimiter, r.problem))
            continue
        add(r.line, {c: r.cells[i] for c, i in columns.items() if i < len(r.cells)})
        if progress is not None and count % 4096 == 0:
            done = cf.chars_read * per_char
            progress(done - seen)
            seen = done
    if progress is not None:
        progress(cf.chars_read * per_char - seen)


def _too_many(
    line: int, cells: list[str], width: int, delimiter: str | None, problem: str | None
) -> Rejected:
    # More fields than the header: the values may sit in the wrong columns.
    raw = (delimiter or ";").join(cells)
    return Rejected(line, raw, problem or f"{len(cells)} fields where the log has {width}")


def read_call_log(
    calls: CallSource,
    *,
    professional: str = "default",
    log_format: CallLogFormat | None = None,
    progress: Callable[[int], None] | None = None,
    skipped: list[int] | None = None,
) -> tuple[list[LoggedCall], list[Rejected]]:
    """The calls of a log, and the rows that could not be read (with their line numbers).

    ``professional`` applies to rows without a ``professional`` column or value. ``log_format``
    says how to read a dialer's own log (:func:`call_log_format`). Rows given as mappings are
    numbered from 1. ``progress`` is called with about how many bytes were read since its last
    call. The lines of internal calls a format skips (:attr:`CallLogFormat.internal_contexts`)
    go to ``skipped``. Raises ``ConfigurationError`` when a required column is missing,
    ``OSError`` when the file cannot be read.
    """
    fmt = log_format if log_format is not None else CallLogFormat()
    log: list[LoggedCall] = []
    rejected: list[Rejected] = []
    lines_skipped = skipped if skipped is not None else []

    def add(line: int, row: Mapping[str, object]) -> None:
        call, value, reason = _logged(line, row, professional, fmt)
        if call is not None:
            log.append(call)
        elif reason is SKIPPED:
            lines_skipped.append(line)
        else:
            rejected.append(Rejected.of(line, value, reason))

    if isinstance(calls, (str, os.PathLike)):
        with _opened(calls, fmt) as opened:
            if opened is not None:
                cf, columns, width = opened
                _rows(cf, columns, width, add, rejected, progress)
        return log, rejected
    if isinstance(calls, (bytes, Mapping)):
        raise ConfigurationError(
            _(
                "calls must be a CSV path or an iterable of mappings, not {kind}",
                kind=type(calls).__name__,
            ),
            field="calls",
            value=calls,
        )
    for line, item in enumerate(calls, start=1):
        if not isinstance(item, Mapping):
            rejected.append(Rejected(line, repr(item)[:60], "not a mapping of column names"))
            continue
        keys: dict[str, object] = {header_key(str(k)): v for k, v in item.items()}
        row: dict[str, object] = {}
        for column, mapped in fmt.columns.items():
            if header_key(mapped) in keys:
                row[column] = keys[header_key(mapped)]
        for column, aliases in _COLUMNS.items():
            if column in row:
                continue
            for alias in aliases:
                if alias in keys:
                    row[column] = keys[alias]
                    break
        add(line, row)
    return log, rejected


# -- the log as columns (the audit's reader) -----------------------------------------------------


@dataclass(slots=True)
class CallColumns:
    """A call log's readable rows as columns, in the log's order: what the audit replays.

    Equal, row for row, to the :class:`LoggedCall` list :func:`read_call_log` gives (see
    :meth:`of`); the campaign, which the audit does not read, is left out. Equal cells share
    one object: a time written twice is parsed once.
    """

    line: list[int] = field(default_factory=list)
    number: list[str] = field(default_factory=list)
    """As written (stripped)."""
    caller_id: list[str] = field(default_factory=list)
    when: list[tuple[datetime, int]] = field(default_factory=list)
    """The call's start (aware, as read) and its instant in µs UTC."""
    extras: list[_Extras] = field(default_factory=list)
    """(outcome, purpose, sector, département, recorded message)."""
    professional: list[str] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    """The lines of internal calls the log's format skips (Asterisk's calls to extensions)."""

    def __len__(self) -> int:
        return len(self.line)

    def append(self, call: LoggedCall) -> None:
        self.line.append(call.line)
        self.number.append(call.number)
        self.caller_id.append(call.caller_id)
        self.when.append((call.started_at, to_us(call.started_at)))
        self.extras.append(
            (call.outcome, call.purpose, call.sector, call.department, call.recorded_message)
        )
        self.professional.append(call.professional)

    @classmethod
    def of(cls, log: Iterable[LoggedCall]) -> CallColumns:
        columns = cls()
        for call in log:
            columns.append(call)
        return columns


def read_call_columns(
    calls: CallSource,
    *,
    professional: str = "default",
    log_format: CallLogFormat | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[CallColumns, list[Rejected]]:
    """:func:`read_call_log` as columns, for the audit.

    A CSV file without quotes (what dialers write) is split line by line and each distinct
    time, and each distinct combination of the other cells, is read once; any other source
    (quotes, an Excel workbook, rows as mappings, a record short of the log's last column)
    goes through :func:`read_call_log`'s reading, row by row. Both give the same columns.
    """
    fmt = log_format if log_format is not None else CallLogFormat()
    if not isinstance(calls, (str, os.PathLike)):
        skipped: list[int] = []
        log, rejected = read_call_log(
            calls, professional=professional, log_format=fmt, progress=progress, skipped=skipped
        )
        read = CallColumns.of(log)
        read.skipped = skipped
        return read, rejected
    out = CallColumns()
    rejected = []

    def add(line: int, row: Mapping[str, object]) -> None:
        call, value, reason = _logged(line, row, professional, fmt)
        if call is not None:
            out.append(call)
        elif reason is SKIPPED:
            out.skipped.append(line)
        else:
            rejected.append(Rejected.of(line, value, reason))

    with _opened(calls, fmt) as opened:
        if opened is not None:
            cf, columns, width = opened
            records = cf.plain_records()
            if records is None:
                _rows(cf, columns, width, add, rejected, progress)
            else:
                _plain(cf, records, columns, width, fmt, professional, out, add, rejected, progress)
    return out, rejected


_OTHERS = ("outcome", "purpose", "sector", "department", "recorded_message", "caller_id",
           "professional")  # fmt: skip


def _plain(
    cf: ContactFile,
    records: Iterator[tuple[int, list[str], Row | None]],
    columns: dict[str, int],
    width: int,
    fmt: CallLogFormat,
    professional: str,
    out: CallColumns,
    add: Callable[[int, Mapping[str, object]], None],
    rejected: list[Rejected],
    progress: Callable[[int], None] | None,
) -> None:
    """The records of a file without quotes into ``out``: what :func:`_rows` and :func:`_logged`
    give, with each distinct time and each distinct combination of the other cells read once.
    A record short of a column the log uses goes through ``add`` (the row-by-row reading)."""
    at_number, at_time = columns["number"], columns["started_at"]
    at_context, at_code = columns.get("context"), columns.get("phone_code")
    contexts = fmt.internal_contexts
    present = [c for c in _OTHERS if c in columns]
    need = max(columns.values()) + 1
    getter = itemgetter(*(columns[c] for c in present)) if present else None
    single = len(present) == 1
    times: dict[str, tuple[datetime, int] | Rejected] = {}
    others: dict[object, tuple[_Extras, str, str] | tuple[None, str, str]] = {}
    line_, number_, caller_, when_, extras_, professional_ = (
        out.line,
        out.number,
        out.caller_id,
        out.when,
        out.extras,
        out.professional,
    )
    seen, per_char, count = 0, 2 if cf.encoding == "utf-16" else 1, 0
    for line, cells, odd in records:
        count += 1
        if progress is not None and count % 4096 == 0:
            done = cf.chars_read * per_char
            progress(done - seen)
            seen = done
        size = len(cells)
        if odd is not None and (odd.unreadable or size > width):
            rejected.append(_too_many(line, cells, width, cf.delimiter, odd.problem))
            continue
        if size > width:
            rejected.append(_too_many(line, cells, width, cf.delimiter, None))
            continue
        if size < need:
            add(line, {c: cells[i] for c, i in columns.items() if i < size})
            continue
        number = cells[at_number].strip()
        if not number:
            rejected.append(Rejected.of(line, "", _("no number")))
            continue
        if contexts is not None and internal_call(
            number, cells[at_context] if at_context is not None else "", contexts
        ):
            out.skipped.append(line)
            continue
        if at_code is not None:
            number = with_country_code(number, cells[at_code].strip())
        raw_time = cells[at_time]
        when = times.get(raw_time)
        if when is None:
            when = times[raw_time] = _when(raw_time, fmt.tz)
        if isinstance(when, Rejected):
            rejected.append(Rejected(line, when.value, when.reason, when.why))
            continue
        key = None if getter is None else (getter(cells),) if single else getter(cells)
        other = others.get(key)
        if other is None:
            other = others[key] = _others(present, key, fmt, professional)
        extras, caller, who = other
        if extras is None:
            rejected.append(Rejected(line, caller, who))
            continue
        line_.append(line)
        number_.append(number)
        caller_.append(caller)
        when_.append(when)
        extras_.append(extras)
        professional_.append(who)
    if progress is not None:
        progress(cf.chars_read * per_char - seen)


_fromisoformat = datetime.fromisoformat
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_EARLIEST_US, _LATEST_US = to_us(EARLIEST), to_us(LATEST)


def _when(raw: str, tz: str | None) -> tuple[datetime, int] | Rejected:
    """A time cell read as :func:`_logged` reads it: (aware start, µs UTC), or why not."""
    if tz is None:
        # The common cell, an ISO time with its offset inside the range, is what parse_time
        # returns for it; anything else goes through parse_time. (fromisoformat gives a fixed
        # offset or none; the range is compared in µs, which costs a fraction of comparing
        # aware datetimes.)
        try:
            moment: datetime | None = _fromisoformat(raw)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            us = (moment - _EPOCH) // _ONE_US
            if _EARLIEST_US <= us < _LATEST_US:
                return moment, us
    try:
        started = parse_time(raw, tz)
    except ValueError as exc:
        return Rejected.of(
            0, raw.strip(), exc.message if isinstance(exc, CallguardError) else str(exc)
        )
    return started, to_us(started)


def _others(
    present: list[str], key: object, fmt: CallLogFormat, professional: str
) -> tuple[_Extras, str, str] | tuple[None, str, str]:
    """(extras, caller ID, professional) of one combination of a row's other cells, or
    (None, bad value, reason)."""
    cells = dict(zip(present, key, strict=True)) if isinstance(key, tuple) else {}
    text = {c: str(cells.get(c, "")).strip() for c in _OTHERS}
    extras, bad, reason = _extras(
        text["outcome"], text["purpose"], text["sector"], text["department"],
        text["recorded_message"], fmt,
    )  # fmt: skip
    if extras is None:
        return None, bad, reason
    return extras, text["caller_id"] or (fmt.caller_id or ""), text["professional"] or professional
