"""What the ledger knows about one number for one professional, as the rules read it.

The ledgers file each row of their facts query under a :class:`FactKind`; the query's branches
are generated from the enum, so nothing depends on the position of a branch in a SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

__all__ = ["FactKind", "Facts"]


class FactKind(IntEnum):
    """Which table a row of the facts query comes from; the value is the row's first column."""

    ATTEMPT = 0
    REFUSAL = 1
    OPTOUT = 2
    CONSENT = 3
    WITHDRAWAL = 4
    SLOT = 5
    CONTRACT = 6
    BLOCTEL = 7


# Plain ints for the hot path: comparing a row's int with an IntEnum member costs a method call.
_ATTEMPT, _REFUSAL = int(FactKind.ATTEMPT), int(FactKind.REFUSAL)
_OPTOUT, _CONSENT = int(FactKind.OPTOUT), int(FactKind.CONSENT)
_WITHDRAWAL, _SLOT, _BLOCTEL = int(FactKind.WITHDRAWAL), int(FactKind.SLOT), int(FactKind.BLOCTEL)


@dataclass(slots=True)
class Facts:
    """What the ledger knows about one number for one professional (instants in UTC µs)."""

    attempts: list[int] = field(default_factory=list)
    refusals: list[int] = field(default_factory=list)
    optouts: list[tuple[int, int | None]] = field(default_factory=list)
    """(from, until) — until is the expiry or removal, None when permanent."""
    consents: list[tuple[int, int | None]] = field(default_factory=list)
    """(given at, expires_at)."""
    off_hours: list[tuple[int, int | None]] = field(default_factory=list)
    """The consents that expressly cover calls outside the D223-9 days and hours (a subset of
    ``consents``)."""
    withdrawals: list[int] = field(default_factory=list)
    slots: list[tuple[int, int]] = field(default_factory=list)
    contracts: list[tuple[int, int | None]] = field(default_factory=list)
    bloctel: list[tuple[int, bool]] = field(default_factory=list)
    """The latest check at or before ``now`` and every later one: (checked_at, listed)."""

    def add(self, kind: int, a: int, b: int | None, c: int | None) -> None:
        """File one row of the facts query: ``kind`` is a :class:`FactKind`; ``a`` is the
        instant, ``b`` and ``c`` what that table adds to it."""
        if kind == _ATTEMPT:
            self.attempts.append(a)
        elif kind == _BLOCTEL:  # every number of a Bloctel regime has one
            self.bloctel.append((a, bool(b)))
        elif kind == _REFUSAL:
            self.refusals.append(a)
        elif kind == _OPTOUT:
            self.optouts.append((a, _min_end(b, c)))
        elif kind == _CONSENT:
            self.consents.append((a, b))
            if c:
                self.off_hours.append((a, b))
        elif kind == _WITHDRAWAL:
            self.withdrawals.append(a)
        elif kind == _SLOT:
            assert b is not None
            self.slots.append((a, b))
        else:
            self.contracts.append((a, b))

    def signature(self) -> tuple[tuple[object, ...], ...]:
        """A hashable summary: two numbers with equal signatures get equal verdicts."""
        return (
            tuple(self.attempts), tuple(self.refusals), tuple(self.optouts),
            tuple(self.consents), tuple(self.off_hours), tuple(self.withdrawals), tuple(self.slots),
            tuple(self.contracts), tuple(self.bloctel),
        )  # fmt: skip


def _min_end(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
