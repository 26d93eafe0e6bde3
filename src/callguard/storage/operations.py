"""The ledger's named reads for the service, the evidence and the control pack.

Nothing outside ``storage/`` writes SQL: the pre-dial service's keys and idempotent answers,
a number's history, a control pack's attempts and the void lookup are operations with a name and
typed results. Each statement is declared once here with ``?`` placeholders; a backend renders it
for its dialect (PostgreSQL's ``%s``) in :meth:`NamedOperations._rows`, as the schema's DDL is
rendered from ``storage.base.SCHEMA``. Writes go through the journaled writes
(``insert_row``, ``update_row``, ``store_answer``, ``expire_answers``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import SCHEMA, AttemptForVoid, KeyRow, StoredAnswer, counted

__all__ = [
    "AttemptForVoid",
    "KeyRow",
    "NamedOperations",
    "StoredAnswer",
    "render",
]

_COLUMNS = {t.name: frozenset(t.column_names) for t in SCHEMA}

# -- the statements, declared once (``?`` placeholders) -------------------------------------------

KEY_NAMED = "SELECT 1 FROM api_keys WHERE name = ?"
KEY_BY_HASH = (
    "SELECT k.id, p.name, k.hash, k.revoked_at FROM api_keys AS k "
    "JOIN professionals AS p ON p.id = k.professional WHERE k.hash = ?"
)
KEYS = (
    "SELECT k.name, p.name, k.prefix, k.created_at, k.revoked_at FROM api_keys AS k "
    "JOIN professionals AS p ON p.id = k.professional ORDER BY k.created_at, k.id"
)
LIVE_KEY_IDS = "SELECT id FROM api_keys WHERE name = ? AND revoked_at IS NULL"
KEY_COUNT = "SELECT count(*) FROM api_keys"
ANSWER = "SELECT request, response, id FROM idempotency WHERE api_key = ? AND key = ?"
VOIDED = "SELECT 1 FROM attempts WHERE id = ? AND voided_at IS NOT NULL AND outcome IS NULL"
ATTEMPT_FOR_VOID = (
    "SELECT professional, at, outcome, recorded_at, voided_at FROM attempts WHERE id = ?"
)
OUTCOME_HISTORY = (
    "SELECT h.attempt_id, h.outcome FROM attempt_outcomes h JOIN attempts a "
    "ON a.id = h.attempt_id WHERE a.professional = ? AND a.number = ? ORDER BY h.id"
)
BLOCTEL_HISTORY = (
    "SELECT checked_at, listed FROM bloctel_checks WHERE number = ? ORDER BY checked_at"
)
ATTEMPTS_BETWEEN = (
    "SELECT id, number, at, caller_id, outcome, campaign, purpose FROM attempts "  # noqa: S608
    f"WHERE professional = ? AND at >= ? AND at < ? AND {counted()} ORDER BY at, id"
)
OUTCOME_NUMBER = (
    "SELECT a.number FROM attempt_outcomes h JOIN attempts a ON a.id = h.attempt_id WHERE h.id = ?"
)


def render(query: str, placeholder: str) -> str:
    """``query`` for a dialect whose parameter placeholder is ``placeholder``."""
    return query if placeholder == "?" else query.replace("?", placeholder)


def _checked(table: str, names: Sequence[str]) -> None:
    """Only the schema's own tables and columns ever reach a statement built from names."""
    known = _COLUMNS.get(table)
    if known is None or not set(names) <= known:
        raise ValueError(f"no such table or columns in the ledger: {table} {list(names)}")


class NamedOperations:
    """Mixin of a backend: every operation is one declared statement run by :meth:`_rows`."""

    def _rows(self, query: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Rows of one declared statement (``?`` placeholders), rendered for the backend."""
        raise NotImplementedError

    # -- API keys ---------------------------------------------------------------------------

    def api_key_exists(self, name: str) -> bool:
        """Whether a key (live or revoked) is named ``name``."""
        return bool(self._rows(KEY_NAMED, (name,)))

    def api_key_by_hash(self, digest: str) -> tuple[int, str, str, int | None] | None:
        """(id, professional's name, stored hash, revoked_at) of the key whose hash is
        ``digest``, or None."""
        rows = self._rows(KEY_BY_HASH, (digest,))
        if not rows:
            return None
        key_id, professional, stored, revoked = rows[0]
        return (_int(key_id), str(professional), str(stored),
                None if revoked is None else _int(revoked))  # fmt: skip

    def api_keys(self) -> list[KeyRow]:
        """Every key, oldest first."""
        return [
            KeyRow(str(n), str(p), str(x), _int(c), None if r is None else _int(r))
            for n, p, x, c, r in self._rows(KEYS, ())
        ]

    def live_api_key_ids(self, name: str) -> list[int]:
        """The ids of the keys named ``name`` not yet revoked."""
        return [_int(r[0]) for r in self._rows(LIVE_KEY_IDS, (name,))]

    def api_key_count(self) -> int:
        """How many keys there are (the service's health check reads it)."""
        return _int(self._rows(KEY_COUNT, ())[0][0])

    # -- idempotent answers (put: ``store_answer``; expire: ``expire_answers``) ------------------

    def stored_answer(self, api_key: int, key: str) -> StoredAnswer | None:
        """The answer stored for (``api_key``, ``key``), or None."""
        rows = self._rows(ANSWER, (api_key, key))
        if not rows:
            return None
        request, response, row_id = rows[0]
        return StoredAnswer(str(request), str(response), _int(row_id))

    # -- attempts: void -----------------------------------------------------------------------

    def attempt_voided(self, attempt_id: int) -> bool:
        """Whether attempt ``attempt_id`` was voided and counts for nothing (no outcome)."""
        return bool(self._rows(VOIDED, (attempt_id,)))

    def attempt_for_void(self, attempt_id: int) -> AttemptForVoid | None:
        """What voiding attempt ``attempt_id`` must know of it, or None when there is none."""
        rows = self._rows(ATTEMPT_FOR_VOID, (attempt_id,))
        if not rows:
            return None
        pid, at, outcome, recorded_at, voided_at = rows[0]
        return AttemptForVoid(_int(pid), _int(at), None if outcome is None else str(outcome),
                              _int(recorded_at), None if voided_at is None else _int(voided_at))  # fmt: skip

    # -- history and evidence -----------------------------------------------------------------

    def fact_rows(
        self,
        table: str,
        columns: Sequence[str],
        professional: int,
        number: int | None,
        order: Sequence[str],
    ) -> list[tuple[object, ...]]:
        """``columns`` of the professional's rows of fact table ``table`` (of one number, or
        all), in ``order``. Tables and columns are the schema's own; anything else is refused."""
        _checked(table, [*columns, *order, "professional", "number"])
        names = ", ".join(f'"{c}"' for c in columns)
        where = "professional = ?" + ("" if number is None else " AND number = ?")
        params: tuple[object, ...] = (professional,) if number is None else (professional, number)
        query = f"SELECT {names} FROM {table} WHERE {where} ORDER BY {', '.join(order)}"  # noqa: S608
        return self._rows(query, params)

    def voided_attempt_rows(
        self, professional: int, lo: int, hi: int, columns: Sequence[str]
    ) -> list[tuple[object, ...]]:
        """``columns`` and the number of the professional's voided attempts (those that do not
        count) made in [``lo``, ``hi``), in order."""
        _checked("attempts", columns)
        names = ", ".join(f'"{c}"' for c in columns)
        query = (
            f"SELECT {names}, number FROM attempts WHERE professional = ? AND at >= ? "  # noqa: S608
            f"AND at < ? AND NOT {counted()} ORDER BY at, id"
        )
        return self._rows(query, (professional, lo, hi))

    def outcome_history(self, professional: int, number: int) -> list[tuple[int, str]]:
        """(attempt id, outcome) of every outcome reported for the number's attempts, in order."""
        return [(_int(a), str(o)) for a, o in self._rows(OUTCOME_HISTORY, (professional, number))]

    def bloctel_history(self, number: int) -> list[tuple[int, bool]]:
        """(checked_at, listed) of every Bloctel answer about ``number``, oldest first."""
        return [(_int(c), bool(li)) for c, li in self._rows(BLOCTEL_HISTORY, (number,))]

    def attempts_between(
        self, professional: int, lo: int, hi: int
    ) -> list[tuple[int, int, int, str | None, str | None, str | None, str | None]]:
        """(id, number, at, caller_id, outcome, campaign, purpose) of the attempts that count,
        made in [``lo``, ``hi``), in order."""
        return [
            (_int(i), _int(n), _int(at), _opt(c), _opt(o), _opt(cp), _opt(p))
            for i, n, at, c, o, cp, p in self._rows(ATTEMPTS_BETWEEN, (professional, lo, hi))
        ]

    def number_of_row(self, table: str, row_id: int) -> int | None:
        """The number row ``row_id`` of fact table ``table`` is about (an outcome: its
        attempt's), or None (no such row, or a table not about one number)."""
        if table == "attempt_outcomes":
            rows = self._rows(OUTCOME_NUMBER, (row_id,))
        elif {"number", "id"} <= _COLUMNS.get(table, frozenset()):
            rows = self._rows(f"SELECT number FROM {table} WHERE id = ?", (row_id,))  # noqa: S608
        else:
            return None
        return _int(rows[0][0]) if rows else None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer from the ledger, not {value!r}")
    return value


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
