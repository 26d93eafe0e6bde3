"""Reading dialers' own call logs: VICIdial and Asterisk presets, column and outcome mappings."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguard import ConfigurationError, Guard, Outcome
from callguard._bulk import import_calls
from callguard._calllog import PRESETS, call_log_format, read_call_log
from callguard.cli import cli
from conftest import NPV, paris

DATA = Path(__file__).parent / "data"


def test_vicidial_preset_reads_a_vicidial_log_export() -> None:
    fmt = call_log_format("vicidial", caller_id=NPV)
    log, rejected = read_call_log(DATA / "vicidial_log.csv", log_format=fmt)
    # phone_code 33 goes in front (the parser drops the trunk 0: +33 6 12 34 56 78).
    assert [(c.line, c.number, c.outcome) for c in log] == [
        (2, "+330612345678", Outcome.NO_ANSWER),
        (3, "+330698765432", Outcome.REFUSED),  # NI: not interested
        (4, "+330781234567", Outcome.OBJECTED),  # DNC: the consumer asked not to be called
        (5, "+330612000001", Outcome.VOICEMAIL),  # A: the agent's « Answering Machine »
        (6, "+330612000002", Outcome.ANSWERED),  # SALE
    ]
    assert log[1].started_at == paris(2025, 11, 24, 10, 35, 12)  # server time, Paris
    assert all(c.caller_id == NPV and c.campaign == "AUTOMNE" for c in log)
    [bad] = rejected
    assert bad.line == 7 and bad.value == "ZZTOP"
    assert "--outcome-map ZZTOP=OUTCOME" in bad.reason
    fmt = call_log_format("vicidial", caller_id=NPV, outcome_map="zztop=busy,NA=FAILED")
    log, rejected = read_call_log(DATA / "vicidial_log.csv", log_format=fmt)
    assert rejected == [] and log[-1].outcome is Outcome.BUSY and log[0].outcome is Outcome.FAILED


def test_vicidial_without_a_caller_id_names_the_option() -> None:
    with pytest.raises(ConfigurationError, match="--caller-id"):
        read_call_log(DATA / "vicidial_log.csv", log_format=call_log_format("vicidial"))


def test_asterisk_preset_reads_master_csv_without_header() -> None:
    log, rejected = read_call_log(DATA / "asterisk_Master.csv", log_format=PRESETS["asterisk"])
    assert rejected == []
    assert [(c.line, c.number, c.caller_id, c.outcome) for c in log] == [
        (1, "0612345678", "0948123456", Outcome.ANSWERED),
        (2, "0698765432", "0948123456", Outcome.NO_ANSWER),
        (3, "0781234567", "0948123456", Outcome.BUSY),
        (4, "0612000001", "0948123456", Outcome.FAILED),
    ]
    assert log[0].started_at == paris(2025, 11, 24, 10, 30)
    fmt = call_log_format("asterisk", tz="UTC")  # cdr.conf usegmtime=yes
    log, _ = read_call_log(DATA / "asterisk_Master.csv", log_format=fmt)
    assert log[0].started_at == datetime(2025, 11, 24, 10, 30, tzinfo=timezone.utc)


def test_column_mapping_and_bad_mappings(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("tel_client;cli;quand;issue\n0612345678;0948123456;24/11/2025 10:30;NI\n")
    fmt = call_log_format(
        mapping="number=tel_client,started_at=quand,outcome=issue",
        outcome_map="NI=REFUSED",
    )
    [call], rejected = read_call_log(path, log_format=fmt)
    assert rejected == [] and call.outcome is Outcome.REFUSED and call.number == "0612345678"
    with pytest.raises(ConfigurationError, match="'when' is not a call-log field"):
        call_log_format(mapping="when=quand")
    with pytest.raises(ConfigurationError, match="not NAME=VALUE"):
        call_log_format(mapping="number")
    with pytest.raises(ConfigurationError, match="--outcome-map: NI=MAYBE"):
        call_log_format(outcome_map="NI=MAYBE")
    with pytest.raises(ConfigurationError, match="no column 'phone' for number"):
        read_call_log(path, log_format=call_log_format(mapping="number=phone"))
    with pytest.raises(ConfigurationError, match="unknown call-log preset 'genesys'"):
        call_log_format("genesys")
    with pytest.raises(ConfigurationError, match="not an IANA time zone"):
        call_log_format(tz="Mars/Olympus")


def test_import_calls_with_a_preset_applies_the_outcomes(guard: Guard) -> None:
    fmt = call_log_format("vicidial", caller_id=NPV)
    report = import_calls(guard, DATA / "vicidial_log.csv", log_format=fmt)
    assert report.imported == 5 and [r.line for r in report.rejected] == [7]
    decision = guard.may_call("0781234567", NPV, paris(2025, 11, 25, 11))
    assert "OPTED_OUT" in {r.code.value for r in decision.reasons}
    decision = guard.may_call("0698765432", NPV, paris(2025, 11, 25, 11))
    assert "REFUSAL_COOLDOWN" in {r.code.value for r in decision.reasons}


def test_cli_audit_and_import_calls_with_presets(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(
        cli,
        [
            "import-calls",
            str(DATA / "asterisk_Master.csv"),
            "--preset",
            "asterisk",
            "--db",
            db,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported"] == 4
    result = runner.invoke(
        cli,
        [
            "audit",
            str(DATA / "vicidial_log.csv"),
            "--preset",
            "vicidial",
            "--caller-id",
            NPV,
            "--outcome-map",
            "ZZTOP=NO_ANSWER",
            "--db",
            db,
            "--json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout)["rejected"] == []
    result = runner.invoke(cli, ["audit", str(DATA / "calls.xlsx"), "--db", db, "--json"])
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout)["rejected"] == []
    result = runner.invoke(cli, ["audit", str(DATA / "vicidial_log.csv"), "--db", db,
                                 "--map", "numéro=x"])  # fmt: skip
    assert result.exit_code == 2 and "not a call-log field" in result.stderr


def test_a_mapped_column_must_exist_even_over_a_preset() -> None:
    fmt = call_log_format("vicidial", caller_id=NPV, mapping="campaign=campagne")
    with pytest.raises(ConfigurationError, match="no column 'campagne' for campaign"):
        read_call_log(DATA / "vicidial_log.csv", log_format=fmt)
