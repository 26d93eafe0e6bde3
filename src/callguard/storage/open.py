"""The one way to open a ledger, whatever the backend and whatever the use."""

from __future__ import annotations

import os

from .._exceptions import LedgerError
from .._i18n import _
from .base import DEFAULT_BUSY_TIMEOUT, Ledger, kind_of, parse_location
from .sqlite import SQLiteLedger

__all__ = ["default_db_path", "kind_of", "open_ledger"]


def default_db_path() -> str:
    """The ledger scripts use: ``$CALLGUARD_DB``, else ``./callguard.db``."""
    return os.environ.get("CALLGUARD_DB") or "callguard.db"


def open_ledger(
    location: str | os.PathLike[str],
    *,
    read_only: bool = False,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    create: bool = True,
) -> Ledger:
    """The ledger at ``location``: a ``postgresql://`` URL or a libpq keyword string selects the
    server-backed ledger, anything else is a SQLite file path (or ``:memory:``); see
    :func:`~callguard.storage.base.parse_location`.

    A writable ledger is created and migrated if need be. ``read_only=True`` writes nothing
    (an audit, the source of a copy): a missing file or a database without the callguard schema
    is a ``LedgerError`` rather than a new empty ledger; ``:memory:`` is an empty ledger.
    ``create=False`` refuses a SQLite file that does not exist (a typo must never judge calls
    against an empty ledger) and creates nothing.
    """
    where = parse_location(location)
    text = where.text
    if where.server:
        try:
            from .postgres import PostgresLedger
        except ImportError as exc:
            raise LedgerError(
                f"{where.shown!r} is a PostgreSQL ledger: install callguard-fr[postgres] ({exc})"
            ) from exc
        if read_only:
            return PostgresLedger.open_read_only(text, busy_timeout=busy_timeout)
        return PostgresLedger(text, busy_timeout=busy_timeout)
    if read_only and text != ":memory:":
        return SQLiteLedger.open_read_only(text, busy_timeout=busy_timeout)
    if not create and text != ":memory:" and not os.path.isfile(text):
        raise LedgerError(
            _(
                "no ledger at {location}: create it first (`callguard init --db {path}`, or "
                "Guard(path) with create=True)",
                location=repr(text),
                path=text,
            )
        )
    return SQLiteLedger(text, busy_timeout=busy_timeout)
