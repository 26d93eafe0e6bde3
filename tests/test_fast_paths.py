"""Every fast path answers exactly what the general path answers, or leaves the question to it.

The metropolitan number parser (``_numbers._fast``) and the Bloctel key (``national_key``) are
held equal to the full parser on every written form of tests/test_numbers.py, on every 4-digit
prefix of the national plan, and on random digit strings in every form.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callguard._exceptions import InvalidNumberError
from callguard._numbers import _fast, _general, national_key, parse_number


def _general_or_error(value: str) -> object:
    try:
        return _general(value)
    except InvalidNumberError as exc:
        return exc.reason


def _assert_fast_equal(value: str) -> None:
    fast = _fast(value)
    if fast is not None:
        general = _general_or_error(value)
        assert fast == general, value
        assert hash(fast) == hash(general)


def _assert_key_equal(value: str) -> None:
    key = national_key(value)
    if key is None:
        return
    number = _general(value)
    assert number.consumer_line
    assert key == number.key


def _test_number_strings() -> list[str]:
    """Every string constant of tests/test_numbers.py: the forms, ranges and errors it names."""
    tree = ast.parse((Path(__file__).parent / "test_numbers.py").read_text(encoding="utf-8"))
    found = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 65
    }
    return sorted(found)


@pytest.mark.parametrize("value", _test_number_strings())
def test_fast_parser_equals_general_on_the_documented_forms(value: str) -> None:
    _assert_fast_equal(value)
    _assert_key_equal(value)


def _forms(nsn: str) -> list[str]:
    spaced = " ".join([nsn[0], nsn[1:3], nsn[3:5], nsn[5:7], nsn[7:9]])
    return [
        "0" + nsn,
        "0" + spaced,
        "0" + nsn[0] + "." + nsn[1:],
        "+33" + nsn,
        "+33 " + spaced,
        "+33 (0)" + spaced,
        "+330" + nsn,
        "0033" + nsn,
        "0033 " + spaced,
        "33" + nsn,
        nsn,
        " \t0" + nsn + "\n",
    ]


@pytest.mark.parametrize("first", "0123456789")
def test_fast_parser_equals_general_on_every_prefix(first: str) -> None:
    # Every 4-digit NSN prefix, with two endings: overseas prefixes must win as on the full path.
    for rest in range(1000):
        prefix = f"{first}{rest:03d}"
        for tail in ("00000", "56789"):
            for value in _forms(prefix + tail):
                _assert_fast_equal(value)
            _assert_key_equal("0" + prefix + tail)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_fast_parser_equals_general_on_random_numbers(nsn: str) -> None:
    for value in _forms(nsn):
        _assert_fast_equal(value)
    _assert_key_equal("0" + nsn)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789+ .-/()\t", min_size=1, max_size=20))
def test_fast_parser_equals_general_on_random_text(value: str) -> None:
    _assert_fast_equal(value)
    _assert_key_equal(value)


def test_parse_number_takes_the_fast_path_for_metropolitan_forms() -> None:
    assert _fast("06 12 34 56 78") == parse_number("+33612345678")
    assert _fast("0696 12 34 56") is None  # Martinique: the full path, the overseas reading wins
    assert parse_number("0696 12 34 56").territory == "MQ"
