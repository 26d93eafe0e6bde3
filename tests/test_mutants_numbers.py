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
