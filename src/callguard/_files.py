"""Reading the number files people actually have: Bloctel returns, CRM and Excel exports.

A file is either one number a line, or a CSV (``;``, ``,`` or tab) whose phone column is found by
its header. Encodings: UTF-8 (with or without BOM), else Windows-1252 — what French Excel writes.
Every line is yielded with its 1-based line number, so a bad line can be reported, never dropped.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._exceptions import ConfigurationError

__all__ = ["PHONE_HEADERS", "Source", "detect_encoding", "open_numbers", "read_numbers"]

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


def _key(header: str) -> str:
    folded = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


def detect_encoding(raw: bytes) -> str:
    """``utf-8-sig`` when the bytes decode as UTF-8, else ``cp1252`` (French Excel), else latin-1."""
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


def sniff_delimiter(line: str) -> str | None:
    counts = {d: line.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


@dataclass(frozen=True)
class Table:
    """A decoded file: its header (None for a plain list), delimiter, and phone column index."""

    header: list[str] | None
    delimiter: str | None
    column: int
    rows: Iterator[tuple[int, list[str]]]


def open_numbers(path: str | os.PathLike[str], *, column: str | None = None) -> Table:
    """Decode ``path`` and locate its phone column (by header, or ``column`` by name)."""
    raw = Path(path).read_bytes()
    text = raw.decode(detect_encoding(raw))
    return parse_table(text, column=column, name=os.fspath(path))


def parse_table(text: str, *, column: str | None = None, name: str = "<input>") -> Table:
    lines = text.splitlines()
    first_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_index is None:
        return Table(None, None, 0, iter(()))
    delimiter = sniff_delimiter(lines[first_index])
    if delimiter is None:
        cells_first = [lines[first_index].strip()]
    else:
        cells_first = next(csv.reader([lines[first_index]], delimiter=delimiter))
    keys = [_key(c) for c in cells_first]
    header: list[str] | None = None
    col = 0
    if column is not None:
        wanted = _key(column)
        if wanted not in keys:
            raise ConfigurationError(
                f"{name}: no column named {column!r}; the header has: "
                + ", ".join(repr(c) for c in cells_first)
            )
        header, col = cells_first, keys.index(wanted)
    else:
        for i, k in enumerate(keys):
            if k in PHONE_HEADERS or any(k.startswith(h) for h in ("telephone", "phone", "tel")):
                header, col = cells_first, i
                break
        else:
            if not any(ch.isdigit() for ch in lines[first_index]):
                # A header with no phone-like column: refuse rather than guess.
                raise ConfigurationError(
                    f"{name}: cannot find the phone column in the header "
                    + ", ".join(repr(c) for c in cells_first)
                    + "; name it with --column"
                )
    start = first_index + 1 if header is not None else first_index

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, line in enumerate(lines[start:], start=start + 1):
            if not line.strip():
                continue
            if delimiter is None:
                yield number, [line.strip()]
            else:
                yield number, next(csv.reader([line], delimiter=delimiter))

    return Table(header, delimiter, col, rows())


def read_numbers(source: Source, *, column: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, raw value) for each number in a file path or an iterable of strings."""
    if isinstance(source, (str, os.PathLike)):
        table = open_numbers(source, column=column)
        for number, cells in table.rows:
            yield number, cells[table.column] if table.column < len(cells) else ""
        return
    if isinstance(source, (bytes, io.IOBase)):
        raise ConfigurationError("pass a file path or an iterable of strings, not a file object")
    for number, value in enumerate(source, start=1):
        yield number, value if isinstance(value, str) else repr(value)
