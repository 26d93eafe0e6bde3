"""The exceptions callguard raises.

Every exception callguard raises on purpose derives from :class:`CallguardError`::

    CallguardError
    ├── InvalidNumberError   a phone number that cannot be written to the ledger  (also ValueError)
    ├── ConfigurationError   a bad argument or setting                            (also ValueError)
    │                        Policy(...) fields, Guard(professional=, policy=, busy_timeout=),
    │                        purpose, sector, outcome, callee_tz, audit(policy=), windows(policy=),
    │                        purge(before=), CLI options: the message names the field, the value
    │                        given and the values allowed
    ├── LedgerError          the ledger cannot be opened, read, written or migrated
    ├── UnknownAttemptError  no such attempt for this professional                (also ValueError)
    └── VoidRefusedError     an attempt that can no longer be voided: an outcome was
                             reported for it, or its five minutes have passed

One mistake, one exception: a wrong ``policy=`` or ``Policy`` field is a ``ConfigurationError``
wherever it is given (pydantic's own ``ValidationError`` never escapes ``Policy(...)``).
``ConfigurationError`` is also a :class:`ValueError`, so ``except ValueError`` still catches it.

A naive ``datetime`` (or a date outside the rulebook's range) is a programming error and raises
the built-in :class:`ValueError`. Decisions never raise for a bad destination or caller ID: those
are refusals with a reason.
"""

from __future__ import annotations

__all__ = [
    "CallguardError",
    "ConfigurationError",
    "InvalidNumberError",
    "LedgerError",
    "UnknownAttemptError",
    "VoidRefusedError",
]


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


class UnknownAttemptError(CallguardError, ValueError):
    """No attempt with this id for the guard's professional (another professional's attempt is
    unknown too: ids are not secrets, so they must not reveal anything)."""

    def __init__(self, attempt_id: int, professional: str) -> None:
        self.attempt_id = attempt_id
        super().__init__(f"no attempt {attempt_id} for professional {professional!r}")


class VoidRefusedError(CallguardError):
    """An attempt that cannot be voided: ``attempt_id`` names it, ``why`` says why (an outcome
    was reported, so the call was placed; or the window to void it has passed)."""

    def __init__(self, attempt_id: int, why: str) -> None:
        self.attempt_id = attempt_id
        self.why = why
        super().__init__(f"attempt {attempt_id} cannot be voided: {why}")
