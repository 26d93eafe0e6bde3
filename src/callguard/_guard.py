"""`Guard`: the long-lived gate a dialer opens once and asks before every dial."""

from __future__ import annotations

import functools
import os
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import repeat
from operator import add, itemgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ._decision import Decision
from ._engine import Engine, apply_outcome, read_question
from ._exceptions import (
    ConfigurationError,
    InvalidNumberError,
    LedgerError,
    UnknownAttemptError,
    VoidRefusedError,
)
from ._i18n import _
from ._numbers import _consumer_prefixes, consumer_keys, parse_caller, parse_number
from ._readings import DEFAULT_READINGS
from ._time import from_us, instant, now_utc, paris_text, require_aware, to_us
from ._types import Outcome, Purpose, Sector
from .storage import DEFAULT_BUSY_TIMEOUT, describe, open_ledger
from .storage.base import ConsentEvidence
from .storage.journal import VerifyReport

if TYPE_CHECKING:  # the files and the reports are imported by the operations that use them
    from ._files import Source
    from ._policy import Policy
    from ._reports import ImportReport, PurgeReport

__all__ = ["CONSENT_PROOF_RETENTION_DAYS", "VOID_WINDOW", "Guard"]

CONSENT_PROOF_RETENTION_DAYS = 3 * 365
"""Consent proofs are kept three years (décret n° 2026-662, docs/rules.md §6)."""

PURGE_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the guard's clock a purge's ``now`` or ``before`` may be (hosts' clocks
differ a little). Further is refused: a purge judged from a future present would remove what the
cap, the cooldown or the proof keeping still needs today."""

VOID_WINDOW = timedelta(minutes=5)
"""How long after an attempt it may still be voided (an attempt the dialer never placed: its
answer never reached the PBX, the line was never dialled). Past it, or once an outcome is
reported, the attempt is a call: voiding it then would hide a call from the D223-9 cap."""

_MAX_ID = 2**63 - 1
"""The largest row id either backend stores (a signed 64-bit integer)."""


class Guard:
    """May I call this number, from this caller ID, now? Over one ledger, for one professional.

    ``Guard("callguard.db", professional="acme")`` opens (creating and migrating) the ledger.
    Several guards with different professionals may share one file: each sees its own attempts,
    refusals, opt-outs, consents and contracts; Bloctel results are shared by all.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "callguard.db",
        *,
        professional: str = "default",
        policy: Policy | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
        create: bool = True,
    ) -> None:
        """``clock`` replaces the wall clock where ``now`` is omitted (tests inject one).

        ``create=False`` refuses a SQLite file that does not exist with a ``LedgerError`` naming
        it, and creates nothing: what a dialer in production should use, so that a typo in the
        path never judges calls against a new, empty ledger.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigurationError(
                _("path must be a SQLite file path, ':memory:' or a PostgreSQL location, not "
                  "{value}", value=f"{path!r:.60}"),
                field="path", value=path,
            )  # fmt: skip
        if not isinstance(professional, str) or not professional.strip():
            raise ConfigurationError(
                _("professional must be a non-empty name, not {value}", value=repr(professional)),
                field="professional",
                value=professional,
            )
        if policy is not None:
            from ._policy import Policy  # pydantic: only where a policy is given or asked for

            if not isinstance(policy, Policy):
                raise ConfigurationError(
                    _("policy must be a callguard.Policy or None, not {value}",
                      value=f"{policy!r:.60}"),
                    field="policy", value=policy,
                )  # fmt: skip
        if not isinstance(busy_timeout, (int, float)) or not 0 <= busy_timeout <= 600:
            raise ConfigurationError(
                _("busy_timeout must be a number of seconds from 0 to 600, not {value}",
                  value=repr(busy_timeout)),
                field="busy_timeout", value=busy_timeout,
            )  # fmt: skip
        self.professional = professional
        self._policy = policy
        self.path = describe(path)
        """Where the ledger is, as messages show it (a server URL without its password)."""
        ledger = open_ledger(path, busy_timeout=busy_timeout, create=bool(create))
        try:
            pid = ledger.professional_id(professional)
        except LedgerError as exc:
            ledger.close()
            raise LedgerError(f"cannot register professional in {self.path!r}: {exc}") from exc
        # The engine reads the policy's fields only: without one, the law's defaults as a plain
        # object (the same values as Policy(), see _readings) spare building the pydantic model.
        readings = policy if policy is not None else cast("Policy", DEFAULT_READINGS)
        self.engine = Engine(ledger, pid, readings, clock or now_utc, self.path)
        """The decisions and writes of this guard (used by scrubs, imports and audits)."""

    @property
    def policy(self) -> Policy:
        """The policy this guard decides under (``Policy()``, the law's defaults, when none was
        given)."""
        if self._policy is None:
            from ._policy import Policy

            self._policy = Policy()
        return self._policy

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self.engine.ledger.close()

    def __enter__(self) -> Guard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Guard({self.path!r}, professional={self.professional!r})"

    # -- decisions ----------------------------------------------------------------------------

    def may_call(
        self,
        number: object,
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
        department: str | None = None,
        recorded_message: bool = False,
    ) -> Decision:
        """Whether ``number`` may be called from ``caller_id`` at ``now``. Read-only.

        ``department`` (the INSEE code of the consumer's address, e.g. ``"57"`` or ``"974"``)
        decides the zone and the local holidays instead of the number's prefix;
        ``recorded_message=True`` for a call that plays a recorded message without a human
        (it needs a valid consent in every regime, CPCE L34-5).

        Never raises for a bad number or caller ID (those are refusals); a naive ``now`` or an
        unknown ``department`` is a ``ValueError``. A ledger that cannot be read refuses with
        ``LEDGER_UNAVAILABLE``.
        """
        engine = self.engine
        t = engine.now(now)
        terms = engine.terms(caller_id, purpose, sector, recorded_message)
        return engine.ask(read_question(number, terms, t, callee_tz, department))

    def attempt(
        self,
        number: object,
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
        department: str | None = None,
        recorded_message: bool = False,
        campaign: str | None = None,
    ) -> Decision:
        """Decide and, only when allowed, record the attempt in the same write transaction.

        The write lock is taken before the ledger is read, so processes sharing the file can
        never together exceed the cap. ``decision.attempt_id`` is set when recorded.
        """
        engine = self.engine
        if engine.in_batch:
            # The attempt's answer must be committed when it is returned: a batch commits later
            # (or rolls back), so a dialer could call on an attempt that is never recorded.
            raise ConfigurationError(
                _(
                    "attempt() inside guard.batch() is refused: an attempt is recorded in its own "
                    "transaction, committed before its decision is returned"
                )
            )
        t = engine.now(now)
        terms = engine.terms(caller_id, purpose, sector, recorded_message)
        return engine.attempt(read_question(number, terms, t, callee_tz, department, campaign))

    def scrub(
        self,
        numbers: Iterable[object],
        caller_id: object,
        now: datetime | None = None,
        *,
        purpose: Purpose | str = Purpose.PROSPECTION,
        sector: Sector | str | None = None,
        callee_tz: str | None = None,
        department: str | None = None,
        recorded_message: bool = False,
    ) -> list[Decision]:
        """One :class:`Decision` per number, in order: what :meth:`may_call` says of each at the
        same ``now``, read from the ledger set-based (a temporary table joined against it, not
        one query per number). Read-only; raises as :meth:`may_call` does."""
        engine = self.engine
        t = engine.now(now)
        terms = engine.terms(caller_id, purpose, sector, recorded_message)
        return engine.decide_numbers(numbers, terms, t, callee_tz, department)

    # -- facts --------------------------------------------------------------------------------

    def _key(self, number: object) -> int:
        return parse_number(number).key

    @contextmanager
    def batch(self) -> Iterator[Guard]:
        """Apply many ``record_*`` calls in one transaction: all of them, or none on error.

        Loading a CRM's history this way is much faster than one transaction a fact, and an
        exception (a bad number, say) leaves the ledger exactly as it was::

            with guard.batch():
                for row in rows:
                    guard.record_consent(row.number, row.at, proof=row.proof)
        """
        with self.engine.batch():
            yield self

    def record_call(
        self,
        number: object,
        at: datetime,
        *,
        caller_id: str | None = None,
        outcome: Outcome | str = Outcome.NO_ANSWER,
        campaign: str | None = None,
    ) -> int:
        """Record a call already placed (any outcome counts toward the cap); returns its id.

        ``REFUSED`` starts the refusal cooldown; ``OBJECTED`` adds a permanent opt-out.
        """
        key = self._key(number)
        t = require_aware(at, "at")
        outcome_ = Outcome.coerce(outcome)
        if caller_id is not None and not isinstance(caller_id, str):
            raise ConfigurationError(
                _("caller_id must be a str or None, not {kind} {value}",
                  kind=type(caller_id).__name__, value=f"{caller_id!r:.40}"),
                field="caller_id", value=caller_id,
            )  # fmt: skip
        caller, _problem = parse_caller(caller_id)
        stored_caller = caller.e164 if caller else (caller_id or None)
        with self.engine.write("record the call") as ledger:
            attempt_id = ledger.insert_attempt(
                self.engine.pid,
                key,
                to_us(t),
                caller_id=stored_caller,
                outcome=outcome_.value,
                campaign=campaign,
                purpose=None,
                recorded_at=to_us(now_utc()),
            )
            apply_outcome(ledger, self.engine.pid, key, to_us(t), outcome_, attempt_id)
        return attempt_id

    def record_outcome(
        self, attempt_id: int, outcome: Outcome | str, at: datetime | None = None
    ) -> None:
        """Set the outcome of an attempt recorded by :meth:`attempt` or :meth:`record_call`."""
        outcome_ = Outcome.coerce(outcome)
        _check_attempt_id(attempt_id)
        with self.engine.write("record the outcome") as ledger:
            row = ledger.attempt_row(attempt_id)
            if row is None or row[0] != self.engine.pid:
                raise UnknownAttemptError(attempt_id, self.professional)
            _, key, attempt_at = row
            when = attempt_at if at is None else to_us(require_aware(at, "at"))
            # An outcome for a voided attempt proves the call was placed after all: the attempt
            # counts toward the cap again (storage.base.counted), its void stays in its history.
            # Every outcome joins the attempt's history and attempts.outcome keeps the latest; a
            # refusal or an objection already recorded stays (docs/rules.md §11): PBXs and CRMs
            # send late, weaker outcomes that must never reopen the number.
            ledger.set_outcome(attempt_id, outcome_.value)
            ledger.insert_outcome(
                self.engine.pid, attempt_id, outcome_.value, when, to_us(now_utc())
            )
            apply_outcome(ledger, self.engine.pid, key, when, outcome_, attempt_id)

    def void_attempt(self, attempt_id: int, reason: str, at: datetime | None = None) -> None:
        """Void an attempt the dialer never placed: it stays in the ledger, its history and the
        journal with ``reason`` and the void's time, and no longer counts toward the cap.

        Accepted within :data:`VOID_WINDOW` (five minutes) of the attempt and before any
        outcome; ``at`` (the void's time, default now) may not be more than a few minutes
        before the attempt's own time. Voiding an attempt already voided changes nothing.
        Raises :class:`UnknownAttemptError` for an unknown id or another professional's
        attempt, and :class:`VoidRefusedError` naming the attempt and why when it is too late
        or an outcome was reported (the call was placed). An outcome reported later for a
        voided attempt makes it count again: the call did happen.
        """
        _check_attempt_id(attempt_id)
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigurationError(
                _("reason must say why the attempt is voided (it is kept), not {value}",
                  value=f"{reason!r:.60}"),
                field="reason", value=reason,
            )  # fmt: skip
        why = reason.strip()[:500]
        t = self.engine.now(at, "at")
        with self.engine.write("void the attempt") as ledger:
            found = ledger.attempt_for_void(attempt_id)
            if found is None or found.professional != self.engine.pid:
                raise UnknownAttemptError(attempt_id, self.professional)
            _pid, attempt_at, outcome, recorded_at, voided_at = found
            if voided_at is not None:
                return  # a retried void: the first one stands
            when = from_us(int(attempt_at))
            if outcome is not None:
                raise VoidRefusedError(
                    attempt_id,
                    _(
                        "an outcome ({outcome}) was reported for it: the call was placed",
                        outcome=outcome,
                    ),
                )
            if t < when - PURGE_CLOCK_SKEW:
                raise ConfigurationError(
                    _("at={value} is before attempt {attempt}'s own time {when}",
                      value=t.isoformat(), attempt=attempt_id, when=when.isoformat()),
                    field="at", value=at,
                )  # fmt: skip
            # The window runs from the attempt's time and, whatever ``at`` says, from when it
            # was written on this host's clock: a void stamped in the past cannot reach back to
            # a call placed long ago (clocks of hosts differ a little: PURGE_CLOCK_SKEW).
            written = from_us(int(recorded_at))
            if t > when + VOID_WINDOW or now_utc() > written + VOID_WINDOW + PURGE_CLOCK_SKEW:
                raise VoidRefusedError(
                    attempt_id,
                    _(
                        "it was recorded at {recorded} and may be voided for {minutes} minutes, "
                        "not at {at}",
                        recorded=when.isoformat(),
                        minutes=int(VOID_WINDOW.total_seconds() // 60),
                        at=t.isoformat(),
                    ),
                )
            ledger.update_row("attempts", attempt_id, {"voided_at": to_us(t), "void_reason": why})

    def lift_refusal(
        self, number: object, at: datetime, *, reason: str, by: str | None = None
    ) -> int:
        """Lift the refusals of ``number`` recorded at or before ``at`` that were entered by
        mistake; returns how many. The refusals stay in the ledger, marked lifted with ``reason``
        and ``by``, and the act is logged (docs/rules.md §11)."""
        return self._lift("refusal", number, at, reason, by)

    def lift_objection(
        self, number: object, at: datetime, *, reason: str, by: str | None = None
    ) -> int:
        """Lift the objections (``Outcome.OBJECTED`` opt-outs) of ``number`` recorded at or
        before ``at`` that were entered by mistake; returns how many. The opt-outs stay, ended at
        ``at``, and the act is logged with ``reason`` and ``by`` (docs/rules.md §11)."""
        return self._lift("objection", number, at, reason, by)

    def _lift(self, kind: str, number: object, at: datetime, reason: object, by: object) -> int:
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigurationError(
                _("reason must say why the refusal is lifted (it is logged), not {value}",
                  value=repr(reason)) if kind == "refusal" else
                _("reason must say why the objection is lifted (it is logged), not {value}",
                  value=repr(reason)),
                field="reason", value=reason,
            )  # fmt: skip
        if by is not None and not isinstance(by, str):
            raise ConfigurationError(
                _("by must name who lifts the {kind}, not {value}", kind=kind, value=repr(by)),
                field="by",
                value=by,
            )
        with self.engine.write(f"lift the {kind}") as ledger:
            return ledger.lift(kind, self.engine.pid, key, t, reason.strip(), by, to_us(now_utc()))

    def record_refusal(self, number: object, at: datetime) -> None:
        """The consumer refused during the call: no call for 60 full days (D223-9)."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self.engine.write("record the refusal") as ledger:
            ledger.insert_refusal(self.engine.pid, key, t)

    def add_optout(
        self,
        number: object,
        at: datetime,
        *,
        source: str = "internal",
        expires_at: datetime | None = None,
    ) -> None:
        """Put ``number`` on the professional's do-not-call list from ``at`` (until ``expires_at``)."""
        key = self._key(number)
        start, end = _span(require_aware(at, "at"), "at", expires_at, "expires_at")
        with self.engine.write("add the opt-out") as ledger:
            ledger.insert_optout(self.engine.pid, key, start, end, str(source))

    def remove_optout(self, number: object, at: datetime) -> int:
        """Lift the professional's opt-outs of ``number`` from ``at``; returns how many."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self.engine.write("remove the opt-out") as ledger:
            return ledger.remove_optouts(self.engine.pid, key, t)

    def record_consent(
        self,
        number: object,
        at: datetime,
        *,
        proof: str,
        expires_at: datetime | None = None,
        off_hours: bool = False,
        channel: str | None = None,
        source: str | None = None,
        wording: str | None = None,
        proof_sha256: str | None = None,
    ) -> None:
        """Record a prior consent to be canvassed, with the reference of its proof (L223-1).

        ``off_hours=True`` when the consumer expressly agreed to be called outside the D223-9
        days and hours (it opens them before 2026-08-11 only); ``channel``, ``source``,
        ``wording`` and ``proof_sha256`` (hex SHA-256 of the proof document) are kept as
        evidence.
        """
        key = self._key(number)
        _require_proof(proof)
        start, end = _span(require_aware(at, "at"), "at", expires_at, "expires_at")
        if not isinstance(off_hours, bool):
            raise ConfigurationError(
                _("off_hours must be True or False, not {value}", value=repr(off_hours)),
                field="off_hours",
                value=off_hours,
            )
        evidence = ConsentEvidence(
            int(off_hours),
            _optional_text(channel, "channel"),
            _optional_text(source, "source"),
            _optional_text(wording, "wording"),
            _sha256(proof_sha256),
        )
        with self.engine.write("record the consent") as ledger:
            ledger.insert_consent(self.engine.pid, key, start, end, proof, evidence)

    def withdraw_consent(self, number: object, at: datetime) -> None:
        """The consumer withdrew every consent given before ``at``."""
        key = self._key(number)
        t = to_us(require_aware(at, "at"))
        with self.engine.write("withdraw the consent") as ledger:
            ledger.insert_withdrawal(self.engine.pid, key, t)

    def record_slot_consent(
        self, number: object, start: datetime, end: datetime, *, proof: str
    ) -> None:
        """The consumer agreed to be called between ``start`` and ``end`` (any day or hour)."""
        key = self._key(number)
        _require_proof(proof)
        s, e = _span(require_aware(start, "start"), "start", require_aware(end, "end"), "end")
        assert e is not None
        with self.engine.write("record the slot consent") as ledger:
            ledger.insert_slot(self.engine.pid, key, s, e, proof)

    def record_contract(
        self,
        number: object,
        start: datetime,
        end: datetime | None = None,
        *,
        subject: str | None = None,
    ) -> None:
        """An ongoing contract from ``start`` (until ``end``): contract calls become exempt."""
        key = self._key(number)
        s, e = _span(instant(start, "start"), "start", end, "end")
        with self.engine.write("record the contract") as ledger:
            ledger.insert_contract(self.engine.pid, key, s, e, subject)

    def purge(
        self,
        before: datetime,
        *,
        now: datetime | None = None,
        proof_retention_days: int = CONSENT_PROOF_RETENTION_DAYS,
        by: str | None = None,
    ) -> PurgeReport:
        """Remove this professional's call records that ended before ``before``.

        Attempts and their outcomes, refusals, lifts, ended opt-outs, slots and contracts go, and
        so do their journal entries' bodies (the journal keeps each entry's digest, so
        :meth:`verify` still passes), the freed space and, on SQLite, the WAL's copies of them
        (docs/evidence.md, "Purge erases"); consents and withdrawals are
        kept ``proof_retention_days`` (three years by default, décret n° 2026-662) whatever
        ``before`` says. A ``before`` recent enough to remove an attempt or a refusal that the
        cap or the cooldown still counts is refused: purging must never open a call. ``now`` or
        ``before`` ahead of the guard's clock (beyond a few minutes of skew) is refused too: what
        the cap needs is judged from the real present. ``by`` names who asked; the purge log keeps
        it with the professional, the time and the counts per table.
        """
        present = self.engine.now(None)
        t = self.engine.now(now)
        cut = require_aware(before, "before")
        for name, value in (("now", t), ("before", cut)):
            if value > present + PURGE_CLOCK_SKEW:
                raise ConfigurationError(
                    _(
                        "purge {field}={value} is in the future of the clock ({present}): a purge "
                        "is judged from the real present",
                        field=name,
                        value=value.isoformat(),
                        present=present.isoformat(),
                    ),
                    field=name,
                    value=value,
                )
        if by is not None and (not isinstance(by, str) or not by.strip()):
            raise ConfigurationError(
                _("by must name who purges, not {value}", value=f"{by!r:.40}"), field="by", value=by
            )
        needed = max(self.policy.cap_days, self.policy.refusal_cooldown_days + 1) + 2
        latest = t - timedelta(days=needed)
        if cut > latest:
            raise ConfigurationError(
                _(
                    "before={before} would remove attempts or refusals that the {cap}-day cap or "
                    "the {cooldown}-day cooldown still needs: use {latest} or earlier",
                    before=paris_text(cut),
                    cap=self.policy.cap_days,
                    cooldown=self.policy.refusal_cooldown_days,
                    latest=latest.date().isoformat(),
                ),
                field="before",
                value=before,
            )
        if not isinstance(proof_retention_days, int) or proof_retention_days < 3 * 365:
            raise ConfigurationError(
                _("proof_retention_days={value}: consent proofs are kept at least three years "
                  "(1095 days)", value=repr(proof_retention_days)),
                field="proof_retention_days", value=proof_retention_days,
            )  # fmt: skip
        consents_before = min(cut, t - timedelta(days=proof_retention_days))
        with self.engine.write("purge the ledger") as ledger:
            removed = ledger.purge(
                self.engine.pid, to_us(cut), to_us(consents_before), to_us(present), by
            )
        # Committed: now out of the file's free space and write-ahead log too (RGPD art. 5(1)(e)).
        try:
            self.engine.ledger.scrub()
        except LedgerError as exc:
            raise LedgerError(
                f"purged {self.path!r}, but could not reclaim its space: {exc}"
            ) from exc
        from ._reports import PurgeReport

        return PurgeReport(cut, consents_before, removed, self.professional, by, present)

    def verify(
        self,
        *,
        checkpoints: str | os.PathLike[str] | None = None,
        public_key: str | os.PathLike[str] | None = None,
        tsa_roots: str | os.PathLike[str] | None = None,
    ) -> VerifyReport:
        """Check the ledger's journal and every fact against it (read-only), and the signed
        checkpoints when given; see :func:`callguard.verify`."""
        from ._checkpoint import check_against

        ledger = self.engine.ledger
        try:
            report = ledger.verify()
            if checkpoints is not None or public_key is not None:
                check_against(ledger, report, checkpoints, public_key, tsa_roots)
            return report
        except LedgerError as exc:
            raise LedgerError(f"cannot verify {self.path!r}: {exc}") from exc

    def checkpoint(
        self,
        signing_key_path: str | os.PathLike[str],
        out_dir: str | os.PathLike[str],
        *,
        tsa: str | None = None,
        now: datetime | None = None,
    ) -> Path:
        """Sign the heads of the ledger's journal into a new checkpoint file of ``out_dir``
        (created if missing) and journal it; returns the file's path. ``tsa``: the URL of an
        RFC 3161 timestamp authority whose token is written beside it (``.tsr``). Send the
        files off the host: they prove the ledger's past against its own keeper."""
        from ._checkpoint import take_checkpoint

        present = now_utc() if now is None else require_aware(now, "now")
        ledger = self.engine.ledger
        try:
            return take_checkpoint(ledger, signing_key_path, out_dir, now=present, tsa=tsa)
        except LedgerError as exc:
            raise LedgerError(f"cannot take a checkpoint of {self.path!r}: {exc}") from exc

    def import_bloctel(
        self,
        listed: Source,
        checked_at: datetime,
        *,
        submitted: Source | None = None,
    ) -> ImportReport:
        """Load a Bloctel return: ``listed`` numbers are flagged; ``submitted`` ones not flagged
        are clean at ``checked_at``. All or nothing; bad lines are reported, never dropped."""
        if listed is None:
            raise ConfigurationError(
                _("listed must be a file or an iterable of numbers, not None"), field="listed"
            )
        checked = to_us(instant(checked_at, "checked_at"))
        from ._reports import ImportReport

        report = ImportReport()
        # The files are read before the write begins: the ledger stays free while they are.
        listed_keys = _keys(listed, report)
        submitted_keys = _keys(submitted, report) if submitted is not None else array("q")
        with self.engine.write("import the Bloctel file") as ledger:
            report.listed, report.clean = ledger.import_bloctel(
                listed_keys, submitted_keys, checked
            )
        return report


def _check_attempt_id(attempt_id: object) -> None:
    if not isinstance(attempt_id, int) or isinstance(attempt_id, bool):
        raise ConfigurationError(
            _("attempt_id must be an int, not {value}", value=f"{attempt_id!r:.40}"),
            field="attempt_id",
            value=attempt_id,
        )
    if not 0 < attempt_id <= _MAX_ID:
        shown = attempt_id if attempt_id.bit_length() < 128 else "<a huge int>"
        raise ConfigurationError(
            _("attempt_id={value} is not an attempt id (1 to 2**63-1)", value=shown),
            field="attempt_id",
            value=attempt_id,
        )


def _span(start: datetime, start_name: str, end: object, end_name: str) -> tuple[int, int | None]:
    """A fact's (start, end) in UTC microseconds. ``end`` may be None (open-ended) or a date
    (through that day); an end that is not after the start is a ConfigurationError naming both."""
    until = None if end is None else instant(end, end_name, end_of_day=True)
    if until is not None and until <= start:
        raise ConfigurationError(
            _(
                "{end_field}={end} is not after {start_field}={start}",
                end_field=end_name,
                end=paris_text(until),
                start_field=start_name,
                start=paris_text(start),
            ),
            field=end_name,
            value=end,
        )
    return to_us(start), None if until is None else to_us(until)


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            _(
                "{field} must be a non-empty text or None, not {value}",
                field=name,
                value=repr(value),
            ),
            field=name,
            value=value,
        )
    return value.strip()


def _sha256(value: object) -> str | None:
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ConfigurationError(
            _("proof_sha256 must be a SHA-256 digest of 64 hexadecimal characters, not {value}",
              value=f"{value!r:.80}"),
            field="proof_sha256", value=value,
        )  # fmt: skip
    return text


def _require_proof(proof: object) -> None:
    if not isinstance(proof, str) or not proof.strip():
        raise ConfigurationError(
            _("proof must reference where the consent is kept (L223-1 requires it), not {value}",
              value=repr(proof)),
            field="proof", value=proof,
        )  # fmt: skip


def _keys(source: Source, report: ImportReport) -> array[int]:
    """The ledger keys of the consumer lines in ``source``, in file order, duplicates kept;
    every other line goes to the report with its line number, in line order.

    A block of values at a time: :func:`consumer_keys` answers the common forms of the whole
    block, and only what it leaves (overseas, other kinds, odd forms, errors) is parsed one by
    one; it answers exactly what :func:`parse_number` would, so the keys and the rejected lines
    are those of a line-by-line read.
    """
    from ._files import read_number_blocks

    keys: array[int] = array("q")
    for lines, values in read_number_blocks(source):
        plain = _national_block(values)
        if plain is not None:
            keys.extend(plain)
            continue
        found = consumer_keys(values)
        if None not in found:
            keys.extend(found)  # type: ignore[arg-type]
            continue
        for i, key in enumerate(found):
            if key is None:
                key = _key(lines[i], values[i], report)
                if key is None:
                    continue
            keys.append(key)
    return keys


def _national_block(values: list[str]) -> Iterable[int] | None:
    """The keys of a block written entirely in the Bloctel format (ten national digits of a
    metropolitan consumer line), or None: what :func:`consumer_keys` answers for such a block,
    with the length, ASCII and digit checks made once over the whole block (and the rest in
    numpy, when it is installed)."""
    heads = _consumer_prefixes()  # the table consumer_keys itself reads
    if heads is None or not values:
        return None
    if min(map(len, values)) != 10 or max(map(len, values)) != 10:
        return None
    joined = "".join(values)
    if not (joined.isascii() and joined.isdigit()):
        return None
    try:
        import numpy
    except ImportError:
        if not all(map(heads.__contains__, map(_HEAD, values))):
            return None
        return list(map(add, repeat(_METROPOLITAN), map(int, values)))
    digits = numpy.frombuffer(joined.encode("ascii"), dtype=numpy.uint8).reshape(-1, 10) - 48
    weights = 10 ** numpy.arange(9, -1, -1, dtype=numpy.int64)
    numbers = digits.astype(numpy.int64) @ weights  # int(value) of each value
    if not _head_table(numpy)[numbers // 10_000].all():
        return None
    keys: array[int] = array("q")
    keys.frombytes((numbers + _METROPOLITAN).tobytes())
    return keys


@functools.lru_cache(maxsize=1)
def _head_table(numpy: Any) -> Any:
    """``_consumer_prefixes`` as a numpy mask over the first six digits read as an int."""
    table = numpy.zeros(10**6, dtype=bool)
    table[sorted(map(int, _consumer_prefixes() or ()))] = True
    return table


_HEAD = itemgetter(slice(0, 6))
_METROPOLITAN = 33_000_000_000


def _key(line: int, value: str, report: ImportReport) -> int | None:
    """One value :func:`consumer_keys` left: its key, or None and the reason in the report."""
    from ._reports import Rejected

    try:
        number = parse_number(value)
    except InvalidNumberError as exc:
        report.rejected.append(Rejected.of(line, value, exc.why))
        return None
    if not number.consumer_line:
        report.rejected.append(Rejected.of(line, value, _("not a French consumer line")))
        return None
    return number.key
