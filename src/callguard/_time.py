"""Instants: callguard works in aware datetimes and stores UTC microseconds."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

EARLIEST = datetime(2016, 5, 31, 20, 0, tzinfo=UTC)
"""The first instant callguard judges or records: 1 June 2016, the day Bloctel opened, begins
there in Réunion (UTC+4), the easternmost zone of a French consumer line. The range's lower bound
is the consumer's local date, like the regimes (docs/rules.md §1): an instant before a line's own
local midnight of that day is refused when the regime is looked up, by the line's date."""
FIRST_DAY = date(2016, 6, 1)
"""The first day callguard has rules for (Bloctel's opening), on the consumer's local clock."""
LATEST = datetime(2101, 1, 1, tzinfo=UTC)
"""The end of the range (exclusive): 2100-12-31 is the last day. Beyond it, date arithmetic
(a window, the next-allowed search two years ahead) would leave what ``datetime`` holds."""


def require_aware(value: object, name: str = "now") -> datetime:
    """Return ``value`` in UTC; a naive or non-datetime value is a ``ValueError`` that says so."""
    if not isinstance(value, datetime):
        from ._exceptions import ConfigurationError
        from ._i18n import _

        raise ConfigurationError(
            _("{field} must be a datetime with a time zone, not {value}", field=name,
              value=f"{value!r:.60}"),
            field=name, value=value,
        )  # fmt: skip
    zone = value.tzinfo
    if zone is UTC and EARLIEST <= value < LATEST:
        return value  # the common case, without a second look at the zone
    if type(zone) is ZoneInfo:  # a zone with an offset at every instant: no need to ask it
        return in_range(value, name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name}={value.isoformat()} is a naive datetime: pass a time zone, "
            f"e.g. {name}=datetime(..., tzinfo=ZoneInfo('Europe/Paris'))"
        )
    return in_range(value, name)


def in_range(value: datetime, name: str) -> datetime:
    """An aware ``value`` in UTC, if it lies in 2016-06-01 (its first local midnight, in Réunion)
    … 2100-12-31 (UTC); else a ``ValueError`` naming it. Never an ``OverflowError``, even at
    ``datetime.min``/``max``."""
    try:
        # In UTC first: comparing datetimes of different zones asks each for its offset again.
        utc = value.astimezone(UTC)
        if EARLIEST <= utc < LATEST:
            return utc
    except OverflowError:
        pass
    raise ValueError(
        f"{name}={value.isoformat()} is out of range: callguard judges and records instants "
        f"from {FIRST_DAY.isoformat()} on the consumer's local date (that day begins at "
        f"{EARLIEST.isoformat()} in Réunion) to 2100-12-31 (UTC)"
    )


def instant(value: object, name: str, *, end_of_day: bool = False) -> datetime:
    """An aware datetime, or a ``date`` read as midnight in Paris (the next one with ``end_of_day``).

    Dates are accepted for facts whose documents carry only a day (a contract's end, the date of
    a Bloctel return file); the day is taken in metropolitan legal time.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        if not FIRST_DAY <= value < LATEST.date():
            raise ValueError(
                f"{name}={value.isoformat()} is out of range: callguard records days from "
                f"{FIRST_DAY.isoformat()} to 2100-12-31"
            )
        day = value + timedelta(days=1) if end_of_day else value
        return datetime.combine(day, time(0), PARIS).astimezone(UTC)
    return require_aware(value, name)


_PARIS = ZoneInfo("Europe/Paris")


def to_us(moment: datetime) -> int:
    # The timedelta's fields, not ``// _US``: dividing two timedeltas converts both to
    # microseconds first (a third of this function's cost).
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def paris_text(moment: datetime) -> str:
    """An instant for a message: ISO 8601 in Paris time with its offset, never bare UTC."""
    return moment.astimezone(_PARIS).isoformat()


def now_utc() -> datetime:
    """The wall clock: only entry points call this, to default ``now``."""
    return datetime.now(UTC)


_FRENCH_TIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def _parse_text(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)  # the C fast path (most ISO forms on Python 3.11)
    except ValueError:
        pass
    french = _FRENCH_TIME.fullmatch(text)
    if french is not None:
        d, m, y, hh, mm, ss = (int(g or 0) for g in french.groups())
        return datetime(y, m, d, hh, mm, ss)
    from dateutil.parser import isoparse

    return isoparse(text)


def parse_instant(value: object) -> datetime:
    """An instant written by a person or a spreadsheet: a datetime as is, else ISO 8601 text or
    the ``23/11/2026 10:30`` French Excel writes. A naive time is Europe/Paris.

    Raises ``ValueError`` for empty or unreadable text (callers name the field in their message).
    """
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("empty time")
        try:
            moment = _parse_text(text)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment
