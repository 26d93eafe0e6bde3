"""Evidence for a control: the journal's verification and what the ledger holds on a number.

Since 2026-08-11 the professional must prove each consumer's prior consent (L223-1); a DGCCRF or
CNIL control asks for the proofs, the calls and their compliance. These functions read the
ledger back; they never write.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ._checkpoint import check_against
from ._exceptions import InvalidNumberError, LedgerError
from ._guard import Guard
from ._numbers import parse_number
from ._time import from_us, now_utc, require_aware
from .storage import Ledger, describe, open_ledger
from .storage.base import SCHEMA, ColumnType, Table
from .storage.journal import VerifyReport

__all__ = [
    "CONSENT_FLAGS",
    "VerifyReport",
    "check_against",
    "checkpoint",
    "consent_evidence",
    "consent_flags",
    "list_table",
    "local_iso",
    "number_history",
    "verify",
    "zone_of",
]

PARIS = "Europe/Paris"
TABLES: dict[str, Table] = {t.name: t for t in SCHEMA}


def verify(
    location: str | os.PathLike[str],
    *,
    checkpoints: str | os.PathLike[str] | None = None,
    public_key: str | os.PathLike[str] | None = None,
    tsa_roots: str | os.PathLike[str] | None = None,
) -> VerifyReport:
    """Check the ledger's journal, and every fact against it, without writing anything.

    ``report.ok`` when intact; otherwise ``report.first`` names the first fact changed, removed
    or inserted outside callguard (its table, row id and what differs), or the first journal
    entry altered or removed. A missing ledger is a :class:`LedgerError`.

    With ``checkpoints`` (a folder of signed checkpoint files) and ``public_key`` (the
    ``.pub`` file of the key that signed them), each checkpoint is checked too: a head no longer
    in its chain (a cut tail, a recomputed chain, an older copy put back), a signature or a
    timestamp token that does not verify, or another ledger's checkpoint is a ``checkpoint``
    problem naming the file (``report.checkpoints`` lists each). ``tsa_roots``: a PEM file of
    the timestamp authority's certificates, to check the tokens' signer.
    """
    ledger = open_ledger(location, read_only=True)
    try:
        try:
            report = ledger.verify()
            if checkpoints is not None or public_key is not None:
                check_against(ledger, report, checkpoints, public_key, tsa_roots)
            return report
        except LedgerError as exc:
            raise LedgerError(f"cannot verify {describe(location)!r}: {exc}") from exc
    finally:
        ledger.close()


def checkpoint(
    location: str | os.PathLike[str],
    signing_key: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    tsa: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Take a signed checkpoint of the ledger at ``location`` (which must exist) into
    ``out_dir``; see :meth:`callguard.Guard.checkpoint`."""
    from ._checkpoint import take_checkpoint

    present = now_utc() if now is None else require_aware(now, "now")
    ledger = open_ledger(location, create=False)
    try:
        try:
            return take_checkpoint(ledger, signing_key, out_dir, now=present, tsa=tsa)
        except LedgerError as exc:
            raise LedgerError(f"cannot take a checkpoint of {describe(location)!r}: {exc}") from exc
    finally:
        ledger.close()


# -- reading the ledger back ----------------------------------------------------------------------

_HISTORY: tuple[tuple[str, str, str], ...] = (
    # (key in the answer, table, order)
    ("attempts", "attempts", "at, id"),
    ("refusals", "refusals", "at, id"),
    ("optouts", "optouts", "at, id"),
    ("consents", "consents", "at, id"),
    ("withdrawals", "consent_withdrawals", "at, id"),
    ("slots", "slot_consents", "start, id"),
    ("contracts", "contracts", "start, id"),
)


def is_instant(column: str) -> bool:
    """Whether a column holds an instant (µs UTC): shown in the consumer's zone."""
    return column in ("at", "start", "end") or column.endswith("_at")


def zone_of(e164: str) -> str:
    """The IANA zone a number's times are shown in: its territory's, else Paris."""
    try:
        zones = parse_number(e164).zones
    except InvalidNumberError:
        return PARIS
    return zones[0] if zones else PARIS


def local_iso(us: int | None, zone: str) -> str | None:
    """An instant as ISO 8601 in ``zone``, with its offset (never bare UTC)."""
    return None if us is None else from_us(int(us)).astimezone(ZoneInfo(zone)).isoformat()


def _select(table: str) -> tuple[Table, list[str]]:
    t = TABLES[table]
    return t, fact_columns(table)


def fact_columns(table: str) -> list[str]:
    """The columns of ``table`` shown for a row (every one but the professional and number)."""
    return [c for c in TABLES[table].column_names if c not in ("professional", "number")]


def _rows_of(
    ledger: Ledger,
    table: str,
    professional: int,
    number: int | None,
    order: str,
    zone: str | None,
) -> list[dict[str, Any]]:
    """Rows of ``table`` as dicts (every column the schema declares, so evidence columns added
    by a later schema step appear without code here); instants in ``zone`` (else the number's)."""
    cols = fact_columns(table)
    rows = ledger.fact_rows(
        table,
        [*cols, "number"] if zone is None else cols,
        professional,
        number,
        [c.strip() for c in order.split(",")],
    )
    return as_dicts(table, rows, zone)


def as_dicts(table: str, rows: list[tuple[object, ...]], zone: str | None) -> list[dict[str, Any]]:
    """Rows of ``table``'s columns (then the number, when ``zone`` is None) as dicts; instants
    in ``zone``, else in each number's."""
    t, cols = _select(table)
    flags = {c.name for c in t.columns if c.type is ColumnType.FLAG}
    out = []
    for row in rows:
        z = zone if zone is not None else zone_of(e164_of_key(_int(row[-1])))
        item: dict[str, Any] = {}
        if zone is None:
            item["number"] = e164_of_key(_int(row[-1]))
        for c, v in zip(cols, row, strict=False):
            if c in flags:
                item[c] = None if v is None else bool(v)
            else:
                item[c] = local_iso(_int(v), z) if is_instant(c) and v is not None else v
        out.append(item)
    return out


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer from the ledger, not {value!r}")
    return value


def e164_of_key(key: int) -> str:
    return f"+{key}"


def number_history(
    ledger: Ledger, pid: int, key: int, zone: str
) -> dict[str, list[dict[str, Any]]]:
    """Everything the ledger holds on one number for one professional, oldest first, each
    instant in ``zone`` (the consumer's). The service's ``GET /v1/numbers/{number}`` and
    ``callguard show`` both answer with it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, table, order in _HISTORY:
        rows = _rows_of(ledger, table, pid, key, order, zone)
        if name == "attempts":
            # Every outcome reported for each attempt, in order (attempts.outcome is the latest;
            # an outcome given when the call was recorded has no history row).
            reported: dict[int, list[str]] = {}
            for attempt_id, outcome in ledger.outcome_history(pid, key):
                reported.setdefault(attempt_id, []).append(outcome)
            shown = []
            for r in rows:
                attempt_id = int(r.pop("id"))
                latest = [r["outcome"]] if r.get("outcome") is not None else []
                shown.append(
                    {"attempt_id": attempt_id, **r, "outcomes": reported.get(attempt_id, latest)}
                )
            rows = shown
        out[name] = rows
    out["bloctel"] = [
        {"checked_at": local_iso(c, zone), "listed": listed}
        for c, listed in ledger.bloctel_history(key)
    ]
    return out


def list_table(guard: Guard, table: str, number: object | None = None) -> list[dict[str, Any]]:
    """Every row of ``table`` for the guard's professional (``consents``, ``contracts``…), or
    those of one number; instants in each number's zone."""
    ledger, pid = guard.engine.ledger, guard.engine.pid
    order = "start, id" if "start" in TABLES[table].column_names else "at, id"
    if number is None:
        return _rows_of(ledger, table, pid, None, order, None)
    key = parse_number(number).key
    rows = _rows_of(ledger, table, pid, key, order, None)
    return rows


def consent_evidence(guard: Guard, number: object | None = None) -> list[dict[str, Any]]:
    """The professional's consents with their evidence, each with the withdrawal that ended it
    (the first withdrawal after it) and the flags of thin evidence (:func:`consent_flags`,
    space-separated), oldest first."""
    consents = list_table(guard, "consents", number)
    withdrawals = list_table(guard, "consent_withdrawals", number)
    for c in consents:
        later = [
            w["at"]
            for w in withdrawals
            if w["number"] == c["number"] and _us(w["at"]) >= _us(c["at"])
        ]
        c["withdrawn_at"] = min(later, key=_us) if later else None
        c["flags"] = " ".join(consent_flags(c, guard.professional))
    return consents


CONSENT_FLAGS: dict[str, str] = {
    "NO_WORDING": "no wording: the text the consumer agreed to is not kept",
    "NO_PROOF_DIGEST": "no proof digest: the proof handed over cannot be checked",
    "VENDOR_WITHOUT_PROFESSIONAL": (
        "collected by a third party whose wording does not name the professional"
    ),
}
"""Thin consent evidence, by flag (rulebook §6, quality of consent evidence, 2026-12-03)."""


def consent_flags(consent: dict[str, Any], professional: str) -> list[str]:
    """The flags of thin evidence of one consent row (a warning in the evidence, never a
    refusal: callguard cannot judge a form).

    Consent must be « spécifique » (L223-1 as amended in 2025; CNIL SAN-2025-001 faulted lead
    vendors whose forms did not name the professional): a ``source`` other than the
    professional itself is a third party collecting for it, and its ``wording`` must name the
    professional. Without a wording or a proof digest, the evidence cannot be checked at all.
    """
    wording = str(consent.get("wording") or "").strip()
    source = str(consent.get("source") or "").strip()
    flags = []
    if not wording:
        flags.append("NO_WORDING")
    if not str(consent.get("proof_sha256") or "").strip():
        flags.append("NO_PROOF_DIGEST")
    own = professional.strip().casefold()
    if source and source.casefold() != own and own not in wording.casefold():
        flags.append("VENDOR_WITHOUT_PROFESSIONAL")
    return flags


def _us(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
