"""Helpers for testing a dialer against callguard: a clock, a history, assertions.

A platform's tests want to say "four calls this month, the consumer refused on 2 September, what
does callguard answer now, and when may we retry?" in a few lines, in milliseconds, without a file
on disk or the wall clock. With pytest, the plugin installed with callguard gives these as the
fixtures ``callguard_clock``, ``callguard_guard``, ``callguard_history`` and
``callguard_policy``; without it::

    from datetime import timedelta
    from callguard import ReasonCode
    from callguard.testing import Clock, History, assert_refused, fresh_guard

    clock = Clock()                                    # Monday 2026-11-23 10:00, Europe/Paris
    guard = fresh_guard(clock)                         # in-memory ledger, reads the clock
    history = History(guard, clock)
    history.reachable("06 12 34 56 78")                # what the regime needs (consent here)
    history.calls("06 12 34 56 78", at=[clock.now() - timedelta(days=d) for d in (1, 2, 3, 4)])
    assert_refused(guard.may_call("06 12 34 56 78", "09 48 12 34 56"), ReasonCode.FREQUENCY_CAP)

Everything here goes through the public :class:`~callguard.Guard` API: what a history builds is
what a real dialer's ledger would hold.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ._decision import Decision
from ._exceptions import ConfigurationError
from ._guard import Guard
from ._numbers import parse_number
from ._policy import Policy
from ._time import require_aware
from ._types import Outcome, ReasonCode
from ._windows import windows
from .rules.regimes import regime_on

__all__ = [
    "Clock",
    "History",
    "assert_allowed",
    "assert_refused",
    "explain",
    "fresh_guard",
]

_PARIS = ZoneInfo("Europe/Paris")
_DEFAULT_START = datetime(2026, 11, 23, 10, 0, tzinfo=_PARIS)
_TEST_PROOF = "callguard.testing"


class Clock:
    """A clock tests move by hand. Pass it as ``Guard(..., clock=clock)``: calls that omit
    ``now`` then read ``clock.now()``.

    It starts at ``start`` (default: Monday 2026-11-23 10:00 Europe/Paris, inside a calling
    window under the consent regime) and shows times in ``start``'s zone.
    """

    def __init__(self, start: datetime = _DEFAULT_START) -> None:
        require_aware(start, "start")
        self._now = start

    def now(self) -> datetime:
        """The current test time, an aware datetime."""
        return self._now

    def __call__(self) -> datetime:
        return self._now

    def __repr__(self) -> str:
        return f"Clock({self._now.isoformat()})"

    def advance(
        self, *, days: int = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move forward and return the new time.

        ``days`` are calendar days in the clock's zone (10:00 stays 10:00 across a change of
        summer time); hours, minutes and seconds are elapsed time.
        """
        if min(days, hours, minutes, seconds) < 0:
            from ._i18n import _

            raise ConfigurationError(
                _("advance() only moves forward; use move_to() to set an earlier time"),
                field="days" if days < 0 else "hours" if hours < 0 else
                "minutes" if minutes < 0 else "seconds",
                value=min(days, hours, minutes, seconds),
            )  # fmt: skip
        tz = self._now.tzinfo
        local = self._now.replace(tzinfo=None) + timedelta(days=days)
        moved = local.replace(tzinfo=tz).astimezone(timezone.utc)
        moved += timedelta(hours=hours, minutes=minutes, seconds=seconds)
        self._now = moved.astimezone(tz)
        return self._now

    def move_to(self, at: datetime | None) -> datetime:
        """Jump to ``at`` (any aware instant, earlier or later) and return it.

        ``clock.move_to(decision.next_allowed_at)`` is the usual retry step; ``None`` (time
        alone will not make the call allowed) is a ``ValueError`` that says so.
        """
        if at is None:
            from ._i18n import _

            raise ConfigurationError(
                _(
                    "move_to(None): next_allowed_at is None, time alone will not make this call "
                    "allowed (consent, opt-out, Bloctel listing, caller ID or sector)"
                ),
                field="at",
                value=None,
            )
        require_aware(at, "at")
        tz = self._now.tzinfo
        self._now = at.astimezone(tz)
        return self._now

    def to_next_window(
        self, number: object, *, callee_tz: str | None = None, policy: Policy | None = None
    ) -> datetime:
        """Jump to the start of the next calling window for ``number`` strictly after now.

        The window is :func:`callguard.windows`'s: days, hours, holidays and zones only.
        """
        now = self._now
        for start, _ in windows(
            number, now, now + timedelta(days=366), callee_tz=callee_tz, policy=policy
        ):
            if start > now:
                return self.move_to(start)
        raise AssertionError(  # pragma: no cover - every year has working days
            f"no calling window for {number!r} within a year of {now.isoformat()}"
        )


def fresh_guard(
    clock: Clock | None = None, *, professional: str = "default", policy: Policy | None = None
) -> Guard:
    """A :class:`~callguard.Guard` on a new, empty in-memory ledger, reading ``clock``."""
    return Guard(":memory:", professional=professional, policy=policy, clock=clock)


def _day_start(number: object, day: date, name: str) -> datetime:
    """The first instant that is ``day`` in every zone the consumer may be in."""
    if not isinstance(day, date):
        raise TypeError(f"{name} must be a datetime with a time zone or a date, not {day!r}")
    zones = parse_number(number).zones or ("Europe/Paris",)
    return max(datetime.combine(day, time(0), ZoneInfo(z)) for z in zones)


class History:
    """States what a consumer's ledger holds, one line per fact, through ``guard``'s public API.

    Instants are aware datetimes or dates. A ``date`` is the start of that day in the consumer's
    zone (the number's own zone; every candidate zone when it is ambiguous), and a date given as
    an end (``until``) is included whole. Omitted, ``on`` is ``clock.now()``.
    """

    def __init__(self, guard: Guard, clock: Clock | None = None) -> None:
        self.guard = guard
        self.clock = clock

    def _at(self, number: object, value: datetime | date | None, name: str) -> datetime:
        if value is None:
            if self.clock is None:
                raise TypeError(f"{name} is required: this History has no clock to default to")
            return self.clock.now()
        if isinstance(value, datetime):
            return value
        return _day_start(number, value, name)

    def _until(self, number: object, value: datetime | date | None) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return _day_start(number, value + timedelta(days=1), "until")

    def calls(
        self,
        number: object,
        at: Iterable[datetime | date],
        *,
        outcome: Outcome | str = Outcome.NO_ANSWER,
        caller_id: str | None = None,
    ) -> list[int]:
        """Calls already placed to ``number`` at each instant (each counts toward the 4-per-30-
        days cap whatever its outcome); returns their attempt ids."""
        if isinstance(at, (datetime, date)):
            raise TypeError("at must be a list of instants, e.g. at=[monday, tuesday]")
        return [
            self.guard.record_call(
                number, self._at(number, moment, "at"), caller_id=caller_id, outcome=outcome
            )
            for moment in at
        ]

    def refused(self, number: object, on: datetime | date | None = None) -> int:
        """A call on ``on`` in which the consumer refused: it counts as an attempt and starts the
        60-day cooldown (the ledger of a real dialer records both). Returns its attempt id."""
        return self.calls(number, [self._at(number, on, "on")], outcome=Outcome.REFUSED)[0]

    def consented(
        self,
        number: object,
        on: datetime | date | None = None,
        *,
        proof: str = _TEST_PROOF,
        until: datetime | date | None = None,
    ) -> None:
        """A prior consent to be canvassed, given on ``on`` (valid until ``until``, at most a
        year)."""
        self.guard.record_consent(
            number, self._at(number, on, "on"), proof=proof, expires_at=self._until(number, until)
        )

    def withdrew(self, number: object, on: datetime | date | None = None) -> None:
        """The consumer withdrew every consent given before ``on``."""
        self.guard.withdraw_consent(number, self._at(number, on, "on"))

    def slot_consented(
        self, number: object, start: datetime, end: datetime, *, proof: str = _TEST_PROOF
    ) -> None:
        """A consent to be called between ``start`` and ``end``, whatever the day or hour."""
        self.guard.record_slot_consent(number, start, end, proof=proof)

    def opted_out(
        self,
        number: object,
        on: datetime | date | None = None,
        *,
        until: datetime | date | None = None,
    ) -> None:
        """``number`` on the professional's do-not-call list from ``on`` (until ``until``)."""
        self.guard.add_optout(
            number, self._at(number, on, "on"), expires_at=self._until(number, until)
        )

    def contract(
        self,
        number: object,
        on: datetime | date | None = None,
        *,
        until: datetime | date | None = None,
        subject: str | None = None,
    ) -> None:
        """A contract with the consumer running from ``on`` (until ``until``)."""
        self.guard.record_contract(
            number, self._at(number, on, "on"), self._until(number, until), subject=subject
        )

    def bloctel(
        self,
        *,
        listed: Iterable[str] = (),
        clean: Iterable[str] = (),
        on: datetime | date | None = None,
    ) -> None:
        """A Bloctel check on ``on``: ``listed`` numbers are registered, ``clean`` ones are not.

        A number the import would reject is a ``ValueError`` here, not a silent omission.
        """
        if isinstance(listed, str) or isinstance(clean, str):
            raise TypeError("listed and clean must be lists of numbers, e.g. clean=[number]")
        by_instant: dict[datetime, tuple[list[str], list[str]]] = {}
        for numbers, index in ((listed, 0), (clean, 1)):
            for number in numbers:
                group = by_instant.setdefault(self._at(number, on, "on"), ([], []))
                group[index].append(number)
        for checked_at, (flagged, unflagged) in by_instant.items():
            report = self.guard.import_bloctel(
                flagged, checked_at, submitted=[*flagged, *unflagged]
            )
            if report.rejected:
                raise ValueError(f"Bloctel numbers rejected:\n{report}")

    def reachable(self, number: object, on: datetime | date | None = None) -> None:
        """Record what the regime in force on ``on`` needs before ``number`` may be canvassed.

        From 2026-08-11 (consent regime) a consent; before, a clean Bloctel check, which proves
        nothing after 30 days. A general consent is not recorded before 2026-08-11: it would
        also open evenings and weekends then (D223-9 old wording).
        """
        at = self._at(number, on, "on")
        parsed = parse_number(number)
        zone = ZoneInfo(parsed.zones[0] if parsed.zones else "Europe/Paris")
        if regime_on(at.astimezone(zone).date()).opt_in:
            self.consented(number, at)
        else:
            self.bloctel(clean=[parsed.e164], on=at)


# -- assertions --------------------------------------------------------------------------------


def _when(moment: datetime, tz_name: str) -> str:
    try:
        tz: ZoneInfo | timezone = ZoneInfo(tz_name)
    except (KeyError, ValueError):
        tz = timezone.utc
    local = moment.astimezone(tz)
    return f"{local:%A %Y-%m-%d %H:%M:%S} ({tz_name or 'UTC'})"


def explain(decision: Decision) -> str:
    """A decision in a few lines: verdict, number, instant, regime, every reason, next allowed."""
    verdict = "allowed" if decision.allowed else "refused"
    lines = [
        f"{verdict}: call to {decision.number or '(invalid number)'} at "
        f"{_when(decision.at, decision.callee_tz)}, regime {decision.regime or '?'}"
    ]
    lines += [f"  {r.code.value}: {r.message} [{r.legal_basis}]" for r in decision.reasons]
    if not decision.allowed:
        if decision.next_allowed_at is None:
            lines.append("  next allowed at: never by waiting (time alone will not help)")
        else:
            lines.append(
                f"  next allowed at: {_when(decision.next_allowed_at, decision.callee_tz)}"
            )
    return "\n".join(lines)


def _require_decision(decision: object) -> Decision:
    if not isinstance(decision, Decision):
        raise TypeError(f"expected a callguard.Decision, got {decision!r}")
    return decision


def assert_allowed(decision: Decision) -> None:
    """Fail, showing every reason and ``next_allowed_at``, unless callguard allowed the call."""
    __tracebackhide__ = True
    if not _require_decision(decision).allowed:
        raise AssertionError(f"expected callguard to allow the call, but\n{explain(decision)}")


class _Unset(enum.Enum):
    UNSET = enum.auto()


def assert_refused(
    decision: Decision,
    *codes: ReasonCode | str,
    next_allowed_at: datetime | _Unset | None = _Unset.UNSET,
) -> None:
    """Fail unless callguard refused the call, for each of ``codes`` (among possibly others).

    With ``next_allowed_at`` (an instant, or ``None`` for "time alone will not help"), fail
    unless the decision says so too. A failure shows every reason and ``next_allowed_at``.
    """
    __tracebackhide__ = True
    wanted = [ReasonCode.coerce(c) for c in codes]
    expected = "" if not wanted else " for " + ", ".join(c.value for c in wanted)
    if _require_decision(decision).allowed:
        raise AssertionError(
            f"expected callguard to refuse the call{expected}, but\n{explain(decision)}"
        )
    missing = [c.value for c in wanted if c not in decision.codes]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise AssertionError(
            f"expected callguard to refuse the call{expected}, but {', '.join(missing)} {verb} "
            f"not among its reasons:\n{explain(decision)}"
        )
    if next_allowed_at is not _Unset.UNSET:
        got, want = decision.next_allowed_at, next_allowed_at
        # Compared in UTC: Python never finds aware datetimes of two zones equal in a fold hour.
        if want is not None:
            want = require_aware(want, "next_allowed_at")
        if (got if got is None else got.astimezone(timezone.utc)) != want:
            shown = "None" if want is None else _when(want, decision.callee_tz)
            raise AssertionError(f"expected next_allowed_at {shown}, but\n{explain(decision)}")
