"""Dialers' own files: a VICIdial lead export scrubbed, Asterisk's Master.csv in both layouts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguard import ConfigurationError, Guard
from callguard._bulk import import_calls, scrub_file
from callguard._calllog import call_log_format, internal_call, read_call_log
from callguard._files import open_contacts, with_country_code
from callguard.cli import cli
from conftest import NPV, paris

DATA = Path(__file__).parent / "data"
NOW = paris(2026, 11, 24, 11)


def scrubbed(guard: Guard, tmp_path: Path, **options: object) -> list[dict[str, str]]:
    out = tmp_path / "out.txt"
    scrub_file(guard, DATA / "vicidial_list.txt", str(out), NPV, NOW, **options)  # type: ignore[arg-type]
    text = out.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


# -- VICIdial's lead export --------------------------------------------------------------------


def test_vicidial_lead_export_is_judged_on_its_three_phones_with_phone_code(
    guard: Guard, tmp_path: Path
) -> None:
    rows = scrubbed(guard, tmp_path, preset="vicidial")
    assert len(rows) == 5
    # phone_number « 612345678 » with phone_code « 33 » is a French mobile, not an invalid one.
    assert rows[0]["callguard_number (phone_number)"] == "+33612345678"
    assert rows[1]["callguard_number (alt_phone)"] == "+33781234567"
    assert rows[2]["callguard_number (address3)"] == "+33612000002"
    # No cell of phone_code is judged: it is the numbers' country code.
    assert not any("(phone_code)" in column for column in rows[0])
    invalid = [r for r in rows if "INVALID_NUMBER" in r["callguard_reasons (phone_number)"]]
    # phone_code 1 makes 2025550143 a North American number: judged as such, not as French.
    assert [r["lead_id"] for r in invalid] == []
    assert rows[4]["callguard_number (phone_number)"] == "+12025550143"
    # address3 holding an address line is no number there (its column is not one to call).
    assert rows[3]["callguard_number (address3)"] == ""
    assert rows[3]["callguard_allowed (address3)"] == "false"
    assert "INVALID_NUMBER" not in rows[3]["callguard_reasons (address3)"]
    # The input cells are written back as they were.
    assert rows[0]["phone_number"] == "612345678" and rows[0]["phone_code"] == "33"


def test_without_the_preset_phone_code_is_not_a_phone_column(guard: Guard) -> None:
    # It was: « 33 » judged in every row, one INVALID_NUMBER a line.
    with open_contacts(DATA / "vicidial_list.txt") as cf:
        assert "phone_code" not in cf.column_names
        assert cf.column_names == ["phone_number", "alt_phone"]


def test_vicidial_preset_needs_phone_number_and_column_still_chooses(
    guard: Guard, tmp_path: Path
) -> None:
    rows = scrubbed(guard, tmp_path, preset="vicidial", column=["phone_number"])
    assert rows[0]["callguard_number"] == "+33612345678"
    other = tmp_path / "other.csv"
    other.write_text("tel;nom\n0612345678;Martin\n")
    with pytest.raises(ConfigurationError, match="no column 'phone_number': not a vicidial"):
        open_contacts(other, preset="vicidial")
    with pytest.raises(ConfigurationError, match="unknown contact-file preset 'genesys'"):
        open_contacts(other, preset="genesys")


def test_country_code_rules() -> None:
    assert with_country_code("612345678", "33") == "+33612345678"
    assert with_country_code("0612345678", "33") == "+330612345678"  # trunk 0: the parser drops it
    assert with_country_code("+33612345678", "1") == "+33612345678"
    assert with_country_code("0033612345678", "1") == "0033612345678"
    assert with_country_code("0612345678", "") == "0612345678"
    # A code that is not one is kept in front, so the number is refused naming it.
    assert with_country_code("612345678", "FR") == "+FR 612345678"


def test_cli_scrub_preset_vicidial(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    out = tmp_path / "out.txt"
    result = runner.invoke(
        cli, ["scrub", str(DATA / "vicidial_list.txt"), "--preset", "vicidial", "--caller-id",
              NPV, "--at", "2026-11-24T11:00:00+01:00", "--db", db, "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = out.read_text(encoding="utf-8-sig").splitlines()[0].split("\t")
    assert "callguard_number (phone_number)" in header and "callguard_number (address3)" in header
    assert not any("(phone_code)" in h for h in header)
    assert "INVALID_NUMBER" not in result.stderr


# -- Asterisk's Master.csv ---------------------------------------------------------------------


def test_master_csv_with_newcdrcolumns_is_read(tmp_path: Path) -> None:
    # newcdrcolumns=yes adds peeraccount, linkedid and sequence: 21 fields. It was refused
    # whole (« 21 fields where the log has 18 »).
    skipped: list[int] = []
    fmt = call_log_format("asterisk")
    log, rejected = read_call_log(
        DATA / "asterisk_Master_newcdrcolumns.csv", log_format=fmt, skipped=skipped
    )
    assert rejected == []
    assert [(c.line, c.number, c.caller_id) for c in log] == [
        (1, "0612345678", "0948123456"),  # an outbound call from from-internal: judged
        (5, "0698765432", "0948123456"),
        (6, "h", "0612345678"),  # « interne » is not an internal context unless named
    ]
    assert skipped == [2, 3, 4]  # to s, to extension 102, to the feature code *97


def test_internal_calls_are_skipped_and_counted(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    args = ["audit", str(DATA / "asterisk_Master_newcdrcolumns.csv"), "--preset", "asterisk",
            "--db", db, "--json"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    # « h » in the context « interne » is not an extension: with the default contexts it is
    # judged, an invalid number, never dropped; with --internal-context interne it is skipped.
    assert report["calls"] == 3 and report["skipped"] == 3
    [h] = [v for v in report["violations"] if v["line"] == 6]
    assert "INVALID_NUMBER" in h["codes"]
    result = runner.invoke(cli, [*args, "--internal-context", "interne",
                                 "--internal-context", "from-internal"])  # fmt: skip
    report = json.loads(result.stdout)
    assert report["calls"] == 2 and report["skipped"] == 4 and report["rejected"] == []
    # Nothing of an internal call is judged as a violation.
    assert {v["line"] for v in report["violations"]} <= {1, 5}
    text = runner.invoke(cli, [*args[:-1], "--internal-context", "interne"]).stdout
    assert "internal calls skipped" in text


def test_internal_context_needs_the_asterisk_preset() -> None:
    with pytest.raises(ConfigurationError, match="--preset asterisk"):
        call_log_format("vicidial", internal_contexts=["from-internal"])
    with pytest.raises(ConfigurationError, match="empty context"):
        call_log_format("asterisk", internal_contexts=[" "])


@pytest.mark.parametrize(
    ("dst", "context", "internal"),
    [
        ("s", "default", True),
        ("101", "default", True),
        ("*97", "default", True),
        ("123456", "default", True),
        ("0612345678", "from-internal", False),  # an outbound call: judged whatever the context
        ("+33612345678", "from-internal", False),
        ("33612345678", "default", False),
        ("h", "from-internal", True),
        ("h", "default", False),  # judged (and refused as no number): never lost silently
        ("vmu101", "from-internal", True),
    ],
)
def test_internal_call_boundaries(dst: str, context: str, internal: bool) -> None:
    assert internal_call(dst, context, frozenset({"from-internal"})) is internal


def test_import_calls_skips_internal_calls(guard: Guard) -> None:
    fmt = call_log_format("asterisk", internal_contexts=["from-internal", "interne"])
    report = import_calls(guard, DATA / "asterisk_Master_newcdrcolumns.csv", log_format=fmt)
    assert report.imported == 2 and report.skipped == 4 and report.rejected == []
    assert "internal calls skipped: 4" in str(report)


def test_vicidial_log_reads_phone_code(guard: Guard, tmp_path: Path) -> None:
    path = tmp_path / "vicidial_log.csv"
    text = (DATA / "vicidial_log.csv").read_text().replace(",33,0612345678,", ",33,612345678,")
    path.write_text(text)
    log, _ = read_call_log(path, log_format=call_log_format("vicidial", caller_id=NPV))
    assert log[0].number == "+33612345678"
    report = import_calls(
        guard, path, log_format=call_log_format("vicidial", caller_id=NPV, outcome_map="ZZTOP=BUSY")
    )
    assert report.rejected == [] and report.imported == 6


def test_both_readers_skip_and_prefix_alike(tmp_path: Path) -> None:
    """The audit's column reader (files without quotes) and the row reader agree."""
    from callguard._calllog import read_call_columns

    plain = tmp_path / "Master.csv"
    text = (DATA / "asterisk_Master_newcdrcolumns.csv").read_text()
    for arguments in (",30", ",20"):  # Dial's arguments: a comma inside quotes
        text = text.replace(arguments + '"', '"')
    plain.write_text(text.replace('""', "").replace('"', ""))
    assert '"' not in plain.read_text()
    fmt = call_log_format("asterisk", internal_contexts=["from-internal", "interne"])
    skipped: list[int] = []
    log, rejected = read_call_log(plain, log_format=fmt, skipped=skipped)
    columns, rejected_too = read_call_columns(plain, log_format=fmt)
    assert columns.skipped == skipped == [2, 3, 4, 6]
    assert columns.number == [c.number for c in log] == ["0612345678", "0698765432"]
    assert rejected == rejected_too == []
    vicidial = tmp_path / "vicidial_log.csv"
    vicidial.write_text(
        (DATA / "vicidial_log.csv").read_text().replace(",33,0612345678,", ",33,612345678,")
    )
    fmt = call_log_format("vicidial", caller_id=NPV, outcome_map="ZZTOP=BUSY")
    log, _ = read_call_log(vicidial, log_format=fmt)
    columns, _ = read_call_columns(vicidial, log_format=fmt)
    assert columns.number == [c.number for c in log]
    assert columns.number[0] == "+33612345678"


def test_french_errors_for_the_presets(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("tel;nom\n0612345678;Martin\n")
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(cli, ["--lang", "fr", "scrub", str(other), "--preset", "vicidial",
                                 "--caller-id", NPV, "--db", db])  # fmt: skip
    assert result.exit_code == 2
    assert "ce n'est pas un export de fiches vicidial" in result.stderr
