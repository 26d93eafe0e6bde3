"""A backend's driver errors become :class:`~callguard._exceptions.LedgerError` at its edge.

Nothing outside ``storage/`` sees ``sqlite3.Error`` or ``psycopg.Error``: every public method of
a backend is wrapped once, when its class is defined (:class:`DriverErrors`), so a failure of the
file, the server, the network or a timeout leaves the ledger as a ``LedgerError`` (the original
as ``__cause__``), and a write that collides with a unique key already there as a
:class:`~callguard._exceptions.LedgerConflictError`. A decision that meets either is
``LEDGER_UNAVAILABLE``: the ledger fails closed, never open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .._exceptions import LedgerConflictError, LedgerError

__all__ = ["DriverErrors", "translates_its_own"]

F = TypeVar("F", bound=Callable[..., Any])

_NOT_WRAPPED = frozenset({"write", "close", "open_read_only", "connection"})
"""Context managers translate inside their own body (:meth:`DriverErrors.translated`); a class
method opens a ledger and says so itself; ``close`` never reaches the driver's errors."""

_INSIDE_WRITE = frozenset({"insert_attempt", "insert_values", "insert_row"})
"""Journaled writes of every decision's path that only ever run inside ``write()``, whose body
translates what is raised through it: not wrapped a second time (a wrapper is a call layer)."""


def translates_its_own(fn: F) -> F:
    """Mark a hot-path method that catches its driver errors itself (a ``try`` costs nothing
    until it raises; a wrapper costs a call on every decision)."""
    fn._translating = True  # type: ignore[attr-defined]
    return fn


class DriverErrors:
    """Mixin of a backend: its public methods raise ``LedgerError``, never the driver's own."""

    driver_errors: tuple[type[BaseException], ...] = ()
    """The driver's base exception(s): ``(sqlite3.Error,)``, ``(psycopg.Error,)``."""

    errors: tuple[type[Exception], ...] = (LedgerError,)
    """What a caller catches: ``LedgerError`` only (kept while callers move to ``except
    LedgerError``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.driver_errors:
            return
        for name in _public_methods(cls):
            setattr(cls, name, _translating(getattr(cls, name)))

    def is_conflict(self, exc: BaseException) -> bool:
        """Whether the driver's ``exc`` is a unique-key collision."""
        return False

    def ledger_error(self, exc: BaseException) -> LedgerError:
        """The ``LedgerError`` (or ``LedgerConflictError``) standing for the driver's ``exc``."""
        text = self.describe(exc)
        if self.is_conflict(exc):
            return LedgerConflictError(text)
        return LedgerError(text)

    def describe(self, exc: BaseException) -> str:
        """The driver's message as the error shows it (a backend scrubs secrets here)."""
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors raised inside become ``LedgerError`` (for the context managers)."""
        try:
            yield
        except LedgerError:
            raise
        except self.driver_errors as exc:
            raise self.ledger_error(exc) from exc


def _public_methods(cls: type) -> list[str]:
    names = []
    for name in dir(cls):
        if (
            name.startswith("_")
            or name in _NOT_WRAPPED
            or name in _INSIDE_WRITE
            or name in DriverErrors.__dict__
        ):
            continue
        raw = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if (
            callable(raw)
            and not isinstance(raw, (type, classmethod, staticmethod))
            and not getattr(raw, "_translating", False)
        ):
            names.append(name)
    return names


def _translating(fn: F) -> F:
    @functools.wraps(fn)
    def call(self: DriverErrors, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except LedgerError:
            raise
        except self.driver_errors as exc:
            raise self.ledger_error(exc) from exc

    call._translating = True  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]
