"""The command line through click's runner: every command, its output and its exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from callguard import Guard, ReasonCode
from callguard.cli import cli
from callguard.cli import decisions as cli_module
from conftest import NPV, paris

DATA = Path(__file__).parent / "data"
NUMBER = "06 12 34 56 78"


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    Guard(path).close()  # every command but init refuses a ledger that does not exist
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def may_call(db: str, number: str = NUMBER, at: str = "2025-11-24T11:00", **kw: str) -> set[str]:
    args = ["check", number, "--caller-id", NPV, "--at", at, "--db", db, "--json"]
    for key, value in kw.items():
        args += [f"--{key}", value]
    result = run(*args)
    assert result.exit_code in (0, 1), result.output
    return {r["code"] for r in json.loads(result.stdout)["reasons"]}


def test_check_exit_codes(db: str) -> None:
    assert run("check", NUMBER, "--caller-id", NPV, "--at", "2025-11-24T11:00", "--db", db)\
        .exit_code == 1  # fmt: skip
    assert run("check", NUMBER, "--caller-id", NPV, "--at", "yesterday", "--db", db).exit_code == 2
    assert run("check", NUMBER, "--db", db).exit_code == 2  # --caller-id missing


# -- scrub ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "rows"),
    [
        ("contacts_excel_cp1252.csv", "cp1252", ";", 5),
        ("contacts_utf8_bom_comma.csv", "utf-8-sig", ",", 4),
        ("contacts_utf16_tab.txt", "utf-16", "\t", 2),
        ("contacts_latin1_tab.tsv", "latin-1", "\t", 2),
        ("numbers_plain.txt", "utf-8", ";", 5),
    ],
)
def test_scrub_each_file(
    db: str, tmp_path: Path, name: str, encoding: str, delimiter: str, rows: int
) -> None:
    out = tmp_path / "out.csv"
    result = ok("scrub", str(DATA / name), "--caller-id", NPV, "--at", "2025-11-24T11:00",
                "--db", db, "-o", str(out))  # fmt: skip
    assert result.stdout == ""
    assert f"{rows} rows: " in result.stderr
    lines = out.read_bytes().decode(encoding).splitlines()
    header = next(line for line in lines if not line.startswith("sep="))
    assert header.endswith(delimiter.join(
        ["callguard_number", "callguard_allowed", "callguard_reasons", "callguard_next_allowed_at"]
    ))  # fmt: skip


def test_scrub_to_stdout_with_summary_on_stderr(db: str) -> None:
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20), submitted=[NUMBER])
    result = ok("scrub", str(DATA / "numbers_plain.txt"), "--caller-id", NPV,
                "--at", "2025-11-24T11:00", "--db", db)  # fmt: skip
    assert result.stdout.splitlines() == [
        "number;callguard_number;callguard_allowed;callguard_reasons;callguard_next_allowed_at",
        "06 12 34 56 78;+33612345678;true;;",
        "+33698765432;+33698765432;false;BLOCTEL_UNCHECKED;",
        "0033 7 81 23 45 67;+33781234567;false;BLOCTEL_UNCHECKED;",
        "not a number;;false;INVALID_NUMBER;",
        "06.12.00.00.01;+33612000001;false;BLOCTEL_UNCHECKED;",
    ]
    assert "5 rows: 1 allowed, 4 refused" in result.stderr
    assert "BLOCTEL_UNCHECKED  3" in result.stderr
    assert "line 5: 'not a number' is not a valid phone number" in result.stderr
    assert "blank lines left out: 1 (line 2)" in result.stderr


def test_scrub_next_allowed_at_and_column_option(db: str, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Nom;Fixe;Portable\nA;01 45 67 89 01;06 12 34 56 78\n", encoding="utf-8")
    result = ok("scrub", str(src), "--caller-id", NPV, "--at", "2022-06-04T11:00", "--db", db,
                "--column", "portable", "--purpose", "contract")  # fmt: skip
    assert result.stdout.splitlines()[1] == "A;01 45 67 89 01;06 12 34 56 78;+33612345678;false;" \
        "NO_CONTRACT;"  # fmt: skip


def test_scrub_user_errors_exit_2_without_traceback(db: str, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Nom;Ville\nA;Paris\n")
    for args, message in [
        ([str(src)], "cannot find the phone column"),
        ([str(src), "--column", "tel"], "no column named 'tel'"),
        ([str(tmp_path / "missing.csv")], "does not exist"),
        ([str(src), "-o", str(src), "--column", "1"], "is an input file"),
        ([str(src), "--at", "tomorrow-ish"], "not an ISO 8601 time"),
        ([str(src), "--purpose", "spam"], "Invalid value for '--purpose'"),
    ]:
        result = run("scrub", *args, "--caller-id", NPV, "--db", db)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.output
    assert src.read_text() == "Nom;Ville\nA;Paris\n"


def test_scrub_empty_and_header_only(db: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = ok("scrub", str(DATA / "empty.csv"), "--caller-id", NPV, "--db", db, "-o", str(out))
    assert out.read_bytes().startswith(b"callguard_number;") and "0 rows" in result.stderr
    ok("scrub", str(DATA / "header_only.csv"), "--caller-id", NPV, "--db", db, "-o", str(out))
    assert out.read_bytes().decode("cp1252") == (
        "Nom;Téléphone;callguard_number;callguard_allowed;callguard_reasons;"
        "callguard_next_allowed_at\r\n"
    )


def test_scrub_progress_bar_on_a_terminal(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "c.csv"
    src.write_text("Tel\n" + "06 12 34 56 78\n" * 2000)
    monkeypatch.setattr(cli_module, "PROGRESS_MIN_BYTES", 1000)
    quiet = ok("scrub", str(src), "--caller-id", NPV, "--db", db, "-o", str(tmp_path / "o.csv"))
    assert "scrubbing" not in quiet.stderr  # stderr is not a terminal
    monkeypatch.setattr(cli_module, "_stderr_is_tty", lambda: True)
    shown = ok("scrub", str(src), "--caller-id", NPV, "--db", db, "-o", str(tmp_path / "o.csv"))
    assert "scrubbing" in shown.stderr


# -- Bloctel --------------------------------------------------------------------------------------


def test_bloctel_round_trip(db: str, tmp_path: Path) -> None:
    submission = tmp_path / "submission.csv"
    result = ok("bloctel", "export", str(DATA / "contacts_excel_cp1252.csv"), "-o",
                str(submission), "--db", db, "--at", "2025-11-24")  # fmt: skip
    assert submission.read_bytes() == (
        b"Telephone;Identifiant\r\n0612345678;\r\n0698765432;\r\n0781234567;\r\n0612000001;\r\n"
    )
    assert "numbers to check: 4" in result.stderr and "line 8" in result.stderr
    result = run("bloctel", "import", str(DATA / "bloctel_return.csv"), "--checked-at",
                 "2025-11-20", "--submitted", str(submission), "--db", db, "--json")  # fmt: skip
    assert result.exit_code == 1  # the return file has one bad line
    report = json.loads(result.stdout)
    assert (report["listed"], report["clean"]) == (2, 2)
    assert [(r["line"], r["value"]) for r in report["rejected"]] == [(4, "0000")]
    assert may_call(db, "0698765432") == set()
    assert may_call(db, NUMBER) == {"BLOCTEL_LISTED"}
    # Everything is fresh now: nothing to submit until the checks are 30 days old.
    again = ok("bloctel", "export", str(DATA / "contacts_excel_cp1252.csv"), "--db", db,
               "--at", "2025-11-25")  # fmt: skip
    assert again.stdout.splitlines() == ["Telephone;Identifiant"]
    later = ok("bloctel", "export", str(DATA / "contacts_excel_cp1252.csv"), "--db", db,
               "--at", "2025-12-21", "--max-age", "30")  # fmt: skip
    assert len(later.stdout.splitlines()) == 5


def test_bloctel_export_identifier_column(db: str) -> None:
    result = ok("bloctel", "export", str(DATA / "contacts_utf8_bom_comma.csv"), "--db", db,
                "--id-column", "id")  # fmt: skip
    assert result.stdout.splitlines() == ["Telephone;Identifiant", "0781234567;1", "0612000002;4"]
    assert "not a French consumer line" in result.stderr  # the Belgian number, line 3
    bad = run("bloctel", "export", str(DATA / "contacts_utf8_bom_comma.csv"), "--db", db,
              "--id-column", "nope")  # fmt: skip
    assert bad.exit_code == 2 and "no column named 'nope'" in bad.stderr


def test_bloctel_import_text_report_and_date_time(db: str) -> None:
    result = run("bloctel", "import", str(DATA / "bloctel_return.csv"), "--checked-at",
                 "2025-11-20T09:00", "--db", db)  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.startswith("listed: 2\nclean: 0\nrejected: 1\n  line 4: '0000'")
    bad = run("bloctel", "import", str(DATA / "bloctel_return.csv"), "--checked-at", "2025-13-01",
              "--db", db)  # fmt: skip
    assert bad.exit_code == 2 and "not a date" in bad.stderr


# -- audit ----------------------------------------------------------------------------------------


def test_audit_text_json_and_exit_codes(db: str, tmp_path: Path) -> None:
    with Guard(db) as guard:
        guard.import_bloctel(["0612345678"], paris(2025, 11, 20),
                             submitted=["0698765432", "0781234567"])  # fmt: skip
    result = run("audit", str(DATA / "calls_2025q4.csv"), "--db", db)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["line", "number", "started_at", "codes"]
    assert lines[1].split() == [
        "4",
        "+33698765432",
        "2025-11-26T11:00:00+01:00",
        "REFUSAL_COOLDOWN",
    ]
    assert "REFUSAL_COOLDOWN   1" in result.stdout
    assert "line 8: 'not a time'" in result.stdout
    assert lines[-1] == "6 calls judged, 4 in violation, 1 rows not judged"
    data = json.loads(run("audit", str(DATA / "calls_2025q4.csv"), "--db", db, "--json").stdout)
    assert data["calls"] == 6 and len(data["violations"]) == 4
    assert set(data["violations"][0]) == {"line", "number", "started_at", "codes"}
    assert data["summary"]["REFUSAL_COOLDOWN"] == 1

    clean = tmp_path / "clean.csv"
    clean.write_text("number,caller_id,started_at\n0698765432,0948123456,2025-11-24T11:00\n")
    result = run("audit", str(clean), "--db", db)
    assert result.exit_code == 0 and result.stdout.strip() == (
        "1 calls judged, 0 in violation, 0 rows not judged"
    )
    assert (
        json.loads(run("audit", str(DATA / "empty.csv"), "--db", db, "--json").stdout)["calls"] == 0
    )


def test_audit_errors_exit_2(db: str, tmp_path: Path) -> None:
    missing = run("audit", str(DATA / "calls_2025q4.csv"), "--db", str(tmp_path / "none.db"))
    assert missing.exit_code == 2 and "no ledger at" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    Guard(db).close()
    bad = run("audit", str(DATA / "contacts_excel_cp1252.csv"), "--db", db)
    assert bad.exit_code == 2 and "a call log needs number, caller_id and started_at" in bad.stderr


def test_audit_memory_ledger(tmp_path: Path) -> None:
    result = run("audit", str(DATA / "calls_2025q4.csv"), "--db", ":memory:", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["BLOCTEL_UNCHECKED"] == 6  # no check at all


# -- facts ----------------------------------------------------------------------------------------


def test_record_counts_toward_the_cap(db: str) -> None:
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20), submitted=[NUMBER])
    for day in (17, 18, 19, 20):
        result = ok("record", NUMBER, "--at", f"2025-11-{day}T11:00", "--caller-id", NPV,
                    "--outcome", "busy", "--campaign", "c1", "--db", db, "--json")  # fmt: skip
    assert json.loads(result.stdout) == {
        "attempt_id": 4, "number": "+33612345678", "at": "2025-11-20T11:00:00+01:00",
        "outcome": "BUSY",
    }  # fmt: skip
    assert may_call(db) == {"FREQUENCY_CAP"}
    text = ok("record", NUMBER, "--at", "2025-11-21T11:00", "--db", db)
    assert text.stdout == "recorded call 5: +33612345678 at 2025-11-21T11:00:00+01:00, NO_ANSWER\n"


def test_refuse_starts_the_cooldown(db: str) -> None:
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20), submitted=[NUMBER])
    ok("refuse", NUMBER, "--at", "2025-11-21T11:00", "--db", db)
    assert may_call(db) == {"REFUSAL_COOLDOWN"}
    assert may_call(db, NUMBER, "2025-11-24T11:00", professional="other") == set()  # its own


def test_optout_add_list_remove(db: str) -> None:
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20), submitted=[NUMBER])
    ok("optout", "add", NUMBER, "--at", "2025-11-01T00:00", "--source", "email", "--db", db)
    ok("optout", "add", "0698765432", "--at", "2025-11-01T00:00", "--expires", "2025-11-10",
       "--db", db)  # fmt: skip
    assert may_call(db) == {"OPTED_OUT"}
    listed = json.loads(ok("optout", "list", "--at", "2025-11-24", "--db", db, "--json").stdout)
    assert listed == [{"number": "+33612345678", "at": "2025-11-01T00:00:00+01:00",
                       "expires_at": None, "removed_at": None, "source": "email"}]  # fmt: skip
    everything = ok("optout", "list", "--all", "--db", db).stdout.splitlines()
    assert everything[0] == "number\tat\tends_at\tsource"
    assert len(everything) == 3 and everything[2].startswith("+33698765432\t")
    assert "2025-11-11T00:00:00+01:00" in everything[2]
    only = ok("optout", "list", "--all", "--number", "06 98 76 54 32", "--db", db, "--json")
    assert [e["number"] for e in json.loads(only.stdout)] == [
        "+33698765432"
    ]  # a date expires at the end of that day
    removed = ok("optout", "remove", NUMBER, "--at", "2025-11-23T00:00", "--db", db, "--json")
    assert json.loads(removed.stdout) == {"number": "+33612345678", "removed": 1}
    assert may_call(db) == set()
    assert ok("optout", "list", "--db", db).stdout == "number\tat\tends_at\tsource\n"


def test_consent_add_and_withdraw(db: str) -> None:
    at = "2026-11-23T11:00"
    assert may_call(db, at=at) == {"NO_CONSENT"}
    ok("consent", "add", NUMBER, "--proof", "form-1", "--at", "2026-11-01T10:00", "--db", db)
    assert may_call(db, at=at) == set()
    ok("consent", "withdraw", NUMBER, "--at", "2026-11-20T10:00", "--db", db)
    assert may_call(db, at=at) == {"CONSENT_WITHDRAWN"}
    ok("consent", "add", "0698765432", "--proof", "p", "--at", "2026-11-01T10:00",
       "--expires", "2026-11-22", "--db", db)  # fmt: skip
    assert may_call(db, "0698765432", at) == {"CONSENT_EXPIRED"}
    missing = run("consent", "add", NUMBER, "--db", db)
    assert missing.exit_code == 2 and "--proof" in missing.stderr


def test_contract_add(db: str) -> None:
    at = "2026-11-23T11:00"
    assert may_call(db, at=at, purpose="contract") == {"NO_CONTRACT"}
    out = ok("contract", "add", NUMBER, "--start", "2026-01-01", "--end", "2026-12-31",
             "--subject", "box", "--db", db)  # fmt: skip
    assert out.stdout == ("recorded contract: +33612345678 from 2026-01-01T00:00:00+01:00 until "
                          "2027-01-01T00:00:00+01:00\n")  # fmt: skip
    assert may_call(db, at=at, purpose="contract") == set()
    assert may_call(db, at="2027-01-04T11:00", purpose="contract") == {"NO_CONTRACT"}
    bad = run("contract", "add", NUMBER, "--start", "2026-12-31", "--end", "2026-01-01", "--db", db)
    assert bad.exit_code == 2 and "is not after" in bad.stderr


def test_import_calls(db: str) -> None:
    result = run("import-calls", str(DATA / "calls_2025q4.csv"), "--professional", "acme",
                 "--db", db)  # fmt: skip
    assert result.exit_code == 1  # line 8 has no readable time
    assert result.stdout.splitlines()[:3] == ["imported: 6", "already in the ledger: 0",
                                              "rejected: 1"]  # fmt: skip
    again = run("import-calls", str(DATA / "calls_2025q4.csv"), "--professional", "acme",
                "--db", db, "--json")  # fmt: skip
    assert json.loads(again.stdout)["imported"] == 0
    assert json.loads(again.stdout)["duplicates"] == 6
    with Guard(db, professional="acme") as guard:
        d = guard.may_call("0698765432", NPV, paris(2025, 11, 27, 11))
    assert ReasonCode.REFUSAL_COOLDOWN in d.codes


@pytest.mark.parametrize(
    "args",
    [
        ["record", "abc"],
        ["refuse", "06 12"],
        ["optout", "add", "x"],
        ["optout", "remove", "x"],
        ["consent", "add", "x", "--proof", "p"],
        ["consent", "withdraw", "x"],
        ["contract", "add", "x"],
        ["record", NUMBER, "--outcome", "maybe"],
        ["optout", "add", NUMBER, "--expires", "someday"],
    ],
)
def test_fact_commands_refuse_bad_input_with_exit_2(db: str, args: list[str]) -> None:
    result = run(*args, "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith(("Error: invalid phone number", "Usage:"))
    assert "Traceback" not in result.output


def test_ledger_error_exits_2(tmp_path: Path) -> None:
    not_a_ledger = tmp_path / "x.db"
    not_a_ledger.write_bytes(b"not sqlite at all, not at all" * 10)
    result = run("record", NUMBER, "--db", str(not_a_ledger))
    assert result.exit_code == 2 and "Error:" in result.stderr


def test_help_for_every_command() -> None:
    import click

    def walk(group: click.Group, prefix: list[str]) -> list[list[str]]:
        paths = []
        for name, command in group.commands.items():
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                paths += walk(command, [*prefix, name])
        return paths

    for path in walk(cli, []):
        assert ok(*path, "--help").stdout.startswith("Usage: ")


# -- purge ----------------------------------------------------------------------------------------


def test_purge_says_what_it_removed_and_refuses_recent_dates(db: str) -> None:
    ok("record", NUMBER, "--at", "2025-03-03T11:00", "--db", db)
    ok("refuse", NUMBER, "--at", "2025-03-03T11:05", "--db", db)
    ok("record", NUMBER, "--at", "2026-11-20T11:00", "--db", db)
    result = ok("purge", "--before", "2026-01-01", "--at", "2026-11-23T12:00", "--db", db, "--json")
    data = json.loads(result.stdout)
    assert data["removed"]["attempts"] == 1 and data["removed"]["refusals"] == 1
    assert data["total"] == 2
    refused = run("purge", "--before", "2026-11-01", "--at", "2026-11-23T12:00", "--db", db)
    assert refused.exit_code == 2
    assert "use 2026-09-21 or earlier" in refused.output
    # The recent attempt is still counted.
    assert Guard(db).may_call(NUMBER, NPV, paris(2026, 11, 23, 11)).codes >= {ReasonCode.NO_CONSENT}
    with Guard(db) as g:
        rows = g.engine.ledger.conn.execute("SELECT count(*) FROM attempts").fetchone()  # type: ignore[attr-defined]
    assert rows[0] == 1


def test_version_names_the_distribution() -> None:
    result = ok("--version")
    assert result.output.startswith("callguard, version ")


def test_scrub_every_phone_column_and_repeated_column(db: str, tmp_path: Path) -> None:
    src = DATA / "contacts_three_phones.csv"
    result = ok("scrub", str(src), "--caller-id", NPV, "--db", db)
    header = result.stdout_bytes.decode("cp1252").splitlines()[0].split(";")
    assert header[-1] == "callguard_allowed_columns" and len(header) == 4 + 3 * 4 + 1
    assert "phone columns: Tél. domicile (3 numbers), Tél. portable (3 numbers), Tél. bureau" \
        in result.stderr  # fmt: skip
    result = ok("scrub", str(src), "--caller-id", NPV, "--db", db,
                "--column", "Tél. bureau", "--column", "2")  # fmt: skip
    header = result.stdout_bytes.decode("cp1252").splitlines()[0].split(";")
    assert header[4] == "callguard_number (Tél. bureau)"
    assert header[8] == "callguard_number (Tél. domicile)"
    assert "phone columns: Tél. bureau (2 numbers), Tél. domicile (2 numbers)" in result.stderr


def test_scrub_reads_standard_input_only_when_asked(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["scrub", "-", "--caller-id", NPV, "--db", db], input=b"Tel\n06 12 34 56 78\n"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("06 12 34 56 78;+33612345678;false;")
    assert run("scrub", "/dev/zero", "--caller-id", NPV, "--db", db).exit_code == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run("scrub", str(fifo), "--caller-id", NPV, "--db", db)
    assert result.exit_code == 2 and "not a regular file" in result.stderr
    assert "Traceback" not in result.output


def test_scrub_refuses_a_symlink_output_in_one_line(db: str, tmp_path: Path) -> None:
    (tmp_path / "target.csv").write_text("keep\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "target.csv")
    result = run("scrub", str(DATA / "numbers_plain.txt"), "--caller-id", NPV, "--db", db,
                 "-o", str(tmp_path / "link.csv"))  # fmt: skip
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "symbolic link" in result.stderr and (tmp_path / "target.csv").read_text() == "keep\n"
    result = run("scrub", str(DATA / "numbers_plain.txt"), "--caller-id", NPV, "--db", db,
                 "-o", "/dev/null")  # fmt: skip
    assert result.exit_code == 2 and "not a regular file" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "label"),
    [
        (["audit", "{src}", "--caller-id", NPV], "auditing"),
        (["import-calls", "{src}", "--caller-id", NPV], "importing"),
        (["bloctel", "export", "{src}", "-o", "{out}"], "reading"),
        (["consent", "withdraw", "--file", "{src}", "--at", "2026-10-01T12:00"], "withdrawals"),
    ],
)
def test_progress_bars_on_a_terminal(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], label: str
) -> None:
    from callguard.cli import _common

    src = tmp_path / "log.csv"
    src.write_text("number;started_at\n" + "06 12 34 56 78;2025-11-24T10:00\n" * 2000)
    ok("init", "--db", db)
    argv = [a.format(src=src, out=tmp_path / "out.csv") for a in args] + ["--db", db]
    monkeypatch.setattr(_common, "PROGRESS_MIN_BYTES", 1000)
    assert label not in run(*argv).stderr  # stderr is not a terminal
    monkeypatch.setattr(_common, "stderr_is_tty", lambda: True)
    assert label in run(*argv).stderr


def test_consent_add_off_hours_and_evidence_then_department(db: str) -> None:
    ok("consent", "add", NUMBER, "--proof", "form 12", "--at", "2025-11-01T10:00",
       "--off-hours", "--channel", "web", "--source", "vendor", "--wording", "v3",
       "--proof-sha256", "ab" * 32, "--db", db)  # fmt: skip
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20, 9), submitted=[NUMBER])
    # Sunday evening, bloctel-hours regime: the express off-hours consent opens it.
    assert may_call(db, at="2025-11-30T21:30") == set()
    bad = run("consent", "add", NUMBER, "--proof", "p", "--proof-sha256", "xyz", "--db", db)
    assert bad.exit_code == 2 and "proof_sha256" in bad.output
    # Good Friday 2025: a Paris number of a consumer living in Moselle.
    args = ["check", "01 23 45 67 89", "--caller-id", NPV, "--at", "2025-04-18T11:00",
            "--db", db, "--json"]  # fmt: skip
    assert run(*args, "--department", "75").exit_code == 1  # Bloctel: never checked
    codes = {r["code"] for r in json.loads(run(*args, "--department", "57").output)["reasons"]}
    assert "HOLIDAY" in codes
    assert run(*args, "--department", "99").exit_code == 2
    rec = run("check", NUMBER, "--caller-id", NPV, "--at", "2025-11-24T11:00", "--db", db,
              "--recorded-message", "--json")  # fmt: skip
    assert rec.exit_code == 0, rec.output  # the consent covers a recorded message too
