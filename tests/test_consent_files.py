"""Consents and withdrawals loaded from files: a lead vendor's export, a list of STOP replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguard import ConfigurationError, Guard
from callguard._bulk import import_consents, withdraw_consents
from callguard._evidence import list_table
from callguard.cli import cli
from conftest import NPV, clean_on_bloctel, paris

DATA = Path(__file__).parent / "data"
AFTER = paris(2026, 10, 5, 11)  # the consent regime is in force (2026-08-11)


def codes(guard: Guard, number: str) -> set[str]:
    return {r.code.value for r in guard.may_call(number, NPV, AFTER).reasons}


def test_import_consents_from_a_french_vendor_export(guard: Guard) -> None:
    report = import_consents(guard, DATA / "consents_vendor_cp1252.csv")
    assert report.recorded == 2
    assert report.columns == {
        "number": "Téléphone",
        "consented_at": "Date du consentement",
        "proof": "Preuve",
        "expires_at": "Date d'expiration",
        "channel": "Canal",
        "source": "Source",
        "wording": "Texte du consentement",
        "proof_sha256": "Empreinte SHA256",
        "off_hours": "Hors heures",
    }
    bad = {r.line: r.reason for r in report.rejected}
    assert sorted(bad) == [4, 5, 6, 7, 8, 9]
    assert "10 digits" in bad[4]
    assert "consented_at 'hier'" in bad[5]
    assert "no proof" in bad[6]
    assert "is not after consented_at" in bad[7]
    assert "64 hexadecimal digits" in bad[8]
    assert "off_hours 'peut-être'" in bad[9]
    for number in ("06 12 34 56 78", "06 98 76 54 32"):
        assert "NO_CONSENT" not in codes(guard, number)
    assert "NO_CONSENT" in codes(guard, "06 12 00 00 01")  # nothing recorded for bad rows
    # The evidence of each row reaches the ledger, as a controller will ask to see it.
    rows = {c["number"]: c for c in list_table(guard, "consents")}
    first, second = rows["+33612345678"], rows["+33698765432"]
    assert (first["channel"], first["source"], first["off_hours"]) == (
        "web",
        "formulaire-isolation",
        False,
    )
    assert first["proof_sha256"] == (
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    )
    assert first["wording"] == "J'accepte d'être appelé"
    assert (second["channel"], second["off_hours"]) == ("téléphone", True)


def test_import_consents_with_a_mapping_and_missing_columns(guard: Guard, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("msisdn_client,optin_ts,evidence\n0612345678,2026-09-15 14:02,ev-1\n")
    report = import_consents(guard, path, mapping="number=msisdn_client,consented_at=optin_ts,"
                             "proof=evidence")  # fmt: skip
    assert report.recorded == 1 and report.rejected == []
    with pytest.raises(ConfigurationError, match=r"no 'consented_at', 'proof' column .*--map"):
        import_consents(guard, path, mapping="number=msisdn_client")
    with pytest.raises(ConfigurationError, match="'when' is not a field"):
        import_consents(guard, path, mapping="when=optin_ts")


def test_withdrawals_from_stop_replies(guard: Guard) -> None:
    import_consents(guard, DATA / "consents_vendor_cp1252.csv")
    report = withdraw_consents(guard, DATA / "stop_replies.csv")
    assert report.recorded == 2 and report.columns == {"number": "from", "at": "received_at"}
    assert [(r.line, r.value) for r in report.rejected] == [(4, "not-a-number"), (5, "0781234567")]
    assert "give --at" in report.rejected[1].reason
    assert "CONSENT_WITHDRAWN" in codes(guard, "06 12 34 56 78")


def test_withdrawals_from_plain_numbers_need_at(guard: Guard) -> None:
    import_consents(guard, DATA / "consents_vendor_cp1252.csv")
    report = withdraw_consents(guard, DATA / "stop_numbers.txt", at=paris(2026, 10, 1, 12))
    assert report.recorded == 2 and report.rejected == []
    assert "CONSENT_WITHDRAWN" in codes(guard, "06 98 76 54 32")


def test_cli_consent_import_and_withdraw_file(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(
        cli, ["consent", "import", str(DATA / "consents_vendor_cp1252.csv"), "--db", db, "--json"]
    )
    assert result.exit_code == 1, result.output  # some rows rejected, the others recorded
    data = json.loads(result.stdout)
    assert data["recorded"] == 2 and len(data["rejected"]) == 6
    result = runner.invoke(cli, ["consent", "withdraw", "--file", str(DATA / "stop_numbers.txt"),
                                 "--at", "2026-10-01T12:00", "--db", db])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "recorded: 2" in result.stdout
    result = runner.invoke(cli, ["consent", "withdraw", "--db", db])
    assert result.exit_code == 2 and "NUMBER or --file" in result.stderr
    result = runner.invoke(cli, ["consent", "withdraw", "--file", str(DATA / "stop_numbers.txt"),
                                 "--db", db])  # fmt: skip
    assert result.exit_code == 1 and "give --at" in result.stdout
    guard = Guard(db)
    try:
        clean_on_bloctel(guard, "06 12 34 56 78", paris(2026, 10, 1))
        assert "CONSENT_WITHDRAWN" in codes(guard, "06 12 34 56 78")
    finally:
        guard.close()


def test_import_consents_from_an_xlsx_workbook(guard: Guard) -> None:
    report = import_consents(guard, DATA / "consents_vendor.xlsx")
    assert report.recorded == 2 and report.rejected == []
    assert report.columns["off_hours"] == "Off hours"
    assert "NO_CONSENT" not in codes(guard, "06 12 34 56 78")  # 33612345678 stored as a number
