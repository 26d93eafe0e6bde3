"""Reading the number files people actually have: Bloctel returns, CRM and Excel exports.

A file is either one number a line, or a CSV (``;``, ``,`` or tab, or the delimiter an Excel
``sep=`` first line names) whose phone column is found by its header or named by the caller.
Encodings: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's « Texte Unicode »), else
Windows-1252 — what French Excel writes — else Latin-1, which decodes any byte.

Files are streamed: the encoding is detected in one pass over the bytes, then the rows are read
one record at a time, so a million-line export needs no more memory than a ten-line one.

Every record comes with the number of the physical line it starts on, so a bad line is reported,
never dropped: a line the CSV parser cannot read, or one with more or fewer fields than the
header, is still yielded, with the problem stated in :attr:`Row.problem`. Only lines with nothing
in them (blank, or only empty cells, as Excel writes below a table) are skipped, and counted.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import operator
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from typing import IO
from xml.parsers.expat import ExpatError

from ._exceptions import ConfigurationError, InvalidNumberError
from ._i18n import N_, Message, _

__all__ = [
    "CONTACT_PRESETS",
    "MAX_COLUMNS",
    "MAX_LINE",
    "MAX_XLSX_CELLS",
    "MAX_XLSX_RATIO",
    "MAX_XLSX_ROWS",
    "PHONE_HEADERS",
    "ContactFile",
    "ContactPreset",
    "Row",
    "Source",
    "Table",
    "check_input",
    "contact_preset",
    "detect_encoding",
    "excel_damage",
    "header_key",
    "invalid_reason",
    "is_output_column",
    "neutralise",
    "open_contacts",
    "parse_table",
    "read_numbers",
    "sniff_delimiter",
    "sniff_encoding",
    "text_writer",
    "with_country_code",
    "xlsx_to_csv",
]

Source = str | os.PathLike[str] | Iterable[str]

# Header names of a phone column, compared without case, accents, spaces or punctuation.
PHONE_HEADERS = (
    "telephone",
    "tel",
    "phone",
    "phonenumber",
    "mobile",
    "portable",
    "numero",
    "numerotelephone",
    "numtel",
    "number",
    "msisdn",
    "gsm",
    "cellulaire",
    "fixe",
    "contact",
    "ligne",
)
# The unambiguous ones win over the generic ones (« Numéro » is often a customer number,
# « Contact » a person's name): a header « Contact;Numéro;Téléphone » takes « Téléphone ».
_STRONG = frozenset(PHONE_HEADERS) - {"numero", "number", "contact", "ligne", "fixe"}
_STEMS = ("telephone", "phone", "mobile", "portable", "msisdn", "gsm", "cellulaire", "numtel")
# A country or dialling code beside the numbers (VICIdial's phone_code « 33 ») is no phone
# column: judged as one, each of its cells is an invalid number.
_NOT_PHONE = ("fax", "telecopie", "telex", "phonecode", "countrycode", "dialcode", "indicatif")

_CHUNK = 1 << 20

MAX_LINE = 1 << 20
"""The longest line read, in characters (1 MiB): a longer one is no contact list, and reading
it whole would let one file take all the memory."""
MAX_COLUMNS = 1000
"""The most fields a record may have."""


def header_key(header: str) -> str:
    """A header compared without case, accents, spaces or punctuation: « Téléphone » → telephone."""
    folded = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


_key = header_key


def _phone_score(key: str) -> int:
    """How surely a header names a phone column: 0 not at all … 4 certainly."""
    if not key or any(bad in key for bad in _NOT_PHONE):
        return 0
    if key in _STRONG:
        return 4
    if key.startswith(_STEMS) or (key.startswith("tel") and not key.startswith("tele")):
        return 3  # telephone1, tel_domicile, mobile_pro, phone_number_2 …
    if any(stem in key for stem in _STEMS):
        return 2  # contact_phone, numero_de_telephone, num_mobile …
    if key in PHONE_HEADERS:
        return 1
    return 0


# -- encodings -----------------------------------------------------------------------------------


def detect_encoding(raw: bytes) -> str:
    """The codec that reads ``raw``: UTF-16 (BOM), ``utf-8-sig``, ``cp1252``, else ``latin-1``."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def sniff_encoding(path: str | os.PathLike[str]) -> str:
    """The codec of a file, read in chunks: ``utf-16``, ``utf-8-sig`` (BOM), ``utf-8``,
    ``cp1252`` or ``latin-1``. The name is also the one to write a copy of the file with."""
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        bom = head.startswith(codecs.BOM_UTF8)
        for codec in ("utf-8", "cp1252"):
            f.seek(0)
            decoder = codecs.getincrementaldecoder(codec)()
            try:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return "utf-8-sig" if codec == "utf-8" and bom else codec
    return "latin-1"


def sniff_delimiter(line: str) -> str | None:
    """The delimiter of a CSV line: the most frequent of ``;``, tab, ``,`` (in that order on a
    tie), or None for a plain list."""
    counts = {d: line.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


_SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One record of a contact file."""

    line: int
    """The 1-based physical line the record starts on."""
    cells: list[str]
    """Its fields (a line the CSV parser could not read is one cell holding the raw text)."""
    value: str
    """The phone cell ("" when the row has no such cell or could not be read)."""
    problem: str | None = None
    """Why the line is suspect (unreadable, wrong number of fields), or None."""
    unreadable: bool = False
    """The CSV parser could not read the line: ``cells`` holds its raw text."""


class _Lines:
    """The physical lines of a text stream, counted, keeping the lines of the current record."""

    __slots__ = ("_it", "chars", "count", "record")

    def __init__(self, stream: Iterable[str], name: str = "<input>") -> None:
        self._it = _bounded(stream, name) if isinstance(stream, io.TextIOBase) else iter(stream)
        self.count = 0
        self.chars = 0
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.count += 1
        self.chars += len(line)
        self.record.append(line)
        return line


def _bounded(stream: io.TextIOBase, name: str) -> Iterator[str]:
    """The lines of ``stream``, refusing one longer than :data:`MAX_LINE` without reading it all."""
    count = 0
    while line := stream.readline(MAX_LINE + 1):
        count += 1
        if len(line) > MAX_LINE:
            raise ConfigurationError(_long_line(name, count))
        yield line


def _too_wide(name: str, line: int, fields: int) -> ConfigurationError:
    return ConfigurationError(
        _(
            "{file}: line {line} has {count} fields, more than the limit of {most}",
            file=name,
            line=line,
            count=fields,
            most=MAX_COLUMNS,
        )
    )


def _long_line(name: str, line: int) -> Message:
    return _(
        "{file}: line {line} is longer than {most} characters (1 MiB), the limit: not a "
        "contact file, or one whose lines lost their line breaks",
        file=name,
        line=line,
        most=MAX_LINE,
    )


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"').strip()
    return text


def _is_number(value: str) -> bool:
    from ._numbers import parse_number  # late import: _numbers pulls in phonenumbers

    try:
        parse_number(value)
    except InvalidNumberError:
        return False
    return True


@dataclass(eq=False)
class ContactFile:
    """A contact file opened for reading: its format, detected once, and its rows, streamed.

    Use :func:`open_contacts`; iterate it for the :class:`Row` of each record after the header.
    """

    name: str
    encoding: str
    delimiter: str | None
    """The CSV delimiter, or None for a plain list (one number a line)."""
    header: list[str] | None
    column: int
    """Index of the (first) phone column in each row."""
    newline: str
    """The line ending the file uses (``\\r\\n`` when it has none), to write a copy alike."""
    sep_line: str | None
    """An Excel ``sep=;`` first line, kept to be written back."""
    blank_lines: list[int] = field(default_factory=list)
    """Lines skipped because there was nothing in them (filled while iterating)."""
    _lines: _Lines | None = field(default=None, repr=False)
    _pending: list[str] | None = field(default=None, repr=False)
    _pending_line: int = field(default=0, repr=False)
    _width: int | None = field(default=None, repr=False)
    _stream: IO[str] | None = field(default=None, repr=False)
    _path: str | None = field(default=None, repr=False)
    _spool: str | None = field(default=None, repr=False)
    columns: list[int] = field(default_factory=list)
    """Indexes of every phone column (found by header, or named), ``column`` first."""

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = [self.column]

    code_column: int | None = None
    """Index of the column holding the phone columns' country code (VICIdial's
    ``phone_code``), or None: see :func:`with_country_code`."""
    shared_columns: frozenset[int] = frozenset()
    """Phone columns whose cells with a letter are no number (:attr:`ContactPreset.shared`)."""

    def number_at(self, cells: list[str], index: int) -> str:
        """The number in ``cells[index]`` (stripped; "" past the row's end), with the row's
        country code when the file has a country code column."""
        value = cells[index].strip() if index < len(cells) else ""
        if index in self.shared_columns and any(c.isalpha() for c in value):
            return ""
        code = self.code_column
        if code is not None and value and code < len(cells):
            return with_country_code(value, cells[code])
        return value

    @property
    def column_names(self) -> list[str]:
        """The phone columns' headers (``column_N`` for a file without a header)."""
        if self.header is None:
            return ["number" if self.delimiter is None else f"column_{i + 1}" for i in self.columns]
        names = [self.header[i].strip() for i in self.columns]
        # Two columns under one header (« Tél;Tél ») are told apart by their positions.
        return [
            f"{name} (column {i + 1})" if names.count(name) > 1 else name
            for name, i in zip(names, self.columns, strict=True)
        ]

    @property
    def empty(self) -> bool:
        """Nothing but blank lines (or an Excel ``sep=`` line) in the file."""
        return self._lines is None

    @property
    def chars_read(self) -> int:
        """Characters read so far (for a progress bar)."""
        return 0 if self._lines is None else self._lines.chars

    @property
    def width(self) -> int:
        """How many fields a row should have: the header's, else the first row's."""
        if self._width is not None:
            return self._width
        return len(self.header) if self.header is not None else 1

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._spool is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._spool)
            self._spool = None

    def __enter__(self) -> ContactFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _row(self, line: int, cells: list[str], extra: str = "") -> Row:
        value = self.number_at(cells, self.column)
        return Row(line, cells, value, self._width_problem(cells, extra))

    def _width_problem(self, cells: list[str], extra: str = "") -> str | None:
        width = self.width
        if self.delimiter is not None and len(cells) != width:
            what = "the header has" if self.header is not None else "the first row has"
            fields = "1 field" if len(cells) == 1 else f"{len(cells)} fields"
            return f"{fields} where {what} {width}{extra}"
        return None

    def values(self) -> Iterator[tuple[int, str]]:
        """(line, phone cell) of each row: what iterating gives, without building rows.

        Bulk imports read millions of lines: a file without any quote character is split on its
        delimiter directly (exactly what the CSV parser would do with such lines); any other
        file goes through the parser.
        """
        lines = self._lines
        if lines is None:
            return
        if self._quoted:
            for row in self:
                yield row.line, row.value
            return
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield self._pending_line, self._row(self._pending_line, pending).value
        count, col, delimiter = lines.count, self.column, self.delimiter
        try:
            for text in lines._it:
                count += 1
                if delimiter is None:
                    value = text.strip()
                    if value:
                        yield count, value
                    else:
                        self.blank_lines.append(count)
                    continue
                cells = text.rstrip("\r\n").split(delimiter)
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(self.name, count, len(cells))
                value = cells[col].strip() if col < len(cells) else ""
                if value or any(c.strip() for c in cells):
                    yield count, value
                else:
                    self.blank_lines.append(count)
        finally:
            lines.count = count

    def plain_records(self) -> Iterator[tuple[int, list[str], Row | None]] | None:
        """(line, cells, None) of each non-blank record of the expected width, and (line, cells,
        its :class:`Row`) of any other, as iterating gives them, for a delimited file without any
        quote character; None when the file needs the CSV parser.

        Such a file's lines are split on the delimiter directly (what the parser gives for
        them, as :meth:`values` does), without building a :class:`Row` per record: a call log
        has millions. A line the parser could not read either (a field over its size limit)
        comes as its raw text, the one cell, with the parser's complaint.
        """
        if self._lines is None or self.delimiter is None or self._quoted:
            return None
        return self._plain_records(self._lines, self.delimiter)

    def _plain_records(
        self, lines: _Lines, delimiter: str
    ) -> Iterator[tuple[int, list[str], Row | None]]:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield self._pending_line, pending, self._row(self._pending_line, pending)
        count, chars = lines.count, lines.chars
        limit = csv.field_size_limit()
        blank = self.blank_lines
        width = self.width
        try:
            for text in lines._it:
                count += 1
                chars += len(text)
                cells = text.rstrip("\r\n").split(delimiter)
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(self.name, count, len(cells))
                if len(text) > limit:  # the parser refuses a field this long: say it as it does
                    try:
                        cells = next(csv.reader([text], delimiter=delimiter))
                    except csv.Error as exc:
                        raw = [text.rstrip("\r\n")]
                        problem = f"unreadable CSV line ({exc})"
                        yield count, raw, Row(count, raw, "", problem, unreadable=True)
                        continue
                lines.count, lines.chars = count, chars
                if cells[0].strip() or any(c.strip() for c in cells):
                    yield count, cells, None if len(cells) == width else self._row(count, cells)
                else:
                    blank.append(count)
        finally:
            lines.count, lines.chars = count, chars

    @property
    def _quoted(self) -> bool:
        """Whether the file holds a quote character anywhere (a C-speed scan of its bytes)."""
        if self._stream is None:
            return True
        try:
            with open(self._path or self.name, "rb") as raw:
                while chunk := raw.read(1 << 20):
                    if b'"' in chunk:
                        return True
        except OSError:
            return True
        return False

    def __iter__(self) -> Iterator[Row]:
        lines = self._lines
        if lines is None:
            return
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield self._row(self._pending_line, pending)
        if self.delimiter is None:
            for text in lines:
                lines.record = []
                value = _unquote(text)
                if not value:
                    self.blank_lines.append(lines.count)
                    continue
                yield Row(lines.count, [value], value)
            return
        reader = csv.reader(lines, delimiter=self.delimiter)
        width, column, coded = self.width, self.column, self.code_column is not None
        while True:
            lines.record = []
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start = lines.count - len(lines.record) + 1
                raw = "".join(lines.record).rstrip("\r\n")
                yield Row(start, [raw], "", f"unreadable CSV line ({exc})", unreadable=True)
                continue
            start = lines.count - len(lines.record) + 1
            size = len(cells)
            if size > MAX_COLUMNS:
                raise _too_wide(self.name, start, size)
            if not "".join(cells).strip():  # every cell blank (one C-level pass, not one a cell)
                self.blank_lines.append(start)
                continue
            if size == width and coded:  # the common row: no width problem to word
                yield Row(start, cells, self.number_at(cells, column))
                continue
            if size == width:
                yield Row(start, cells, cells[column].strip() if column < size else "")
                continue
            extra = ""
            if lines.count > start and len(cells) != self.width:
                extra = f" (the record runs from line {start} to {lines.count}: an unclosed quote?)"
            yield self._row(start, cells, extra)


Columns = str | int | Sequence[str | int] | None
"""One phone column (a header name or a 1-based position), several, or None to find them."""


@dataclass(frozen=True)
class ContactPreset:
    """The phone columns of a dialer's own lead export, and its country code column."""

    name: str
    columns: tuple[str, ...]
    """The phone columns, by header; the first must be there, the others are judged when they
    are."""
    country_code: str | None = None
    """The header of the column giving the phone columns' country code (never judged)."""
    shared: tuple[str, ...] = ()
    """Phone columns that hold something else for some users (an address line): a cell with
    a letter in them is no number (its column is then not one to call), not an invalid one."""


CONTACT_PRESETS: dict[str, ContactPreset] = {
    # VICIdial's vicidial_list (its lead export has the table's columns): phone_number is the
    # number dialled, alt_phone the second one, address3 the third one the campaigns set to
    # auto_alt_dial ADDR3_ONLY or ALT_AND_ADDR3 dial; phone_code is their country code
    # (« 33 », without « + »), kept apart from the numbers, which are written without it.
    "vicidial": ContactPreset(
        "vicidial",
        ("phone_number", "alt_phone", "address3"),
        country_code="phone_code",
        shared=("address3",),
    ),
}
"""The lead exports of common dialers, for ``scrub --preset``."""


def contact_preset(name: str) -> ContactPreset:
    """The preset named ``name``; raises ``ConfigurationError`` naming the presets."""
    preset = CONTACT_PRESETS.get(name.strip().lower())
    if preset is None:
        raise ConfigurationError(
            _(
                "unknown contact-file preset {value}; the presets are: {choices}",
                value=repr(name),
                choices=", ".join(CONTACT_PRESETS),
            ),
            field="preset",
            value=name,
        )
    return preset


def _preset_columns(
    cells: list[str], preset: ContactPreset, column: Columns, name: str, line: int
) -> tuple[list[str], list[int], int | None]:
    """(header, phone column indexes, country code column index) of a preset's file."""
    keys = [header_key(c) for c in cells]
    if header_key(preset.columns[0]) not in keys:
        raise ConfigurationError(
            _(
                "{file}: no column {column}: not a {preset} lead export; line {line} has: "
                "{columns}",
                file=name,
                column=repr(preset.columns[0]),
                preset=preset.name,
                line=line,
                columns=", ".join(repr(c) for c in cells),
            )
        )
    code = None
    if preset.country_code is not None and header_key(preset.country_code) in keys:
        code = keys.index(header_key(preset.country_code))
    if column is not None and column != []:
        header, found = _locate_all(cells, column, name, line)
        return cells if header is None else header, found, code
    found = [keys.index(header_key(c)) for c in preset.columns if header_key(c) in keys]
    return cells, found, code


_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", N_("an Excel 97-2003 workbook (.xls)")),
    (b"%PDF", N_("a PDF document")),
    (b"\x1f\x8b", N_("a gzip archive")),
    (b"PK\x03\x04", N_("a ZIP archive (an .xlsx, .ods or .zip file)")),
)


def check_input(path: str | os.PathLike[str]) -> str:
    """Refuse what cannot be read as a contact file: a directory, a device, a FIFO, a socket (a
    stream that may never end, or never start), or a binary file (a workbook other than .xlsx,
    a PDF, an archive, NUL bytes). Raises ``ConfigurationError`` saying what it is; returns
    ``"xlsx"`` for an Excel workbook, ``"text"`` otherwise."""
    name = os.fspath(path)
    mode = os.stat(path).st_mode  # follows a link: reading through one is harmless
    if stat.S_ISDIR(mode):
        raise ConfigurationError(_("{file}: is a directory, not a file", file=name))
    if not stat.S_ISREG(mode):
        raise ConfigurationError(
            _(
                "{file}: not a regular file (a device, FIFO or socket); to read standard input, "
                "give - as the file name",
                file=name,
            )
        )
    with open(path, "rb") as f:
        head = f.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path, name)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ConfigurationError(_not_text(name, what))
    if b"\0" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigurationError(
            _("{file}: holds NUL bytes: binary data, not a CSV or text file", file=name)
        )
    return "text"


def _zip_kind(path: str | os.PathLike[str], name: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigurationError(
            _("{file}: is a damaged ZIP archive, not a CSV file", file=name)
        ) from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        what = N_("an OpenDocument spreadsheet (.ods): save it as .xlsx or CSV")
    else:
        what = N_("a ZIP archive")
    raise ConfigurationError(_not_text(name, what))


def _not_text(name: str, what: str) -> Message:
    return _("{file}: is {what}, not a CSV or text file", file=name, what=Message(what))


def _xlsx_text(value: object) -> str:
    """A cell as text. A number stored as a number keeps all its digits (612345678.0 is
    « 612345678 »); a date or time is ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


# -- workbooks, bounded -----------------------------------------------------------------------------
#
# An .xlsx is a ZIP of XML parts. Unpacked whole, a 200 KB workbook can hold a 200 MB cell, or a
# sheet of gigabytes: openpyxl would build it all in memory before the first row. So the parts are
# checked first, from the ZIP's own directory (zipfile never unpacks more than the size it
# declares), then the shared strings and the first sheet are streamed through expat, refusing at
# the first cell, row or column past the limits: no more is read than a CSV reader would read.

MAX_XLSX_RATIO = 100
"""The most a workbook's part may grow when unpacked (its size over its packed size). Sheets
and shared strings pack 5 to 30 times; a ZIP bomb, thousands of times."""
MAX_XLSX_ROWS = 1_048_576
"""Excel's own limit of rows in a sheet."""
MAX_XLSX_CELLS = 50_000_000
"""The most cells a sheet's rows may span (last row × last column): 1,048,576 rows of 47
columns. Reading one cell costs what reading a CSV field does; past this, minutes."""
_XLSX_SMALL = 1 << 20  # parts unpacking to less than this are not held to the ratio
_XLSX_PART = 64 << 20  # the other parts (workbook, styles, relations): read whole by openpyxl
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _too_big(name: str, what: str) -> ConfigurationError:
    return ConfigurationError(
        _("{file}: {what}: not a contact file, or a damaged or hostile one", file=name, what=what)
    )


def _parse_part(
    archive: zipfile.ZipFile,
    member: str,
    start: Callable[[str, dict[str, str]], None],
    text: Callable[[int], None] | None = None,
) -> None:
    """Stream ``member`` through expat: ``start(tag without prefix, attributes)`` for each
    element, ``text(length)`` for each piece of character data. A DTD is refused (no entity
    may expand)."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16

    def doctype(*_: object) -> None:
        raise ConfigurationError(f"{member}: a DTD, which no workbook part has")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = lambda tag, attrs: start(tag.rpartition(":")[2], attrs)
    if text is not None:
        parser.CharacterDataHandler = lambda data: text(len(data))
    with archive.open(member) as raw:
        while chunk := raw.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def _first_sheet(archive: zipfile.ZipFile, names: set[str]) -> tuple[str | None, str | None]:
    """(first worksheet part, shared strings part) as the workbook's relations name them."""
    order: list[str] = []
    targets: dict[str, tuple[str, str]] = {}

    def sheet(tag: str, attrs: dict[str, str]) -> None:
        if tag == "sheet":
            rid = attrs.get(f"{_NS_REL} id") or next(
                (v for k, v in attrs.items() if k.rpartition(":")[2] == "id"), ""
            )
            order.append(rid)

    def relation(tag: str, attrs: dict[str, str]) -> None:
        if tag == "Relationship":
            targets[attrs.get("Id", "")] = (attrs.get("Type", ""), attrs.get("Target", ""))

    if "xl/workbook.xml" in names:
        _parse_part(archive, "xl/workbook.xml", sheet)
    if "xl/_rels/workbook.xml.rels" in names:
        _parse_part(archive, "xl/_rels/workbook.xml.rels", relation)

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else "xl/" + target

    first = next(
        (part(targets[r][1]) for r in order if targets.get(r, ("", ""))[0].endswith("/worksheet")),
        None,
    )
    strings = next(
        (part(t) for kind, t in targets.values() if kind.endswith("/sharedStrings")), None
    )
    return first, strings


def _column_index(ref: str) -> int:
    """The 1-based column of a cell reference (« AB12 » → 28); 0 when it has none."""
    column = 0
    for ch in ref:
        if not ("A" <= ch <= "Z"):
            break
        column = column * 26 + ord(ch) - 64
    return column


def _xlsx_bounds(path: str | os.PathLike[str], name: str) -> tuple[int, int]:
    """Check a workbook against the limits before openpyxl reads it; (last row, last column)
    of its first sheet. Raises ``ConfigurationError`` naming the part, cell or row at fault."""
    size = os.path.getsize(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigurationError(f"{name}: is a damaged ZIP archive, not a workbook") from exc
    with archive:
        infos = archive.infolist()
        for info in infos:
            grown = info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1)
            if info.file_size > _XLSX_SMALL and grown:
                raise _too_big(
                    name, f"{info.filename} unpacks to {info.file_size} bytes from "
                    f"{info.compress_size} (more than {MAX_XLSX_RATIO} times)"
                )  # fmt: skip
        unpacked = sum(i.file_size for i in infos)
        if unpacked > _XLSX_SMALL and unpacked > MAX_XLSX_RATIO * max(size, 1):
            raise _too_big(
                name, f"its parts unpack to {unpacked} bytes from {size} (more than "
                f"{MAX_XLSX_RATIO} times)"
            )  # fmt: skip
        names = {i.filename for i in infos}
        try:
            sheet, strings = _first_sheet(archive, names)
            for info in infos:
                if info.filename not in (sheet, strings) and info.file_size > _XLSX_PART:
                    raise _too_big(
                        name, f"{info.filename} unpacks to {info.file_size} bytes, more than "
                        f"the {_XLSX_PART} a workbook's part needs"
                    )  # fmt: skip
            if strings is not None and strings in names:
                _scan_strings(archive, strings, name)
            if sheet is None or sheet not in names:
                # Never read as an empty sheet: an audit of it would find nothing wrong.
                raise ConfigurationError(
                    f"{name}: cannot find the workbook's first sheet (xl/workbook.xml and "
                    "xl/_rels/workbook.xml.rels name none): save it again from Excel, or as CSV"
                )
            return _scan_sheet(archive, sheet, name)
        except (
            zipfile.BadZipFile, EOFError, UnicodeDecodeError, ExpatError, NotImplementedError,
            RuntimeError, zlib.error,
        ) as exc:  # fmt: skip
            # A damaged or encrypted part, a compression zipfile cannot read, broken XML.
            raise ConfigurationError(f"{name}: cannot be read as a workbook: {exc}") from exc


def _scan_strings(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse a shared string longer than :data:`MAX_LINE`, at its first character past it."""
    state = [0, 0]  # strings seen, characters of the current one

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "si":
            state[0] += 1
            state[1] = 0

    def text(length: int) -> None:
        state[1] += length
        if state[1] > MAX_LINE:
            raise _too_big(
                name, f"shared string {state[0]} holds more than {MAX_LINE} characters (1 MiB), "
                "the limit of a line"
            )  # fmt: skip

    _parse_part(archive, member, start, text)


def _scan_sheet(archive: zipfile.ZipFile, member: str, name: str) -> tuple[int, int]:
    """(last row, last column) of a sheet, refusing at the first row, cell or column past the
    limits."""
    # row, column, last column, characters of the current element
    state = [0, 0, 0, 0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "row":
            state[3] = 0
            ref = attrs.get("r", "")
            row = int(ref) if ref.isdigit() and ref.isascii() else state[0] + 1
            if row > MAX_XLSX_ROWS or row <= state[0]:
                what = "past Excel's last row" if row > MAX_XLSX_ROWS else "out of order"
                raise _too_big(name, f"{member}: row {ref or row} is {what}")
            state[0], state[1] = row, 0
        elif tag == "c":
            column = _column_index(attrs.get("r", "")) or state[1] + 1
            if column > MAX_COLUMNS:
                raise _too_big(
                    name, f"{member}: row {state[0]} has a cell in column {column}, past the "
                    f"limit of {MAX_COLUMNS}"
                )  # fmt: skip
            state[1], state[3] = column, 0  # a cell's text counts whole, all its runs
            if column > state[2]:
                state[2] = column
            if state[0] * state[2] > MAX_XLSX_CELLS:
                raise _too_big(
                    name, f"{member}: {state[0]} rows of {state[2]} columns, more than the "
                    f"{MAX_XLSX_CELLS} cells a sheet may span"
                )  # fmt: skip

    def text(length: int) -> None:
        state[3] += length
        if state[3] > MAX_LINE:
            raise _too_big(
                name, f"{member}: row {state[0]} has a cell of more than {MAX_LINE} "
                "characters (1 MiB), the limit of a line"
            )  # fmt: skip

    _parse_part(archive, member, start, text)
    return state[0], state[2]


def xlsx_to_csv(path: str | os.PathLike[str], target: str) -> None:
    """Write the first sheet of an Excel workbook to ``target``: UTF-8 with BOM, ``;``, CRLF.

    The workbook is checked against the limits first (:func:`_xlsx_bounds`): a part that
    unpacks past :data:`MAX_XLSX_RATIO` times its size, a cell or shared string longer than
    :data:`MAX_LINE`, a row past Excel's last, a cell past :data:`MAX_COLUMNS` are refused,
    naming it, before openpyxl reads anything."""
    try:
        import openpyxl
    except ImportError:
        raise ConfigurationError(
            _(
                '{file}: reading .xlsx files needs openpyxl: pip install "callguard-fr[xlsx]"',
                file=os.fspath(path),
            )
        ) from None
    last_row, last_column = _xlsx_bounds(path, os.fspath(path))
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ConfigurationError(
            _("{file}: cannot be read as a workbook: {error}", file=os.fspath(path), error=str(exc))
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        with open(target, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
            width = 0  # the first row's: the cells Excel leaves empty at the end are padded
            # The bounds the sheet was checked against, not the size it declares (a
            # <dimension> of A1:XFD1048576 would make openpyxl pad every row to 16,384 cells).
            rows = (
                sheet.iter_rows(max_row=last_row, max_col=last_column, values_only=True)
                if last_row and last_column
                else iter(())
            )
            for number, row in enumerate(rows, start=1):
                cells = [_xlsx_text(v) for v in row]
                while len(cells) > width and not cells[-1]:
                    cells.pop()
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(os.fspath(path), number, len(cells))
                if not width and cells:
                    width = len(cells)
                writer.writerow(cells + [""] * (width - len(cells)) if any(cells) else [])
    finally:
        workbook.close()


def open_contacts(
    path: str | os.PathLike[str],
    *,
    column: Columns = None,
    headerless: bool = False,
    preset: str | None = None,
) -> ContactFile:
    """Open a contact file: detect its encoding, delimiter, header and phone columns.

    ``column`` names the phone column by its header (compared without case or accents) or by
    its 1-based position (an int, or a string of digits: for files without a header), or names
    several in a list. Without it the columns are found by their headers (téléphone, tel,
    phone, mobile, numéro, msisdn…: every column whose header surely names a phone, as
    « Tél. domicile;Tél. portable », else the one generic name such as « Numéro »), never a
    ``callguard_*`` column a previous scrub added; a file without a header takes the first
    cell of its first row that is a phone number. ``headerless`` says the first line is a row
    (a file with a fixed column order, such as Asterisk's ``Master.csv``). ``preset`` names a
    dialer's lead export (:data:`CONTACT_PRESETS`: ``vicidial``), whose phone columns and
    country code column are known; ``column`` still chooses among them.
    Raises ``ConfigurationError`` when the column cannot be found, ``OSError`` when the file
    cannot be read.
    """
    chosen = contact_preset(preset) if preset is not None else None
    spool: str | None = None
    if check_input(path) == "xlsx":
        # The first sheet, as text, in a temporary CSV read like any other.
        fd, spool = tempfile.mkstemp(prefix="callguard-", suffix=".csv")
        os.close(fd)
        try:
            xlsx_to_csv(path, spool)
        except BaseException:
            os.unlink(spool)
            raise
    readable = spool if spool is not None else path
    try:
        encoding = sniff_encoding(readable)
        stream = open(readable, encoding=encoding, errors="replace", newline="")  # noqa: SIM115
    except BaseException:
        if spool is not None:
            os.unlink(spool)
        raise
    try:
        cf = _open(stream, os.fspath(path), encoding, column, headerless, chosen)
    except BaseException:
        stream.close()
        if spool is not None:
            os.unlink(spool)
        raise
    cf._path, cf._spool = os.fspath(readable), spool
    return cf


def _open(
    stream: IO[str],
    name: str,
    encoding: str,
    column: Columns,
    headerless: bool = False,
    preset: ContactPreset | None = None,
) -> ContactFile:
    lines = _Lines(stream, name)
    blank: list[int] = []
    sep_line: str | None = None
    forced: str | None = None
    first: str | None = None
    for text in lines:
        if not text.strip():
            blank.append(lines.count)
            continue
        if sep_line is None and forced is None and lines.count - len(blank) == 1:
            match = _SEP_LINE.match(text)
            if match is not None:
                sep_line, forced = text.rstrip("\r\n"), match.group(1)
                continue
        first = text
        break
    newline = "\r\n"
    if first is not None and first.endswith("\n") and not first.endswith("\r\n"):
        newline = "\n"
    if first is None:
        return ContactFile(name, encoding, forced, None, 0, newline, sep_line, blank, None,
                           _stream=stream)  # fmt: skip
    first_line = lines.count
    delimiter = forced if forced is not None else sniff_delimiter(first)
    if delimiter is None:
        cells = [_unquote(first)]
    else:
        lines.record = [first]
        try:
            cells = next(csv.reader(itertools.chain([first], lines), delimiter=delimiter))
        except csv.Error as exc:
            raise ConfigurationError(
                _(
                    "{file}: line {line} cannot be read: {error}",
                    file=name,
                    line=first_line,
                    error=str(exc),
                )
            ) from exc
    if len(cells) > MAX_COLUMNS:
        raise _too_wide(name, first_line, len(cells))
    code: int | None = None
    shared: frozenset[int] = frozenset()
    if headerless:
        header, cols = None, [0]
    elif preset is not None:
        header, cols, code = _preset_columns(cells, preset, column, name, first_line)
        keys = [header_key(c) for c in header]
        shared = frozenset(keys.index(k) for k in map(header_key, preset.shared) if k in keys)
    else:
        header, cols = _locate_all(cells, column, name, first_line)
    lines.record = []
    cf = ContactFile(name, encoding, delimiter, header, cols[0], newline, sep_line, blank, lines,
                     _stream=stream, columns=cols, code_column=code,
                     shared_columns=shared)  # fmt: skip
    if header is None:
        cf._pending, cf._pending_line, cf._width = cells, first_line, len(cells)
    return cf


def is_output_column(header: str) -> bool:
    """A column a scrub added (``callguard_allowed``, ``callguard_number (Tél. portable)``…)."""
    return header.strip().lower().startswith("callguard_")


def _locate_all(
    cells: list[str], column: Columns, name: str, line: int
) -> tuple[list[str] | None, list[int]]:
    """(header or None, phone column indexes) from the first record."""
    if isinstance(column, (list, tuple)):
        if not column:
            column = None
        else:
            header: list[str] | None = None
            found: list[int] = []
            for one in column:
                h, i = _locate(cells, one, name, line)
                header = header if header is not None else h
                if i not in found:
                    found.append(i)
            return header, found
    if column is not None:
        h, i = _locate(cells, column, name, line)  # type: ignore[arg-type]
        return h, [i]
    h, i = _locate(cells, None, name, line)
    if h is None:
        return h, [i]
    scores = [0 if is_output_column(c) else _phone_score(header_key(c)) for c in cells]
    if scores[i] < 2:
        return h, [i]
    return h, [j for j, score in enumerate(scores) if score >= 2]


def _locate(
    cells: list[str], column: str | int | None, name: str, line: int
) -> tuple[list[str] | None, int]:
    """(header or None, phone column index) from the first record."""
    keys = [header_key(c) for c in cells]
    scores = [
        0 if is_output_column(c) else _phone_score(k) for c, k in zip(cells, keys, strict=True)
    ]
    shown = ", ".join(repr(c) for c in cells)
    has_digit = any(ch.isdigit() for c in cells for ch in c)
    looks_like_header = max(scores) > 0 or not has_digit
    position: int | None = None
    if isinstance(column, int) or (isinstance(column, str) and column.strip().isdigit()):
        position = int(column) - 1
        if position < 0:
            raise ConfigurationError(
                _("column positions start at 1, not {value}", value=repr(column)),
                field="column",
                value=column,
            )
    elif column is not None:
        wanted = header_key(column)
        if wanted not in keys:
            raise ConfigurationError(
                _(
                    "{file}: no column named {column}; line {line} has: {columns}",
                    file=name,
                    column=repr(column),
                    line=line,
                    columns=shown,
                ),
                field="column",
                value=column,
            )
        return cells, keys.index(wanted)
    if position is not None:
        header = cells if looks_like_header else None
        if position >= len(cells):
            raise ConfigurationError(
                _(
                    "{file}: column {position} does not exist; line {line} has {count} field(s): "
                    "{columns}",
                    file=name,
                    position=position + 1,
                    line=line,
                    count=len(cells),
                    columns=shown,
                ),
                field="column",
                value=column,
            )
        return header, position
    best = max(scores)
    if best > 0:
        return cells, scores.index(best)
    if not has_digit:
        if len(cells) == 1:
            return cells, 0  # a one-column list under a title
        raise ConfigurationError(
            _(
                "{file}: cannot find the phone column in the header {columns}; name it with "
                "--column (a header name, or a position from 1)",
                file=name,
                columns=shown,
            )
        )
    if len(cells) == 1:
        return None, 0
    for i, cell in enumerate(cells):
        if _is_number(cell):
            return None, i
    raise ConfigurationError(
        _(
            "{file}: line {line} is neither a header naming a phone column nor a row with a phone "
            "number ({columns}); name the column with --column (a header name, or a position from "
            "1)",
            file=name,
            line=line,
            columns=shown,
        )
    )


def with_country_code(number: str, code: str) -> str:
    """A number as written beside its country code (VICIdial's ``phone_code``): one written
    with its own international prefix (``+``, ``00``) as it is, any other with the code in
    front, its leading trunk 0 dropped by the parser (``612345678`` or ``0612345678`` with
    ``33`` is +33 6 12 34 56 78). Without a code, the number as written. A code that is not one
    to four digits is kept in front, so that the number is refused naming it, never read as
    French by default."""
    number, code = number.strip(), code.strip().lstrip("+")
    if not code or not number or number.startswith(("+", "00")):
        return number
    if code.isdigit() and len(code) <= 4 and code.isascii():
        return f"+{code}{number}"
    return f"+{code} {number}"


# Excel shows a long number it stores as a number in scientific notation, and a CSV saved from
# it keeps that text: « 3.36123E+10 », or « 6,12346E+08 » in French. The digits past the sixth
# are gone for good.
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+")


def excel_damage(value: str) -> str | None:
    """Why ``value`` cannot be recovered when Excel turned it into scientific notation, else None."""
    if _SCIENTIFIC.fullmatch(value.strip()) is None:
        return None
    return str(excel_damage_message(value))


def excel_damage_message(value: str) -> Message | None:
    """:func:`excel_damage` as a message of the catalog."""
    if _SCIENTIFIC.fullmatch(value.strip()) is None:
        return None
    return _(
        "{value} is Excel's scientific notation: the number lost its last digits and cannot "
        "be recovered (format the column as Text in Excel before saving the CSV)",
        value=repr(value.strip()),
    )


def invalid_reason(value: str, reason: str) -> str:
    """The reason a value is not a number, naming Excel's scientific notation when it is that."""
    return excel_damage(value) or reason


def invalid_why(value: str, reason: Message) -> Message:
    """:func:`invalid_reason` as a message of the catalog."""
    return excel_damage_message(value) or reason


# -- writing -------------------------------------------------------------------------------------

_HARMLESS = re.compile(r"[+\-]?[0-9 .()/\-]*")


def neutralise(cell: str) -> str:
    """Quote a cell a spreadsheet would run as a formula (OWASP « CSV injection »).

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    ``'``, except when it holds only digits, spaces and ``+ - . / ( )``: such a cell cannot call
    a function, open a link or start a program, and ``+33 6 12 34 56 78`` is a phone number that
    must reach the dialer as written.
    """
    if cell and cell[0] in "=+-@\t\r" and _HARMLESS.fullmatch(cell) is None:
        return "'" + cell
    return cell


# -- in-memory text and simple forms ---------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A decoded file: its header (None for a plain list), delimiter, and phone column index."""

    header: list[str] | None
    delimiter: str | None
    column: int
    rows: Iterator[tuple[int, list[str]]]


def parse_table(text: str, *, column: str | None = None, name: str = "<input>") -> Table:
    """:func:`open_contacts` for text already in memory."""
    cf = _open(io.StringIO(text, newline=""), name, "utf-8", column)
    return Table(cf.header, cf.delimiter, cf.column, ((r.line, r.cells) for r in cf))


def read_numbers(source: Source, *, column: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, raw value) for each number in a file path or an iterable of strings.

    A row without a readable phone cell yields "" (which no number parser accepts), so the
    caller reports it with its line number rather than losing it.
    """
    if isinstance(source, (str, os.PathLike)):
        with open_contacts(source, column=column) as cf:
            yield from cf.values()
        return
    if isinstance(source, (bytes, io.IOBase)):
        raise ConfigurationError(_("pass a file path or an iterable of strings, not a file object"))
    for number, value in enumerate(source, start=1):
        yield number, value if isinstance(value, str) else repr(value)


# -- the block reader (Bloctel imports) -----------------------------------------------------------
#
# A Bloctel return has millions of lines; reading them one by one through a text stream is a fifth
# of an import. The block reader reads the bytes in 1 MiB blocks and splits them with a handful
# of C-level calls per block, for the files that can be read that way exactly as
# ContactFile.values() reads them: no quote character, ASCII, lines ending in \n or \r\n, none
# near the column or length limits. From the first block that is not such a block on, the rest
# of the file is read as text by the same rules as values(), so the lines, their numbers and
# the errors are the same whatever the path. tests/test_import_pipeline.py holds them equal.

_BLOCK = 1 << 20
_ODD_BYTES = (b"\x1c", b"\x1d", b"\x1e", b"\x1f")  # whitespace to str.strip, not to bytes.strip
_FAST_LINE = 1000  # longer lines (perhaps past MAX_COLUMNS fields) are read as text


NumberBlock = tuple[Sequence[int], list[str]]
"""(line numbers, phone values) of a block of records, in file order; blank lines left out."""


def read_number_blocks(source: Source, *, column: str | None = None) -> Iterator[NumberBlock]:
    """What :func:`read_numbers` yields, a block of records at a time.

    A file without quotes is read in large blocks of bytes; any other source or file is read
    by :func:`read_numbers` and grouped.
    """
    if isinstance(source, (str, os.PathLike)):
        with open_contacts(source, column=column) as cf:
            yield from _contact_blocks(cf)
        return
    pairs = read_numbers(source, column=column)
    while chunk := list(itertools.islice(pairs, 1 << 16)):
        yield [line for line, _ in chunk], [value for _, value in chunk]


def _contact_blocks(cf: ContactFile) -> Iterator[NumberBlock]:
    lines = cf._lines
    if lines is None:
        return
    if cf._spool is not None or cf.encoding == "utf-16" or cf._quoted:
        pairs = cf.values()
        while chunk := list(itertools.islice(pairs, 1 << 16)):
            yield [line for line, _ in chunk], [value for _, value in chunk]
        return
    if cf._pending is not None:
        pending, cf._pending = cf._pending, None
        yield [cf._pending_line], [cf._row(cf._pending_line, pending).value]
    path, count = cf._path or cf.name, lines.count
    with open(path, "rb") as raw:
        offset = _skip_lines(raw, count)
        if offset is None:  # the first lines hold a lone \r: count them as text does
            yield from _text_blocks(cf, path, 0, count, 0)
            return
        raw.seek(offset)
        carry = b""
        while True:
            block = raw.read(_BLOCK)
            data = carry + block
            if not data:
                return
            end = data.rfind(b"\n") + 1 if block else len(data)
            body, carry = data[:end], data[end:]
            if body:
                parsed = _fast_block(body, count, cf, final=not block)
                if parsed is None:  # not a plain ASCII block: the rest is read as text
                    yield from _text_blocks(cf, path, offset, 0, count)
                    return
                offset += len(body)
                count += parsed[0]
                if parsed[1][1]:
                    yield parsed[1]
            if not block:
                return
            if len(carry) > _FAST_LINE:  # a long line: text reading bounds it
                yield from _text_blocks(cf, path, offset, 0, count)
                return


def _skip_lines(raw: IO[bytes], count: int) -> int | None:
    """The byte offset after the first ``count`` lines, or None if they hold a lone \r."""
    offset, seen = 0, 0
    while seen < count:
        data = raw.read(_BLOCK)
        if not data:
            break
        pos = 0
        while seen < count:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            seen += 1
            pos = nl + 1
        head = data[:pos] if seen == count else data
        if head.count(b"\r") != head.count(b"\r\n") or (seen < count and data.endswith(b"\r")):
            return None
        offset += pos if seen == count else len(data)
    if seen < count:
        return None
    return offset


def _fast_block(
    body: bytes, count: int, cf: ContactFile, *, final: bool
) -> tuple[int, NumberBlock] | None:
    """(physical lines, block) for a plain block of whole lines; None for one read as text."""
    if not body.isascii() or any(odd in body for odd in _ODD_BYTES):
        return None
    crs = body.count(b"\r")
    if crs and crs != body.count(b"\r\n") + (1 if final and body.endswith(b"\r") else 0):
        return None
    text = body.decode("ascii")
    rows = text.split("\n")
    if rows[-1] == "":
        rows.pop()
    if max(map(len, rows)) > _FAST_LINE:
        return None
    delimiter, col = cf.delimiter, cf.column
    if delimiter is None:
        values = list(map(str.strip, rows))
    elif col == 0:
        values = list(
            map(str.strip, map(_first, map(str.partition, rows, itertools.repeat(delimiter))))
        )
    else:
        return None
    first = count + 1
    if all(values):
        return len(rows), (range(first, first + len(rows)), values)
    kept_lines: list[int] = []
    kept: list[str] = []
    for i, value in enumerate(values):
        if value or (delimiter is not None and any(c.strip() for c in rows[i].split(delimiter))):
            kept_lines.append(first + i)
            kept.append(value)
        else:
            cf.blank_lines.append(first + i)
    return len(rows), (kept_lines, kept)


_first = operator.itemgetter(0)


def _text_blocks(
    cf: ContactFile, path: str, offset: int, skip: int, count: int
) -> Iterator[NumberBlock]:
    """The rest of the file from ``offset`` (``skip`` lines further on, ``count`` lines before
    it), read line by line exactly as values() reads it."""
    encoding = "utf-8" if cf.encoding == "utf-8-sig" and offset else cf.encoding
    col, delimiter = cf.column, cf.delimiter
    numbers: list[int] = []
    values: list[str] = []
    with open(path, "rb") as raw:
        raw.seek(offset)
        stream = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        while text := stream.readline(MAX_LINE + 1):
            count += 1
            if len(text) > MAX_LINE:
                raise ConfigurationError(_long_line(cf.name, count))
            if skip:
                skip -= 1
                continue
            if delimiter is None:
                value = text.strip()
                keep = bool(value)
            else:
                cells = text.rstrip("\r\n").split(delimiter)
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(cf.name, count, len(cells))
                value = cells[col].strip() if col < len(cells) else ""
                keep = bool(value) or any(c.strip() for c in cells)
            if not keep:
                cf.blank_lines.append(count)
                continue
            numbers.append(count)
            values.append(value)
            if len(values) >= 1 << 16:
                yield numbers, values
                numbers, values = [], []
    if values:
        yield numbers, values


def text_writer(binary: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """A text stream writing ``encoding`` to ``binary``, line endings untouched (for csv)."""
    return io.TextIOWrapper(binary, encoding=encoding, newline="", write_through=False)


def file_size(path: str | os.PathLike[str]) -> int:
    return Path(path).stat().st_size
