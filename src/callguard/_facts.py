"""What the ledger knows about one number for one professional, as the rules read it.

The ledgers file each row of their facts query under a :class:`FactKind`; the query's branches
are generated from the enum, so nothing depends on the position of a branch in a SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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


@dataclass(slots=True, init=False)
class Facts:
    """What the ledger knows about one number for one professional (instants in UTC µs)."""

    attempts: list[int]
    refusals: list[int]
    optouts: list[tuple[int, int | None]]
    """(from, until) — until is the expiry or removal, None when permanent."""
    consents: list[tuple[int, int | None]]
    """(given at, expires_at)."""
    off_hours: list[tuple[int, int | None]]
    """The consents that expressly cover calls outside the D223-9 days and hours (a subset of
    ``consents``)."""
    withdrawals: list[int]
    slots: list[tuple[int, int]]
    contracts: list[tuple[int, int | None]]
    bloctel: list[tuple[int, bool]]
    """The latest check at or before ``now`` and every later one: (checked_at, listed)."""

    def __init__(
        self,
        attempts: list[int] | None = None,
        refusals: list[int] | None = None,
        optouts: list[tuple[int, int | None]] | None = None,
        consents: list[tuple[int, int | None]] | None = None,
        off_hours: list[tuple[int, int | None]] | None = None,
        withdrawals: list[int] | None = None,
        slots: list[tuple[int, int]] | None = None,
        contracts: list[tuple[int, int | None]] | None = None,
        bloctel: list[tuple[int, bool]] | None = None,
    ) -> None:
        # Written out: the dataclass's own __init__ (a default factory per field) costs twice
        # as much, and every decision builds one.
        self.attempts = [] if attempts is None else attempts
        self.refusals = [] if refusals is None else refusals
        self.optouts = [] if optouts is None else optouts
        self.consents = [] if consents is None else consents
        self.off_hours = [] if off_hours is None else off_hours
        self.withdrawals = [] if withdrawals is None else withdrawals
        self.slots = [] if slots is None else slots
        self.contracts = [] if contracts is None else contracts
        self.bloctel = [] if bloctel is None else bloctel

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


if (
    tuple(f.name for f in fields(Facts)) != Facts.__init__.__code__.co_varnames[1:10]
):  # pragma: no cover
    raise ImportError("Facts' fields changed: update Facts.__init__ to set every one")
