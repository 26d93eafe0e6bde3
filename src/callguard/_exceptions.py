"""The exceptions callguard raises.

Every exception callguard raises on purpose derives from :class:`CallguardError`::

    CallguardError
    ├── InvalidNumberError   a phone number that cannot be written to the ledger  (also ValueError)
    ├── ConfigurationError   a bad argument or setting                            (also ValueError)
    │                        Policy(...) fields, Guard(path=, professional=, policy=,
    │                        busy_timeout=), purpose, sector, outcome, callee_tz, department,
    │                        a fact's arguments, audit(policy=), windows(policy=), purge(before=),
    │                        file and service options: ``field`` names the argument, ``value``
    │                        keeps what was given, the message says what is allowed
    ├── LedgerError          the ledger cannot be opened, read, written or migrated
    │   └── LedgerConflictError  a write that collides with a fact already there (a key or
    │                            an idempotency key taken); the backends raise it, never the
    │                            driver's own exception
    ├── UnknownAttemptError  no such attempt for this professional                (also ValueError)
    └── VoidRefusedError     an attempt that can no longer be voided: an outcome was
                             reported for it, or its five minutes have passed

One mistake, one exception: a wrong ``policy=`` or ``Policy`` field is a ``ConfigurationError``
wherever it is given (pydantic's own ``ValidationError`` never escapes ``Policy(...)``).
``ConfigurationError`` is also a :class:`ValueError`, so ``except ValueError`` still catches it.

A naive ``datetime`` (or a date outside the rulebook's range) is a programming error and raises
the built-in :class:`ValueError`. Decisions never raise for a bad destination or caller ID: those
are refusals with a reason.

Every :class:`CallguardError` keeps its sentence as a message id and its values
(:attr:`~CallguardError.message_id`, :attr:`~CallguardError.params`): ``str(exc)`` is English,
``exc.render("fr")`` French, so the CLI and the service answer in the caller's language.
"""

from __future__ import annotations

from ._i18n import Message, _

__all__ = [
    "CallguardError",
    "ConfigurationError",
    "InvalidNumberError",
    "LedgerConflictError",
    "LedgerError",
    "UnknownAttemptError",
    "VoidRefusedError",
]


class CallguardError(Exception):
    """Base class of every error callguard raises on purpose.

    ``message`` is a :class:`~callguard._i18n.Message` (a message id and its values) or a plain
    English sentence, which is looked up in the catalog as it stands."""

    def __init__(self, message: Message | str = "", *args: object) -> None:
        self.message = message if isinstance(message, Message) else Message(str(message))
        super().__init__(self.message.render("en"), *args)

    @property
    def message_id(self) -> str:
        """The sentence's id in the message catalog (its English template)."""
        return self.message.msgid

    @property
    def params(self) -> dict[str, object]:
        """The values the sentence is built from, by placeholder name."""
        return self.message.params

    def render(self, lang: str = "en") -> str:
        """The error's sentence in ``lang`` (``"en"`` or ``"fr"``)."""
        return self.message.render(lang)


class InvalidNumberError(CallguardError, ValueError):
    """A phone number could not be normalised; ``value`` is the input, ``reason`` says why."""

    def __init__(self, value: object, reason: Message | str) -> None:
        self.value = value
        self.why = reason if isinstance(reason, Message) else Message(reason)
        """Why, as a :class:`~callguard._i18n.Message` to render in the reader's language."""
        self.reason = self.why.render("en")
        """Why, in English."""
        try:
            shown = repr(value)
        except ValueError:  # an int too long for repr(): say what it is instead
            shown = f"<{type(value).__name__} of {value.bit_length() if isinstance(value, int) else '?'} bits>"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.shown = shown
        super().__init__(_("invalid phone number {value}: {reason}", value=shown, reason=self.why))


class ConfigurationError(CallguardError, ValueError):
    """A setting or option has a value callguard cannot work with.

    ``field`` names the argument, option or body field at fault (``"purpose"``, ``"callee_tz"``,
    ``"policy.max_attempts"``...) and ``value`` is the value given, so a caller can point at the
    mistake without reading the sentence: the service answers ``field`` in its 422, the CLI names
    the option."""

    def __init__(
        self, message: Message | str = "", *args: object, field: str | None = None,
        value: object = None,
    ) -> None:  # fmt: skip
        self.field = field
        """The argument, option or body field at fault; None where the mistake is no one field's."""
        self.value = value
        """The value given for ``field`` (None where none was given)."""
        super().__init__(message, *args)


class LedgerError(CallguardError):
    """The ledger cannot be opened, read, written or migrated."""


class LedgerConflictError(LedgerError):
    """A write collides with a fact already in the ledger (a unique key taken: an API key's name,
    an idempotency key). The backends raise it in place of their driver's integrity error."""


class UnknownAttemptError(CallguardError, ValueError):
    """No attempt with this id for the guard's professional (another professional's attempt is
    unknown too: ids are not secrets, so they must not reveal anything)."""

    def __init__(self, attempt_id: int, professional: str) -> None:
        self.attempt_id = attempt_id
        super().__init__(
            _(
                "no attempt {attempt} for professional {professional}",
                attempt=attempt_id,
                professional=repr(professional),
            )
        )


class VoidRefusedError(CallguardError):
    """An attempt that cannot be voided: ``attempt_id`` names it, ``why`` says why (an outcome
    was reported, so the call was placed; or the window to void it has passed)."""

    def __init__(self, attempt_id: int, why: Message | str) -> None:
        self.attempt_id = attempt_id
        self.why = why if isinstance(why, Message) else Message(why)
        super().__init__(
            _("attempt {attempt} cannot be voided: {why}", attempt=attempt_id, why=self.why)
        )
