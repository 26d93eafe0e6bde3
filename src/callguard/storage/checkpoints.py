"""What a signed checkpoint reads from a ledger, the same on every backend.

A checkpoint (``callguard._checkpoint``) fixes, outside the ledger, the id of the ledger, the
head (``seq``, ``hash``) of every journal chain and the row counts. Verifying one asks the
ledger whether the entry ``(chain, seq)`` is still there with that hash. These reads are plain
statements over the ``journal`` and ``ledger_identity`` tables; the hashing and the format of
the entries stay ``storage.journal``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import SCHEMA

__all__ = ["LEDGER_TABLE", "CheckpointReads", "hex_hash", "insert_ledger_id"]

LEDGER_TABLE = "ledger_identity"

_HEADS_SQL = (
    "SELECT j.chain, j.seq, j.hash FROM journal j JOIN "
    "(SELECT chain, max(seq) AS seq FROM journal GROUP BY chain) h "
    "ON h.chain = j.chain AND h.seq = j.seq ORDER BY j.chain"
)


def insert_ledger_id(run: Callable[[str, tuple[Any, ...]], Any], now_us: int) -> None:
    """Draw the ledger's id (schema step ``m007_ledger_id``): 122 random bits, never reused."""
    import uuid  # once per ledger: a command on an existing ledger does not load it

    run(
        f"INSERT INTO {LEDGER_TABLE} (ledger_id, created_at) VALUES (?, ?)",  # noqa: S608
        (str(uuid.uuid4()), now_us),
    )


def _integer(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an integer from the ledger, not {value!r}")
    return value


def hex_hash(stored: object) -> str:
    """An entry's hash as hex, however the backend stores it (SQLite: 32 bytes)."""
    if isinstance(stored, (bytes, bytearray, memoryview)):
        return bytes(stored).hex()
    return str(stored)


class CheckpointReads:
    """Reads for checkpoints; a backend provides :meth:`_rows` and :meth:`has_table`."""

    def _rows(self, query: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def ledger_id(self) -> str | None:
        """The ledger's id, or None for a ledger not yet migrated (opened read-only)."""
        if not self.has_table(LEDGER_TABLE):
            return None
        rows = self._rows(f"SELECT ledger_id FROM {LEDGER_TABLE}", ())  # noqa: S608
        if len(rows) != 1:
            # Zero or several ids: no checkpoint can tell which ledger this is.
            return None
        return str(rows[0][0])

    def chain_heads(self) -> dict[str, tuple[int, str]]:
        """Every journal chain's last entry: chain → (seq, hash as hex)."""
        return {
            str(chain): (_integer(seq), hex_hash(h)) for chain, seq, h in self._rows(_HEADS_SQL, ())
        }

    def entry_hash(self, chain: str, seq: int) -> str | None:
        """The hash (hex) of entry ``seq`` of ``chain``, or None when there is none (or several:
        a chain is numbered once)."""
        rows = self._rows("SELECT hash FROM journal WHERE chain = ? AND seq = ?", (chain, int(seq)))
        return hex_hash(rows[0][0]) if len(rows) == 1 else None

    def entries_after(self, chain: str, seq: int) -> int:
        """How many entries of ``chain`` come after ``seq``."""
        rows = self._rows(
            "SELECT count(*) FROM journal WHERE chain = ? AND seq > ?", (chain, int(seq))
        )
        return _integer(rows[0][0])

    def row_counts(self) -> dict[str, int]:
        """Rows per table whose rows change an answer (the journaled ones), by name."""
        out: dict[str, int] = {}
        for t in SCHEMA:
            if t.journaled:
                rows = self._rows(f"SELECT count(*) FROM {t.name}", ())  # noqa: S608
                out[t.name] = _integer(rows[0][0])
        return out
