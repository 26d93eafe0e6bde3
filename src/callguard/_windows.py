"""When may this number be called? The D223-9 calendar laid out for schedulers (docs/rules.md §2).

``windows(number, start, end)`` yields the instants at which the days-and-hours rule lets a
canvassing call start, as half-open ``(start, end)`` windows: weekends, national holidays, the
local holidays of the number's territory (under ``Policy.strict_local_holidays``), the lunch break
and the consumer's zone applied. When the number's zone is ambiguous the call must be inside the
window in every candidate zone, so the windows are the intersection of each zone's.

It answers for the calendar only, from the number alone: the ledger (consents, caps, cooldowns,
Bloctel, slot consents that open other hours) is ``Guard.may_call``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, time
from zoneinfo import ZoneInfo

from ._exceptions import ConfigurationError, InvalidNumberError
from ._i18n import _
from ._numbers import parse_number
from ._policy import Policy
from ._time import require_aware
from .rules import calendar as cal
from .rules.regimes import REGIMES, regime_on

__all__ = ["windows"]

Window = tuple[datetime, datetime]


def _zones_and_areas(
    number: object, callee_tz: str | None
) -> tuple[tuple[ZoneInfo, ...], tuple[str, ...]]:
    """The consumer's candidate zones and holiday areas, read exactly as ``Guard.may_call`` does."""
    parsed = parse_number(number)
    if not parsed.consumer_line:
        raise InvalidNumberError(
            number, f"{parsed.e164} is not a French consumer line; callguard lays out calling "
            "windows for French consumer lines only"
        )  # fmt: skip
    return cal.consumer_zones(parsed, callee_tz)


def _intersect(streams: list[Iterator[Window]], end: datetime) -> Iterator[Window]:
    """Intersection of sorted, disjoint interval streams, up to ``end``."""
    current = [next(stream) for stream in streams]
    while True:
        lo = max(s for s, _ in current)
        hi = min(e for _, e in current)
        if lo < hi:
            yield lo, hi
        # The interval that closes first can meet nothing further: move that stream on. Once a
        # stream starts at or after ``end`` no intersection can start before it.
        i = min(range(len(current)), key=lambda k: current[k][1])
        current[i] = next(streams[i])
        if current[i][0] >= end:
            return


def _segments(
    start: datetime, end: datetime, primary: ZoneInfo
) -> Iterator[tuple[datetime, datetime, bool]]:
    """``[start, end)`` cut at each regime change (midnight, primary zone): (from, to, calendar)."""
    cuts = [datetime.combine(r.start, time(0), primary) for r in REGIMES]
    for i, regime in enumerate(REGIMES):
        lo = max(start, cuts[i])
        hi = min(end, cuts[i + 1]) if i + 1 < len(cuts) else end
        if lo < hi:
            yield lo, hi, regime.calendar


def _windows(
    zones: tuple[ZoneInfo, ...],
    areas: tuple[str, ...],
    strict: bool,
    start: datetime,
    end: datetime,
) -> Iterator[Window]:
    primary = zones[0]
    pending: Window | None = None
    for lo, hi, calendar in _segments(start, end, primary):
        found: Iterable[Window]
        if calendar:
            streams = [cal.calling_windows(tz, lo, areas, strict) for tz in zones]
            found = ((max(s, lo), min(e, hi)) for s, e in _intersect(streams, hi) if s < hi)
        else:
            found = ((lo, hi),)  # D223-9 days and hours not yet in force: any time
        for s, e in found:
            if pending is not None and pending[1] == s:
                pending = (pending[0], e)
                continue
            if pending is not None:
                yield pending[0].astimezone(primary), pending[1].astimezone(primary)
            pending = (s, e)
    if pending is not None:
        yield pending[0].astimezone(primary), pending[1].astimezone(primary)


def windows(
    number: object,
    start: datetime,
    end: datetime,
    *,
    callee_tz: str | None = None,
    policy: Policy | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """The windows in ``[start, end)`` when a canvassing call to ``number`` may start, in order.

    Each window is a half-open ``(start, end)`` pair of aware datetimes in the consumer's zone
    (``callee_tz`` when given, else the number's, as ``Decision.callee_tz``): a call may start
    at ``start`` and at any instant before ``end``. Windows are clipped to ``[start, end)``.
    Weekends, national holidays, local holidays (``policy.strict_local_holidays``, default
    True), the 13:00-14:00 break and the consumer's zone are applied; when the number's zone is
    ambiguous, only the hours open in every candidate zone are. Before 2023-03-01 D223-9 set no
    days or hours, so that stretch is one window.

    The calendar only: the ledger (consent, Bloctel, the 4-per-30-days cap, the 60-day cooldown,
    slot consents) is what ``Guard.may_call`` adds. Raises ``InvalidNumberError`` for a number
    that is not a French consumer line and ``ValueError`` for a naive bound, ``ConfigurationError`` for a reversed range or a bad
    ``policy``.
    """
    lo, hi = require_aware(start, "start"), require_aware(end, "end")
    if hi < lo:
        raise ConfigurationError(
            _("end={end} is before start={start}", end=end.isoformat(), start=start.isoformat()),
            field="end",
            value=end,
        )
    if policy is not None and not isinstance(policy, Policy):
        raise ConfigurationError(
            _("policy must be a callguard.Policy or None, not {value}", value=f"{policy!r:.60}"),
            field="policy",
            value=policy,
        )
    strict = (policy or Policy()).strict_local_holidays
    zones, areas = _zones_and_areas(number, callee_tz)
    regime_on(lo.astimezone(zones[0]).date())  # before 2016-06-01: may_call's ValueError too
    if lo == hi:
        return iter(())
    return _windows(zones, areas, strict, lo, hi)
