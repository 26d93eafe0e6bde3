"""The exceptions callguard raises.

Every exception callguard raises on purpose derives from :class:`CallguardError`::

    CallguardError
    ├── InvalidNumberError   a phone number that cannot be written to the ledger  (also ValueError)
    ├── ConfigurationError   a bad argument or setting                            (also ValueError)
    │                        Policy(...) fields, Guard(professional=, policy=, busy_timeout=),
    │                        purpose, sector, outcome, callee_tz, audit(policy=), windows(policy=),
    │                        purge(before=), CLI options: the message names the field, the value
    │                        given and the values allowed
    └── LedgerError          the ledger cannot be opened, read, written or migrated

One mistake, one exception: a wrong ``policy=`` or ``Policy`` field is a ``ConfigurationError``
wherever it is given (pydantic's own ``ValidationError`` never escapes ``Policy(...)``).
``ConfigurationError`` is also a :class:`ValueError`, so ``except ValueError`` still catches it.

A naive ``datetime`` (or a date outside the rulebook's range) is a programming error and raises
the built-in :class:`ValueError`. Decisions never raise for a bad destination or caller ID: those
are refusals with a reason.
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
