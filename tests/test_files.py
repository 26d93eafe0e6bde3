"""Reading real contact files: encodings, delimiters, headers, bad and blank lines."""

from __future__ import annotations

import codecs
import csv
import io
import os
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from callguard import ConfigurationError
from callguard._files import (
    MAX_COLUMNS,
    MAX_LINE,
    _open,
    detect_encoding,
    neutralise,
    open_contacts,
    parse_table,
    read_numbers,
    sniff_encoding,
)

DATA = Path(__file__).parent / "data"


def rows(path: Path, **kw: object) -> list[tuple[int, str, str | None]]:
    with open_contacts(path, **kw) as cf:  # type: ignore[arg-type]
        return [(r.line, r.value, r.problem) for r in cf]


# -- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("contacts_excel_cp1252.csv", "cp1252"),
        ("contacts_utf8_bom_comma.csv", "utf-8-sig"),
        ("contacts_utf16_tab.txt", "utf-16"),
        ("contacts_latin1_tab.tsv", "latin-1"),
        ("numbers_plain.txt", "utf-8"),
        ("header_only.csv", "cp1252"),
        ("empty.csv", "utf-8"),
    ],
)
def test_encoding_is_detected(name: str, encoding: str) -> None:
    assert sniff_encoding(DATA / name) == encoding


def test_accents_survive_each_encoding() -> None:
    with open_contacts(DATA / "contacts_excel_cp1252.csv") as cf:
        assert cf.header is not None and cf.header[3] == "Téléphone"
        assert next(iter(cf)).cells[2] == "Élodie"
    with open_contacts(DATA / "contacts_utf8_bom_comma.csv") as cf:
        assert cf.header is not None and cf.header[0] == "id"  # the BOM is not in the header
        assert next(iter(cf)).cells[1] == "Zoë"
    with open_contacts(DATA / "contacts_utf16_tab.txt") as cf:
        assert next(iter(cf)).cells[0] == "Émile"
    with open_contacts(DATA / "contacts_latin1_tab.tsv") as cf:
        assert next(iter(cf)).cells[0] == "Müller\x81"


def test_cp1252_byte_late_in_a_large_file_is_found(tmp_path: Path) -> None:
    # The encoding is decided on the whole file, not on its first kilobytes.
    path = tmp_path / "late.csv"
    body = "Nom;Téléphone\n" + "x;0612345678\n" * 200_000 + "Zoé;0612345678\n"
    path.write_bytes(body.encode("cp1252"))
    assert sniff_encoding(path) == "cp1252"
    with open_contacts(path) as cf:
        last = list(cf)[-1]
    assert last.cells[0] == "Zoé" and last.line == 200_002


def test_detect_encoding_on_bytes() -> None:
    assert detect_encoding("é".encode()) == "utf-8-sig"
    assert detect_encoding("é".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"\x81") == "latin-1"
    assert detect_encoding(codecs.BOM_UTF16_LE + "a".encode("utf-16-le")) == "utf-16"


# -- delimiters and headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "delimiter", "column"),
    [
        ("contacts_excel_cp1252.csv", ";", 3),
        ("contacts_utf8_bom_comma.csv", ",", 3),
        ("contacts_utf16_tab.txt", "\t", 1),
        ("contacts_latin1_tab.tsv", "\t", 1),
        ("numbers_plain.txt", None, 0),
    ],
)
def test_delimiter_and_phone_column(name: str, delimiter: str | None, column: int) -> None:
    with open_contacts(DATA / name) as cf:
        assert (cf.delimiter, cf.column) == (delimiter, column)


def test_excel_sep_line_sets_the_delimiter_and_is_kept() -> None:
    with open_contacts(DATA / "contacts_excel_cp1252.csv") as cf:
        assert cf.sep_line == "sep=;" and cf.newline == "\r\n"


@pytest.mark.parametrize(
    "header",
    ["Téléphone", "TELEPHONE", "tel", "Tél.", "phone", "Phone Number", "mobile", "Portable",
     "numéro", "MSISDN", "GSM", "tel_domicile", "contact_phone", "N° de téléphone"],
)  # fmt: skip
def test_phone_header_names(header: str) -> None:
    table = parse_table(f"Nom;{header};Ville\nA;0612345678;Paris\n")
    assert table.column == 1, header


def test_specific_header_wins_over_generic_and_fax_is_not_a_phone() -> None:
    assert parse_table("Contact;Numéro;Fax;Téléphone\na;1;0145;0612345678\n").column == 3
    assert parse_table("Télécopie;Tel\n0145678901;0612345678\n").column == 1


def test_column_by_name_or_position() -> None:
    text = "Nom;Fixe;Portable\nA;0145678901;0612345678\n"
    assert parse_table(text, column="fixe").column == 1
    assert parse_table(text, column="PORTABLE").column == 2
    assert parse_table(text, column="2").column == 1
    headerless = "A;0145678901;0612345678\n"
    table = parse_table(headerless, column="3")
    assert table.header is None and table.column == 2
    assert [cells for _, cells in table.rows] == [["A", "0145678901", "0612345678"]]


def test_unknown_column_names_the_header() -> None:
    with pytest.raises(ConfigurationError, match=r"no column named 'gsm'.*'Nom', 'Tel'"):
        parse_table("Nom;Tel\nA;0612345678\n", column="gsm")
    with pytest.raises(ConfigurationError, match="column 5 does not exist"):
        parse_table("Nom;Tel\nA;0612345678\n", column="5")


def test_header_without_phone_column_asks_for_column() -> None:
    with pytest.raises(ConfigurationError, match=r"cannot find the phone column.*--column"):
        parse_table("Nom;Ville\nA;0612345678\n")


def test_headerless_csv_takes_the_first_cell_that_is_a_number() -> None:
    table = parse_table("Dupont;75001;06 12 34 56 78\nMartin;69001;0698765432\n")
    assert table.header is None and table.column == 2
    with open_contacts(DATA / "contacts_latin1_tab.tsv") as cf:
        assert [r.line for r in cf] == [1, 2]  # the first line is a row, not a header


def test_headerless_csv_without_any_number_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="line 1 is neither a header"):
        parse_table("Dupont;75001;abc\n")


# -- line numbers, bad lines, blank lines ------------------------------------------------------------


def test_line_numbers_are_physical_lines() -> None:
    # sep= line, header, rows; a quoted address spans lines 4-5; a row of empty cells on line 6.
    got = rows(DATA / "contacts_excel_cp1252.csv")
    assert [line for line, _, _ in got] == [3, 4, 7, 8, 9]
    with open_contacts(DATA / "contacts_excel_cp1252.csv") as cf:
        list(cf)
        assert cf.blank_lines == [6]


def test_wrong_field_counts_are_reported_not_dropped() -> None:
    text = "Nom;Tel;Ville\nA;0612345678\nB;0698765432;Lyon;extra\nC;0781234567;X\n"
    assert [line for line, _ in parse_table(text).rows] == [2, 3, 4]
    problems = [r.problem for r in _open(io.StringIO(text, newline=""), "t", "utf-8", None)]
    assert problems == ["2 fields where the header has 3", "4 fields where the header has 3", None]


def test_unclosed_quote_is_reported_with_its_span() -> None:
    text = 'Nom;Tel\n"Dupont;0612345678\nMartin;0698765432\n'
    cf = _open(io.StringIO(text, newline=""), "t", "utf-8", None)
    (row,) = list(cf)
    assert row.line == 2
    assert row.problem is not None and "runs from line 2 to 3" in row.problem


def test_unreadable_line_is_yielded_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "Nom;Tel\n" + "x" * (csv.field_size_limit() + 10) + ";0612345678\nB;0698765432\n"
    )
    with open_contacts(path) as cf:
        got = list(cf)
    assert [r.line for r in got] == [2, 3]
    assert got[0].unreadable and got[0].value == "" and "unreadable" in (got[0].problem or "")
    assert got[1].value == "0698765432"


def test_plain_list_keeps_bad_lines_and_unquotes() -> None:
    assert rows(DATA / "numbers_plain.txt") == [
        (1, "06 12 34 56 78", None),
        (3, "+33698765432", None),
        (4, "0033 7 81 23 45 67", None),
        (5, "not a number", None),
        (6, "06.12.00.00.01", None),
    ]


def test_plain_list_under_a_title() -> None:
    table = parse_table("Numéros à appeler\n0612345678\n")
    assert table.header == ["Numéros à appeler"]
    assert list(table.rows) == [(2, ["0612345678"])]


def test_empty_and_header_only_files() -> None:
    with open_contacts(DATA / "empty.csv") as cf:
        assert cf.empty and list(cf) == []
    with open_contacts(DATA / "header_only.csv") as cf:
        assert not cf.empty and cf.header == ["Nom", "Téléphone"] and list(cf) == []


def test_read_numbers_reports_every_line() -> None:
    got = list(read_numbers(DATA / "bloctel_return.csv"))
    assert got == [(2, "0612345678"), (3, "0781234567"), (4, "0000")]
    assert list(read_numbers(["0612345678", "x"])) == [(1, "0612345678"), (2, "x")]
    with pytest.raises(ConfigurationError):
        list(read_numbers(b"0612345678"))  # type: ignore[arg-type]


def test_import_bloctel_reads_the_return_file_with_its_line_numbers() -> None:
    from callguard import Guard
    from conftest import paris

    with Guard(":memory:") as guard:
        report = guard.import_bloctel(DATA / "bloctel_return.csv", paris(2025, 11, 20))
    assert report.listed == 2
    assert [(r.line, r.value) for r in report.rejected] == [(4, "0000")]


# -- formulas ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("+33612345678", "+33612345678"),
        ("+33 (0)6.12.34.56.78", "+33 (0)6.12.34.56.78"),
        ("-12", "-12"),
        ("Dupont", "Dupont"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, written: str) -> None:
    assert neutralise(cell) == written


# -- the fast path for bulk imports -------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "Telephone;Identifiant\r\n0612345678;A\r\n\r\n;;\r\n0698765432\r\n 0145 ;B;extra\r\n",
        "0612345678\n\n 0698765432 \n0145\n",
        "nom,tel\nDupont,06 12 34 56 78\nMartin,\n,\nDurand,+33698765432\n",
        "sep=;\nTéléphone;Nom\n06.12.34.56.78;Zoé\n",
        'Telephone;Nom\n"0612345678";"A ; B"\n0698765432;C\n',
    ],
    ids=["bloctel-crlf", "plain", "comma", "sep-line", "quoted"],
)
def test_values_match_the_rows(tmp_path: Path, content: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content.encode("utf-8"))
    with open_contacts(path) as cf:
        rows = [(r.line, r.value) for r in cf]
        blank = cf.blank_lines
    with open_contacts(path) as cf:
        values = list(cf.values())
        assert cf.blank_lines == blank
    assert values == rows


# -- inputs refused or bounded ----------------------------------------------------------------------


def test_non_regular_inputs_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it would block until a writer comes: it must not be opened
    with pytest.raises(ConfigurationError, match=r"not a regular file .*give - "):
        open_contacts(fifo)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        open_contacts("/dev/zero")
    with pytest.raises(ConfigurationError, match="is a directory"):
        open_contacts(tmp_path)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "a damaged ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003 workbook"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"Tel\n06\x0012\n", "NUL bytes"),
    ],
)
def test_binary_files_are_refused_saying_what_they_are(
    tmp_path: Path, content: bytes, what: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=what):
        open_contacts(path)


def test_a_header_of_five_million_columns_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Tel" + ";x" * 5_000_000 + "\n0612345678\n")
    tracemalloc.start()
    try:
        with pytest.raises(ConfigurationError, match=r"line 1 is longer than 1048576 characters"):
            open_contacts(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MAX_LINE  # never the whole 10 MB line, let alone its 5 million cells


def test_columns_per_row_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Tel;" + ";".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\n0612345678\n")
    with pytest.raises(ConfigurationError, match=f"line 1 has {MAX_COLUMNS + 1} fields, more "
                       f"than the limit of {MAX_COLUMNS}"):  # fmt: skip
        open_contacts(path)
    path.write_text("Tel;Nom\n0612345678;a\n0612345679" + ";" * MAX_COLUMNS + "\n")
    for quoted in (False, True):
        if quoted:
            path.write_text('Tel;Nom\n0612345678;"a"\n0612345679' + ";" * MAX_COLUMNS + "\n")
        with open_contacts(path) as cf, pytest.raises(ConfigurationError, match="line 3 has"):
            list(cf.values())
    with open_contacts(path) as cf, pytest.raises(ConfigurationError, match="line 3 has"):
        list(cf)


def test_a_long_line_later_in_the_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("Tel\n0612345678\n" + "0" * (MAX_LINE + 10) + "\n")
    with open_contacts(path) as cf, pytest.raises(ConfigurationError, match="line 3 is longer"):
        list(cf.values())


# -- spreadsheets ----------------------------------------------------------------------------------


def test_xlsx_first_sheet_as_text(tmp_path: Path) -> None:
    with open_contacts(DATA / "contacts.xlsx") as cf:
        assert cf.header == ["Nom", "Téléphone", "Mobile", "Inscrit le"]
        assert cf.column_names == ["Téléphone", "Mobile"]
        got = [r.cells for r in cf]
        spool = cf._path
        assert spool is not None and os.path.exists(spool)
    assert not os.path.exists(spool)  # the temporary copy goes with the file
    assert got == [
        ["Dupré", "612345678", "06 98 76 54 32", "2025-03-01T09:30:00"],  # digits kept
        ["Martin", "33781234567", "", "2025-04-02T00:00:00"],
        ["Abîmé", "33612300000", "", ""],  # a number: no scientific notation; padded to the header
    ]


def test_xlsx_needs_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ConfigurationError, match=r'pip install "callguard-fr\[xlsx\]"'):
        open_contacts(DATA / "contacts.xlsx")


def test_ods_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    with pytest.raises(ConfigurationError, match=r"OpenDocument spreadsheet \(\.ods\)"):
        open_contacts(path)
