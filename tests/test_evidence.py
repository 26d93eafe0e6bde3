"""Reading the ledger back (``show``, the lists), the control pack, and French for supervisors."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from callguard import Guard
from callguard.cli import cli
from conftest import NPV, paris

AT = paris(2026, 11, 24, 10, 30)
A, B, REUNION = "06 12 34 56 78", "06 98 76 54 32", "06 92 12 34 56"
CHROMIUM = "/usr/bin/chromium"


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A small ledger with lawful calls and violations, for professional acme."""
    path = str(tmp_path / "ledger.db")
    with Guard(path, professional="acme") as g:
        g.record_consent(A, AT - timedelta(days=30), proof="web-form #1")
        g.record_contract(B, paris(2026, 1, 1), subject="box internet")
        g.add_optout(B, AT - timedelta(days=2), source="email")
        g.record_call(A, AT, caller_id=NPV, outcome="ANSWERED")  # lawful
        g.record_call(B, AT + timedelta(hours=1), caller_id=NPV, outcome="REFUSED")  # no consent
        g.record_call(A, paris(2026, 11, 25, 21, 0), caller_id=NPV)  # outside hours
        g.record_consent(REUNION, AT - timedelta(days=10), proof="paper #7")
        g.record_call(REUNION, paris(2026, 11, 24, 7, 0), caller_id=NPV)  # 10:00 in Réunion
        g.withdraw_consent(REUNION, AT)
        g.import_bloctel([B], AT - timedelta(days=5), submitted=[A])
    return path


def test_show_prints_every_fact_in_the_consumers_zone(db: str) -> None:
    out = run("show", REUNION, "--db", db, "--professional", "acme", "--at", "2026-11-26T12:00")
    assert out.exit_code == 0, out.output
    assert "(times in Indian/Reunion)" in out.output
    assert "2026-11-24T10:00:00+04:00" in out.output  # the call, at the consumer's hour
    assert "+00:00" not in out.output
    assert "paper #7" in out.output
    assert "Consent withdrawals (1)" in out.output
    assert "CONSENT_WITHDRAWN" in out.output
    data = json.loads(run("show", A, "--db", db, "--professional", "acme", "--json").output)
    assert [a["outcome"] for a in data["attempts"]] == ["ANSWERED", "NO_ANSWER"]
    assert data["consents"][0]["proof"] == "web-form #1"
    assert data["bloctel"] == [{"checked_at": "2026-11-19T10:30:00+01:00", "listed": False}]
    assert data["decision"]["number"] == "+33612345678"


def test_consent_and_contract_lists_have_a_header_json_and_a_number_filter(db: str) -> None:
    text = run("consent", "list", "--db", db, "--professional", "acme").output.splitlines()
    assert text[0].split("\t")[:5] == ["id", "number", "at", "expires_at", "proof"]
    assert text[0].endswith("withdrawn_at")
    assert len(text) == 3
    one = json.loads(
        run("consent", "list", "--db", db, "--professional", "acme", "--number", REUNION,
            "--json").output
    )  # fmt: skip
    assert [(c["number"], c["withdrawn_at"]) for c in one] == [
        ("+262692123456", "2026-11-24T13:30:00+04:00")
    ]
    contracts = run("contract", "list", "--db", db, "--professional", "acme").output.splitlines()
    assert contracts[0] == "id\tnumber\tstart\tend\tsubject"
    assert contracts[1].endswith("\t-\tbox internet")
    assert json.loads(run("contract", "list", "--db", db, "--json", "--number", A).output) == []


def test_control_pack_writes_the_facts_the_audit_the_verification_and_the_page(
    db: str, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib", reason='the report needs matplotlib: pip install ".[report]"')
    out = tmp_path / "pack"
    key = tmp_path / "signing.pem"
    assert run("signing-key", "create", "--out", str(key)).exit_code == 0
    taken = run("checkpoint", "--db", db, "--signing-key", str(key), "--out", str(tmp_path / "cp"))
    assert taken.exit_code == 0, taken.output
    result = run(
        "control-pack", "--out", str(out), "--db", db, "--professional", "acme",
        "--from", "2026-11-01", "--to", "2026-11-30", "--json",
        "--checkpoints", str(tmp_path / "cp"), "--public-key", f"{key}.pub",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["calls"] == 4 and summary["violations"] == 2
    assert summary["journal_intact"] is True and summary["anchored_by_checkpoint"] is True
    names = {p.name for p in out.iterdir() if p.is_file()}
    assert {p.name for p in (out / "checkpoints").iterdir()} == {
        Path(taken.output.strip()).name,
        "public-key.pem",
    }
    for stem in ("calls", "refusals", "optouts", "consents"):
        assert {f"{stem}.csv", f"{stem}.json"} <= names
    assert {"audit.json", "verification.json", "report.html", "manifest.json"} <= names
    with (out / "calls.csv").open(encoding="utf-8-sig") as f:
        calls = list(csv.DictReader(f, delimiter=";"))
    by_number = {(c["number"], c["at"]): c for c in calls}
    assert by_number[("+33612345678", "2026-11-24T10:30:00+01:00")]["lawful"] == "True"
    late = by_number[("+33612345678", "2026-11-25T21:00:00+01:00")]
    assert late["codes"] == "OUTSIDE_HOURS"
    assert "NO_CONSENT" in by_number[("+33698765432", "2026-11-24T11:30:00+01:00")]["codes"]
    assert by_number[("+262692123456", "2026-11-24T10:00:00+04:00")]["lawful"] == "True"
    consents = json.loads((out / "consents.json").read_text(encoding="utf-8"))
    assert {c["proof"] for c in consents} == {"web-form #1", "paper #7"}
    assert json.loads((out / "verification.json").read_text())["ok"] is True
    audit = json.loads((out / "audit.json").read_text())
    assert audit["summary"] == {"NO_CONSENT": 1, "OUTSIDE_HOURS": 1, "OPTED_OUT": 1}
    manifest = json.loads((out / "manifest.json").read_text())
    assert {f for f in manifest["files"] if "/" not in f} == names - {"manifest.json"}
    narrowed = tmp_path / "narrow"
    ok = run("control-pack", "--out", str(narrowed), "--db", db, "--professional", "acme",
             "--number", A, "--from", "2026-11-01", "--to", "2026-11-30")  # fmt: skip
    assert ok.exit_code == 0, ok.output
    rows = json.loads((narrowed / "calls.json").read_text())
    assert {r["number"] for r in rows} == {"+33612345678"}
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium): page not opened")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", (out / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 4
    assert 'class="verdict ok"' in dom.stdout
    assert "+33698765432" in dom.stdout or "06 98 76 54 32" in dom.stdout


def test_a_tampered_ledger_shows_in_the_pack(db: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE consents SET proof = 'forged' WHERE proof = 'web-form #1'")
    out = tmp_path / "pack"
    result = run("control-pack", "--out", str(out), "--db", db, "--professional", "acme")
    assert result.exit_code == 0
    assert "journal ALTERED" in result.output
    verification = json.loads((out / "verification.json").read_text())
    assert verification["first"]["table"] == "consents"


def test_lang_fr_renders_decisions_and_labels_in_french(db: str) -> None:
    args = ("check", B, "--caller-id", NPV, "--db", db, "--professional", "acme",
            "--at", "2026-11-24T21:00")  # fmt: skip
    english = run(*args)
    assert english.exit_code == 1 and english.output.startswith("REFUSED")
    french = run(*args, "--lang", "fr")
    assert french.output.startswith("REFUSÉ")
    assert "Il est 21:00" in french.output
    assert run("--lang", "fr", *args).output == french.output
    assert run(*args, env={"CALLGUARD_LANG": "fr"}).output == french.output
    assert run(*args, "--lang", "en", env={"CALLGUARD_LANG": "fr"}).output == english.output
    assert run("verify", "--db", db, "--lang", "fr").output.startswith("OK  journal intact : ")
    shown = run("show", A, "--db", db, "--professional", "acme", "--lang", "fr").output
    assert "Consentements (1)" in shown and "Décision maintenant" in shown


def test_lang_fr_errors_in_french(tmp_path: Path) -> None:
    result = run("verify", "--db", str(tmp_path / "missing.db"), "--lang", "fr")
    assert result.exit_code == 2
    assert "Erreur : aucun registre à" in result.output and "missing.db" in result.output


def test_next_allowed_at_is_shown_in_the_consumers_zone(db: str) -> None:
    # Another Réunion consumer, with a consent and no withdrawal (the fixture's withdrew later,
    # and a withdrawal stamped after now is already in force).
    other = "06 92 65 43 21"
    with Guard(db, professional="acme") as g:
        g.record_consent(other, AT - timedelta(days=10), proof="paper #8")
    out = run("check", other, "--caller-id", NPV, "--db", db, "--professional", "acme",
              "--at", "2026-11-20T18:00")  # fmt: skip
    assert "next allowed at: 2026-11-23T10:00:00+04:00" in out.output, out.output
