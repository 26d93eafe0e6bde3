"""consumer_line remembers the numbering plan's verdict by a number's first five national digits:
exact because every pattern it reads is decided by them (``_heads_decide``), which these tests
hold against the plain path on numbers sharing heads, overseas 09 blocks and invalid ranges
included."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callguard import _numbers as numbers
from callguard._numbers import consumer_line, parse_number


def plain(value: str) -> numbers.ConsumerLine | None:
    """consumer_line without the memo: the numbering plan read for this very number."""
    nsn = numbers._written_nsn(value)
    if nsn is None:
        return None
    info = numbers._consumer_prefix(nsn)
    if info is None:
        return None
    return 33_000_000_000 + int(nsn), "+33" + nsn, info[1], info[0], info[3]


def test_the_patterns_are_decided_by_the_heads() -> None:
    assert numbers._heads_decide()


@pytest.mark.parametrize("head", ["06123", "07300", "09390", "09470", "09760", "01000", "05999",
                                  "08000", "03880", "04000", "02620", "06390"])  # fmt: skip
def test_numbers_sharing_a_head_answer_as_the_plain_path(head: str) -> None:
    rng = random.Random(head)
    numbers._HEADS.pop(head, None)
    for _ in range(300):
        nsn = head + f"{rng.randrange(10_000):04d}"
        for written in ("0" + nsn, "+33 " + nsn, "0033" + nsn):
            assert consumer_line(written) == plain(written)
    assert head in numbers._HEADS


def test_random_numbers_answer_as_the_plain_path_and_the_full_parser() -> None:
    rng = random.Random(7)
    for _ in range(5_000):
        nsn = f"{rng.randrange(100_000_000, 1_000_000_000)}"
        written = "0" + nsn
        found = consumer_line(written)
        assert found == plain(written)
        if found is not None:
            parsed = parse_number(written)
            assert (parsed.key, parsed.e164, parsed.zones, parsed.territories) == found[:4]
            assert parsed.consumer_line


# -- separators dropped through bytes, equal to str.translate ------------------------------------

_WRITTEN = st.text(
    alphabet=st.one_of(
        st.sampled_from(" \t.-/()+0123456789"),
        st.characters(codec="utf-8"),  # letters, other scripts' digits and spaces, NFKC forms
    ),
    max_size=30,
)


@given(_WRITTEN)
def test_separators_are_dropped_as_str_translate_drops_them(text: str) -> None:
    assert numbers.strip_separators(text) == text.translate(numbers._SEPARATORS)


@pytest.mark.parametrize(
    "text", ["06 12 34 56 78", "+33 (0)6.12-34/56\t78", "０６ １２", "06\u00a012", "", "()"]
)
def test_separators_dropped_in_the_common_forms(text: str) -> None:
    assert numbers.strip_separators(text) == text.translate(numbers._SEPARATORS)
