"""Instants: one parser for the times people and spreadsheets write (the CLI's --at and the call
log's started_at)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from callguard._calllog import parse_time
from callguard._time import from_us, parse_instant, to_us
from callguard.cli import cli
from callguard.cli._common import parse_at

PARIS = ZoneInfo("Europe/Paris")
EXPECTED = datetime(2026, 11, 23, 10, 30, tzinfo=PARIS)


@pytest.mark.parametrize(
    "text",
    ["2026-11-23T10:30", "2026-11-23 10:30:00", "23/11/2026 10:30", "2026-11-23T10:30+01:00"],
)
def test_iso_and_french_forms_are_one_instant(text: str) -> None:
    assert parse_instant(text) == EXPECTED
    assert parse_at(text) == EXPECTED
    assert parse_time(text) == EXPECTED


def test_unreadable_times_name_the_value() -> None:
    with pytest.raises(ValueError, match="tomorrow"):
        parse_instant("tomorrow")


def test_the_cli_reads_the_french_form() -> None:
    result = CliRunner().invoke(
        cli,
        ["check", "06 12 34 56 78", "--caller-id", "09 48 00 00 01", "--at", "23/11/2026 10:30",
         "--db", ":memory:", "--json"],
    )  # fmt: skip
    assert '"at": "2026-11-23T09:30:00+00:00"' in result.output, result.output


# -- instants as the ledger keeps them -----------------------------------------------------------


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, ZoneInfo("Europe/Paris"), ZoneInfo("Pacific/Noumea")]),
    )
)
def test_to_us_is_the_microseconds_since_the_epoch(moment: datetime) -> None:
    exact = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert to_us(moment) == exact
    assert from_us(exact) == moment.astimezone(UTC)
