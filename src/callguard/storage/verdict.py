"""What ``verify`` answers: the journal intact, or the first fact that disagrees with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._i18n import Message, _

__all__ = ["CheckpointCheck", "Problem", "VerifyReport"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing the journal and the facts disagree on."""

    kind: str
    """``journal`` (an entry altered, removed or out of order), ``changed``, ``removed``,
    ``inserted`` (a fact written outside callguard), ``index`` (SQLite's index of facts by
    number disagrees with its tables or its triggers were altered)."""
    table: str
    row_id: int | None
    detail: str
    """What disagrees, in English."""
    message: Message | None = field(default=None, compare=False, repr=False)
    """The same sentence as a message of the catalog, to render in the reader's language."""

    @classmethod
    def of(cls, kind: str, table: str, row_id: int | None, message: Message) -> Problem:
        """A problem whose detail is ``message`` (English in ``detail``, any language later)."""
        return cls(kind, table, row_id, message.render("en"), message)

    def as_message(self) -> Message:
        """Where and what, as one message of the catalog."""
        detail: Message | str = self.message if self.message is not None else self.detail
        if self.row_id is None:
            return _("{table}: {detail}", table=self.table, detail=detail)
        return _("{table} row {row}: {detail}", table=self.table, row=self.row_id, detail=detail)

    def __str__(self) -> str:
        return self.as_message().render("en")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "table": self.table,
            "row_id": self.row_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    """One signed checkpoint checked against the ledger (``callguard verify --checkpoints``)."""

    path: str
    at: str | None
    """When it was signed (ISO 8601, UTC), as it says; None when it cannot be read."""
    ok: bool
    detail: str = ""
    """What failed (empty when it holds)."""
    timestamp: str | None = None
    """The time a timestamp authority vouches for (its ``.tsr``), when there is one."""
    entries_after: int = 0
    """Journal entries written after it: only the ledger's own chain vouches for them."""
    timestamp_verified: bool = False
    """Whether the token's signer was checked against the TSA's certificates (``--tsa-root``);
    otherwise its time is shown, not authenticated."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "at": self.at,
            "ok": self.ok,
            "detail": self.detail,
            "timestamp": self.timestamp,
            "timestamp_verified": self.timestamp_verified,
            "entries_after": self.entries_after,
        }


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify` found: ``ok`` when the journal is intact and the facts match it."""

    entries: int = 0
    chains: dict[str, int] = field(default_factory=dict)
    """Entries per chain."""
    problems: list[Problem] = field(default_factory=list)
    checkpoints: list[CheckpointCheck] = field(default_factory=list)
    """The checkpoints checked, oldest first (empty when none was given)."""

    @property
    def newest_checkpoint(self) -> CheckpointCheck | None:
        """The newest checkpoint that holds: the facts up to it are vouched for outside the
        ledger."""
        held = [c for c in self.checkpoints if c.ok and c.at is not None]
        return max(held, key=lambda c: str(c.at)) if held else None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "chains": dict(self.chains),
            "first": None if self.first is None else self.first.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
            "checkpoints": [c.to_dict() for c in self.checkpoints],
        }
