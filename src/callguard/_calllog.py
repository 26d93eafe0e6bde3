"""Call logs: the calls a dialer placed, read from a CSV file or from rows as mappings.

:func:`callguard.audit` replays them against the rules; ``import-calls`` records them in the
ledger. Both read them here, with one parser for their times (:func:`parse_time`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._exceptions import ConfigurationError
from ._files import header_key, open_contacts
from ._reports import Rejected
from ._time import EARLIEST, UTC, in_range, parse_instant
from ._types import Outcome, Purpose, Sector

__all__ = ["CallSource", "LoggedCall", "parse_time", "read_call_log"]

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
}
_REQUIRED = ("number", "caller_id", "started_at")


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


def parse_time(value: object) -> datetime:
    """A call's start: ISO 8601 (or the ``23/11/2026 10:30`` French Excel writes), naive = Paris.

    Raises ``ValueError`` naming the value.
    """
    if not isinstance(value, datetime) and not str(value).strip():
        raise ValueError("no started_at")
    try:
        moment = parse_instant(value)
    except ValueError:
        raise ValueError(
            f"started_at {str(value).strip()!r} is not an ISO 8601 time "
            "(e.g. 2026-11-23T10:30:00+01:00)"
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


def _cell(row: Mapping[str, object], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def _logged(
    line: int, row: Mapping[str, object], professional: str
) -> tuple[LoggedCall | None, str, str]:
    """The call of a normalised row, or (None, bad value, reason)."""
    number = _cell(row, "number")
    if not number:
        return None, "", "no number"
    raw_time = row.get("started_at")
    try:
        started = parse_time("" if raw_time is None else raw_time)
    except ValueError as exc:
        return None, _cell(row, "started_at"), str(exc)
    enums: dict[str, Any] = {}
    for name, enum in (("outcome", Outcome), ("purpose", Purpose), ("sector", Sector)):
        text = _cell(row, name)
        try:
            enums[name] = enum.coerce(text) if text else None
        except ValueError as exc:
            return None, text, str(exc)
    return (
        LoggedCall(
            line=line,
            number=number,
            caller_id=_cell(row, "caller_id"),
            started_at=started,
            outcome=enums["outcome"],
            purpose=enums["purpose"],
            sector=enums["sector"],
            professional=_cell(row, "professional") or professional,
            campaign=_cell(row, "campaign") or None,
        ),
        "",
        "",
    )


def _columns(header: list[str], name: str) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in keys:
                found[column] = keys.index(alias)
                break
    missing = [c for c in _REQUIRED if c not in found]
    if missing:
        raise ConfigurationError(
            f"{name}: no {', '.join(repr(m) for m in missing)} column; a call log needs "
            f"number, caller_id and started_at (outcome, purpose, sector, professional and "
            f"campaign are optional); the header has: {', '.join(repr(h) for h in header)}"
        )
    return found


def read_call_log(
    calls: CallSource, *, professional: str = "default"
) -> tuple[list[LoggedCall], list[Rejected]]:
    """The calls of a log, and the rows that could not be read (with their line numbers).

    ``professional`` applies to rows without a ``professional`` column or value. Rows given as
    mappings are numbered from 1. Raises ``ConfigurationError`` when a required column is
    missing, ``OSError`` when the file cannot be read.
    """
    log: list[LoggedCall] = []
    rejected: list[Rejected] = []

    def add(line: int, row: Mapping[str, object]) -> None:
        call, value, reason = _logged(line, row, professional)
        if call is None:
            rejected.append(Rejected(line, value, reason))
        else:
            log.append(call)

    if isinstance(calls, (str, os.PathLike)):
        name = os.fspath(calls)
        with open_contacts(calls, column=1) as cf:
            if cf.empty:
                return log, rejected
            if cf.header is None:
                raise ConfigurationError(
                    f"{name}: a call log needs a header line naming its columns (number, "
                    "caller_id, started_at…)"
                )
            columns = _columns(cf.header, name)
            width = len(cf.header)
            for r in cf:
                if r.unreadable or len(r.cells) > width:
                    # More fields than the header: the values may sit in the wrong columns.
                    raw = (cf.delimiter or ";").join(r.cells)
                    rejected.append(Rejected(r.line, raw, r.problem or "unreadable line"))
                    continue
                add(r.line, {c: r.cells[i] for c, i in columns.items() if i < len(r.cells)})
        return log, rejected
    if isinstance(calls, (bytes, Mapping)):
        raise ConfigurationError(
            f"calls must be a CSV path or an iterable of mappings, not {type(calls).__name__}"
        )
    for line, item in enumerate(calls, start=1):
        if not isinstance(item, Mapping):
            rejected.append(Rejected(line, repr(item)[:60], "not a mapping of column names"))
            continue
        keys: dict[str, object] = {header_key(str(k)): v for k, v in item.items()}
        row: dict[str, object] = {}
        for column, aliases in _COLUMNS.items():
            for alias in aliases:
                if alias in keys:
                    row[column] = keys[alias]
                    break
        add(line, row)
    return log, rejected
