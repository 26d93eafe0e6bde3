"""What callguard's bulk and ledger operations report: every report type, in one place.

Each says what was done and lists the lines it could not use (:class:`Rejected`), never dropping
one silently; ``to_dict()`` gives the JSON the CLI prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._decision import Reason
from ._i18n import Message, _, say
from ._time import PARIS
from ._types import ReasonCode

__all__ = [
    "AuditReport",
    "CallImportReport",
    "FactImportReport",
    "ImportReport",
    "PurgeReport",
    "Rejected",
    "ScrubSummary",
    "SubmissionReport",
    "Violation",
]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line an import could not use: where, what, why."""

    line: int
    value: str
    reason: str
    """Why, in English."""
    why: Message | None = field(default=None, compare=False, repr=False)
    """Why, as a message to render in the reader's language (None: ``reason`` is its own id)."""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "value": self.value, "reason": self.reason}

    @classmethod
    def of(cls, line: int, value: str, why: Message | str) -> Rejected:
        """A rejected line whose reason comes from the message catalog."""
        message = why if isinstance(why, Message) else Message(why)
        return cls(line, value, message.render("en"), message)

    def text(self, lang: str = "en") -> str:
        """Why, in ``lang``."""
        return self.why.render(lang) if self.why is not None else say(self.reason, lang)

    def render(self, lang: str = "en") -> str:
        """``line N: 'value': why`` in ``lang``."""
        return say(
            _(
                "line {line}: {value}: {reason}",
                line=self.line,
                value=repr(self.value),
                reason=self.text(lang),
            ),
            lang,
        )


def _rejected_lines(rejected: list[Rejected], lang: str) -> list[str]:
    return ["  " + r.render(lang) for r in rejected]


@dataclass(slots=True)
class ImportReport:
    """What an import did: numbers recorded listed and clean, and every line it rejected."""

    listed: int = 0
    clean: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``."""
        lines = [
            say(_("listed: {count}", count=self.listed), lang),
            say(_("clean: {count}", count=self.clean), lang),
            say(_("rejected: {count}", count=len(self.rejected)), lang),
        ]
        lines += _rejected_lines(self.rejected, lang)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "clean": self.clean,
            "rejected": [r.to_dict() for r in self.rejected],
        }


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What :meth:`Guard.purge` removed, table by table."""

    before: datetime
    consents_before: datetime
    removed: dict[str, int]
    professional: str | None = None
    """Whose records were removed."""
    by: str | None = None
    """Who asked for the purge, when the caller said."""
    at: datetime | None = None
    """When the purge ran (the guard's clock)."""

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``."""
        before = self.before.astimezone(PARIS).isoformat(timespec="seconds")
        proofs = self.consents_before.astimezone(PARIS).isoformat(timespec="seconds")
        who = (
            say(
                _("purge for professional {professional}", professional=repr(self.professional)),
                lang,
            )
            if self.professional
            else say(_("purge"), lang)
        )
        if self.by:
            who += " " + say(_("by {who}", who=repr(self.by)), lang)
        if self.at is not None:
            when = self.at.astimezone(PARIS).isoformat(timespec="seconds")
            who += " " + say(_("at {time}", time=when), lang)
        lines = [who + ":"]
        lines += [
            say(
                _(
                    "removed records that ended before {before} (consent proofs before {proofs}):",
                    before=before,
                    proofs=proofs,
                ),
                lang,
            )
        ]
        lines += [f"  {table}: {count}" for table, count in self.removed.items()]
        return "\n".join(lines)


@dataclass
class ScrubSummary:
    """What a file scrub did: rows judged, by verdict and by reason, and the lines to look at."""

    rows: int = 0
    allowed: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    """How many rows each reason code refused (a row refused for two reasons counts in both)."""
    bad_lines: list[Rejected] = field(default_factory=list)
    """Rows whose line could not be read, had the wrong number of fields, or held no valid
    phone number: still in the output (refused when there was no number), listed here."""
    blank_lines: list[int] = field(default_factory=list)
    """Lines with nothing in them, left out of the output."""
    encoding: str = ""
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    """The phone columns judged, in order."""
    by_column: dict[str, int] = field(default_factory=dict)
    """How many numbers each phone column held (and were judged); empty cells are not counted."""

    @property
    def refused(self) -> int:
        return self.rows - self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "allowed": self.allowed,
            "refused": self.refused,
            "summary": dict(sorted(self.by_code.items())),
            "bad_lines": [r.to_dict() for r in self.bad_lines],
            "blank_lines": self.blank_lines,
            "columns": dict(self.by_column),
        }

    def render(self, limit: int = 20, lang: str = "en") -> str:
        """The summary as text in ``lang``, naming at most ``limit`` lines to check."""
        lines = []
        if self.columns:
            counts = [(c, self.by_column.get(c, 0)) for c in self.columns]
            shown = ", ".join(
                say(_("{column} (1 number)", column=c) if n == 1 else
                    _("{column} ({count} numbers)", column=c, count=n), lang)
                for c, n in counts
            )  # fmt: skip
            lines.append(say(_("phone columns: {columns}", columns=shown), lang))
        lines.append(
            say(
                _(
                    "{rows} rows: {allowed} allowed, {refused} refused",
                    rows=self.rows,
                    allowed=self.allowed,
                    refused=self.refused,
                ),
                lang,
            )
        )
        width = max((len(code) for code in self.by_code), default=0)
        for code, count in sorted(self.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {code:<{width}}  {count}")
        if self.bad_lines:
            lines.append(say(_("lines to check: {count}", count=len(self.bad_lines)), lang))
            lines += [
                "  " + say(_("line {line}: {reason}", line=r.line, reason=r.text(lang)), lang)
                for r in self.bad_lines[:limit]
            ]
            if len(self.bad_lines) > limit:
                lines.append(
                    "  " + say(_("… and {count} more", count=len(self.bad_lines) - limit), lang)
                )
        if self.blank_lines:
            shown = ", ".join(map(str, self.blank_lines[:limit]))
            more = " …" if len(self.blank_lines) > limit else ""
            lines.append(
                say(
                    _(
                        "blank lines left out: {count} (line {lines})",
                        count=len(self.blank_lines),
                        lines=shown + more,
                    ),
                    lang,
                )
            )
        return "\n".join(lines)


@dataclass
class SubmissionReport:
    """What ``bloctel export`` wrote: numbers to check, and why the others were left out."""

    numbers: int = 0
    """Distinct numbers written to the submission file."""
    rows: int = 0
    """Contact rows read."""
    fresh: int = 0
    """Distinct numbers left out because their last check is recent enough."""
    duplicates: int = 0
    """Rows left out because their number was already written."""
    rejected: list[Rejected] = field(default_factory=list)
    """Rows without a French consumer number (Bloctel checks nothing else)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "numbers": self.numbers,
            "rows": self.rows,
            "fresh": self.fresh,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
        }

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``."""
        lines = [
            say(_("numbers to check: {count}", count=self.numbers), lang),
            say(_("checked recently enough: {count}", count=self.fresh), lang),
            say(_("duplicate rows: {count}", count=self.duplicates), lang),
            say(_("rejected: {count}", count=len(self.rejected)), lang),
        ]
        lines += _rejected_lines(self.rejected, lang)
        return "\n".join(lines)


@dataclass
class FactImportReport:
    """What a consent or withdrawal import did: facts recorded, the columns read, rows rejected."""

    recorded: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    """Field (number, consented_at, proof, …) → the header of the column it was read from."""
    rejected: list[Rejected] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "columns": dict(self.columns),
            "rejected": [r.to_dict() for r in self.rejected],
        }

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``."""
        shown = ", ".join(f"{k} ← {v!r}" for k, v in self.columns.items())
        lines = [
            say(_("columns: {columns}", columns=shown or "-"), lang),
            say(_("recorded: {count}", count=self.recorded), lang),
            say(_("rejected: {count}", count=len(self.rejected)), lang),
        ]
        lines += _rejected_lines(self.rejected, lang)
        return "\n".join(lines)


@dataclass
class CallImportReport:
    """What ``import-calls`` did: calls recorded, calls already in the ledger, rows rejected."""

    imported: int = 0
    duplicates: int = 0
    """Calls already recorded (same professional, number and instant): importing a log twice
    adds nothing."""
    rejected: list[Rejected] = field(default_factory=list)
    skipped: int = 0
    """Internal calls the log's format leaves out (Asterisk: to an extension, to ``s``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
            "skipped": self.skipped,
        }

    def __str__(self) -> str:
        return self.render("en")

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``."""
        lines = [
            say(_("imported: {count}", count=self.imported), lang),
            say(_("already in the ledger: {count}", count=self.duplicates), lang),
            say(_("rejected: {count}", count=len(self.rejected)), lang),
        ]
        if self.skipped:
            lines.insert(2, say(_("internal calls skipped: {count}", count=self.skipped), lang))
        lines += _rejected_lines(self.rejected, lang)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Violation:
    """A call of the log that the rules in force at its time refused."""

    line: int
    number: str
    """E.164 when the number is valid, else as written in the log."""
    started_at: datetime
    caller_id: str
    professional: str
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code.value for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "codes": list(self.codes),
        }


@dataclass
class AuditReport:
    """The result of :func:`audit`."""

    calls: int = 0
    """Calls judged (rows rejected are not among them)."""
    violations: list[Violation] = field(default_factory=list)
    """The violating calls, in the log's line order."""
    rejected: list[Rejected] = field(default_factory=list)
    """Rows that could not be judged, in line order."""
    skipped: int = 0
    """Internal calls the log's format leaves out (Asterisk: to an extension, to ``s``)."""

    @property
    def summary(self) -> dict[str, int]:
        """Violating calls per reason code (a call with two codes counts in both)."""
        counts = Counter(code for v in self.violations for code in v.codes)
        return {c.value: counts[c.value] for c in ReasonCode if counts[c.value]}

    @property
    def compliant(self) -> bool:
        """No violation, and every row could be judged."""
        return not self.violations and not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "violations": [v.to_dict() for v in self.violations],
            "summary": self.summary,
            "rejected": [r.to_dict() for r in self.rejected],
            "skipped": self.skipped,
        }

    def render(self, lang: str = "en") -> str:
        """The report as text in ``lang``: one row per violating call, then the count per code."""
        out: list[str] = []
        if self.violations:
            head = (say(_("line"), lang), say(_("number"), lang), "started_at", "codes")
            rows = [head] + [
                (str(v.line), v.number, v.started_at.isoformat(), "|".join(v.codes))
                for v in self.violations
            ]
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for r in rows:
                out.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
            out.append("")
            width = max(len(code) for code in self.summary)
            out += [f"{code:<{width}}  {count}" for code, count in self.summary.items()]
            out.append("")
        if self.rejected:
            out.append(say(_("rows not judged: {count}", count=len(self.rejected)), lang))
            out += _rejected_lines(self.rejected, lang)
            out.append("")
        out.append(
            say(_("{calls} calls judged, {violations} in violation, {rejected} rows not judged",
                  calls=self.calls, violations=len(self.violations),
                  rejected=len(self.rejected)), lang)
            + (say(_(", {count} internal calls skipped", count=self.skipped), lang)
               if self.skipped else "")
        )  # fmt: skip
        return "\n".join(out)
