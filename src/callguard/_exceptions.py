"""The exceptions callguard raises.

Every exception callguard raises on purpose derives from :class:`CallguardError`::

    CallguardError
    ├── InvalidNumberError   a phone number that cannot be written to the ledger
    ├── ConfigurationError   a Guard, Policy or CLI option that makes no sense
    └── LedgerError          the ledger file cannot be opened, read, written or migrated

A naive ``datetime`` (or a date outside the rulebook's range) is a programming error and raises
the built-in :class:`ValueError`, as the public contract requires. Decisions never raise for a bad
destination or caller ID: those are refusals with a reason.
"""

from __future__ import annotations

__all__ = ["CallguardError", "ConfigurationError", "InvalidNumberError", "LedgerError"]


class CallguardError(Exception):
    """Base class of every error callguard raises on purpose."""


class InvalidNumberError(CallguardError, ValueError):
    """A phone number could not be normalised; ``value`` is the input, ``reason`` says why."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        try:
            shown = repr(value)
        except ValueError:  # an int too long for repr(): say what it is instead
            shown = f"<{type(value).__name__} of {value.bit_length() if isinstance(value, int) else '?'} bits>"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"invalid phone number {shown}: {reason}")


class ConfigurationError(CallguardError, ValueError):
    """A setting or option has a value callguard cannot work with."""


class LedgerError(CallguardError):
    """The ledger cannot be opened, read, written or migrated."""
