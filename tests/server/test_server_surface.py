"""The service's surface: other platforms' pre-dial bodies, an OpenAPI schema that describes
every answer, JSON 404/405, consumer-local times, and metrics that count what they say."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from callguard import Guard  # noqa: E402
from callguard.cli import cli  # noqa: E402
from callguard.server.app import openapi_schema  # noqa: E402
from callguard.server.bodymap import BodyMap, BodyMapError, load_body_map  # noqa: E402
from conftest import NPV, paris  # noqa: E402
from openapi_check import ValidatingClient, check_answer  # noqa: E402
from test_server_agi import agi  # noqa: E402
from test_server_http import (  # noqa: E402
    AT,
    AT_ISO,
    NUMBER,
    OTHER,
    Running,
    attempts_in,
    auth,
    body,
    make_key,
    prepare,
)
from test_server_http import serve as serve_as_configured  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs"
REUNION = "0692 12 34 56"  # a Réunion mobile: the consumer's zone is Indian/Reunion (+04:00)


def serve(
    location: str,
    *,
    clock: Any = lambda: AT,
    body_map: BodyMap | None = None,
    agi_port: bool = False,
) -> AbstractContextManager[Running]:
    """test_server_http's real uvicorn, with a body map."""
    return serve_as_configured(location, clock=clock, body_map=body_map, agi=agi_port)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    prepare(path)
    return path


@pytest.fixture
def key(db: str) -> str:
    return make_key(db)


# -- Genesys CX Contact: the documented recipe, as written ----------------------------------------


def documented_request() -> tuple[str, str, dict[str, str], bytes]:
    """The request docs/dialers.md shows the service receiving from Genesys OCS."""
    text = (DOCS / "dialers.md").read_text(encoding="utf-8")
    section = text[text.index("### Genesys CX Contact") :]
    block = re.search(r"```http\n(.*?)\n```", section, re.S)
    assert block is not None, "the Genesys recipe shows its request"
    head, _, payload = block.group(1).partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, target, _version = request_line.split()
    headers = dict(line.split(": ", 1) for line in header_lines)
    return method, target, headers, payload.encode()


def test_the_genesys_recipe_works_as_written(db: str, key: str) -> None:
    method, target, headers, payload = documented_request()
    headers = {k: v.replace("KEY", key) for k, v in headers.items() if k != "Host"}
    record = json.loads(payload)
    refused = json.dumps({**record, "GSW_PHONE": OTHER.replace(" ", "")}).encode()
    with (
        serve(db, body_map=load_body_map("genesys-cxcontact")) as running,
        ValidatingClient(base_url=running.url, timeout=10) as c,
    ):
        allowed = c.request(method, target, headers=headers, content=payload)
        # 200 OK: OCS dials the record; the attempt is recorded with its campaign.
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["allowed"] is True and allowed.json()["attempt_id"] is not None
        no = c.request(method, target, headers=headers, content=refused)
        # 409 Conflict: OCS applies treatments, does not dial.
        assert no.status_code == 409 and no.json()["allowed"] is False
        assert [r["code"] for r in no.json()["reasons"]] == ["NO_CONSENT"]
        # Without ?strict=true too: a 200 refusal would be dialed by OCS.
        lax = c.post("/v1/attempts", headers=headers, content=refused)
        assert lax.status_code == 409
        assert c.post("/v1/check", headers=headers, content=refused).status_code == 409
        # callguard's own bodies keep their contract on the same server.
        assert c.post("/v1/check", json=body(OTHER), headers=auth(key)).status_code == 200
    assert attempts_in(db) == 1


def test_a_genesys_body_without_a_body_map_is_a_422_naming_its_field(db: str, key: str) -> None:
    # What the recipe did before body maps: OCS takes a 422 as do-not-dial for every record.
    _, target, _, payload = documented_request()
    with serve(db) as running, ValidatingClient(base_url=running.url, timeout=10) as c:
        r = c.post(target, headers=auth(key), content=payload)
    assert r.status_code == 422 and r.json()["field"].startswith("GSW_")


def test_a_platform_body_is_validated_and_errors_name_its_fields(db: str, key: str) -> None:
    record = {"GSW_PHONE": "0612345678", "GSW_CPN_DIGITS": NPV, "GSW_ATTEMPTS": 0}
    with (
        serve(db, body_map=load_body_map("genesys-cxcontact")) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        missing = c.post("/v1/attempts", json={"GSW_PHONE": "0612345678"})
        assert missing.status_code == 422 and missing.json()["field"] == "GSW_CPN_DIGITS"
        wrong = c.post("/v1/attempts", json={**record, "GSW_PHONE": ["06"]})
        assert wrong.status_code == 422 and wrong.json()["field"] == "GSW_PHONE"
        as_int = c.post("/v1/check", json={**record, "GSW_PHONE": 612345678})
        assert as_int.status_code == 200 and as_int.json()["number"] == "+33612345678"
        # A body that is callguard's own is still strict: a typo is no platform field.
        typo = c.post("/v1/check", json={**body(), "calller_id": NPV})
        assert typo.status_code == 422 and typo.json()["field"] == "calller_id"
    assert attempts_in(db) == 0


def test_a_body_map_file(db: str, key: str, tmp_path: Path) -> None:
    path = tmp_path / "dialer.json"
    path.write_text(json.dumps({"number": "number", "caller_id": "cli", "campaign": "list_name"}))
    with (
        serve(db, body_map=load_body_map(str(path))) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        # The platform's number field has callguard's name: its other fields tell them apart.
        theirs = {"number": NUMBER, "cli": NPV, "list_name": "l1", "lead_id": 7}
        r = c.post("/v1/attempts", json=theirs)
        assert r.status_code == 200 and r.json()["allowed"] is True
        # A FILE map follows ?strict like callguard's bodies.
        other = {**theirs, "number": OTHER}
        assert c.post("/v1/attempts", json=other).status_code == 200
        assert c.post("/v1/attempts?strict=true", json=other).status_code == 409
        # callguard's own body on the same server: still strict about unknown fields.
        assert c.post("/v1/check", json=body()).json()["allowed"] is True
        assert c.post("/v1/check", json={**body(), "lead_id": 7}).status_code == 422


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"number": "phone", "calller_id": "cli"}', "'calller_id' is not a callguard field"),
        ('{"number": "phone"}', "'caller_id' is required"),
        ('{"number": "phone", "caller_id": 3}', "caller_id"),
        ('{"number": "x", "caller_id": "x"}', "'x' is mapped to both"),
        ("[1, 2]", "must be a JSON object"),
        ('{"number": "caller_id", "caller_id": "number"}', "already callguard's"),
        ("{nope", "not a JSON file"),
    ],
)
def test_a_bad_body_map_stops_serve_with_exit_2_naming_it(
    tmp_path: Path, db: str, content: str, named: str
) -> None:
    from click.testing import CliRunner

    path = tmp_path / "map.json"
    path.write_text(content)
    with pytest.raises(BodyMapError, match=re.escape(named)):
        load_body_map(str(path))
    result = CliRunner().invoke(cli, ["serve", "--db", db, "--body-map", str(path)])
    assert result.exit_code == 2
    assert named in result.output and "--body-map" in result.output


def test_an_unknown_body_map_name_exits_2(db: str) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["serve", "--db", db, "--body-map", "genesys-cloud"])
    assert result.exit_code == 2 and "genesys-cxcontact" in result.output


# -- OpenAPI ----------------------------------------------------------------------------------------


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}.{name}", prop
        for k, v in node.items():
            yield from _properties(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _properties(v, f"{where}[{i}]")


def test_openapi_describes_every_status_and_every_field() -> None:
    schema = openapi_schema(load_body_map("genesys-cxcontact"))
    statuses: set[str] = set()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                statuses.add(status)
                assert response.get("description"), (method, path, status)
                assert response.get("content"), f"{method} {path} {status} has no body schema"
    assert {"200", "201", "401", "404", "409", "422", "503"} <= statuses
    described = list(_properties(schema))
    assert len(described) > 60
    for where, prop in described:
        assert prop.get("description"), f"{where} has no description"
        assert "A column of the ledger" not in prop["description"], where
    numbers = schema["paths"]["/v1/numbers/{number}"]["get"]
    assert {"name": "caller_id", "in": "query"}.items() <= {
        p["name"]: p for p in numbers["parameters"]
    }["caller_id"].items()
    attempts = schema["paths"]["/v1/attempts"]["post"]
    assert set(attempts["responses"]) >= {"200", "401", "409", "422", "503"}
    outcome = schema["paths"]["/v1/attempts/{attempt_id}/outcome"]["post"]
    assert "404" in outcome["responses"]


def test_every_route_names_the_schema_of_its_answer() -> None:
    # A new route must describe its answer in server/_openapi.py (_SUCCESS and, when its body
    # is new, a component): the service tests validate every answer against this schema.
    from callguard.server._openapi import success_schema
    from callguard.server.app import ROUTES

    undescribed = [
        path for _m, path, *_ in ROUTES
        if path not in ("/metrics", "/openapi.json") and success_schema(path) is None
    ]  # fmt: skip
    assert not undescribed, f"describe the answers of {undescribed} in server/_openapi.py"


def test_the_validator_refuses_an_undocumented_answer() -> None:
    with pytest.raises(AssertionError, match="not documented"):
        check_answer("POST", "/v1/check", 418, "application/json", b"{}")
    with pytest.raises(AssertionError, match="surprise"):
        check_answer(
            "POST",
            "/v1/check",
            200,
            "application/json",
            json.dumps({"allowed": True, "surprise": 1}).encode(),
        )
    with pytest.raises(AssertionError, match="date-time"):
        check_answer(
            "POST",
            "/v1/consents",
            201,
            "application/json",
            json.dumps(
                {"number": "+33612345678", "recorded": "consent", "at": "2026-11-23T10:30:00"}
            ).encode(),
        )


# -- 404 and 405 are JSON -------------------------------------------------------------------------


def test_404_and_405_answer_the_json_error_shape(db: str, key: str) -> None:
    with (
        serve(db) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        missing = c.get("/v1/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        assert missing.json()["error"] == "not_found" and "/v1/nope" in missing.json()["message"]
        wrong = c.get("/v1/check")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        assert wrong.json()["error"] == "method_not_allowed"
        assert "GET" in wrong.json()["message"] and "POST" in wrong.json()["message"]
        french = c.get("/v1/nope", headers={"Accept-Language": "fr"})
        assert french.status_code == 404 and "aucune route" in french.json()["message"]
        # An unknown attempt is the route's own 404, JSON as well.
        assert (
            c.post("/v1/attempts/999/outcome", json={"outcome": "BUSY"}).json()["error"]
            == "not_found"
        )


# -- times carry the consumer's offset --------------------------------------------------------------


def test_times_in_answers_carry_the_consumers_offset(db: str, key: str) -> None:
    utc_clock = lambda: AT.astimezone(UTC)  # noqa: E731 - the server's clock in UTC
    with Guard(db, professional="acme") as guard:
        guard.record_consent(REUNION, paris(2026, 9, 1), proof="form-re")
    with (
        serve(db, clock=utc_clock) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        decided = c.post("/v1/check", json={"number": NUMBER, "caller_id": NPV}).json()
        assert decided["at"] == AT_ISO  # 10:30+01:00, not 09:30+00:00
        given_in_utc = c.post(
            "/v1/attempts",
            json={**body(), "at": "2026-11-23T09:30:00Z"},
            headers={"Idempotency-Key": "t1"},
        ).json()
        assert given_in_utc["at"] == AT_ISO
        replayed = c.post(
            "/v1/attempts",
            json={**body(), "at": "2026-11-23T09:30:00Z"},
            headers={"Idempotency-Key": "t1"},
        ).json()
        assert replayed == given_in_utc
        reunion = c.post("/v1/check", json={"number": REUNION, "caller_id": NPV}).json()
        assert reunion["callee_tz"] == "Indian/Reunion" and reunion["at"].endswith("+04:00")
        fact = c.post("/v1/refusals", json={"number": REUNION}).json()
        assert fact["at"] == "2026-11-23T13:30:00+04:00"
        optout = c.post("/v1/optouts", json={"number": OTHER}).json()
        assert optout["at"] == AT_ISO
        history = c.get(f"/v1/numbers/{NUMBER}", params={"caller_id": NPV}).json()
        assert history["decision"]["at"] == AT_ISO
        assert history["attempts"][0]["at"] == AT_ISO
    assert datetime.fromisoformat(decided["at"]) == AT


# -- metrics, scraped from a running server -------------------------------------------------------


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url + "/metrics", timeout=10).text
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_each_decision_once_reasons_apart_and_replays_apart(
    db: str, key: str
) -> None:
    many = {  # a refusal with five reasons: mobile caller ID, Sunday, no consent, sector...
        "number": OTHER, "caller_id": "06 11 22 33 44", "at": "2026-11-22T21:00:00+01:00",
        "sector": "ENERGY_RENOVATION",
    }  # fmt: skip
    with (
        serve(db, agi_port=True) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        refused = c.post("/v1/check", json=many).json()
        assert len(refused["reasons"]) >= 4
        c.post("/v1/check", json=body())
        first = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k"})
        again = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k"})
        assert again.json() == first.json()
        agi(running.agi_port, f"check?key={key}", NUMBER, NPV)
        agi(running.agi_port, f"attempt?key={key}", OTHER, NPV)
        agi(running.agi_port, "attempt?key=cg_wrong", NUMBER, NPV)
        agi(running.agi_port, f"nosuch{'x' * 30}?key={key}", NUMBER, NPV)
        m = scrape(running.url)

    def get(name: str, **labels: str) -> float:
        return m.get((name, tuple(sorted(labels.items()))), 0.0)

    assert get("callguard_decisions_total", route="/v1/check", result="refused") == 1
    assert get("callguard_decisions_total", route="/v1/check", result="allowed") == 1
    assert get("callguard_decisions_total", route="/v1/attempts", result="allowed") == 1
    assert get("callguard_idempotent_replays_total") == 1
    for reason in refused["reasons"]:
        assert get("callguard_decision_reasons_total", reason=reason["code"]) >= 1
    total_reasons = sum(v for (n, _), v in m.items() if n == "callguard_decision_reasons_total")
    assert total_reasons == len(refused["reasons"]) + 1  # + the AGI attempt's NO_CONSENT
    decisions = sum(v for (n, _), v in m.items() if n == "callguard_decisions_total")
    assert decisions == 5  # 2 checks, 1 attempt (its replay is not one), 2 AGI sessions
    assert get("callguard_decisions_total", route="agi/check", result="allowed") == 1
    assert get("callguard_decisions_total", route="agi/attempt", result="refused") == 1
    # FastAGI sessions are in the latency histogram, by script and result.
    assert get("callguard_request_seconds_count", route="agi/check", status="allowed") == 1
    assert get("callguard_request_seconds_count", route="agi/attempt", status="refused") == 1
    assert get("callguard_request_seconds_count", route="agi/attempt", status="error") == 1
    assert get("callguard_request_seconds_count", route="agi/unknown", status="error") == 1
    assert not any("nosuch" in str(labels) for _, labels in m)
    assert get("callguard_request_seconds_count", route="/v1/attempts", status="200") == 2
