"""The installed ``callguard`` command in a real process: a compliance officer's afternoon.

From a French Excel export (Windows-1252) to a Bloctel submission, from the Bloctel return to the
ledger, from the ledger to a scrubbed file, from a call log to a violation report.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
NPV = "09 48 12 34 56"
EXE = Path(sys.executable).with_name("callguard.exe" if os.name == "nt" else "callguard")

pytestmark = pytest.mark.skipif(not EXE.exists(), reason=f"{EXE} is not installed")


def callguard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLGUARD_DB": str(cwd / "ledger.db"), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8",
        timeout=120, check=False,
    )  # fmt: skip


def test_from_excel_export_to_scrubbed_file_and_audit(tmp_path: Path) -> None:
    assert callguard("init", cwd=tmp_path).returncode == 0  # the ledger must exist
    contacts = str(DATA / "contacts_excel_cp1252.csv")

    sent = callguard("bloctel", "export", contacts, "-o", "submission.csv", "--at",
                     "2025-11-21", cwd=tmp_path)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert (tmp_path / "submission.csv").read_text().splitlines()[0] == "Telephone;Identifiant"
    assert "numbers to check: 4" in sent.stderr

    loaded = callguard("bloctel", "import", str(DATA / "bloctel_return.csv"), "--checked-at",
                       "2025-11-20", "--submitted", "submission.csv", "--json", cwd=tmp_path)  # fmt: skip
    assert loaded.returncode == 1  # one unusable line in the return file, reported
    assert json.loads(loaded.stdout)["listed"] == 2

    scrubbed = callguard("scrub", contacts, "--caller-id", NPV, "--at", "2025-11-24T11:00",
                         "-o", "scrubbed.csv", cwd=tmp_path)  # fmt: skip
    assert scrubbed.returncode == 0, scrubbed.stderr
    assert "5 rows: 2 allowed, 3 refused" in scrubbed.stderr
    assert "line 8:" in scrubbed.stderr and "blank lines left out: 1 (line 6)" in scrubbed.stderr
    with open(tmp_path / "scrubbed.csv", encoding="cp1252", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert (tmp_path / "scrubbed.csv").read_bytes().startswith(b"sep=;\r\nCivilit\xe9;")
    assert [(r[1], r[7], r[8]) for r in rows[2:]] == [
        ("Dupré", "false", "BLOCTEL_LISTED"),
        ("Lefèvre", "true", ""),
        ("Nguy?n", "false", "BLOCTEL_LISTED"),
        ("Bad", "false", "INVALID_NUMBER"),
        ("Sans", "true", ""),  # 612000001: the 0 Excel dropped is restored
    ]

    audited = callguard("audit", str(DATA / "calls_2025q4.csv"), "--json", cwd=tmp_path)
    assert audited.returncode == 1
    report = json.loads(audited.stdout)
    assert report["calls"] == 6
    assert [v["line"] for v in report["violations"]] == [4, 5, 6, 7]
    assert report["rejected"][0]["line"] == 8


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    assert callguard("init", cwd=tmp_path).returncode == 0  # the ledger must exist
    result = callguard("record", "not a number", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: invalid phone number 'not a number'")
    assert "Traceback" not in result.stderr
    missing = callguard("audit", str(DATA / "calls_2025q4.csv"), "--db", "nope.db", cwd=tmp_path)
    assert missing.returncode == 2 and "no ledger at 'nope.db'" in missing.stderr


def test_check_and_facts(tmp_path: Path) -> None:
    assert callguard("init", cwd=tmp_path).returncode == 0  # the ledger must exist
    assert callguard("consent", "add", "0612345678", "--proof", "f1", "--at", "2026-11-01T10:00",
                     cwd=tmp_path).returncode == 0  # fmt: skip
    allowed = callguard("check", "0612345678", "--caller-id", NPV, "--at", "2026-11-23T11:00",
                        cwd=tmp_path)  # fmt: skip
    assert allowed.returncode == 0 and allowed.stdout.startswith("ALLOWED")
    assert callguard("optout", "add", "0612345678", "--at", "2026-11-02T10:00",
                     cwd=tmp_path).returncode == 0  # fmt: skip
    refused = callguard("check", "0612345678", "--caller-id", NPV, "--at", "2026-11-23T11:00",
                        cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 1 and "OPTED_OUT" in refused.stdout
