"""Days and hours when a consumer may be called (D223-9, docs/rules.md §2).

« du lundi au vendredi, sauf lorsque ces jours sont fériés en application de l'article L. 3133-1
du code du travail, et … seulement de 10 heures à 13 heures et de 14 heures à 20 heures, ces
heures correspondant à celles du fuseau horaire du consommateur. »

Windows are half-open: a call may start at 10:00:00 up to 12:59:59 and 14:00:00 up to 19:59:59,
local time in the consumer's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .._exceptions import ConfigurationError
from .._i18n import _
from ._holiday_table import closes as table_closes
from ._holiday_table import surely_open

if TYPE_CHECKING:
    from .._numbers import PhoneNumber

__all__ = [
    "ALSACE_MOSELLE",
    "WINDOWS",
    "day_windows",
    "holiday_name",
    "in_hours",
    "is_holiday",
    "is_weekend",
    "openings",
    "zone",
]

ALSACE_MOSELLE = "ALSACE_MOSELLE"

# D223-9: two windows a day, in the consumer's local time; the end is exclusive.
WINDOWS: tuple[tuple[time, time], ...] = ((time(10), time(13)), (time(14), time(20)))

# Local public holidays outside the decree's literal wording (docs/rules.md §2). They close the day
# under Policy.strict_local_holidays, the safe reading. The dates come from the `holidays`
# package's French subdivisions, with the years it gives them; only the days the rulebook names
# are taken, not the customary days the package also lists there (Mi-Carême, Victor Schœlcher…).
# (area, holidays' subdivision, the holiday names taken, the territory named in messages)
_SLAVERY = "Abolition de l'esclavage"
_LOCAL: tuple[tuple[str, str, frozenset[str], str], ...] = (
    # Code du travail L3134-13 (Alsace-Moselle): Good Friday and 26 December, since 1892-1893.
    (ALSACE_MOSELLE, "57", frozenset({"Vendredi saint", "Saint-Étienne"}), "Alsace-Moselle"),
    # Loi n° 83-550 and décret n° 83-1003: commemoration of the abolition of slavery.
    ("YT", "976", frozenset({_SLAVERY}), "Mayotte"),  # 27 April
    ("MQ", "972", frozenset({_SLAVERY}), "Martinique"),  # 22 May
    ("GP", "971", frozenset({_SLAVERY}), "Guadeloupe"),  # 27 May
    # Saint-Martin keeps Guadeloupe's 27 May, of which it was a commune until 2007 ...
    ("MF", "971", frozenset({_SLAVERY}), "Saint-Martin"),
    ("GF", "973", frozenset({_SLAVERY}), "Guyane"),  # 10 June
    ("BL", "BL", frozenset({_SLAVERY}), "Saint-Barthélemy"),  # 9 October
    ("RE", "974", frozenset({_SLAVERY}), "La Réunion"),  # 20 December
)
# ... and 28 May, the day it moved to in 2018 (low confidence): both close, the safe reading.
_SAINT_MARTIN_MAY_28_FROM = 2018


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _national(year: int) -> dict[date, str]:
    # Code du travail L3133-1: the eleven national public holidays, dated by `holidays`.
    import holidays  # on a day the table lists, or outside its years: see _holiday_table

    return dict(holidays.country_holidays("FR", years=year).items())


@lru_cache(maxsize=256)
def _subdivision(year: int, subdivision: str) -> dict[date, str]:
    import holidays

    return dict(
        holidays.country_holidays("FR", subdiv=subdivision, years=year, language="fr").items()
    )


@lru_cache(maxsize=1024)
def _local(year: int, area: str) -> dict[date, str]:
    days = {
        day: f"{name} ({territory})"
        for a, subdivision, names, territory in _LOCAL
        if a == area
        for day, name in _subdivision(year, subdivision).items()
        if name in names
    }
    if area == "MF" and year >= _SAINT_MARTIN_MAY_28_FROM:
        days[date(year, 5, 28)] = f"{_SLAVERY} (Saint-Martin)"
    return days


def holiday_name(day: date, areas: Iterable[str], strict_local: bool) -> str | None:
    """The public holiday closing ``day`` for a consumer in ``areas``, or None."""
    areas = tuple(areas)
    if surely_open(day, areas, strict_local):
        return None
    name = _national(day.year).get(day)
    if name is not None or not strict_local:
        return name
    for area in areas:
        name = _local(day.year, area).get(day)
        if name is not None:
            return name
    return None


def is_holiday(day: date, areas: tuple[str, ...], strict_local: bool) -> bool:
    """Whether a public holiday closes ``day`` for a consumer in ``areas``:
    ``holiday_name(...) is not None``, without the ``holidays`` package in the table's years."""
    found = table_closes(day, areas, strict_local)
    return holiday_name(day, areas, strict_local) is not None if found is None else found


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


_MORNING, _AFTERNOON = WINDOWS


def in_hours(moment: time) -> bool:
    # Unrolled over the two windows: asked for every decision.
    return _MORNING[0] <= moment < _MORNING[1] or _AFTERNOON[0] <= moment < _AFTERNOON[1]


def openings(
    tz: ZoneInfo, after: datetime, areas: Iterable[str], strict_local: bool
) -> Iterator[datetime]:
    """UTC instants strictly after ``after`` at which a window opens in ``tz``, in order.

    Weekends and holidays are skipped; the generator is infinite, callers bound it.
    """
    area_set = tuple(areas)
    day = after.astimezone(tz).date()
    while True:
        for instant, _end in day_windows(tz, day, area_set, strict_local):
            if instant > after:
                yield instant
        day += timedelta(days=1)


def calling_windows(
    tz: ZoneInfo, after: datetime, areas: Iterable[str], strict_local: bool
) -> Iterator[tuple[datetime, datetime]]:
    """UTC ``(start, end)`` of the windows in ``tz`` that end strictly after ``after``, in order.

    The end is exclusive. Weekends and holidays are skipped, as in :func:`openings`; the
    generator is infinite, callers bound it.
    """
    area_set = tuple(areas)
    day = after.astimezone(tz).date()
    while True:
        for start, closes in day_windows(tz, day, area_set, strict_local):
            if closes > after:
                yield start, closes
        day += timedelta(days=1)


@lru_cache(maxsize=8192)
def day_windows(
    tz: ZoneInfo, day: date, areas: tuple[str, ...], strict_local: bool
) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC ``(start, end)`` of ``day``'s windows in ``tz``; none on a weekend or holiday.

    The searches for ``next_allowed_at`` walk the same few days for every consumer of a zone:
    each day is worked out once.
    """
    if is_weekend(day) or is_holiday(day, areas, strict_local):
        return ()
    return tuple(
        (
            datetime.combine(day, start, tz).astimezone(timezone.utc),
            datetime.combine(day, end, tz).astimezone(timezone.utc),
        )
        for start, end in WINDOWS
    )


# Zones a caller may pass as the consumer's known zone, and the local holidays they bring.
ZONE_AREAS = {
    "America/Guadeloupe": "GP",
    "America/Martinique": "MQ",
    "America/Cayenne": "GF",
    "Indian/Reunion": "RE",
    "Indian/Mayotte": "YT",
    "America/Miquelon": "PM",
    "America/St_Barthelemy": "BL",
    "America/Marigot": "MF",
}


# Where the consumer lives (docs/rules.md §2): the INSEE code of the département or collectivité
# decides the zone and the local holidays instead of the number's prefix. Metropolitan
# départements are Europe/Paris with no local day but Alsace-Moselle's (57, 67, 68; Code du
# travail L3134-13); the overseas ones have their own zone and abolition-of-slavery day.
_PARIS = "Europe/Paris"
DEPARTMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{f"{n:02d}": (_PARIS, ()) for n in range(1, 96) if n != 20},
    "2A": (_PARIS, ()),
    "2B": (_PARIS, ()),
    "57": (_PARIS, (ALSACE_MOSELLE,)),
    "67": (_PARIS, (ALSACE_MOSELLE,)),
    "68": (_PARIS, (ALSACE_MOSELLE,)),
    "971": ("America/Guadeloupe", ("GP",)),
    "972": ("America/Martinique", ("MQ",)),
    "973": ("America/Cayenne", ("GF",)),
    "974": ("Indian/Reunion", ("RE",)),
    "975": ("America/Miquelon", ("PM",)),  # Saint-Pierre-et-Miquelon (COM)
    "976": ("Indian/Mayotte", ("YT",)),
    "977": ("America/St_Barthelemy", ("BL",)),  # Saint-Barthélemy (COM)
    "978": ("America/Marigot", ("MF",)),  # Saint-Martin (COM)
}


def department_of(department: object) -> str | None:
    """``department`` checked against the INSEE codes; an unknown one is a ValueError naming it."""
    if department is None:
        return None
    code = department.strip().upper() if isinstance(department, str) else None
    if code is None or code not in DEPARTMENTS:
        raise ConfigurationError(
            _(
                "department {value} is not a French département code (INSEE): use '01'…'95', "
                "'2A', '2B', or '971'…'978'",
                value=repr(department),
            ),
            field="department",
            value=department,
        )
    return code


_GEOGRAPHIC_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
"""The areas of the IANA names that are places (``Area/Location``); ``Etc/*``, ``UTC``, ``GMT``,
``Factory`` and the legacy aliases are not."""


def consumer_zones(
    number: PhoneNumber | None, callee_tz: object, department: object = None
) -> tuple[tuple[ZoneInfo, ...], tuple[str, ...]]:
    """The consumer's candidate zones and holiday areas (docs/rules.md §2).

    A département the caller knows (``department``, from the consumer's address) decides the
    zone and the local holidays instead of the number; without it every candidate of the
    number's prefix counts. A zone the caller knows (``callee_tz``) wins over both for the
    hours; the holidays of the number's territories (and Alsace-Moselle for 03 82/87/88/89)
    apply together with those of that zone.
    """
    if callee_tz is not None and not isinstance(callee_tz, str):
        raise ConfigurationError(
            _(
                "callee_tz must be an IANA zone name (e.g. 'Europe/Paris'), not {value}",
                value=repr(callee_tz),
            ),
            field="callee_tz",
            value=callee_tz,
        )
    code = department_of(department)
    if code is not None:
        tz, areas = DEPARTMENTS[code]
        return _consumer_zones((tz,), areas, False, callee_tz)
    if number is None:
        return _consumer_zones((), (), False, callee_tz)
    return _consumer_zones(number.zones, number.territories, number.alsace_moselle, callee_tz)


def line_zones(
    zones: tuple[str, ...], territories: tuple[str, ...], alsace_moselle: bool
) -> tuple[tuple[ZoneInfo, ...], tuple[str, ...]]:
    """``consumer_zones(number, None)`` from the number's own fields (a question read by
    ``consumer_line`` has no :class:`PhoneNumber`)."""
    return _consumer_zones(zones, territories, alsace_moselle, None)


@lru_cache(maxsize=1024)
def _consumer_zones(
    number_zones: tuple[str, ...],
    territories: tuple[str, ...],
    alsace_moselle: bool,
    callee_tz: str | None,
) -> tuple[tuple[ZoneInfo, ...], tuple[str, ...]]:
    # Keyed on the few fields that matter: a handful of combinations exist.
    areas: list[str] = list(territories)
    if alsace_moselle:
        areas.append(ALSACE_MOSELLE)
    if callee_tz is not None:
        if callee_tz.partition("/")[0] not in _GEOGRAPHIC_AREAS:
            # UTC, GMT, Etc/GMT+3 or Factory have no legal time: the D223-9 hours and the
            # holidays are those of a place, and no place keeps those clocks.
            raise ConfigurationError(
                _(
                    "unknown time zone {value} for a consumer: it is not the zone of a place; give "
                    "the consumer's geographic IANA zone (Area/City), e.g. 'Europe/Paris' or "
                    "'America/Cayenne'",
                    value=repr(callee_tz),
                ),
                field="callee_tz",
                value=callee_tz,
            )
        try:
            zones: tuple[ZoneInfo, ...] = (zone(callee_tz),)
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(
                _(
                    "unknown time zone {value}: callee_tz must be an IANA zone name, e.g. "
                    "'Europe/Paris' or 'America/Cayenne'",
                    value=repr(callee_tz),
                ),
                field="callee_tz",
                value=callee_tz,
            ) from exc
        if callee_tz in ZONE_AREAS:
            areas.append(ZONE_AREAS[callee_tz])
    elif number_zones:
        zones = tuple(zone(z) for z in number_zones)
    else:
        zones = (zone("Europe/Paris"),)
    return zones, tuple(dict.fromkeys(areas))
