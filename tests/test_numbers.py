"""Number normalisation: forms, territories (docs/rules.md §2), NPV (§9), kinds, errors."""

from __future__ import annotations

import dataclasses
import random

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberType

from callguard._exceptions import CallguardError, InvalidNumberError
from callguard._numbers import LineKind, PhoneNumber, parse_number

# --- Input forms --------------------------------------------------------------------------------

MOBILE_FORMS = [
    "+33612345678",
    "+33 6 12 34 56 78",
    "0033612345678",
    "0033 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "+33 (0) 6 12 34 56 78",
    "+33 06 12 34 56 78",
    "0612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "06/12/34/56/78",
    "(06) 12 34 56 78",
    "06 12 34 56 78\u00a0",  # non-breaking space
    "06\u202f12\u202f34\u202f56\u202f78",  # narrow non-breaking space (French typography)
    "06\u200912\u200934\u200956\u200978",  # thin space
    "\t  06 12 34 56 78  \n",
    "33612345678",  # the + lost
    "612345678",  # the leading 0 lost in a spreadsheet
    "０６ １２ ３４ ５６ ７８",  # full-width digits and ideographic spaces
    "＋３３６１２３４５６７８",
    "tel:+33612345678",
    "TEL:+33-6-12-34-56-78",
]


@pytest.mark.parametrize("text", MOBILE_FORMS)
def test_every_written_form_gives_the_same_number(text: str) -> None:
    number = parse_number(text)
    assert number == parse_number("+33612345678")
    assert number.e164 == "+33612345678"
    assert number.key == 33612345678
    assert number.national == "0612345678"
    assert number.country_code == 33
    assert (number.territory, number.territories, number.zones) == (
        "FR",
        ("FR",),
        ("Europe/Paris",),
    )
    assert number.kind is LineKind.MOBILE
    assert number.french and number.consumer_line
    assert not number.npv and not number.alsace_moselle


def test_an_int_from_a_spreadsheet_is_read_as_its_digits() -> None:
    assert parse_number(612345678).e164 == "+33612345678"
    assert parse_number(33612345678).e164 == "+33612345678"


def test_a_str_subclass_is_read_as_a_str() -> None:
    class Text(str):
        pass

    assert parse_number(Text("06 12 34 56 78")).e164 == "+33612345678"


def test_str_inputs_are_cached() -> None:
    assert parse_number("07 56 12 34 56") is parse_number("07 56 12 34 56")


def test_phone_number_is_immutable_and_hashable() -> None:
    number = parse_number("0612345678")
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.e164 = "+33700000000"  # type: ignore[misc]
    assert {number: 1}[parse_number("+33612345678")] == 1


def test_line_kind_is_a_str_enum() -> None:
    assert LineKind("non-geographic") is LineKind.NON_GEOGRAPHIC
    assert isinstance(LineKind.SPECIAL, str)
    assert str(LineKind.MOBILE) == "mobile"


# --- Territories (docs/rules.md §2) -------------------------------------------------------------

GP_ZONES = ("America/Guadeloupe", "America/St_Barthelemy", "America/Marigot")

OVERSEAS = [
    # national, e164, territory, territories, zones
    ("0590 20 12 34", "+590590201234", "GP", ("GP",), ("America/Guadeloupe",)),
    ("0590 27 12 34", "+590590271234", "BL", ("BL", "MF"), GP_ZONES[1:]),
    ("0590 28 12 34", "+590590281234", "GP", ("GP", "BL"), GP_ZONES[:2]),
    ("0590 87 12 34", "+590590871234", "BL", ("BL", "MF"), GP_ZONES[1:]),
    ("0690 00 12 34", "+590690001234", "GP", ("GP", "BL", "MF"), GP_ZONES),
    ("0691 22 12 34", "+590691221234", "GP", ("GP", "BL", "MF"), GP_ZONES),
    ("0596 30 12 34", "+596596301234", "MQ", ("MQ",), ("America/Martinique",)),
    ("0696 20 12 34", "+596696201234", "MQ", ("MQ",), ("America/Martinique",)),
    ("0697 12 34 56", "+596697123456", "MQ", ("MQ",), ("America/Martinique",)),
    ("0594 10 12 34", "+594594101234", "GF", ("GF",), ("America/Cayenne",)),
    ("0694 20 12 34", "+594694201234", "GF", ("GF",), ("America/Cayenne",)),
    ("0262 16 12 34", "+262262161234", "RE", ("RE",), ("Indian/Reunion",)),
    ("0263 01 23 45", "+262263012345", "RE", ("RE",), ("Indian/Reunion",)),
    ("0692 12 34 56", "+262692123456", "RE", ("RE",), ("Indian/Reunion",)),
    ("0693 01 23 45", "+262693012345", "RE", ("RE",), ("Indian/Reunion",)),
    ("0269 60 12 34", "+262269601234", "YT", ("YT",), ("Indian/Mayotte",)),
    ("0639 01 23 45", "+262639012345", "YT", ("YT",), ("Indian/Mayotte",)),
    ("0508 41 12 34", "+508411234", "PM", ("PM",), ("America/Miquelon",)),
]


@pytest.mark.parametrize(("text", "e164", "territory", "territories", "zones"), OVERSEAS)
def test_an_overseas_prefix_is_that_territorys_number(
    text: str, e164: str, territory: str, territories: tuple[str, ...], zones: tuple[str, ...]
) -> None:
    number = parse_number(text)
    assert number.e164 == e164
    assert number.key == int(e164[1:])
    assert number.country_code == int(e164[1:4])
    assert number.national == text.replace(" ", "")
    assert (number.territory, number.territories, number.zones) == (territory, territories, zones)
    assert number.french and number.consumer_line
    # The E.164 form and the +33 form a CRM would write give the very same answer.
    assert parse_number(e164) == number
    assert parse_number("+33" + number.national[1:]) == number


@pytest.mark.parametrize(
    ("national", "territory"),
    [("0596301234", "MQ"), ("0263012345", "RE"), ("0269601234", "YT"), ("0508411234", "PM")],
)
def test_overseas_wins_where_the_metropolitan_reading_is_also_valid(
    national: str, territory: str
) -> None:
    metropolitan = phonenumbers.parse("+33" + national[1:])
    assert phonenumbers.is_valid_number(metropolitan)  # the trap this rule exists for
    number = parse_number(national)
    assert number.territory == territory
    assert "Europe/Paris" not in number.zones


def test_a_plus_33_number_with_an_overseas_prefix_is_remapped() -> None:
    number = parse_number("+33 690 12 34 56")
    assert number.e164 == "+590690123456"
    assert number.territories == ("GP", "BL", "MF")
    assert number.zones == GP_ZONES
    assert parse_number("+33 696 20 12 34").zones == ("America/Martinique",)
    assert parse_number("0033 262 16 12 34").territory == "RE"


def test_an_unallocated_range_under_an_overseas_prefix_is_refused_not_read_as_paris() -> None:
    # 0596 20… is a valid metropolitan reading but not a Martinique range.
    assert phonenumbers.is_valid_number(phonenumbers.parse("+33596201234"))
    with pytest.raises(InvalidNumberError, match="Martinique"):
        parse_number("0596201234")
    with pytest.raises(InvalidNumberError, match="Réunion"):
        parse_number("0263512345")


def test_a_262_number_that_no_prefix_attributes_is_both_reunion_and_mayotte() -> None:
    number = parse_number("+262 801 23 45 67")
    assert number.territories == ("RE", "YT")
    assert number.zones == ("Indian/Reunion", "Indian/Mayotte")
    assert number.kind is LineKind.SPECIAL


def test_explicit_overseas_country_codes() -> None:
    assert parse_number("+590 590 27 12 34").territory == "BL"
    assert parse_number("00596 696 20 12 34").territory == "MQ"
    assert parse_number("+590 (0)690 00 12 34").e164 == "+590690001234"
    assert parse_number("590690001234").e164 == "+590690001234"  # the + lost
    assert parse_number("+508 41 12 34").national == "0508411234"
    assert parse_number("+508 708 41 23 45").national == "0708412345"
    with pytest.raises(InvalidNumberError):
        parse_number("+590 596 30 12 34")  # a Martinique number under Guadeloupe's code
    with pytest.raises(InvalidNumberError):
        parse_number("+590 6 12 34 56 78")  # a metropolitan mobile under Guadeloupe's code


def test_newer_overseas_blocks_from_the_metadata() -> None:
    assert parse_number("0709012345").territories == ("GP", "BL", "MF")
    assert parse_number("0709112345").territory == "MQ"
    assert parse_number("0709212345").territory == "RE"
    assert parse_number("0709301234").territory == "GF"
    assert parse_number("0709351234").territory == "YT"
    assert parse_number("0598812345").territory == "GF"
    assert parse_number("0268912345").territory == "YT"
    assert parse_number("0708412345").territory == "PM"


@pytest.mark.parametrize(
    ("national", "e164", "territories"),
    [
        ("0947501234", "+590947501234", ("GP", "BL", "MF")),
        ("0947601234", "+594947601234", ("GF",)),
        ("0947701234", "+596947701234", ("MQ",)),
        ("0947801234", "+262947801234", ("YT",)),
        ("0947901234", "+262947901234", ("RE",)),
        # Parts of the ARCEP overseas NPV blocks phonenumbers does not attribute: +33, but the
        # block's territories are candidates so the hours must hold there too.
        ("0947581234", "+33947581234", ("FR", "GP", "BL", "MF")),
        ("0947681234", "+33947681234", ("FR", "GF")),
        ("0947851234", "+33947851234", ("FR", "RE", "YT")),
        ("0947981234", "+33947981234", ("FR", "RE", "YT")),
    ],
)
def test_overseas_npv_blocks(national: str, e164: str, territories: tuple[str, ...]) -> None:
    number = parse_number(national)
    assert number.e164 == e164
    assert number.territories == territories
    assert number.national == national
    assert number.npv
    assert parse_number("+33" + national[1:]) == number
    assert parse_number(e164) == number


def test_overlapping_overseas_09_claims_keep_every_candidate() -> None:
    # Guyane's metadata claims all of 0976x; Guadeloupe's slice is narrower and wins.
    number = parse_number("0976012345")
    assert number.e164 == "+590976012345"
    assert number.territories == ("GP", "BL", "MF", "GF")
    assert "America/Cayenne" in number.zones
    assert parse_number("0976412345").territories == ("GF",)
    assert parse_number("0939601234").territory == "GF"
    assert parse_number("+594 976 01 23 45").territories == ("GF",)


def test_metropolitan_numbers_are_paris() -> None:
    for text in ("01 42 12 34 56", "04 91 12 34 56", "09 48 12 34 56", "08 00 12 34 56"):
        number = parse_number(text)
        assert (number.country_code, number.territory, number.zones) == (
            33,
            "FR",
            ("Europe/Paris",),
        )


# --- Alsace-Moselle and NPV (docs/rules.md §2, §9) ------------------------------------------------


@pytest.mark.parametrize(
    ("national", "expected"),
    [
        ("0387123456", True),
        ("0388123456", True),
        ("0389123456", True),
        ("0386123456", False),
        ("0390123456", False),
        ("0187123456", False),
    ],
)
def test_alsace_moselle(national: str, expected: bool) -> None:
    assert parse_number(national).alsace_moselle is expected


NPV = ["0162", "0163", "0270", "0271", "0377", "0378", "0424", "0425", "0568", "0569"]
NPV += ["0948", "0949", "09475", "09476", "09477", "09478", "09479"]


@pytest.mark.parametrize("prefix", NPV)
def test_npv_prefixes(prefix: str) -> None:
    number = parse_number(prefix + "0" * (10 - len(prefix)))
    assert number.npv
    assert number.national.startswith(prefix)


@pytest.mark.parametrize("national", ["0161000000", "0947400000", "0947000000", "0612345678"])
def test_not_npv(national: str) -> None:
    assert not parse_number(national).npv


# --- Kinds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "consumer"),
    [
        ("06 12 34 56 78", LineKind.MOBILE, True),
        ("07 56 12 34 56", LineKind.MOBILE, True),
        ("01 42 12 34 56", LineKind.GEOGRAPHIC, True),
        ("02 40 12 34 56", LineKind.GEOGRAPHIC, True),
        ("03 20 12 34 56", LineKind.GEOGRAPHIC, True),
        ("04 91 12 34 56", LineKind.GEOGRAPHIC, True),
        ("05 56 12 34 56", LineKind.GEOGRAPHIC, True),
        ("09 70 12 34 56", LineKind.NON_GEOGRAPHIC, True),
        ("08 00 12 34 56", LineKind.SPECIAL, False),  # toll-free
        ("08 10 12 34 56", LineKind.SPECIAL, False),  # shared cost
        ("08 91 12 34 56", LineKind.SPECIAL, False),  # premium
        ("08 06 12 34 56", LineKind.SPECIAL, False),  # UAN
        ("3010", LineKind.SHORT, False),
    ],
)
def test_kinds(text: str, kind: LineKind, consumer: bool) -> None:
    number = parse_number(text)
    assert number.kind is kind
    assert number.consumer_line is consumer


@pytest.mark.parametrize("code", ["3010", "3179", "118712", "118218", "15", "17", "18", "112"])
def test_short_codes(code: str) -> None:
    number = parse_number(code)
    assert number == PhoneNumber(
        e164=code,
        key=int(code),
        country_code=33,
        national=code,
        territory="FR",
        territories=("FR",),
        zones=("Europe/Paris",),
        kind=LineKind.SHORT,
        french=True,
        npv=False,
        alsace_moselle=False,
        consumer_line=False,
    )
    assert parse_number(f" {code[:2]} {code[2:]} ") == number


@pytest.mark.parametrize("code", ["3", "123", "2010", "30100", "11871", "119999", "4010"])
def test_other_short_numbers_are_invalid(code: str) -> None:
    with pytest.raises(InvalidNumberError, match="short numbers"):
        parse_number(code)


# --- Foreign numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cc", "territory", "zone"),
    [
        ("+44 20 7946 0958", 44, "GB", "Europe/London"),
        ("+44 (0)20 7946 0958", 44, "GB", "Europe/London"),
        ("001 202 555 0123", 1, "US", "America/New_York"),
        ("+212 6 12 34 56 78", 212, "MA", None),
        ("+687 75 12 34", 687, "NC", "Pacific/Noumea"),  # New Caledonia has its own plan
        ("+689 87 12 34 56", 689, "PF", "Pacific/Tahiti"),
    ],
)
def test_foreign_numbers(text: str, cc: int, territory: str, zone: str | None) -> None:
    number = parse_number(text)
    assert number.country_code == cc
    assert number.territory == territory
    assert not number.french and not number.consumer_line and not number.npv
    if zone is not None:
        assert zone in number.zones
    assert "Etc/Unknown" not in number.zones
    assert parse_number(number.e164) == number


# --- Invalid input ------------------------------------------------------------------------------

INVALID = [
    "",
    "   ",
    "\u00a0",
    "abc",
    "06 12 AB 56 78",
    "06 12 34 56 78 ext 12",
    "tel:",
    "+",
    "()",
    "06_12_34_56_78",
    "06+12345678",
    "٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits: not what a French file means
    "0612",
    "061234567",  # 0612 with 9 digits
    "06123456789",
    "6123456789",
    "12345678",
    "0" * 21,
    "+33 6 12 34 56",
    "+33 6 12 34 56 78 9",
    "0700000000",  # unallocated in the French plan
    "0100000000" + "1",
    "+44 123",
    "+999 1234 5678",
    "+0 612345678",
    "000",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_text(text: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_number(text)
    assert repr(text) in str(caught.value)
    assert caught.value.value == text
    assert caught.value.reason


@pytest.mark.parametrize(
    "value",
    [None, 1.5, 6.12345678e8, True, False, b"0612345678", 0, -612, 10**20, ["0612345678"]],
)
def test_non_str_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_number(value)
    assert repr(value) in str(caught.value)
    assert caught.value.value == value


def test_an_int_too_large_to_print_is_still_an_invalid_number_error() -> None:
    with pytest.raises(InvalidNumberError, match="bits"):
        parse_number(10**5000)


def test_an_invalid_int_names_the_int() -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_number(12345678)
    assert caught.value.value == 12345678


def test_a_huge_string_is_refused_before_any_work() -> None:
    huge = "0612345678" * 1000
    with pytest.raises(InvalidNumberError, match="64 characters"):
        parse_number(huge)
    with pytest.raises(InvalidNumberError, match="64 characters"):
        parse_number(" " * 60 + "0612345678")


def test_invalid_number_error_is_a_callguard_and_value_error() -> None:
    with pytest.raises(CallguardError):
        parse_number("nope")
    with pytest.raises(ValueError):
        parse_number("nope")


# --- Properties ---------------------------------------------------------------------------------


def _fr_mobile_pattern() -> str:
    metadata = PhoneMetadata.metadata_for_region("FR")
    assert metadata is not None and metadata.mobile is not None
    pattern = metadata.mobile.national_number_pattern
    assert pattern is not None
    # hypothesis would draw any Unicode digit for \d; French files hold ASCII ones.
    return pattern.replace(r"\d", "[0-9]")


_FR_MOBILE_ASCII = _fr_mobile_pattern()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(_FR_MOBILE_ASCII, fullmatch=True))
def test_every_form_of_a_french_mobile_is_one_number(nsn: str) -> None:
    national = "0" + nsn
    pairs = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    expected = parse_number(national)
    assert expected.e164 == "+33" + nsn
    assert expected.kind is LineKind.MOBILE
    for form in (
        "+33" + nsn,
        "0033" + nsn,
        "33" + nsn,
        nsn,
        pairs,
        pairs.replace(" ", "."),
        "+33 " + pairs[1:],
        "+33 (0)" + pairs[1:],
        "0033 " + pairs,
    ):
        assert parse_number(form) == expected, form


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"\+?[0-9 ().-]{0,24}", fullmatch=True))
def test_any_text_gives_a_number_or_an_invalid_number_error(text: str) -> None:
    try:
        number = parse_number(text)
    except InvalidNumberError as error:
        assert error.value == text
        return
    assert parse_number(number.e164) == number
    assert number.key == int(number.e164.lstrip("+"))


# --- Agreement with phonenumbers ----------------------------------------------------------------

_KIND_OF_TYPE = {
    PhoneNumberType.FIXED_LINE: LineKind.GEOGRAPHIC,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: LineKind.GEOGRAPHIC,
    PhoneNumberType.MOBILE: LineKind.MOBILE,
    PhoneNumberType.VOIP: LineKind.NON_GEOGRAPHIC,
    PhoneNumberType.TOLL_FREE: LineKind.SPECIAL,
    PhoneNumberType.PREMIUM_RATE: LineKind.SPECIAL,
    PhoneNumberType.SHARED_COST: LineKind.SPECIAL,
    PhoneNumberType.UAN: LineKind.SPECIAL,
}

# The overseas prefixes of the rulebook (docs/rules.md §2), and the newer blocks phonenumbers' metadata holds.
_OVERSEAS_CC = {"590": 590, "690": 590, "691": 590, "5987": 590, "7090": 590}
_OVERSEAS_CC |= {"596": 596, "696": 596, "697": 596, "5989": 596, "7091": 596}
_OVERSEAS_CC |= {"594": 594, "694": 594, "5988": 594, "7093": 594}
_OVERSEAS_CC |= {"262": 262, "263": 262, "692": 262, "693": 262, "2688": 262, "7092": 262}
_OVERSEAS_CC |= {"269": 262, "639": 262, "2689": 262}
_OVERSEAS_CC |= {"70935": 262, "70936": 262, "70937": 262}  # 070930-3 is Guyane
_OVERSEAS_CC |= {"7084": 508, "7085": 508}

_PREFIXES = [str(d) for d in range(1, 10)] + ["62", "63", "70", "77", "80", "81", "89", "97"]
_PREFIXES += [*_OVERSEAS_CC, "508", "939", "9395", "9396", "9397", "947", "976", "268"]


def _samples(count_per_prefix: int) -> list[str]:
    rng = random.Random(20230101)
    return [
        prefix + "".join(rng.choice("0123456789") for _ in range(9 - len(prefix)))
        for prefix in _PREFIXES
        for _ in range(count_per_prefix)
    ]


def _expected_cc(nsn: str) -> int:
    for size in (5, 4, 3):
        if nsn[:size] in _OVERSEAS_CC:
            return _OVERSEAS_CC[nsn[:size]]
    return 33


def test_classification_agrees_with_phonenumbers() -> None:
    accepted = 0
    for nsn in _samples(12):
        try:
            number = parse_number("0" + nsn)
        except InvalidNumberError:
            if nsn.startswith("508"):
                reference = phonenumbers.parse("+508" + nsn[3:])
            else:
                reference = phonenumbers.parse(f"+{_expected_cc(nsn)}{nsn}")
            assert not phonenumbers.is_valid_number(reference), nsn
            continue
        accepted += 1
        parsed = phonenumbers.parse(number.e164)
        assert phonenumbers.is_valid_number(parsed), nsn
        assert phonenumbers.region_code_for_number(parsed) == number.territory, nsn
        kind = _KIND_OF_TYPE.get(phonenumbers.number_type(parsed), LineKind.OTHER)
        assert number.kind is kind, nsn
        assert number.national == "0" + nsn
        if not nsn.startswith("9"):  # 09 blocks: checked against the metadata below
            expected_cc = 508 if nsn.startswith("508") else _expected_cc(nsn)
            assert number.country_code == expected_cc, nsn
        assert parse_number(number.e164) == number
    assert accepted > 300


def test_every_overseas_range_in_the_metadata_resolves_overseas() -> None:
    """A French-plan number phonenumbers gives to an overseas region is never read as Paris."""
    regions = {"GP": 590, "BL": 590, "MF": 590, "MQ": 596, "GF": 594, "RE": 262, "YT": 262}
    checked = 0
    for nsn in _samples(12):
        if nsn.startswith("8"):  # 08 numbers are national, whatever the territory
            continue
        for region, cc in regions.items():
            reference = phonenumbers.parse(f"+{cc}{nsn}")
            if phonenumbers.is_valid_number_for_region(reference, region):
                checked += 1
                number = parse_number("0" + nsn)
                assert region in number.territories, (nsn, region)
                assert "FR" not in number.territories, nsn
    assert checked > 200


def test_region_order_matches_phonenumbers() -> None:
    assert phonenumbers.COUNTRY_CODE_TO_REGION_CODE[590] == ("GP", "BL", "MF")
    assert phonenumbers.COUNTRY_CODE_TO_REGION_CODE[262] == ("RE", "YT")


# -- the import fast path ---------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=999_999_999))
def test_national_key_agrees_with_parse_number(n: int) -> None:
    from callguard._numbers import national_key

    text = f"0{n:09d}"
    key = national_key(text)
    try:
        parsed = parse_number(text)
    except InvalidNumberError:
        assert key is None
        return
    if key is not None:
        assert key == parsed.key
        assert parsed.consumer_line and parsed.territory == "FR"
    elif parsed.territory == "FR" and parsed.territories == ("FR",) and parsed.consumer_line:
        raise AssertionError(f"{text}: a metropolitan consumer line the fast path missed")


@pytest.mark.parametrize(
    "text",
    [
        "+33612345678",
        "06 12 34 56 78",
        "0690001234",
        "0800123456",
        "0612",
        "06123456789",
        "O612345678",
        "０６１２３４５６７８",
    ],
)
def test_national_key_leaves_other_forms_to_the_parser(text: str) -> None:
    from callguard._numbers import national_key

    assert national_key(text) is None


def test_national_key_sweep_of_every_prefix() -> None:
    from callguard._numbers import national_key

    for prefix in range(1000):
        for tail in ("000000", "123456", "999999", "501234"):
            text = f"0{prefix:03d}{tail}"
            key = national_key(text)
            if key is None:
                continue
            parsed = parse_number(text)
            assert (key, parsed.consumer_line, parsed.territory) == (parsed.key, True, "FR"), text
