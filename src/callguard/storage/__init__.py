"""Storage: the ledger the engine asks its questions of.

``base`` declares the :class:`Ledger` protocol and the schema, once; ``sqlite`` and ``postgres``
implement them; ``copy`` moves a ledger between backends; :func:`open_ledger` is the one way to
open a ledger, :func:`kind_of` the one reading of which backend a location names and
:func:`describe` the one way to show where it is.
"""

from __future__ import annotations

from .base import DEFAULT_BUSY_TIMEOUT, Ledger, describe, is_server_url, kind_of
from .open import default_db_path, open_ledger

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "Ledger",
    "default_db_path",
    "describe",
    "is_server_url",
    "kind_of",
    "open_ledger",
]
