"""Workbooks are read within the limits a CSV is: hostile .xlsx files are refused early, by name,
in bounded time and memory (a safety property, so its bounds are generous: 5 s, 200 MB)."""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from callguard import ConfigurationError
from callguard._files import MAX_LINE, open_contacts

pytest.importorskip("openpyxl")

_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)  # fmt: skip
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)  # fmt: skip
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Contacts" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)  # fmt: skip
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def workbook(
    path: Path, sheet: Iterable[str], strings: Iterable[str] = (), dimension: str = ""
) -> Path:
    """An .xlsx whose sheet body (rows) and shared strings (``<si>`` items) are streamed in, so
    that building a huge one takes no memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'.encode())
            for item in strings:
                f.write(item.encode())
            f.write(b"</sst>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'.encode())
            if dimension:
                f.write(f'<dimension ref="{dimension}"/>'.encode())
            f.write(b"<sheetData>")
            for item in sheet:
                f.write(item.encode())
            f.write(b"</sheetData></worksheet>")
    return path


HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>telephone</t></is></c></row>'


def read_in_subprocess(path: Path) -> dict[str, object]:
    """Open the workbook in a fresh interpreter: its error, CPU seconds and peak resident MB."""
    code = (
        "import json, resource, sys, time\n"
        "from callguard._files import open_contacts\n"
        "from callguard import ConfigurationError\n"
        "t = time.process_time(); error = None\n"
        "try:\n"
        "    with open_contacts(sys.argv[1]) as cf:\n"
        "        rows = sum(1 for _ in cf)\n"
        "except ConfigurationError as exc:\n"
        "    error = str(exc)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        # ru_maxrss keeps the forking parent's peak across exec; the peak of this process's
        # own memory is VmHWM, where Linux has it.
        "try:\n"
        "    with open('/proc/self/status') as f:\n"
        "        peak = next(int(l.split()[1]) for l in f if l.startswith('VmHWM')) / 1024\n"
        "except (OSError, StopIteration):\n"
        "    pass\n"
        "print(json.dumps({'error': error, 'seconds': time.process_time() - t, 'mb': peak}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def assert_refused_early(path: Path, *words: str, seconds: float = 5) -> None:
    result = read_in_subprocess(path)
    error = str(result["error"])
    assert str(path) in error and all(w in error for w in words), error
    assert float(result["seconds"]) < seconds, result  # type: ignore[arg-type]
    assert float(result["mb"]) < 200, result  # type: ignore[arg-type]


def test_a_small_workbook_is_read(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "ok.xlsx",
        [HEADER, '<row r="2"><c r="A2" t="s"><v>0</v></c></row>',
         '<row r="3"><c r="A3"><v>612345678</v></c></row>'],
        ["<si><t>06 12 34 56 78</t></si>"],
        dimension="A1:XFD1048576",  # what it declares is not what is read
    )  # fmt: skip
    with open_contacts(path) as cf:
        assert [r.value for r in cf] == ["06 12 34 56 78", "612345678"]


@pytest.mark.slow
def test_a_giant_shared_string_packed_small_is_refused_from_the_zip_directory(
    tmp_path: Path,
) -> None:
    # It was: a 200 KB workbook whose one cell holds 200 MB, refused only after 19-41 s and
    # 1.6 GB, once openpyxl had built the cell.
    chunk = "a" * (4 << 20)
    giant = ["<si><t>", *([chunk] * 50), "</t></si>"]
    path = workbook(tmp_path / "bomb.xlsx", [HEADER], giant)
    assert path.stat().st_size < 2_000_000
    assert_refused_early(path, "xl/sharedStrings.xml unpacks to", "more than 100 times")


def test_a_long_shared_string_that_packs_badly_is_refused_at_its_limit(tmp_path: Path) -> None:
    rng = random.Random(7)
    text = "".join(rng.choices(string.ascii_letters + string.digits, k=MAX_LINE + 10))
    path = workbook(tmp_path / "long.xlsx", [HEADER], ["<si><t>", text, "</t></si>"])
    assert_refused_early(path, "shared string 1 holds more than 1048576 characters")
    with pytest.raises(ConfigurationError, match="shared string 1"):
        open_contacts(path)


def test_a_long_inline_cell_is_refused_naming_its_row(tmp_path: Path) -> None:
    rng = random.Random(8)
    text = "".join(rng.choices(string.ascii_letters, k=MAX_LINE + 10))
    cell = f'<row r="2"><c r="A2" t="inlineStr"><is><t>{text}</t></is></c></row>'
    path = workbook(tmp_path / "cell.xlsx", [HEADER, cell])
    with pytest.raises(ConfigurationError, match="row 2 has a cell of more than 1048576"):
        open_contacts(path)


@pytest.mark.slow
def test_a_huge_sheet_packed_small_is_refused(tmp_path: Path) -> None:
    rows = '<row><c t="n"><v>1</v></c></row>' * 10_000
    path = workbook(tmp_path / "huge.xlsx", [HEADER, *[rows] * 300])
    assert_refused_early(path, "xl/worksheets/sheet1.xml unpacks to")


@pytest.mark.slow
def test_many_rows_are_refused_past_excels_last_row(tmp_path: Path) -> None:
    # Rows that pack like real ones (each its own number): the ratio passes, the row limit
    # stops the reading at row 1,048,577, before openpyxl reads one.
    blocks = (
        "".join(f'<row r="{i}"><c r="A{i}"><v>{i * 7919 % 1000003}</v></c></row>'
                for i in range(start, start + 10_000))
        for start in range(2, 1_100_000, 10_000)
    )  # fmt: skip
    path = workbook(tmp_path / "rows.xlsx", [HEADER, *blocks])
    # Refused at row 1,048,577, so after reading a million rows, as a CSV of a million lines
    # is read: 3 to 4 s of CPU here, so this one bound is 10 s.
    assert_refused_early(path, "row 1048577 is past Excel's last row", seconds=10)


def test_cells_past_the_column_limit_and_rows_out_of_order(tmp_path: Path) -> None:
    wide = workbook(tmp_path / "wide.xlsx", [HEADER, '<row r="2"><c r="XFD2"><v>1</v></c></row>'])
    with pytest.raises(ConfigurationError, match="column 16384, past the limit of 1000"):
        open_contacts(wide)
    late = workbook(tmp_path / "late.xlsx", [HEADER, '<row r="1048577"/>'])
    with pytest.raises(ConfigurationError, match="past Excel's last row"):
        open_contacts(late)
    back = workbook(tmp_path / "back.xlsx", [HEADER, '<row r="5"/>', '<row r="3"/>'])
    with pytest.raises(ConfigurationError, match="row 3 is out of order"):
        open_contacts(back)


def test_a_dtd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dtd.xlsx"
    workbook(path, [HEADER])
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]>'
        b'<sst xmlns="' + _MAIN.encode() + b'"><si><t>&a;</t></si></sst>'
    )
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(ConfigurationError, match="DTD"):
        open_contacts(path)


def test_a_cell_of_many_runs_counts_whole_and_a_workbook_without_sheet_is_refused(
    tmp_path: Path,
) -> None:
    rng = random.Random(9)
    run = "".join(rng.choices(string.ascii_letters, k=MAX_LINE // 4))
    runs = "".join(f"<r><t>{run}</t></r>" for _ in range(5))
    cell = f'<row r="2"><c r="A2" t="inlineStr"><is>{runs}</is></c></row>'
    with pytest.raises(ConfigurationError, match="row 2 has a cell of more than"):
        open_contacts(workbook(tmp_path / "runs.xlsx", [HEADER, cell]))
    path = workbook(tmp_path / "nosheet.xlsx", [HEADER])
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist() if n != "xl/_rels/workbook.xml.rels"}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    # Read as an empty sheet, an audit of it would be compliant: refused instead.
    with pytest.raises(ConfigurationError, match="cannot find the workbook's first sheet"):
        open_contacts(path)
