"""Phone numbers: normalise what contact files contain, and say whose number it is.

Every rule downstream keys on what this module decides: the E.164 form is the ledger key, the
territory picks the consumer's time zone (docs/rules.md §2: the hours are « celles du fuseau horaire
du consommateur »), the national form carries the ARCEP NPV and Alsace-Moselle prefixes
(docs/rules.md §9 and §2), and the kind tells a consumer line from a special or short number.

Validity and line types come from the ``phonenumbers`` metadata, but French numbers are classified
with its ``national_number_pattern`` regexes compiled here at import: ``phonenumbers.parse`` costs
tens of microseconds, and a dialer asks about ~20 000 numbers a second. ``phonenumbers.parse`` is
only called for foreign numbers.
"""

from __future__ import annotations

import base64
import functools
import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from enum import Enum
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata

from callguard._exceptions import InvalidNumberError
from callguard._i18n import Message, _

__all__ = [
    "ConsumerLine", "LineKind", "PhoneNumber", "consumer_line", "line_class", "parse_caller",
    "parse_number",
]  # fmt: skip


class LineKind(str, Enum):
    """What sort of line a number is, as far as the numbering plan tells."""

    MOBILE = "mobile"
    GEOGRAPHIC = "geographic"
    NON_GEOGRAPHIC = "non-geographic"  # 09 numbers (VoIP, « numéros polyvalents »)
    SPECIAL = "special"  # 08: toll-free, shared-cost, premium, UAN
    SHORT = "short"  # 3BPQ, 118XYZ, 1X/11X emergency and social numbers
    OTHER = "other"  # pager, personal, M2M, voicemail, anything else

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A normalised number. Equal numbers (whatever their written form) compare equal."""

    e164: str
    key: int
    country_code: int
    national: str
    territory: str
    territories: tuple[str, ...]
    zones: tuple[str, ...]
    kind: LineKind
    french: bool
    npv: bool
    alsace_moselle: bool
    consumer_line: bool


# --- Tables -----------------------------------------------------------------------------------

# The territories where the Code de la consommation (and so D223-9 and Bloctel) applies and that
# the French numbering plan serves. New Caledonia (+687), French Polynesia (+689) and Wallis-et-
# Futuna (+681) have their own plans and their own consumer law: they are foreign here.
_FRENCH_TERRITORIES: Final = frozenset({"FR", "GP", "BL", "MF", "MQ", "GF", "RE", "YT", "PM"})

_ZONE: Final[dict[str, str]] = {
    "FR": "Europe/Paris",
    "GP": "America/Guadeloupe",
    "BL": "America/St_Barthelemy",
    "MF": "America/Marigot",
    "MQ": "America/Martinique",
    "GF": "America/Cayenne",
    "RE": "Indian/Reunion",
    "YT": "Indian/Mayotte",
    "PM": "America/Miquelon",
}

# Regions behind each French country code, in phonenumbers' order (the first region a number is
# valid in is its primary territory, as in ``phonenumbers.region_code_for_number``).
_REGIONS: Final[dict[int, tuple[str, ...]]] = {
    33: ("FR",),
    590: ("GP", "BL", "MF"),
    596: ("MQ",),
    594: ("GF",),
    262: ("RE", "YT"),
    508: ("PM",),
}
_OVERSEAS_CCS: Final = (590, 596, 594, 262, 508)

# National prefixes (NSN digits, without the trunk 0) that ARCEP allocated to an overseas
# territory. The rulebook (docs/rules.md §2): such a number « is that territory's number, even where a
# metropolitan reading of the digits would also be valid » (0596, 0263, 0269, 02688/9, 05987/8/9
# and 0508 are all valid +33 numbers in phonenumbers' FR metadata). The 4-digit entries are the
# newer overseas blocks found in phonenumbers' metadata (05987/8/9 fixed, 07090-07093 mobile,
# 07084/5 SPM mobile, 02688 Réunion, 02689 Mayotte). A number under one of these prefixes that
# the territory's metadata does not know is refused, not read as metropolitan: guessing Paris
# time for a Réunion line would open calls 2-3 hours too late there.
_OVERSEAS_PREFIXES: Final[dict[str, tuple[int, ...]]] = {
    "590": (590,),  # Guadeloupe, Saint-Barthélemy, Saint-Martin fixed
    "690": (590,),
    "691": (590,),
    "5987": (590,),
    "7090": (590,),
    "596": (596,),  # Martinique
    "696": (596,),
    "697": (596,),
    "5989": (596,),
    "7091": (596,),
    "594": (594,),  # Guyane
    "694": (594,),
    "5988": (594,),
    "262": (262,),  # Réunion
    "263": (262,),
    "692": (262,),
    "693": (262,),
    "2688": (262,),
    "7092": (262,),
    "269": (262,),  # Mayotte
    "639": (262,),
    "2689": (262,),
    "7093": (594, 262),  # 070930-3 Guyane, 070935-7 Mayotte
    "7084": (508,),  # Saint-Pierre-et-Miquelon 9-digit mobiles
    "7085": (508,),
}
# Saint-Pierre-et-Miquelon's numbers have 6 digits; the French plan dials them as 0508 + 6 digits.
_SPM_PREFIX: Final = "508"

# ARCEP décision n° 2022-1583 (docs/rules.md §9) reserves these 09 blocks for the overseas NPV.
# Where phonenumbers' metadata attributes a part of a block to a territory, that territory wins
# (E.164 under its country code). The rest of each block is a valid +33 number in phonenumbers;
# it stays +33 (so the ledger key is what phonenumbers validates) but its overseas territories
# are added as candidates, so the hours must hold there too (docs/rules.md §2, ambiguous zone).
_NPV_OVERSEAS_BLOCKS: Final[dict[str, tuple[str, ...]]] = {
    "9475": ("GP", "BL", "MF"),
    "9476": ("GF",),
    "9477": ("MQ",),
    "9478": ("RE", "YT"),
    "9479": ("RE", "YT"),
}
_FR_TERRITORIES: Final = {block: ("FR", *t) for block, t in _NPV_OVERSEAS_BLOCKS.items()}

# ARCEP décision n° 2022-1583 (docs/rules.md §9): numéros polyvalents vérifiés, on the national form.
_NPV_PREFIXES: Final = (
    "0162", "0163", "0270", "0271", "0377", "0378", "0424", "0425", "0568", "0569",
    "0948", "0949", "09475", "09476", "09477", "09478", "09479",
)  # fmt: skip

# Moselle (0387), Bas-Rhin (0388), Haut-Rhin (0389): local holidays (docs/rules.md §2); 0382
# covers Thionville (Moselle) and Meurthe-et-Moselle: ambiguous, so a candidate (strict reading).
_ALSACE_MOSELLE_PREFIXES: Final = ("0382", "0387", "0388", "0389")

_CONSUMER_KINDS: Final = frozenset({LineKind.MOBILE, LineKind.GEOGRAPHIC, LineKind.NON_GEOGRAPHIC})

_MAX_CHARS: Final = 64
_MAX_DIGITS: Final = 20


# --- Metadata matchers ------------------------------------------------------------------------

# phonenumbers' own order of precedence (``_number_type_helper``): the first type that matches
# is the number's type, fixed line before mobile (fixed-or-mobile is geographic here).
_TYPE_KINDS: Final[tuple[tuple[str, LineKind], ...]] = (
    ("premium_rate", LineKind.SPECIAL),
    ("toll_free", LineKind.SPECIAL),
    ("shared_cost", LineKind.SPECIAL),
    ("voip", LineKind.NON_GEOGRAPHIC),
    ("personal_number", LineKind.OTHER),
    ("pager", LineKind.OTHER),
    ("uan", LineKind.SPECIAL),
    ("voicemail", LineKind.OTHER),
    ("fixed_line", LineKind.GEOGRAPHIC),
    ("mobile", LineKind.MOBILE),
)
_KIND_OF_TYPE: Final = dict(_TYPE_KINDS)


def _lengths(desc: object) -> tuple[int, ...]:
    return tuple(sorted({n for n in getattr(desc, "possible_length", ()) or () if n > 0}))


def _desc_regex(desc: object, implied: tuple[int, ...] = ()) -> str | None:
    """One type's pattern with its possible lengths, or None when the region has no such type.

    phonenumbers checks ``possible_length`` before the pattern; the lookahead is left out when
    the general description already imposes the same lengths.
    """
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    lengths = _lengths(desc)
    if not lengths or lengths == implied:
        return f"(?:{pattern})"
    sizes = "|".join(f"[0-9]{{{n}}}" for n in lengths)
    return f"(?=(?:{sizes})\\Z)(?:{pattern})"


def _region_regex(region: str, *, named: bool = True) -> str:
    """All of a region's types as one regex; ``lastgroup`` names the type phonenumbers would give.

    ``fullmatch`` tries the alternatives in order, so the first type that matches the whole
    number wins, exactly like ``phonenumbers.number_type``; the lookahead is the region's general
    description, which ``phonenumbers.is_valid_number`` also requires.
    """
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:  # pragma: no cover - a phonenumbers without these regions
        raise ImportError(f"phonenumbers has no metadata for region {region}")
    general = _desc_regex(metadata.general_desc)
    implied = _lengths(metadata.general_desc)
    branches = []
    for type_name, _kind in _TYPE_KINDS:
        regex = _desc_regex(getattr(metadata, type_name, None), implied)
        if regex is not None:
            branches.append(f"(?P<{type_name}>{regex})" if named else regex)
    return f"(?={general}\\Z)(?:{'|'.join(branches)})"


@functools.cache
def _cc_matchers(cc: int) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The compiled regexes of the regions of ``cc``, primary first, compiled when first used
    (a metropolitan number needs only France's)."""
    return tuple((region, re.compile(_region_regex(region))) for region in _REGIONS[cc])


_FR_MATCH: Final = _cc_matchers(33)[0][1].fullmatch
# Overseas regions that may claim a number of the national 09 plan (their voip and, for
# Martinique, fixed-line patterns include 0939…, 0947…, 0976… blocks). One regex says whether
# any of them does, so the common metropolitan 09 number costs a single match.
_OVERSEAS_09_CCS: Final = (590, 596, 594, 262)
_ANY_OVERSEAS_09: Final = re.compile(
    "|".join(
        f"(?:{_region_regex(region, named=False)})"
        for cc in _OVERSEAS_09_CCS
        for region in _REGIONS[cc]
    )
).fullmatch


# --- Resolution -------------------------------------------------------------------------------


# (country code, national significant number under it, territories primary first, kind). A plain
# tuple: a NamedTuple costs half a microsecond more on the hot path.
_Resolved = tuple[int, str, tuple[str, ...], LineKind]


def _match_cc(cc: int, nsn: str) -> _Resolved | None:
    """The regions of ``cc`` where ``nsn`` is valid, primary first; None when it is valid nowhere."""
    territories: list[str] = []
    kind: LineKind | None = None
    for region, matcher in _cc_matchers(cc):
        match = matcher.fullmatch(nsn)
        if match is not None:
            territories.append(region)
            if kind is None:
                kind = _KIND_OF_TYPE[match.lastgroup or ""]
    if kind is None:
        return None
    return (cc, nsn, tuple(territories), kind)


def _claim_width(cc: int, nsn: str) -> int:
    """How many neighbours of ``nsn`` (4th or 5th digit changed) ``cc`` also claims.

    phonenumbers' metadata overlaps on a few 09 blocks: Guyane's voip pattern covers all of
    0976x, Guadeloupe's all of 09395-09397, while Martinique, Réunion, Mayotte and Guadeloupe
    claim narrow slices of them. The narrowest claim is the most specific allocation, so it
    becomes the primary territory; the others stay candidates for the hours.
    """
    width = 0
    for position in (3, 4):
        for digit in "0123456789":
            neighbour = nsn[:position] + digit + nsn[position + 1 :]
            if _match_cc(cc, neighbour) is not None:
                width += 1
    return width


def _merge(candidates: list[_Resolved]) -> _Resolved:
    """Several country codes claim the number: keep the narrowest, add the others' territories."""
    if len(candidates) == 1:
        return candidates[0]
    ranked = sorted(candidates, key=lambda r: _claim_width(r[0], r[1]))
    cc, nsn, territories, kind = ranked[0]
    extra = tuple(t for r in ranked[1:] for t in r[2] if t not in territories)
    return (cc, nsn, territories + extra, kind)


_CC_NAMES: Final = {
    590: "Guadeloupe/Saint-Barthélemy/Saint-Martin",
    596: "Martinique",
    594: "Guyane",
    262: "Réunion/Mayotte",
    508: "Saint-Pierre-et-Miquelon",
}


def _territory_name(ccs: Iterable[int]) -> Message | str:
    names = [_CC_NAMES[cc] for cc in ccs]
    where: Message | str = names[0]
    for name in names[1:]:
        where = _("{first} or {second}", first=where, second=name)
    return where


def _resolve_french_plan(nsn: str, value: object) -> _Resolved:
    """Resolve a 9-digit NSN of the French national plan (what follows 0 or +33).

    Overseas prefixes win over the metropolitan reading (docs/rules.md §2). That holds for numbers
    written +33 too: CRMs prefix +33 to every number of a file, and a « +33 690… » consumer lives
    in Guadeloupe, so the stricter reading (her own time zone) is the one that cannot open a call
    the rule would refuse.
    """
    if nsn.startswith(_SPM_PREFIX):
        resolved = _match_cc(508, nsn[3:])
        if resolved is None:
            raise InvalidNumberError(
                value, _("0508 is Saint-Pierre-et-Miquelon's prefix, but not with these digits")
            )
        return resolved
    prefix = nsn[:4] if nsn[:4] in _OVERSEAS_PREFIXES else nsn[:3]
    ccs = _OVERSEAS_PREFIXES.get(prefix)
    if ccs is not None:
        candidates = [r for cc in ccs if (r := _match_cc(cc, nsn)) is not None]
        if not candidates:
            where = _territory_name(ccs)
            raise InvalidNumberError(
                value,
                _(
                    "0{prefix} is an ARCEP prefix of {where}, but this range is not allocated",
                    prefix=prefix,
                    where=where,
                ),
            )
        return _merge(candidates)
    if nsn[0] == "9" and _ANY_OVERSEAS_09(nsn) is not None:
        candidates = [r for cc in _OVERSEAS_09_CCS if (r := _match_cc(cc, nsn)) is not None]
        return _merge(candidates)
    match = _FR_MATCH(nsn)
    if match is None:
        raise InvalidNumberError(
            value,
            _("0{prefix}… is not an allocated range of the French numbering plan", prefix=nsn[:3]),
        )
    return (33, nsn, _FR_TERRITORIES.get(nsn[:4], ("FR",)), _KIND_OF_TYPE[match.lastgroup or ""])


_ZONES: Final[dict[tuple[str, ...], tuple[str, ...]]] = {}


def _zones(territories: tuple[str, ...]) -> tuple[str, ...]:
    zones = _ZONES.get(territories)
    if zones is None:  # a handful of combinations exist; racing threads compute the same value
        zones = _ZONES[territories] = tuple(dict.fromkeys(_ZONE[t] for t in territories))
    return zones


def _build(resolved: _Resolved) -> PhoneNumber:
    cc, nsn, territories, kind = resolved
    e164 = f"+{cc}{nsn}"
    # The national form is the French plan's, for every French territory: 0 + NSN, and 0508 + the
    # 6 digits for Saint-Pierre-et-Miquelon (its 9-digit numbers already start with their prefix).
    national = f"0{_SPM_PREFIX}{nsn}" if cc == 508 and len(nsn) == 6 else f"0{nsn}"
    return PhoneNumber(
        e164=e164,
        key=int(e164[1:]),
        country_code=cc,
        national=national,
        territory=territories[0],
        territories=territories,
        zones=_zones(territories),
        kind=kind,
        french=True,
        npv=national.startswith(_NPV_PREFIXES),
        alsace_moselle=national.startswith(_ALSACE_MOSELLE_PREFIXES),
        consumer_line=kind in _CONSUMER_KINDS,
    )


# -- the metropolitan fast path -------------------------------------------------------------------
#
# Most numbers a dialer asks about are metropolitan lines written as ten national digits or +33.
# Everything _resolve_french_plan and _build derive from such a number, except its line kind
# (one regex), depends only on the first four digits of its NSN: this table holds it, for every
# prefix that is not an overseas or Saint-Pierre-et-Miquelon one (those take the full path, so
# overseas prefixes still win). tests/test_fast_paths.py holds the two paths equal.

# (territories, zones, npv, alsace_moselle, may be claimed by an overseas 09 pattern)
_PrefixInfo = tuple[tuple[str, ...], tuple[str, ...], bool, bool, bool]


def _prefix_info(prefix: str) -> _PrefixInfo | None:
    """The facts of a metropolitan four-digit prefix, None for an overseas or Saint-Pierre one."""
    if (
        prefix.startswith(_SPM_PREFIX)
        or prefix in _OVERSEAS_PREFIXES
        or prefix[:3] in _OVERSEAS_PREFIXES
    ):
        return None
    territories = _FR_TERRITORIES.get(prefix, ("FR",))
    national = "0" + prefix
    return (
        territories,
        _zones(territories),
        national.startswith(_NPV_PREFIXES),
        national.startswith(_ALSACE_MOSELLE_PREFIXES),
        prefix[0] == "9",
    )


_FILL_AFTER: Final = 64
"""Prefixes met one by one before :class:`_PrefixTable` fills all ten thousand at once."""


class _PrefixTable(dict[str, "_PrefixInfo | None"]):
    """``table[prefix]``: the facts of a four-digit prefix, None for any other string; each is
    computed when first asked and kept, and all of them once :data:`_FILL_AFTER` are: the ten
    thousand cost about 9 ms of CPU, much of a process that checks one number, and little to a
    process reading numbers by the thousand (a prefix met for the first time costs it 3 µs)."""

    def __missing__(self, prefix: str) -> _PrefixInfo | None:
        if len(prefix) != 4 or not (prefix.isascii() and prefix.isdigit()):
            return None
        info = self[prefix] = _prefix_info(prefix)
        if len(self) == _FILL_AFTER:
            for i in range(10_000):
                key = f"{i:04d}"
                if key not in self:
                    self[key] = _prefix_info(key)
        return info


_PREFIXES: Final = _PrefixTable()

# A frozen dataclass sets each of its twelve fields through object.__setattr__; the slots'
# descriptors do the same in half the time. Same object, same equality and hash.
_NUMBER_FIELDS: Final = (
    "e164", "key", "country_code", "national", "territory", "territories", "zones", "kind",
    "french", "npv", "alsace_moselle", "consumer_line",
)  # fmt: skip
if tuple(f.name for f in fields(PhoneNumber)) != _NUMBER_FIELDS:  # pragma: no cover
    raise ImportError("PhoneNumber's fields changed: update _numbers._metropolitan to set them")
(
    _set_e164, _set_key, _set_cc, _set_national, _set_territory, _set_territories, _set_zones,
    _set_kind, _set_french, _set_npv, _set_alsace, _set_consumer,
) = (PhoneNumber.__dict__[name].__set__ for name in _NUMBER_FIELDS)  # fmt: skip
_new = object.__new__


def _metropolitan(nsn: str) -> PhoneNumber | None:
    """``_build(_resolve_french_plan(nsn, …))`` for a 9-digit NSN under a metropolitan prefix;
    None for anything else (an overseas prefix, an overseas 09 block, an invalid range), which
    the full path then resolves or refuses with its reason."""
    info = _PREFIXES[nsn[:4]]
    if info is None:
        return None
    territories, zones, npv, alsace, maybe_overseas = info
    if maybe_overseas and _ANY_OVERSEAS_09(nsn) is not None:
        return None
    match = _FR_MATCH(nsn)
    if match is None:
        return None
    kind = _KIND_OF_TYPE[match.lastgroup or ""]
    number = _new(PhoneNumber)
    _set_e164(number, "+33" + nsn)
    _set_key(number, 33_000_000_000 + int(nsn))
    _set_cc(number, 33)
    _set_national(number, "0" + nsn)
    _set_territory(number, territories[0])
    _set_territories(number, territories)
    _set_zones(number, zones)
    _set_kind(number, kind)
    _set_french(number, True)
    _set_npv(number, npv)
    _set_alsace(number, alsace)
    _set_consumer(number, kind in _CONSUMER_KINDS)
    return number


def _fast(value: str) -> PhoneNumber | None:
    """The common written forms of a metropolitan number, or None for the full parser."""
    nsn = _written_nsn(value)
    return None if nsn is None else _metropolitan(nsn)


def _written_nsn(value: str) -> str | None:
    """The nine national digits of a metropolitan number in a common written form, or None for
    the full parser: ``0612345678``, ``06 12 34 56 78`` (any of the separators),
    ``+33612345678``, ``+33 (0)6…``, ``0033 6…``, ``33612345678``. ASCII only; anything else
    takes the full path."""
    if not value.isascii():
        return None
    text = value.strip()
    if not text:
        return None
    if text[0] == "+":
        digits = strip_separators(text[1:])
        if not digits.isdigit() or digits[:2] != "33":
            return None
        rest = digits[2:]
    else:
        digits = strip_separators(text)
        if not digits.isdigit():
            return None
        size = len(digits)
        if size == 10 and digits[0] == "0" and digits[1] != "0":
            return digits[1:]
        if digits[:4] == "0033":
            rest = digits[4:]
        elif size == 11 and digits[:2] == "33":
            rest = digits[2:]
        else:
            return None
    if len(rest) == 10 and rest[0] == "0":  # the trunk 0 of « +33 (0)6… »
        rest = rest[1:]
    return rest if len(rest) == 9 else None


def _consumer_prefix(nsn: str) -> _PrefixInfo | None:
    """The prefix facts of a metropolitan consumer line's nine national digits, or None (an
    overseas prefix or 09 block, an invalid range, another kind of line)."""
    info = _PREFIXES[nsn[:4]]
    if info is None or (info[4] and _ANY_OVERSEAS_09(nsn) is not None):
        return None
    match = _FR_MATCH(nsn)
    if match is None or _KIND_OF_TYPE[match.lastgroup or ""] not in _CONSUMER_KINDS:
        return None
    return info


def line_class(key: int) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """(zone names, territories, Alsace-Moselle candidate) of the metropolitan consumer line
    with ledger key ``key`` (as :func:`consumer_keys` or :func:`consumer_line` give it): its
    first four national digits decide them."""
    info = _PREFIXES[str(key - 33_000_000_000)[:4]]
    if info is None:  # pragma: no cover - a key of consumer_keys has a metropolitan prefix
        raise KeyError(key)
    territories, zones, _, alsace, _ = info
    return zones, territories, alsace


ConsumerLine = tuple[int, str, tuple[str, ...], tuple[str, ...], bool]
"""(key, e164, zone names, territories, Alsace-Moselle candidate) of a consumer line."""


def consumer_line(value: str) -> ConsumerLine | None:
    """What a decision needs of a metropolitan consumer line written in a common form, without
    building a :class:`PhoneNumber`: the hot path of ``may_call`` on numbers never seen before.

    None for anything else, which :func:`parse_number` then resolves or refuses; where it
    answers, the fields are exactly ``parse_number(value)``'s (``key``, ``e164``, ``zones``,
    ``territories``, ``alsace_moselle``), a ``consumer_line``.
    """
    if len(value) > _MAX_CHARS:
        return None
    nsn = _written_nsn(value)
    if nsn is None:
        return None
    # The heads are remembered as numbers come, not built whole as consumer_keys's table is:
    # building it costs ~0.1 s, which a one-shot `callguard check` would pay for one number.
    info = _consumer_head(nsn)
    if info is None:
        return None
    return 33_000_000_000 + int(nsn), "+33" + nsn, info[1], info[0], info[3]


_FOREIGN_KINDS: Final[dict[int, LineKind]] = {
    phonenumbers.PhoneNumberType.FIXED_LINE: LineKind.GEOGRAPHIC,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: LineKind.GEOGRAPHIC,
    phonenumbers.PhoneNumberType.MOBILE: LineKind.MOBILE,
    phonenumbers.PhoneNumberType.VOIP: LineKind.NON_GEOGRAPHIC,
    phonenumbers.PhoneNumberType.TOLL_FREE: LineKind.SPECIAL,
    phonenumbers.PhoneNumberType.PREMIUM_RATE: LineKind.SPECIAL,
    phonenumbers.PhoneNumberType.SHARED_COST: LineKind.SPECIAL,
    phonenumbers.PhoneNumberType.UAN: LineKind.SPECIAL,
}


def _foreign(digits: str, value: object) -> PhoneNumber:
    """A number outside the French plan: phonenumbers decides (never on the French fast path)."""
    from phonenumbers import timezone  # its tables are large; only foreign numbers need them

    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise InvalidNumberError(value, _("unknown country code")) from None
    cc = int(parsed.country_code or 0)
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumberError(value, _("not a valid number for country code +{cc}", cc=cc))
    nsn = str(phonenumbers.national_significant_number(parsed))
    region = str(phonenumbers.region_code_for_number(parsed) or "001")
    kind = _FOREIGN_KINDS.get(int(phonenumbers.number_type(parsed)), LineKind.OTHER)
    zones = tuple(str(z) for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
    e164 = f"+{cc}{nsn}"
    return PhoneNumber(
        e164=e164,
        key=int(e164[1:]),
        country_code=cc,
        national=nsn,
        territory=region,
        territories=(region,),
        zones=zones,
        kind=kind,
        french=False,
        npv=False,
        alsace_moselle=False,
        consumer_line=False,
    )


def _strip_trunk_zero(rest: str, size: int) -> str:
    # « +33 (0)6… » and « +33 06… »: the trunk 0 belongs to the national form only.
    if len(rest) == size + 1 and rest[0] == "0":
        return rest[1:]
    return rest


def _international(digits: str, value: object) -> PhoneNumber:
    """Digits after + or 00."""
    if digits.startswith("33"):
        rest = _strip_trunk_zero(digits[2:], 9)
        if len(rest) != 9:
            raise InvalidNumberError(
                value,
                _("a +33 number has 9 digits after the country code, got {count}", count=len(rest)),
            )
        return _build(_resolve_french_plan(rest, value))
    cc_text = digits[:3]
    if cc_text in ("590", "596", "594", "262"):
        cc = int(cc_text)
        rest = _strip_trunk_zero(digits[3:], 9)
        if len(rest) != 9:
            raise InvalidNumberError(
                value,
                _(
                    "a +{cc} number has 9 digits after the country code, got {count}",
                    cc=cc,
                    count=len(rest),
                ),
            )
        # The same number written 0XXX… or +33… resolves through the French plan; reuse that
        # reading whenever it lands on this country code, so every form gives one answer.
        try:
            via_plan: _Resolved | None = _resolve_french_plan(rest, value)
        except InvalidNumberError:
            via_plan = None
        resolved = via_plan if via_plan and via_plan[0] == cc else _match_cc(cc, rest)
        if resolved is None:
            raise InvalidNumberError(value, _("not a valid number for country code +{cc}", cc=cc))
        return _build(resolved)
    if cc_text == "508":
        rest = digits[3:]
        if len(rest) in (7, 10):
            rest = _strip_trunk_zero(rest, len(rest) - 1)
        resolved = _match_cc(508, rest) if len(rest) in (6, 9) else None
        if resolved is None:
            raise InvalidNumberError(value, _("not a valid number for country code +{cc}", cc=508))
        return _build(resolved)
    return _foreign(digits, value)


_SHORT_ZONES: Final = ("Europe/Paris",)


def _short(digits: str, value: object) -> PhoneNumber:
    """Short numbers as typed (plan national de numérotation: 1X/11X, 3BPQ, 118XYZ)."""
    size = len(digits)
    valid = (
        (size == 2 and digits[0] == "1")
        or (size == 3 and digits.startswith("11"))
        or (size == 4 and digits[0] == "3")
        or (size == 6 and digits.startswith("118"))
    )
    if not valid:
        raise InvalidNumberError(
            value,
            _(
                "{count} digits: short numbers are 1X or 11X (emergency, social), 3BPQ (4 digits "
                "starting with 3) or 118XYZ",
                count=size,
            ),
        )
    return PhoneNumber(
        e164=digits,
        key=int(digits),
        country_code=33,
        national=digits,
        territory="FR",
        territories=("FR",),
        zones=_SHORT_ZONES,
        kind=LineKind.SHORT,
        french=True,
        npv=False,
        alsace_moselle=False,
        consumer_line=False,
    )


def _from_digits(digits: str, value: object) -> PhoneNumber:
    """Digits written without + (national, 00-international, Excel-stripped, bare, short)."""
    size = len(digits)
    if size > _MAX_DIGITS:
        raise InvalidNumberError(
            value, _("{count} digits, more than {most}", count=size, most=_MAX_DIGITS)
        )
    if digits.startswith("00"):
        return _international(digits[2:], value)
    if digits[0] == "0":
        if size != 10:
            raise InvalidNumberError(
                value,
                _("a national number has 10 digits starting with 0, got {count}", count=size),
            )
        return _build(_resolve_french_plan(digits[1:], value))
    if size == 9:
        # A spreadsheet that stored the number as an integer dropped its leading 0.
        return _build(_resolve_french_plan(digits, value))
    if size == 11 and digits.startswith("33"):
        return _international(digits, value)  # +33 with the + lost
    if size == 12 and digits[:3] in ("590", "596", "594", "262", "508"):
        return _international(digits, value)
    if size <= 6:
        return _short(digits, value)
    raise InvalidNumberError(
        value,
        _("{count} digits fit no form: expected 0 + 9 digits, +33 + 9 digits, or +CC…", count=size),
    )


# --- Text -------------------------------------------------------------------------------------

_CANONICAL: Final = re.compile(r"\+[0-9]{8,15}").fullmatch
# Separators seen in contact files. NFKC already turned non-breaking, thin and narrow spaces into
# plain spaces and full-width digits into ASCII ones.
_SEPARATORS: Final = str.maketrans("", "", " \t.-/()")
_SEPARATOR_BYTES: Final = b" \t.-/()"


def strip_separators(text: str) -> str:
    """``text`` without the separators people write numbers with (``text.translate(_SEPARATORS)``).

    An ASCII text goes through ``bytes.translate``, one table lookup a byte, where ``str``'s
    asks its dict once per character: about a microsecond less a number (a fifth of reading it).
    """
    if text.isascii():
        return text.encode("ascii").translate(None, _SEPARATOR_BYTES).decode("ascii")
    return text.translate(_SEPARATORS)


def _clean(value: str) -> tuple[bool, str]:
    """``(has_plus, digits)`` from the written form, or InvalidNumberError saying what is wrong."""
    text = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip()
    if text[:4].lower() == "tel:":  # RFC 3966 URI, as exported by some CRMs
        text = text[4:].strip()
    if not text:
        raise InvalidNumberError(value, _("empty"))
    plus = text[0] == "+"
    digits = strip_separators(text[1:] if plus else text)
    if not (digits.isascii() and digits.isdigit()):
        for char in digits:
            if char.isalpha():
                raise InvalidNumberError(
                    value, _("contains letters; expected digits, spaces and . - / ( ) only")
                )
            if char == "+":
                raise InvalidNumberError(value, _("'+' is only allowed at the start"))
            if not ("0" <= char <= "9"):
                raise InvalidNumberError(
                    value,
                    _(
                        "unexpected character {char}; expected digits, spaces, . - / ( )",
                        char=repr(char),
                    ),
                )
        raise InvalidNumberError(value, _("no digits"))
    return plus, digits


def national_key(value: str) -> int | None:
    """The ledger key of a metropolitan consumer line written as ten national digits.

    The Bloctel format (docs/rules.md §5), read millions of times by an import: no PhoneNumber is
    built. None for anything else — overseas prefixes, other forms, other kinds, invalid ranges —
    which the caller then gives to :func:`parse_number`. Where it answers, it answers exactly
    ``parse_number(value).key`` of a consumer line.
    """
    if len(value) != 10 or value[0] != "0" or not (value.isdigit() and value.isascii()):
        return None
    nsn = value[1:]
    return None if _consumer_prefix(nsn) is None else 33_000_000_000 + int(nsn)


@functools.lru_cache(maxsize=65536)
def _parse(value: str) -> PhoneNumber:
    if len(value) > _MAX_CHARS:
        # Before any normalisation or regex: a pasted document is not a phone number.
        raise InvalidNumberError(value, _("longer than {most} characters", most=_MAX_CHARS))
    fast = _fast(value)
    return _general(value) if fast is None else fast


def _general(value: str) -> PhoneNumber:
    """Every written form, overseas, foreign and short numbers, and the reason a value is not a
    number (the full path: :func:`_fast` answers the common metropolitan forms first)."""
    if _CANONICAL(value) is not None:
        return _international(value[1:], value)
    if value.isascii() and value.isdigit():  # 0612345678, as in Bloctel files (docs/rules.md §5)
        return _from_digits(value, value)
    plus, digits = _clean(value)
    if plus:
        return _international(digits, value)
    return _from_digits(digits, value)


def parse_number(value: object) -> PhoneNumber:
    """Normalise a phone number as written in a contact file, or raise InvalidNumberError.

    Accepts national (``06 12 34 56 78``), international (``+33 6…``, ``0033 6…``,
    ``+33 (0)6…``), bare (``33612345678``), spreadsheet-stripped (``612345678``) and short
    (``3010``, ``118712``, ``15``) forms, with any common separators, full-width digits and a
    ``tel:`` prefix. An ``int`` is read as the digits it prints (a spreadsheet export).
    """
    if type(value) is str:
        return _parse(value)
    if isinstance(value, str):
        return _parse(str.__str__(value))
    if isinstance(value, bool):
        raise InvalidNumberError(value, _("expected a str, got {type}", type="bool"))
    if isinstance(value, numbers.Integral):  # int, and numpy's integers from a pandas export
        as_int = int(value)
        if not 0 < as_int < 10**_MAX_DIGITS:
            # repr() of an int past ~4300 digits raises ValueError, and the error message needs it.
            shown = (
                value if as_int.bit_length() < 10_000 else f"<int of {as_int.bit_length()} bits>"
            )
            raise InvalidNumberError(
                shown, _("expected a str, or a positive int of at most 20 digits")
            )
        try:
            return _parse(str(as_int))
        except InvalidNumberError as error:
            raise InvalidNumberError(value, error.why) from None
    if isinstance(value, float):
        raise InvalidNumberError(
            value,
            _("expected a str, got float (a float drops digits; pass the number as text)"),
        )
    raise InvalidNumberError(value, _("expected a str, got {type}", type=type(value).__name__))


# -- caller IDs ------------------------------------------------------------------------------------

_HIDDEN = frozenset(
    {
        "anonymous",
        "anonyme",
        "private",
        "prive",
        "privé",
        "hidden",
        "masque",
        "masqué",
        "unknown",
        "inconnu",
        "restricted",
        "withheld",
        "unavailable",
        "blocked",
        "none",
        "null",
    }
)


def parse_caller(raw: object) -> tuple[PhoneNumber | None, Message | None]:
    """A caller ID as presented: (the number, None), or (None, why: "missing", "hidden" or
    "invalid (…)", as a :class:`~callguard._i18n.Message`)."""
    if isinstance(raw, str):
        return _parse_caller_text(raw)
    return _parse_caller_any(raw)


@functools.lru_cache(maxsize=1024)
def _parse_caller_text(raw: str) -> tuple[PhoneNumber | None, Message | None]:
    """Dialers present a handful of caller IDs: remember what each one is."""
    return _parse_caller_any(raw)


def _parse_caller_any(raw: object) -> tuple[PhoneNumber | None, Message | None]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, _("missing")
    if isinstance(raw, str) and raw.strip().lower().strip("<>()[] ") in _HIDDEN:
        return None, _("hidden")
    try:
        return parse_number(raw), None
    except InvalidNumberError as exc:
        return None, _("invalid ({reason})", reason=exc.why)


# -- whole lists of numbers --------------------------------------------------------------------
#
# An import or a scrub reads millions of numbers, nearly all of them metropolitan consumer lines
# in one of a few written forms. Whether such a line is a consumer line depends only on the first
# five digits of its NSN (every pattern of the French and overseas metadata is a fixed-width
# prefix followed by \d{k}: checked below, not assumed), so a set of those prefixes answers for a
# whole list in C-level map/compress passes instead of a parse per value.

# The forms ``_fast`` reads, once the separators are gone: 0 + NSN, +33 [0] NSN, 0033 [0] NSN and
# 33 NSN (11 digits). An NSN that does not start with 1-9 is never valid, so it is not matched.
_COMMON_FORM: Final = re.compile(r"(?:(?:\+33|0033)0?|33|0)([1-9][0-9]{8})").fullmatch
_DECIDING_DIGITS: Final = 5
_METROPOLITAN_KEY: Final = 33_000_000_000


def _prefix_decided(pattern: str, width: int, size: int = 9) -> bool:
    """Whether ``pattern`` decides a ``size``-digit string by its first ``width`` digits alone.

    Walks every path through the parsed pattern as (position, end of the last read that is not
    ``\\d``): the pattern is decided by its head when, on every path that reads ``size``
    characters, everything after the first ``width`` is read by ``\\d``. Anything but literals,
    classes, groups, alternatives and fixed repeats (anchors, lookarounds, open repeats) answers
    False: the caller then keeps the per-value path.
    """
    import sys

    if sys.version_info >= (3, 11):
        from re import _constants as sre
        from re import _parser as sre_parse
    else:  # pragma: no cover - Python 3.10
        import sre_constants as sre
        import sre_parse

    digit = [(sre.CATEGORY, sre.CATEGORY_DIGIT)]

    def walk(
        items: Iterable[tuple[object, object]], states: frozenset[tuple[int, int]]
    ) -> frozenset[tuple[int, int]] | None:
        for op, arg in items:
            if op is sre.IN and arg == digit:
                states = frozenset((pos + 1, last) for pos, last in states)
            elif op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN):
                states = frozenset((pos + 1, pos + 1) for pos, _last in states)
            elif op is sre.SUBPATTERN and isinstance(arg, tuple):
                inner = walk(arg[-1], states)
                if inner is None:
                    return None
                states = inner
            elif op is sre.BRANCH and isinstance(arg, tuple):
                found: set[tuple[int, int]] = set()
                for alternative in arg[1]:
                    inner = walk(alternative, states)
                    if inner is None:
                        return None
                    found |= inner
                states = frozenset(found)
            elif op is sre.MAX_REPEAT and isinstance(arg, tuple) and arg[0] == arg[1]:
                for _ in range(int(arg[0])):
                    inner = walk(arg[2], states)
                    if inner is None:
                        return None
                    states = inner
            else:
                return None
            states = frozenset(state for state in states if state[0] <= size)
        return states

    ends = walk(sre_parse.parse(pattern).data, frozenset({(0, 0)}))
    return ends is not None and all(last <= width for pos, last in ends if pos == size)


@functools.lru_cache(maxsize=1)
def _heads_decide() -> bool:
    """Whether every pattern of the numbering plans :func:`_consumer_prefix` reads (France's and
    the overseas regions') decides a nine-digit national number by its first
    ``_DECIDING_DIGITS`` digits: then so does :func:`_consumer_prefix` (its prefix table is
    keyed by four). Read once (~3 ms)."""
    for regions in _REGIONS.values():
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region)
            for name in ("general_desc", *dict(_TYPE_KINDS)):
                pattern = getattr(getattr(metadata, name, None), "national_number_pattern", None)
                if pattern and not _prefix_decided(pattern, _DECIDING_DIGITS):
                    return False  # pragma: no cover - a metadata update the memo cannot follow
    return True


@functools.lru_cache(maxsize=1)
def _head_table() -> bytes | None:
    """One bit per head of ``_DECIDING_DIGITS`` national digits: whether :func:`_consumer_prefix`
    accepts the numbers under it, precomputed for the installed ``phonenumbers`` (a number never
    seen before is then read without the numbering plan's regular expressions, about a
    microsecond less); None for another version of ``phonenumbers`` (the expressions decide) or
    a plan the heads cannot decide. ``tests/test_number_heads.py`` holds the table equal to the
    expressions on every head and writes it again after an upgrade:

        python tests/test_number_heads.py > src/callguard/_number_heads_data.py
    """
    from ._number_heads_data import HEADS, PHONENUMBERS

    if phonenumbers.__version__ != PHONENUMBERS or not _heads_decide():
        return None
    return base64.b85decode(HEADS)


_HEADS: dict[str, _PrefixInfo | None] = {}
""":func:`_consumer_prefix` by the first ``_DECIDING_DIGITS`` national digits, filled as
numbers are read (at most 10**5 heads), when :func:`_heads_decide`."""


def _consumer_head(nsn: str) -> _PrefixInfo | None:
    """:func:`_consumer_prefix` of nine national digits, remembered by their head: the numbering
    plan's regular expressions run once per head instead of once per number."""
    head = nsn[:_DECIDING_DIGITS]
    try:
        return _HEADS[head]
    except KeyError:
        pass
    table = _head_table()
    if table is None:
        info = _consumer_prefix(nsn)
    else:  # the numbering plan's verdict on the head, precomputed
        i = int(head)
        info = _PREFIXES[nsn[:4]] if table[i >> 3] >> (i & 7) & 1 else None
    if _heads_decide():
        _HEADS[head] = info
    return info


@functools.lru_cache(maxsize=1)
def _consumer_prefixes() -> frozenset[str] | None:
    """The first six national digits (``0`` + 5 NSN digits) under which every ten-digit number
    is a metropolitan consumer line that ``national_key`` accepts; None when the metadata cannot
    be read that way (then :func:`consumer_keys` asks ``national_key`` value by value: slower,
    same answers). Built on first use (~0.1 s), not at import."""
    if not _heads_decide():
        return None  # pragma: no cover - a metadata update the table cannot follow
    pad = "0" * (9 - _DECIDING_DIGITS)
    heads = (f"0{i:0{_DECIDING_DIGITS}d}" for i in range(10**_DECIDING_DIGITS))
    return frozenset(head for head in heads if national_key(head + pad) is not None)


def _national_keys(values: Sequence[str]) -> list[int | None]:
    """``national_key`` of each value, a whole list at once (the 5-digit prefix table)."""
    from itertools import repeat
    from operator import add, and_, eq, itemgetter

    heads = _consumer_prefixes()
    head = itemgetter(slice(0, 1 + _DECIDING_DIGITS))
    if heads is None:  # pragma: no cover - see _consumer_prefixes
        return list(map(national_key, values))
    answered = list(
        map(
            and_,
            map(and_, map(eq, map(len, values), repeat(10)), map(str.isascii, values)),
            map(and_, map(str.isdigit, values), map(heads.__contains__, map(head, values))),
        )
    )
    if all(answered):
        return list(map(add, repeat(_METROPOLITAN_KEY), map(int, values)))
    return [
        _METROPOLITAN_KEY + int(v) if ok else None for v, ok in zip(values, answered, strict=True)
    ]


def consumer_keys(values: Sequence[str]) -> list[int | None]:
    """For each value, the ledger key of the French consumer line it writes, or None.

    A whole list at once (an import, a scrub): the common written forms of a metropolitan number
    (``0612345678``, ``06 12 34 56 78``, ``+33 6…``, ``+33 (0)6…``, ``0033 6…``, ``33612345678``,
    with the separators :func:`parse_number` accepts) whose line is a consumer line. None leaves
    the value to :func:`parse_number`: overseas, special and short numbers, foreign and invalid
    ones, and any form not listed here. Where it answers, it answers exactly
    ``parse_number(value).key``.
    """
    from itertools import compress, repeat
    from operator import add, eq, methodcaller

    keys = _national_keys(values)
    if None not in keys:
        return keys
    # The other forms: drop the separators, read the country code and the trunk 0 with one regex.
    where = [i for i, key in enumerate(keys) if key is None]
    rest = [values[i] for i in where]
    texts = list(map(str.strip, rest))
    cleaned = list(map(strip_separators, texts))
    matches = list(map(_COMMON_FORM, cleaned))
    found = list(compress(range(len(matches)), matches))
    nationals = list(
        map(add, repeat("0"), map(methodcaller("group", 1), compress(matches, matches)))
    )
    picked = [rest[i] for i in found]
    answered = list(
        map(
            all,
            zip(
                map(str.isascii, picked),  # _fast reads ASCII only (NFKC may change the digits)
                map(_MAX_CHARS.__ge__, map(len, picked)),  # parse_number refuses longer values
                # a '+' the separators brought to the front (« (+33) 6… ») is not a leading '+'
                map(
                    eq,
                    map(str.startswith, [texts[i] for i in found], repeat("+")),
                    map(str.startswith, [cleaned[i] for i in found], repeat("+")),
                ),
                strict=True,
            ),
        )
    )
    for i, key in zip(
        compress(found, answered), _national_keys(list(compress(nationals, answered))), strict=True
    ):
        keys[where[i]] = key
    return keys
