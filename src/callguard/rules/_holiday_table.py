"""Which days of the common years are French public holidays, as the ``holidays`` package dates
them, precomputed: deciding a call on an ordinary day need not import the package (about 75 ms
of CPU, most of a ``callguard check``). The table holds days only, not names: on a day it lists
(or outside its years) the calendar asks the package itself, so every name, and the language
the package gives it, stays the package's. tests/test_startup.py holds the table equal to the
package's answer for every year it covers, and rewrites it after an upgrade of ``holidays``:

    python tests/test_startup.py > src/callguard/rules/_holiday_table_data.py
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ._holiday_table_data import FIRST, LAST, LOCAL, NATIONAL


def closes(day: date, areas: tuple[str, ...], strict_local: bool) -> bool | None:
    """Whether a public holiday closes ``day`` for a consumer in ``areas``, from the table; None
    for a year it does not hold. The table lists exactly the package's days, so this is
    ``holiday_name(...) is not None`` without the package (the search for ``next_allowed_at``
    asks only whether a day is open, not its holiday's name)."""
    if not FIRST <= day.year <= LAST:
        return None
    ordinal = day.toordinal()
    if ordinal in NATIONAL:
        return True
    return strict_local and any(ordinal in LOCAL.get(area, ()) for area in areas)


def surely_open(day: date, areas: Iterable[str], strict_local: bool) -> bool:
    """True when the table knows ``day`` is no public holiday for a consumer in ``areas``;
    False when it may be one (a day it lists, or a year it does not hold). An area the table
    does not name has no local holiday, as in the calendar."""
    if not FIRST <= day.year <= LAST:
        return False
    ordinal = day.toordinal()
    if ordinal in NATIONAL:
        return False
    if not strict_local:
        return True
    return all(ordinal not in LOCAL.get(area, ()) for area in areas)
