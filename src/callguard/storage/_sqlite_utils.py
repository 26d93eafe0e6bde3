"""sqlite-utils, imported without the numpy and pandas it loads when they are installed.

sqlite-utils imports numpy and pandas, if it finds them, to map their types to SQLite's; callguard
never writes a numpy or pandas value, and numpy alone is half the CPU of starting a ``callguard``
command (0.2 s). A process that imported them before keeps them; one that imports them later
gets them, only sqlite-utils' own mapping of their types stays off.
"""

from __future__ import annotations

import sys

_HIDDEN = ("numpy", "pandas")
_hidden = [name for name in _HIDDEN if name not in sys.modules]
try:
    for _name in _hidden:
        sys.modules[_name] = None  # type: ignore[assignment]  # « import numpy » fails at once
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations
finally:
    for _name in _hidden:
        if sys.modules.get(_name, 0) is None:
            del sys.modules[_name]

__all__ = ["Database", "Migrations"]
