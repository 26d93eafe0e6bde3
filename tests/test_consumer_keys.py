"""``consumer_keys`` answers exactly what ``parse_number`` answers, or leaves the value to it.

The whole-list key function answers for the common written forms of a metropolitan consumer line
from a table of 5-digit NSN prefixes; it is held equal to the per-value parser on every string of
tests/test_numbers.py, on every 4-digit prefix in every written form, on random digit strings and
on random text, one list at a time (so the scatter back to positions is exercised too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callguard._exceptions import InvalidNumberError
from callguard._numbers import _prefix_decided, consumer_keys, parse_number


def _expected(value: str) -> int | None:
    """The key of a consumer line, or None for anything else (the per-value path's answer)."""
    try:
        number = parse_number(value)
    except InvalidNumberError:
        return None
    return number.key if number.consumer_line else None


def _metropolitan(value: str) -> int | None:
    """The key of a consumer line under +33 (the lines the table must answer), else None."""
    key = _expected(value)
    return key if key is not None and 33 * 10**9 <= key < 34 * 10**9 else None


def _assert_equal(values: list[str]) -> None:
    """Where ``consumer_keys`` answers it answers the parser's key; it answers the common forms."""
    got = consumer_keys(values)
    assert len(got) == len(values)
    for value, key in zip(values, got, strict=True):
        if key is not None:
            assert key == _expected(value), value


def _number_strings() -> list[str]:
    """Every string constant of the number tests: the forms, ranges and errors they name."""
    found: set[str] = set()
    for name in ("test_numbers.py", "test_fast_paths.py", "test_pins_numbers.py"):
        tree = ast.parse((Path(__file__).parent / name).read_text(encoding="utf-8"))
        found |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
    return sorted(found)


def _forms(nsn: str) -> list[str]:
    spaced = " ".join([nsn[0], nsn[1:3], nsn[3:5], nsn[5:7], nsn[7:9]])
    return [
        "0" + nsn,
        "0" + spaced,
        "0" + nsn[0] + "." + nsn[1:],
        "0" + "-".join([nsn[0], nsn[1:3], nsn[3:5], nsn[5:7], nsn[7:9]]),
        "(0" + nsn[0] + ") " + nsn[1:],
        "+33" + nsn,
        "+33 " + spaced,
        "+33 (0)" + spaced,
        "+330" + nsn,
        "+3300" + nsn,
        "(+33) " + nsn,
        ".+33" + nsn,
        "0033" + nsn,
        "0033 " + spaced,
        "00330" + nsn,
        "33" + nsn,
        "330" + nsn,
        nsn,
        " \t0" + nsn + "\n",
        "\u00a00" + nsn,
        "tel:0" + nsn,
        "0" + nsn + " " * 60,
        "0" + nsn + "x",
    ]


def test_the_documented_forms_answer_as_the_parser() -> None:
    _assert_equal(_number_strings())


def test_the_common_forms_of_consumer_lines_are_answered() -> None:
    values = ["0612345678", "06 12 34 56 78", "+33 (0)6 12 34 56 78", "0033 1 23 45 67 89"]
    values += ["33612345678", "+33 9 12 34 56 78", "07.51.34.56.78", " 0612345678\r"]
    assert consumer_keys(values) == [_expected(v) for v in values]
    assert None not in consumer_keys(values)


def test_what_the_table_leaves_to_the_parser() -> None:
    # Overseas, special, short, foreign, invalid, too long, a '+' moved by separators: None.
    values = ["0690123456", "0262161234", "0800123456", "3010", "+4930123456", "0012345678"]
    values += ["(+33) 6 12 34 56 78", "06" + "1" * 70, "\u00a00612345678", "", "06123456789"]
    assert consumer_keys(values) == [None] * len(values)
    assert consumer_keys([]) == []


def _assert_equal_and_complete(nsns: list[str]) -> None:
    """Every form of each NSN answers as the parser; the national and +33 forms always answer."""
    values = [value for nsn in nsns for value in _forms(nsn)]
    _assert_equal(values)
    always = [value for nsn in nsns for value in ("0" + nsn, "+33" + nsn, "+33 (0)" + nsn)]
    assert consumer_keys(always) == [_metropolitan(value) for value in always]


@pytest.mark.parametrize("first", "0123456789")
def test_every_prefix_in_every_form(first: str) -> None:
    _assert_equal_and_complete(
        [f"{first}{rest:03d}{tail}" for rest in range(1000) for tail in ("00000", "56789", "99999")]
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=9, max_size=9), max_size=30))
def test_random_numbers_in_every_form(nsns: list[str]) -> None:
    _assert_equal_and_complete(nsns)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789+ .-/()\t\n\u00a0x", max_size=20), max_size=30))
def test_random_text(values: list[str]) -> None:
    _assert_equal(values)


def test_the_prefix_proof_refuses_what_it_cannot_read() -> None:
    assert _prefix_decided(r"[1-9]\d{8}", 5)
    assert _prefix_decided(r"836(?:0[0-36-9]|[1-9]\d)\d{4}|8(?:1[2-9]|2[2-4])\d{6}", 5)
    assert _prefix_decided(r"(?:\d{3}|\d{4})5\d{4}", 5)
    assert not _prefix_decided(r"123456\d{3}", 5)  # the sixth digit decides
    assert not _prefix_decided(r"1234\d{4}[0-5]", 5)  # the last digit decides
    assert not _prefix_decided(r"(?=1)\d{9}", 5)  # a lookahead
    assert not _prefix_decided(r"\d+", 5)  # an open repeat
    assert not _prefix_decided(r"\d{4}(?:12|3\d)\d{3}", 5)
