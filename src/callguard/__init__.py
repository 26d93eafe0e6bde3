"""callguard — may I call this number, from this caller ID, now?

French outbound-calling compliance for dialers: Bloctel and consent regimes, D223-9 days, hours,
4-per-30-days cap and 60-day cooldown, NPV caller IDs, over a local SQLite ledger.

>>> guard = Guard("callguard.db", professional="acme")          # doctest: +SKIP
>>> guard.may_call("06 12 34 56 78", caller_id="09 48 12 34 56")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._audit import audit
    from ._decision import Decision, Reason
    from ._evidence import VerifyReport, verify
    from ._exceptions import (
        CallguardError,
        ConfigurationError,
        InvalidNumberError,
        LedgerError,
        UnknownAttemptError,
        VoidRefusedError,
    )
    from ._guard import Guard
    from ._policy import Policy
    from ._reports import ImportReport, PurgeReport, Rejected
    from ._types import Outcome, Purpose, ReasonCode, Sector
    from ._windows import windows
    from .storage import default_db_path

# The public names, imported when first used: « import callguard » (and every « callguard »
# command, which imports the package) pays only for what it touches. A command that checks
# one number does not load the audit, the evidence pack, pydantic's validators or numpy.
_LAZY = {
    "audit": "._audit",
    "Decision": "._decision",
    "Reason": "._decision",
    "VerifyReport": "._evidence",
    "verify": "._evidence",
    "CallguardError": "._exceptions",
    "ConfigurationError": "._exceptions",
    "InvalidNumberError": "._exceptions",
    "LedgerError": "._exceptions",
    "UnknownAttemptError": "._exceptions",
    "VoidRefusedError": "._exceptions",
    "Guard": "._guard",
    "Policy": "._policy",
    "ImportReport": "._reports",
    "PurgeReport": "._reports",
    "Rejected": "._reports",
    "Outcome": "._types",
    "Purpose": "._types",
    "ReasonCode": "._types",
    "Sector": "._types",
    "windows": "._windows",
    "default_db_path": ".storage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'callguard' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "CallguardError",
    "ConfigurationError",
    "Decision",
    "Guard",
    "ImportReport",
    "InvalidNumberError",
    "LedgerError",
    "Outcome",
    "Policy",
    "PurgeReport",
    "Purpose",
    "Reason",
    "ReasonCode",
    "Rejected",
    "Sector",
    "UnknownAttemptError",
    "VerifyReport",
    "VoidRefusedError",
    "__version__",
    "audit",
    "default_db_path",
    "may_call",
    "verify",
    "windows",
]

_guards: dict[tuple[int, str], Guard] = {}
_guards_lock = threading.Lock()


def may_call(number: object, caller_id: object, now: datetime | None = None) -> Decision:
    """One-off check for scripts, on the default ledger and professional.

    A ledger that cannot be opened refuses with ``LEDGER_UNAVAILABLE`` rather than raising; it
    is never created (a missing file is ``LEDGER_UNAVAILABLE``: create it with ``callguard init``).
    """
    from ._engine import unavailable
    from ._exceptions import LedgerError
    from ._guard import Guard
    from ._time import now_utc, require_aware
    from .storage import default_db_path

    t = now_utc() if now is None else require_aware(now)
    path = os.path.abspath(default_db_path())
    key = (os.getpid(), path)
    try:
        with _guards_lock:
            guard = _guards.get(key)
            if guard is None:
                guard = _guards[key] = Guard(path, create=False)
    except LedgerError as exc:
        return unavailable(str(exc), t, "Europe/Paris")
    return guard.may_call(number, caller_id, t)
