"""The Bloctel import pipeline answers exactly what the line-by-line import answered.

The block reader (``_files.read_number_blocks``) yields the lines, values and errors of
``read_numbers``; the block keys (``_guard._keys``) give the keys and rejected lines of the
per-line path kept here as ``_reference_keys``; the merge (``storage.bloctel.merge_checks``, numpy
and pure Python) gives the rows of a ``sorted(set())`` reference; its digest is the journal's;
and an import writes the rows, counts and journal entry the reference predicts, on both
backends, over random files mixing every written form of a number.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import sys
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard import Guard, _files
from callguard._exceptions import ConfigurationError, InvalidNumberError
from callguard._files import read_number_blocks, read_numbers
from callguard._guard import _keys
from callguard._numbers import national_key, parse_number
from callguard._reports import ImportReport, Rejected
from callguard.storage import bloctel
from callguard.storage.journal import bloctel_digest
from conftest import PARIS

AT = datetime(2025, 11, 20, 9, 0, tzinfo=PARIS)
_INSTANTS = itertools.count()

# Every written form an import meets: metropolitan in each notation, overseas, special, short,
# foreign, invalid, Excel's damage, non-ASCII, and values with quotes or spaces around them.
FORMS = [
    "0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33612345678", "+33 (0)6 12 34 56 78",
    "0033612345678", "33612345678", "0751234567", "0145678901", "0987654321", "0948123456",
    "0262161234", "0690123456", "0596301234", "+262262161234", "0508412345", "0639012345",
    "0800123456", "0899123456", "3010", "118712", "15", "+4930123456", "+12025550123",
    "0012345678", "06123", "abc", "06-12-34-56-78", "6,12346E+08", "612345678",
    "\u00a00612345678", "０６１２３４５６７８", "06 12 34 56 7é", "(+33) 6 12 34 56 78",
    "tel:0612345678", "0612345678x", "07 00 00 00 00", "0947512345",
]  # fmt: skip


def _reference_keys(source: Any, report: ImportReport) -> Iterator[int]:
    """The line-by-line path the pipeline replaced, as it was."""
    for line, value in read_numbers(source):
        key = national_key(value)
        if key is not None:
            yield key
            continue
        try:
            number = parse_number(value)
        except InvalidNumberError as exc:
            report.rejected.append(Rejected(line, value, exc.reason))
            continue
        if not number.consumer_line:
            report.rejected.append(Rejected(line, value, "not a French consumer line"))
            continue
        yield number.key


def _reference_rows(listed: Iterable[int], submitted: Iterable[int]) -> list[tuple[int, int]]:
    on_list = set(listed)
    return sorted({(k, 1) for k in on_list} | {(k, 0) for k in set(submitted) - on_list})


# -- random files ------------------------------------------------------------------------------


def _value_strategy() -> st.SearchStrategy[str]:
    random_national = st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True)
    return st.one_of(st.sampled_from(FORMS), random_national, st.sampled_from(["", " ", "  "]))


@st.composite
def contact_files(draw: st.DrawFn) -> bytes:
    """A file as people send them: any delimiter, header, line ending, BOM, blanks, quotes."""
    delimiter = draw(st.sampled_from([None, ";", ",", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    header = draw(st.booleans())
    lines: list[str] = []
    if header:
        lines.append("Telephone" if delimiter is None else f"Telephone{delimiter}Identifiant")
    for i, value in enumerate(draw(st.lists(_value_strategy(), max_size=40))):
        kind = draw(st.integers(0, 19))
        if kind == 0:
            lines.append("")  # a blank line
            continue
        if kind == 1:
            value = f'"{value}"'  # quoted: the CSV parser reads the file
        if kind == 2:
            value = f" {value} "
        if delimiter is None:
            lines.append(value)
        elif kind == 3:
            lines.append(f"{delimiter}C{i}")  # no number, another cell filled
        elif kind == 4:
            lines.append(delimiter)  # only empty cells: a blank line
        else:
            lines.append(f"{value}{delimiter}C{i}")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    if breaks and draw(st.integers(0, 4)) == 0:  # a lone carriage return somewhere
        at = draw(st.sampled_from(breaks))
        lone = "" if text[at - 1 : at] == "\r" else "\r"
        text = text[:at] + lone + text[at + 1 :]
    data = text.encode("utf-8")
    encoding = draw(st.sampled_from(["utf-8", "bom", "cp1252"]))
    if encoding == "bom":
        data = b"\xef\xbb\xbf" + data
    elif encoding == "cp1252":
        data = text.encode("cp1252", errors="replace")
    return data


def _flat(blocks: Iterable[tuple[Any, list[str]]]) -> list[tuple[int, str]]:
    return [
        (line, value) for lines, values in blocks for line, value in zip(lines, values, strict=True)
    ]


def _outcome(read: Any) -> Any:
    """What a read gives, or the error it raises (type and message)."""
    try:
        return read()
    except (ConfigurationError, UnicodeError) as exc:
        return type(exc).__name__, str(exc)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("block", [7, 64, 1 << 22])
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=contact_files())
def test_the_block_reader_reads_what_read_numbers_reads(
    tmp_path: Path, block: int, data: bytes
) -> None:
    path = _write(tmp_path, "numbers.csv", data)
    with patch.object(_files, "_BLOCK", block):
        got = _outcome(lambda: _flat(read_number_blocks(path)))
    assert got == _outcome(lambda: list(read_numbers(path)))


def _without_numpy(on: bool) -> Any:
    """numpy made unimportable (the default install), or nothing changed."""
    return patch.dict(sys.modules, {"numpy": None}) if on else contextlib.nullcontext()


@pytest.mark.parametrize("block", [7, 1 << 22])
@pytest.mark.parametrize("pure", [True, False], ids=["python", "numpy"])
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=contact_files())
def test_block_keys_equal_the_line_by_line_keys(
    tmp_path: Path, block: int, pure: bool, data: bytes
) -> None:
    path = _write(tmp_path, "numbers.csv", data)
    mine, reference = ImportReport(), ImportReport()
    with patch.object(_files, "_BLOCK", block), _without_numpy(pure):
        got = _outcome(lambda: list(_keys(path, mine)))
    expected = _outcome(lambda: list(_reference_keys(path, reference)))
    assert got == expected
    assert mine.rejected == reference.rejected


@pytest.mark.parametrize("pure", [True, False], ids=["python", "numpy"])
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_value_strategy(), st.integers(-5, 10**12)), max_size=60))
def test_block_keys_of_an_iterable_equal_the_line_by_line_keys(
    pure: bool, values: list[Any]
) -> None:
    mine, reference = ImportReport(), ImportReport()
    with _without_numpy(pure):
        assert list(_keys(values, mine)) == list(_reference_keys(values, reference))
    assert mine.rejected == reference.rejected


@pytest.mark.parametrize("pure", [True, False], ids=["python", "numpy"])
@settings(max_examples=100, deadline=None)
@given(st.lists(st.from_regex(r"[0-9]{10}", fullmatch=True), min_size=1, max_size=50))
def test_a_block_of_ten_digit_values_keys_as_the_parser(pure: bool, values: list[str]) -> None:
    # The whole-block check: every value must be a consumer line, else the block is left.
    mine, reference = ImportReport(), ImportReport()
    with _without_numpy(pure):
        assert list(_keys(values, mine)) == list(_reference_keys(values, reference))
    assert mine.rejected == reference.rejected


def test_odd_files_take_the_text_path_with_the_same_answers(tmp_path: Path) -> None:
    # A long line, a non-ASCII value after many plain lines, a lone CR in the header, a line
    # past the 1 MiB bound: each is read (or refused) exactly as read_numbers reads it.
    plain = "".join(f"07{i:08d};C{i}\n" for i in range(3000))
    cases = {
        "long.csv": "Telephone;Id\n" + plain + "0612345678;" + "x" * 5000 + "\n" + plain,
        "accent.csv": "Telephone;Id\n" + plain + "0612345678;Hélène\n" + plain,
        "cr.csv": "Telephone;Id\r" + plain,
        "huge.csv": "Telephone;Id\n" + plain + "0612345678;" + "x" * (1 << 20) + "\n",
        "nobreak.csv": "Telephone\n" + "06" * (1 << 20),
    }
    for name, text in cases.items():
        path = _write(tmp_path, name, text.encode("utf-8"))
        for block in (64, 1 << 22):
            with patch.object(_files, "_BLOCK", block):
                got = _outcome(lambda p=path: _flat(read_number_blocks(p)))
            assert got == _outcome(lambda p=path: list(read_numbers(p))), (name, block)


# -- the merge, its digest, the rows written -------------------------------------------------


def _key_lists() -> st.SearchStrategy[list[int]]:
    keys = st.one_of(
        st.integers(33_100_000_000, 33_999_999_999),
        st.integers(33_612_345_670, 33_612_345_689),  # a narrow range: many duplicates
        st.integers(262_262_000_000, 262_262_999_999),
        st.integers(508_410_000, 508_419_999),
    )
    return st.lists(keys, max_size=300)


@settings(max_examples=300, deadline=None)
@given(_key_lists(), _key_lists())
def test_both_merges_equal_a_set_reference(listed: list[int], submitted: list[int]) -> None:
    rows = _reference_rows(listed, submitted)
    expected = [k * 2 + flag for k, flag in rows]
    n_listed = sum(flag for _, flag in rows)
    python = bloctel._merge_python(array("q", listed), array("q", submitted))
    assert (list(python[0]), python[1], python[2]) == (expected, n_listed, len(rows) - n_listed)
    numpy = pytest.importorskip("numpy")
    fast = bloctel._merge_numpy(numpy, array("q", listed), array("q", submitted))
    assert (fast[0].tolist(), fast[1], fast[2]) == (expected, n_listed, len(rows) - n_listed)
    assert bloctel.checks_digest(python[0]) == bloctel_digest(rows)
    assert bloctel.checks_digest(fast[0]) == bloctel_digest(rows)
    json = [f"[{','.join(map(str, expected[i : i + 7]))}]" for i in range(0, len(expected), 7)]
    assert list(bloctel.json_chunks(python[0], size=7)) == json
    assert list(bloctel.json_chunks(fast[0], size=7)) == json


def test_the_merges_cross_chunks_and_buckets() -> None:
    rng = random.Random(7)
    listed = [rng.randrange(33_600_000_000, 33_800_000_000) for _ in range(30_000)]
    submitted = listed[::3] + [rng.randrange(33_100_000_000, 34_000_000_000) for _ in range(50_000)]
    with patch.object(bloctel, "_CHUNK", 4096):
        python = bloctel._merge_python(array("q", listed), array("q", submitted))
        chunks = list(bloctel.json_chunks(python[0], size=1000))
    rows = _reference_rows(listed, submitted)
    assert list(python[0]) == [k * 2 + flag for k, flag in rows]
    assert ",".join(c[1:-1] for c in chunks) == ",".join(str(k * 2 + f) for k, f in rows)
    numpy = pytest.importorskip("numpy")
    with patch.object(bloctel, "_CHUNK", 4096):
        fast = bloctel._merge_numpy(numpy, array("q", listed), array("q", submitted))
    assert fast[0].tolist() == list(python[0]) and fast[1:] == python[1:]


def test_merge_empties_its_arrays_and_takes_any_iterable() -> None:
    listed, submitted = array("q", [5, 3, 5]), array("q", [3, 4])
    merged, n_listed, n_clean = bloctel.merge_checks(listed, submitted)
    assert list(merged) == [7, 8, 11] and (n_listed, n_clean) == (2, 1)
    assert not listed and not submitted
    assert list(bloctel.merge_checks(iter([1]), (2, 2))[0]) == [3, 4]
    assert list(bloctel.merge_checks([], [])[0]) == []


def test_the_digest_is_the_one_the_journal_always_wrote() -> None:
    # The text hashed is one "number,listed" line per row, as before the chunked version.
    import hashlib

    rows = [(33612345678, 1), (33612345679, 0), (262262161234, True)]
    text = "".join(f"{int(n)},{int(x)}\n" for n, x in rows)
    assert bloctel_digest(rows) == (3, hashlib.sha256(text.encode()).hexdigest())
    assert bloctel_digest([]) == (0, hashlib.sha256(b"").hexdigest())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(listed=contact_files(), submitted=contact_files(), again=st.booleans())
def test_an_import_writes_what_the_reference_predicts(
    make_guard: Any, tmp_path: Path, listed: bytes, submitted: bytes, again: bool
) -> None:
    guard: Guard = make_guard()
    at = AT + timedelta(minutes=next(_INSTANTS))  # a fresh instant per example
    paths = _write(tmp_path, "listed.csv", listed), _write(tmp_path, "submitted.csv", submitted)
    reference = ImportReport()
    try:
        keys_listed = list(_reference_keys(paths[0], reference))
        keys_submitted = list(_reference_keys(paths[1], reference))
    except ConfigurationError as exc:  # a line over the bound, a header without a phone column
        with pytest.raises(ConfigurationError) as raised:
            guard.import_bloctel(paths[0], at, submitted=paths[1])
        assert str(raised.value) == str(exc)
        return
    rows = _reference_rows(keys_listed, keys_submitted)
    earlier: list[tuple[int, int]] = []
    if again:  # an earlier import of the same instant: its rows merge, listed wins
        guard.import_bloctel(["0612345678"], at, submitted=["0751234567", "0145678901"])
        earlier = [(33612345678, 1), (33751234567, 0), (33145678901, 0)]
    report = guard.import_bloctel(paths[0], at, submitted=paths[1])
    n_listed = sum(flag for _, flag in rows)
    assert (report.listed, report.clean) == (n_listed, len(rows) - n_listed)
    assert report.rejected == reference.rejected
    stored = guard.engine.ledger.service_rows(
        "SELECT number, listed FROM bloctel_checks WHERE checked_at = ? ORDER BY number",
        (int(at.timestamp() * 1_000_000),),
    )
    merged: dict[int, int] = dict(earlier)
    for k, flag in rows:
        merged[k] = max(flag, merged.get(k, 0))
    assert [(int(n), int(x)) for n, x in stored] == sorted(merged.items())
    # The journal's digest is the one verify recomputes from the table (no rows included).
    assert guard.verify().problems == []


class _NoJson:
    """The connection of a SQLite built without the JSON functions."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def execute(self, sql: str, *args: Any) -> Any:
        import sqlite3

        if "json_each" in sql:
            raise sqlite3.OperationalError("no such table: json_each")
        return self.real.execute(sql, *args)


def test_a_sqlite_without_json_writes_the_same_rows(tmp_path: Path) -> None:
    expected = [(33145678901, 0), (33612345678, 1), (33751234567, 0)]
    rows = []
    for json in (True, False):
        guard = Guard(str(tmp_path / f"ledger-{json}.db"), professional="acme")
        ledger: Any = guard.engine.ledger
        real = ledger.conn
        if not json:
            ledger.conn = _NoJson(real)
        try:
            report = guard.import_bloctel(
                ["0612345678"], AT, submitted=["0751234567", "0145678901", "06 12 34 56 78"]
            )
        finally:
            ledger.conn = real
        assert (report.listed, report.clean) == (1, 2)
        rows.append(ledger.service_rows("SELECT number, listed FROM bloctel_checks", ()))
        assert guard.verify().ok
        guard.close()
    assert rows[0] == rows[1] == expected
