"""Every argument mistake is a ConfigurationError that names its field and keeps the value given,
its sentence from the message catalog in English and in French; the CLI names the option the user
typed, the service the body field."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import callguard
from callguard import ConfigurationError, Guard, Policy
from test_french import english_runs

PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2026, 11, 23, 11, tzinfo=PARIS)
NUMBER = "06 12 34 56 78"
NPV = "09 48 00 00 01"


@dataclass(frozen=True)
class Case:
    name: str
    mistake: Callable[[Guard, Path], object]
    field: str
    value: object
    words: str  # a fragment of the English sentence
    code: frozenset[str] = frozenset()  # code names in the French sentence (move_to, None)


def _purge(**kwargs: Any) -> Callable[[Guard, Path], object]:
    return lambda g, p: g.purge(**{"before": AT - timedelta(days=400), "now": AT, **kwargs})


def _signing_key(g: Guard, p: Path) -> object:
    return g.checkpoint(p / "missing.pem", p / "out")


def _migrate_same(g: Guard, p: Path) -> object:
    from callguard.storage.copy import migrate_ledger

    return migrate_ledger(p / "a.db", p / "a.db")


def _migrate_memory(g: Guard, p: Path) -> object:
    from callguard.storage.copy import migrate_ledger

    return migrate_ledger(":memory:", p / "b.db")


def _call_log(**kwargs: Any) -> Callable[[Guard, Path], object]:
    from callguard._calllog import call_log_format

    return lambda g, p: call_log_format(**kwargs)


def _submission(g: Guard, p: Path) -> object:
    from callguard._bulk import bloctel_submission

    (p / "contacts.csv").write_text("phone\n0612345678\n")
    return bloctel_submission(g, p / "contacts.csv", p / "out.csv", AT, max_age_days=-1)


def _id_column(g: Guard, p: Path) -> object:
    from callguard._bulk import bloctel_submission

    (p / "contacts.csv").write_text("phone\n0612345678\n")
    return bloctel_submission(g, p / "contacts.csv", p / "out.csv", AT, id_column="crm")


def _scrub_column(g: Guard, p: Path) -> object:
    from callguard._bulk import scrub_file

    (p / "contacts.csv").write_text("phone\n0612345678\n")
    return scrub_file(g, p / "contacts.csv", p / "out.csv", NPV, AT, column="mobile")


def _consents(mapping: str) -> Callable[[Guard, Path], object]:
    def run(g: Guard, p: Path) -> object:
        from callguard._bulk import import_consents

        (p / "consents.csv").write_text("number,consented_at,proof\n0612345678,2026-11-02,f-1\n")
        return import_consents(g, p / "consents.csv", mapping=mapping)

    return run


def _audit_map(g: Guard, p: Path) -> object:
    (p / "calls.csv").write_text("number,caller_id,started_at\n0612345678,0948000001,2026-11-23\n")
    from callguard._calllog import call_log_format

    fmt = call_log_format(mapping="number=tel")
    return callguard.audit(p / "calls.csv", db=g, log_format=fmt)


def _clock(step: Callable[[Any], object]) -> Callable[[Guard, Path], object]:
    from callguard.testing import Clock

    return lambda g, p: step(Clock(AT))


CASES = [
    # the question
    Case("purpose", lambda g, p: g.may_call(NUMBER, NPV, AT, purpose="selling"), "purpose",
         "selling", "invalid Purpose 'selling'"),
    Case("sector", lambda g, p: g.may_call(NUMBER, NPV, AT, sector="x"), "sector", "x",
         "invalid Sector 'x'"),
    Case("callee_tz unknown", lambda g, p: g.may_call(NUMBER, NPV, AT, callee_tz="Mars/Olympus"),
         "callee_tz", "Mars/Olympus", "unknown time zone"),
    Case("callee_tz of no place", lambda g, p: g.may_call(NUMBER, NPV, AT, callee_tz="UTC"),
         "callee_tz", "UTC", "not the zone of a place"),
    Case("callee_tz not text", lambda g, p: g.may_call(NUMBER, NPV, AT, callee_tz=5),
         "callee_tz", 5, "IANA zone name"),
    Case("department", lambda g, p: g.may_call(NUMBER, NPV, AT, department="99"), "department",
         "99", "not a French département code"),
    Case("now not a datetime", lambda g, p: g.may_call(NUMBER, NPV, "tomorrow"), "now",
         "tomorrow", "must be a datetime with a time zone"),
    # facts written
    Case("outcome", lambda g, p: g.record_call(NUMBER, AT, outcome="meh"), "outcome", "meh",
         "invalid Outcome 'meh'"),
    Case("caller_id", lambda g, p: g.record_call(NUMBER, AT, caller_id=5), "caller_id", 5,
         "caller_id must be a str or None"),
    Case("attempt_id type", lambda g, p: g.record_outcome("7", "BUSY"), "attempt_id", "7",
         "attempt_id must be an int"),
    Case("attempt_id range", lambda g, p: g.record_outcome(0, "BUSY"), "attempt_id", 0,
         "is not an attempt id"),
    Case("void reason", lambda g, p: g.void_attempt(1, " "), "reason", " ",
         "reason must say why the attempt is voided"),
    Case("lift reason", lambda g, p: g.lift_refusal(NUMBER, AT, reason=""), "reason", "",
         "reason must say why the refusal is lifted"),
    Case("lift by", lambda g, p: g.lift_objection(NUMBER, AT, reason="typo", by=5), "by", 5,
         "by must name who lifts"),
    Case("consent proof", lambda g, p: g.record_consent(NUMBER, AT, proof=" "), "proof", " ",
         "proof must reference where the consent is kept"),
    Case("consent channel", lambda g, p: g.record_consent(NUMBER, AT, proof="f", channel=""),
         "channel", "", "channel must be a non-empty text"),
    Case("consent expires_at", lambda g, p: g.record_consent(NUMBER, AT, proof="f",
                                                             expires_at=AT - timedelta(days=1)),
         "expires_at", AT - timedelta(days=1), "is not after at="),
    Case("contract end", lambda g, p: g.record_contract(NUMBER, AT, AT - timedelta(days=1)),
         "end", AT - timedelta(days=1), "is not after start="),
    Case("import_bloctel listed", lambda g, p: g.import_bloctel(None, AT), "listed", None,
         "listed must be a file or an iterable"),
    Case("purge before", _purge(before=AT - timedelta(days=3)), "before",
         AT - timedelta(days=3), "would remove attempts or refusals"),
    Case("purge by", _purge(by=" "), "by", " ", "by must name who purges"),
    Case("purge proof_retention_days", _purge(proof_retention_days=10), "proof_retention_days",
         10, "consent proofs are kept at least three years"),
    # settings
    Case("Policy field", lambda g, p: Policy(cap_calls=9), "policy.cap_calls", 9,
         "a whole number from 1 to 4"),
    Case("Policy unknown field", lambda g, p: Policy(capp_calls=3), "policy.capp_calls", 3,
         "the fields are"),
    Case("Policy own_caller_ids", lambda g, p: Policy(own_caller_ids=[]),
         "policy.own_caller_ids", [], "own_caller_ids is empty"),
    Case("audit policy", lambda g, p: callguard.audit([], db=g, policy={}), "policy", {},
         "policy must be a callguard.Policy"),
    Case("windows reversed", lambda g, p: callguard.windows(NUMBER, AT, AT - timedelta(hours=1)),
         "end", AT - timedelta(hours=1), "is before start="),
    Case("windows policy", lambda g, p: callguard.windows(NUMBER, AT, AT, policy=1), "policy",
         1, "policy must be a callguard.Policy"),
    Case("ledger location", lambda g, p: Guard(b"x.db"), "path", b"x.db",  # type: ignore[arg-type]
         "path must be a SQLite file path"),
    Case("migrate same", _migrate_same, "target", None, "source and target are the same ledger"),
    Case("migrate memory", _migrate_memory, "source", ":memory:", "cannot migrate from"),
    Case("signing key", _signing_key, "signing_key_path", None, "cannot read signing key"),
    # files and their options
    Case("call-log preset", _call_log(preset="genesys"), "preset", "genesys",
         "unknown call-log preset"),
    Case("call-log map field", _call_log(mapping="phone=tel"), "mapping", "phone",
         "is not a call-log field"),
    Case("call-log map pair", _call_log(mapping="phone"), "mapping", "phone",
         "is not NAME=VALUE"),
    Case("call-log outcome map", _call_log(outcome_map="NI=meh"), "outcome_map", "NI=meh",
         "--outcome-map"),
    Case("call-log tz", _call_log(tz="Mars/Olympus"), "tz", "Mars/Olympus",
         "is not an IANA time zone"),
    Case("call-log internal context", _call_log(internal_contexts=["lab"]), "internal_contexts",
         "lab", "only an Asterisk log has dialplan contexts"),
    Case("submission max_age_days", _submission, "max_age_days", -1,
         "max_age_days must be a whole number"),
    Case("submission id_column", _id_column, "id_column", "crm", "no column named 'crm'"),
    Case("consents map field", _consents("phone=number"), "mapping", "phone",
         "is not a field"),
    Case("consents map column", _consents("proof=scan"), "mapping", "proof=scan",
         "no column 'scan' for proof"),
    Case("audit map column", _audit_map, "mapping", "number=tel", "no column 'tel' for number"),
    Case("scrub column", _scrub_column, "column", "mobile", "no column named 'mobile'"),
    Case("clock advance", _clock(lambda c: c.advance(days=-1)), "days", -1,
         "advance() only moves forward"),
    Case("clock move_to", _clock(lambda c: c.move_to(None)), "at", None,
         "time alone will not make this call allowed",
         frozenset({"move", "to", "none", "next", "allowed", "at"})),
]  # fmt: skip

# Values only known once the case runs (a path under tmp_path): compared by type, not equality.
_BY_PATH = {"target", "signing_key_path"}


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    with Guard(tmp_path / "a.db") as g:
        yield g


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_argument_mistake_names_its_field_and_value(
    case: Case, guard: Guard, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        case.mistake(guard, tmp_path)
    exc = caught.value
    assert isinstance(exc, ValueError)  # ``except ValueError`` callers keep working
    assert exc.field == case.field
    if case.field in _BY_PATH:
        assert os.fspath(exc.value).startswith(str(tmp_path))  # type: ignore[call-overload]
    else:
        assert exc.value == case.value and type(exc.value) is type(case.value)
    english, french = str(exc), exc.render("fr")
    assert english == exc.render("en") and case.words in english
    assert french != english and english_runs(french, case.code) == [], french


@pytest.mark.parametrize(
    "mistake",
    [
        lambda g: g.may_call(NUMBER, NPV, AT.replace(tzinfo=None)),  # naive
        lambda g: g.may_call(NUMBER, NPV, datetime(2015, 1, 5, 11, tzinfo=PARIS)),  # before 2016
    ],
    ids=["naive", "out of range"],
)
def test_a_naive_or_out_of_range_instant_stays_a_plain_value_error(
    mistake: Callable[[Guard], object], guard: Guard
) -> None:
    with pytest.raises(ValueError) as caught:
        mistake(guard)
    assert type(caught.value) is ValueError


def test_the_server_settings_name_their_field() -> None:
    pytest.importorskip("uvicorn")
    from callguard.server.limits import ConnectionLimits
    from callguard.server.service import Service

    for make, field, value in [
        (lambda: ConnectionLimits(max_connections=0), "max_connections", 0),
        (lambda: ConnectionLimits(max_per_client=True), "max_per_client", True),
        (lambda: Service(":memory:", deadline=0), "deadline", 0),
        (lambda: Service(":memory:", executor="threads"), "executor", "threads"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            make()
        assert (caught.value.field, caught.value.value) == (field, value)
        assert english_runs(caught.value.render("fr")) == []


# -- the command line names the option ------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    from callguard.cli import cli

    path = str(tmp_path / "cli.db")
    assert CliRunner().invoke(cli, ["init", "--db", path]).exit_code == 0
    return path


def _run(args: list[str], lang: str) -> Any:
    from callguard.cli import cli

    return CliRunner().invoke(cli, ["--lang", lang, *args])


CLI_CASES = [
    # (the command line after `--db PATH`, the option it names)
    (["check", NUMBER, "--caller-id", NPV, "--tz", "Mars/Olympus"], "--tz"),
    (["check", NUMBER, "--caller-id", NPV, "--department", "99"], "--department"),
    (["attempt", NUMBER, "--caller-id", NPV, "--tz", "UTC"], "--tz"),
    (["audit", "{calls}", "--preset", "asterisk", "--tz", "Mars/Olympus"], "--tz"),
    (["audit", "{calls}", "--map", "phone=tel"], "--map"),
    (["bloctel", "export", "{calls}", "--id-column", "crm"], "--id-column"),
    (["scrub", "{calls}", "--caller-id", NPV, "--column", "mobile"], "--column"),
]  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize(
    ("args", "option"), CLI_CASES, ids=[c[1] + "-" + c[0][0] for c in CLI_CASES]
)
def test_the_cli_names_the_option_in_the_users_language(
    args: list[str], option: str, lang: str, ledger: str, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text("number,caller_id,started_at\n0612345678,0948000001,2026-11-23T11:00\n")
    given = [a.format(calls=calls, out=tmp_path / "out.csv") for a in args]
    result = _run([*given, "--db", ledger], lang)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lead = "Valeur invalide pour" if lang == "fr" else "Invalid value for"
    assert f"{lead} '{option}'" in result.output, result.output
    if lang == "fr":
        assert english_runs(result.output.split(lead, 1)[1]) == [], result.output


def test_the_cli_names_a_library_field_by_its_option_when_the_command_differs() -> None:
    from callguard.cli._common import option_of

    assert option_of("mapping") == "--map"
    assert option_of("signing_key_path") == "--signing-key"
    assert option_of("max_per_client") == "--max-connections-per-client"
    assert option_of("no_such_field") is None


# -- the service answers the field ----------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    pytest.importorskip("uvicorn")
    from openapi_check import ValidatingClient
    from test_server_http import auth, make_key, prepare, serve

    path = str(tmp_path / "served.db")
    prepare(path)
    with (
        serve(path) as running,
        ValidatingClient(base_url=running.url, headers=auth(make_key(path)), timeout=10) as c,
    ):
        yield c


def test_the_service_answers_the_field_of_a_bad_argument(client: Any) -> None:
    from test_server_http import body

    for extra, field in [
        ({"department": "99"}, "department"),
        ({"callee_tz": "UTC"}, "callee_tz"),
        ({"callee_tz": "Mars/Olympus"}, "callee_tz"),
        ({"purpose": "selling"}, "purpose"),
    ]:
        r = client.post("/v1/check", json=body(**extra))
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["field"] == field, (extra, r.json())
        french = client.post("/v1/check", json=body(**extra), headers={"Accept-Language": "fr"})
        assert french.status_code == 422 and french.json()["field"] == field
