"""The number tables' behaviours the mutation run found unpinned: what an invalid number's
reason names (the prefix, the territories of an overseas prefix)."""

from __future__ import annotations

import pytest

from callguard import InvalidNumberError
from callguard._numbers import parse_number


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("07 00 00 00 00", "0700… is not an allocated range of the French numbering plan"),
        ("0594 50 00 00", "0594 is an ARCEP prefix of Guyane, but this range is not allocated"),
        ("0694 50 00 00", "0694 is an ARCEP prefix of Guyane, but this range is not allocated"),
        ("07 09 39 99 99",
         "07093 is an ARCEP prefix of Guyane or Réunion/Mayotte, but this range is not allocated"),
    ],
)  # fmt: skip
def test_an_invalid_number_s_reason_names_its_prefix_and_territories(
    number: str, reason: str
) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_number(number)
    assert str(caught.value).endswith(f": {reason}")


@pytest.mark.parametrize(
    "number",
    ["0034 612 345 678", "0044 7400 123 456", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78"],
)
def test_the_fast_reading_of_a_written_number_is_the_full_parser_s(number: str) -> None:
    # The hot path reads « 0033 6… » itself; any other international prefix goes to the parser:
    # a Spanish or British mobile is never taken for a French one.
    from callguard._numbers import consumer_line

    parsed = parse_number(number)
    line = consumer_line(number)
    if parsed.french:
        assert line is not None and line[1] == parsed.e164
    else:
        assert line is None
    assert parsed.french == number.startswith(("0033", "+33"))


@pytest.mark.parametrize("number", ["330612345678", "336123456789", "3361234567"])
def test_the_fast_reading_refuses_what_the_parser_refuses(number: str) -> None:
    # Without its +, 33 starts a number of eleven digits only: « 33 0612345678 » is no form.
    from callguard._numbers import consumer_line

    with pytest.raises(InvalidNumberError):
        parse_number(number)
    assert consumer_line(number) is None


@pytest.mark.parametrize(
    ("number", "e164"),
    [("+508 0430123", "+508430123"), ("+508 430123", "+508430123"),
     ("+508 0800012345", "+508800012345"), ("+508 800012345", "+508800012345")],
)  # fmt: skip
def test_a_saint_pierre_number_may_carry_its_trunk_zero_after_508(number: str, e164: str) -> None:
    assert parse_number(number).e164 == e164


def test_twenty_digits_are_read_and_twenty_one_refused_for_their_count() -> None:
    with pytest.raises(InvalidNumberError) as twenty:
        parse_number("0044" + "7" * 16)
    with pytest.raises(InvalidNumberError) as twenty_one:
        parse_number("1" * 21)
    assert str(twenty.value).endswith(": not a valid number for country code +44")
    assert str(twenty_one.value).endswith(": 21 digits, more than 20")


@pytest.mark.parametrize("value", [10**20, 10**20 + 12345, 0, -33612345678])
def test_an_int_of_more_than_twenty_digits_or_not_positive_is_refused_as_such(value: int) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        parse_number(value)
    assert str(caught.value).endswith(": expected a str, or a positive int of at most 20 digits")


@pytest.mark.parametrize(
    "shown",
    ["anonymous", "anonyme", "private", "privé", "hidden", "masqué", "unknown", "inconnu",
     "restricted", "withheld", "unavailable", "blocked", "none", "null", "BLOCKED"],
)  # fmt: skip
def test_a_caller_id_shown_as_a_word_for_hidden_is_hidden(shown: str) -> None:
    from callguard import Guard, ReasonCode
    from conftest import MOBILE, paris

    with Guard(":memory:") as g:
        d = g.may_call(MOBILE, shown, paris(2026, 11, 24, 11))
    messages = [r.message for r in d.reasons if r.code is ReasonCode.CALLER_ID_INVALID]
    assert messages == ["The caller ID is hidden: a call must present a valid, visible number."]


def test_a_list_reads_ten_digit_numbers_only_as_national_ones() -> None:
    # One digit too many is no number, whatever its first six digits: the list's fast path
    # leaves it to the parser, which refuses it.
    from callguard import Guard, ReasonCode
    from callguard._numbers import consumer_keys
    from conftest import NPV, paris

    values = ["06123456789", "0612345678", "061234567"]
    assert consumer_keys(values) == [None, 33612345678, None]
    with Guard(":memory:") as g:
        scrubbed = g.scrub(values, NPV, paris(2026, 11, 24, 11))
    assert ReasonCode.INVALID_NUMBER in scrubbed[0].codes
    assert scrubbed[1].number == "+33612345678"
    assert ReasonCode.INVALID_NUMBER in scrubbed[2].codes


def test_a_list_keys_every_common_form_beside_the_plain_ones() -> None:
    from callguard._numbers import consumer_keys

    values = ["06 12 34 56 78", "0612345678", "+33 6 12 34 56 79", "0033612345680"]
    assert consumer_keys(values) == [33612345678, 33612345678, 33612345679, 33612345680]
