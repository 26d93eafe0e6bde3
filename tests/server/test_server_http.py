"""The pre-dial service over HTTP: a real uvicorn on an ephemeral port, driven by httpx."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from callguard import Guard  # noqa: E402
from callguard.server import Service, create_app  # noqa: E402
from callguard.server.app import ROUTES  # noqa: E402
from callguard.server.bodymap import BodyMap  # noqa: E402
from callguard.server.keys import create_key, revoke_key  # noqa: E402
from callguard.server.limits import ConnectionLimits  # noqa: E402
from callguard.server.transport import server_config  # noqa: E402
from callguard.storage import open_ledger  # noqa: E402
from conftest import NPV, paris, postgres_schema  # noqa: E402
from openapi_check import ValidatingClient  # noqa: E402

NUMBER = "06 12 34 56 78"
E164 = "+33612345678"
OTHER = "06 98 76 54 32"
AT = paris(2026, 11, 23, 10, 30)  # a Monday, business hours, consent regime
AT_ISO = AT.isoformat()


@dataclass
class Running:
    url: str
    service: Service
    app: Any

    @property
    def agi_port(self) -> int:
        return int(self.app.state.agi.port)


@contextmanager
def serve(
    location: str,
    *,
    clock: Callable[[], datetime] | None = lambda: AT,
    busy_timeout: float = 5.0,
    agi: bool = False,
    agi_read_timeout: float = 2.0,
    executor: str = "auto",
    deadline: float = 5.0,
    limits: ConnectionLimits | None = None,
    body_map: BodyMap | None = None,
    **timeouts: float,
) -> Iterator[Running]:
    """uvicorn in a thread on 127.0.0.1:0, configured as ``callguard serve`` configures it;
    stopped (gracefully) on exit."""
    service = Service(
        location, clock=clock, busy_timeout=busy_timeout, executor=executor, deadline=deadline
    )
    app = create_app(
        service,
        agi_port=0 if agi else None,
        agi_read_timeout=agi_read_timeout,
        body_map=body_map,
    )
    config = server_config(
        app, host="127.0.0.1", port=0, limits=limits, timeout_graceful_shutdown=5,
        lifespan="on", **timeouts,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Running(f"http://127.0.0.1:{port}", service, app)
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive()


def make_key(location: str, professional: str = "acme", name: str | None = None) -> str:
    ledger = open_ledger(location, busy_timeout=5.0)
    try:
        return create_key(ledger, ledger.professional_id(professional), professional, name)
    finally:
        ledger.close()


def prepare(location: str, professional: str = "acme", number: str = NUMBER) -> None:
    """A number that may lawfully be called at AT: a consent (the opt-in regime)."""
    with Guard(location, professional=professional) as guard:
        guard.record_consent(number, paris(2026, 9, 1), proof=f"form-{number}")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def body(number: str = NUMBER, **extra: Any) -> dict[str, Any]:
    return {"number": number, "caller_id": NPV, "at": AT_ISO, **extra}


def attempts_in(location: str, professional: str = "acme") -> int:
    ledger = open_ledger(location, busy_timeout=5.0)
    try:
        rows = ledger.service_rows(  # type: ignore[attr-defined]
            "SELECT count(*) FROM attempts AS a JOIN professionals AS p "
            "ON p.id = a.professional WHERE p.name = ?",
            (professional,),
        )
    finally:
        ledger.close()
    return int(rows[0][0])


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    prepare(path)
    return path


@pytest.fixture
def running(db: str) -> Iterator[Running]:
    with serve(db) as r:
        yield r


@pytest.fixture
def key(db: str) -> str:
    return make_key(db)


@pytest.fixture
def client(running: Running, key: str) -> Iterator[Any]:
    with ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c:
        yield c


# -- decisions ------------------------------------------------------------------------------------


def test_check_answers_the_decision_and_strict_turns_a_refusal_into_409(client: Any) -> None:
    r = client.post("/v1/check", json=body())
    assert r.status_code == 200
    d = r.json()
    assert d["allowed"] is True and d["number"] == E164 and d["attempt_id"] is None
    assert datetime.fromisoformat(d["at"]) == AT and d["regime"] == "consent"
    refused = client.post("/v1/check", json=body(OTHER))
    assert refused.status_code == 200
    assert refused.json()["allowed"] is False
    assert [x["code"] for x in refused.json()["reasons"]] == ["NO_CONSENT"]
    strict = client.post("/v1/check?strict=true", json=body(OTHER))
    assert strict.status_code == 409 and strict.json() == refused.json()
    assert client.post("/v1/check?strict=true", json=body()).status_code == 200
    # Read-only: nothing was recorded.
    assert client.get(f"/v1/numbers/{NUMBER}").json()["attempts"] == []


def test_a_bad_number_is_a_refusal_not_an_error(client: Any) -> None:
    r = client.post("/v1/check", json=body("not a number"))
    assert r.status_code == 200
    assert [x["code"] for x in r.json()["reasons"]] == ["INVALID_NUMBER"]
    r = client.post("/v1/attempts", json=body("123"))
    assert r.status_code == 200 and r.json()["allowed"] is False
    hidden = client.post("/v1/check", json=body(caller_id=""))
    assert hidden.status_code == 200
    assert "CALLER_ID_INVALID" in [x["code"] for x in hidden.json()["reasons"]]


def test_at_defaults_to_the_servers_clock(client: Any) -> None:
    r = client.post("/v1/check", json={"number": NUMBER, "caller_id": NPV})
    assert (
        r.status_code == 200
        and datetime.fromisoformat(r.json()["at"]) == AT
        and r.json()["allowed"]
    )


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (json.dumps({"number": NUMBER}).encode(), "caller_id"),
        (json.dumps({"caller_id": NPV}).encode(), "number"),
        (json.dumps({**body(), "calller_id": NPV}).encode(), "calller_id"),
        (json.dumps({**body(), "number": 612345678}).encode(), "number"),
        (json.dumps({**body(), "purpose": "SPAM"}).encode(), "purpose"),
        (json.dumps({**body(), "sector": 3}).encode(), "sector"),
        (json.dumps({**body(), "at": "2026-11-23T10:30:00"}).encode(), "at"),
        (json.dumps({**body(), "at": "yesterday-ish"}).encode(), "at"),
        (json.dumps({**body(), "recorded_message": "yes"}).encode(), "recorded_message"),
        (json.dumps({**body(), "callee_tz": "Mars/Olympus"}).encode(), "callee_tz"),
        (json.dumps({**body(), "callee_tz": "Etc/GMT-1"}).encode(), "callee_tz"),
        (json.dumps({**body(), "callee_tz": "UTC"}).encode(), "callee_tz"),
        (json.dumps({**body(), "at": "9999-12-31T23:00:00+00:00"}).encode(), "at"),
        (json.dumps({**body(), "at": "2015-01-05T10:00:00+01:00"}).encode(), "at"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client: Any, content: bytes, field: str) -> None:
    for route in ("/v1/check", "/v1/attempts"):
        r = client.post(route, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (route, r.text)
        assert r.json()["field"] == field, r.json()
    assert client.get("/v1/numbers/" + NUMBER).json()["attempts"] == []


def test_enums_take_their_names(client: Any) -> None:
    r = client.post("/v1/check", json=body(purpose="B2B"))
    assert r.status_code == 200, r.text
    assert client.post("/v1/check", json=body(sector="CPF_TRAINING")).json()["allowed"] is False
    assert client.post("/v1/check", json=body(recorded_message=False)).status_code == 200
    # Fields the contract names: taken when this version of the library knows them, otherwise a
    # 422 that names them, never silently ignored.
    r = client.post("/v1/check", json=body(department="57"))
    assert r.status_code == 200 or (r.status_code == 422 and r.json()["field"] == "department")
    r = client.post("/v1/consents", json={"number": NUMBER, "proof": "p", "channel": "web"})
    assert r.status_code == 201 or (r.status_code == 422 and r.json()["field"] == "channel")


def test_keys_are_required_and_checked(running: Running, key: str, db: str) -> None:
    with ValidatingClient(base_url=running.url, timeout=10) as c:
        assert c.post("/v1/check", json=body()).status_code == 401
        assert c.post("/v1/check", json=body(), headers=auth("cg_nope")).status_code == 401
        assert c.post("/v1/check", json=body(), headers={"Authorization": key}).status_code == 401
        assert c.post("/v1/check", content=b"junk", headers=auth("x")).status_code == 401
        assert c.get("/v1/numbers/" + NUMBER).status_code == 401
        assert c.post("/v1/attempts/1/outcome", json={"outcome": "BUSY"}).status_code == 401
        for route in ("/v1/consents", "/v1/consents/withdraw", "/v1/optouts", "/v1/refusals"):
            assert c.post(route, json={"number": NUMBER}).status_code == 401
        assert c.post("/v1/check", json=body(), headers=auth(key)).status_code == 200
    assert attempts_in(db) == 0


def test_a_revoked_key_stops_working_at_once(running: Running, db: str) -> None:
    from click.testing import CliRunner

    from callguard.cli import cli

    key = make_key(db, name="dialer-1")
    with ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c:
        assert c.post("/v1/check", json=body()).status_code == 200
        result = CliRunner().invoke(cli, ["keys", "revoke", "dialer-1", "--db", db])
        assert result.exit_code == 0, result.output
        assert c.post("/v1/check", json=body()).status_code == 401
        assert c.post("/v1/attempts", json=body()).status_code == 401
    assert attempts_in(db) == 0


# -- attempts -------------------------------------------------------------------------------------


def test_eight_concurrent_clients_get_exactly_four_attempts(
    running: Running, key: str, db: str
) -> None:
    def dialer(_: int) -> list[dict[str, Any]]:
        with ValidatingClient(base_url=running.url, headers=auth(key), timeout=30) as c:
            return [c.post("/v1/attempts", json=body()).json() for _ in range(20)]

    with ThreadPoolExecutor(8) as pool:
        answers = [a for batch in pool.map(dialer, range(8)) for a in batch]
    assert len(answers) == 160
    allowed = [a for a in answers if a["allowed"]]
    assert len(allowed) == 4
    assert len({a["attempt_id"] for a in allowed}) == 4
    refused_codes = {x["code"] for a in answers if not a["allowed"] for x in a["reasons"]}
    assert refused_codes == {"FREQUENCY_CAP"}
    assert attempts_in(db) == 4


def test_an_idempotent_retry_records_nothing_more(client: Any, running: Running, db: str) -> None:
    headers = {"Idempotency-Key": "call-42"}
    first = client.post("/v1/attempts", json=body(campaign="spring"), headers=headers)
    assert first.status_code == 200 and first.json()["attempt_id"] is not None
    # The same body, re-serialised in another key order, is the same request.
    again = client.post(
        "/v1/attempts",
        content=json.dumps({"campaign": "spring", **body()}, indent=1),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 200 and again.json() == first.json()
    assert attempts_in(db) == 1
    changed = client.post("/v1/attempts", json=body(campaign="summer"), headers=headers)
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key"
    # A refused answer is replayed as well, and stays a refusal under ?strict=true.
    refused = client.post("/v1/attempts", json=body(OTHER), headers={"Idempotency-Key": "r"})
    assert refused.json()["allowed"] is False
    replay = client.post(
        "/v1/attempts?strict=true", json=body(OTHER), headers={"Idempotency-Key": "r"}
    )
    assert replay.status_code == 409 and replay.json() == refused.json()
    # Keys are scoped to the API key: another key's "call-42" is a request of its own.
    other = make_key(db)
    r = client.post("/v1/attempts", json=body(), headers={**headers, **auth(other)})
    assert r.status_code == 200 and r.json()["attempt_id"] != first.json()["attempt_id"]
    assert attempts_in(db) == 2
    stored = open_ledger(db, busy_timeout=5.0)
    try:
        assert stored.service_rows("SELECT count(*) FROM idempotency", ())[0][0] == 3  # type: ignore[attr-defined]
    finally:
        stored.close()


def test_concurrent_retries_with_one_idempotency_key_record_once(
    running: Running, key: str, db: str
) -> None:
    def retry(_: int) -> dict[str, Any]:
        with ValidatingClient(base_url=running.url, headers=auth(key), timeout=30) as c:
            r = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "same"})
            assert r.status_code == 200, r.text
            return dict(r.json())

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(retry, range(16)))
    assert len({a["attempt_id"] for a in answers}) == 1
    assert attempts_in(db) == 1


def test_outcomes_and_their_404s(client: Any, running: Running, db: str) -> None:
    attempt_id = client.post("/v1/attempts", json=body()).json()["attempt_id"]
    r = client.post(f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "REFUSED"})
    assert r.status_code == 200 and r.json() == {"attempt_id": attempt_id, "outcome": "REFUSED"}
    later = client.post("/v1/check", json=body(at=paris(2026, 11, 24, 11).isoformat()))
    assert [x["code"] for x in later.json()["reasons"]] == ["REFUSAL_COOLDOWN"]
    assert client.post("/v1/attempts/999999/outcome", json={"outcome": "BUSY"}).status_code == 404
    assert client.post("/v1/attempts/abc/outcome", json={"outcome": "BUSY"}).status_code == 404
    bad = client.post(f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "MAYBE"})
    assert bad.status_code == 422 and bad.json()["field"] == "outcome"
    # Another professional's key cannot touch it, nor learn that it exists.
    prepare(db, "rival")
    rival = make_key(db, "rival")
    r = client.post(
        f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "ANSWERED"}, headers=auth(rival)
    )
    assert r.status_code == 404
    history = client.get(f"/v1/numbers/{NUMBER}").json()
    assert history["attempts"][0]["outcome"] == "REFUSED"


# -- facts ----------------------------------------------------------------------------------------


def test_facts_are_recorded_201_and_shown_back(client: Any) -> None:
    n = "06 11 22 33 44"
    assert client.post("/v1/check", json=body(n)).json()["allowed"] is False
    r = client.post(
        "/v1/consents",
        json={"number": n, "at": paris(2026, 10, 1).isoformat(), "proof": "web-form-17"},
    )
    assert r.status_code == 201 and r.json()["number"] == "+33611223344"
    assert client.post("/v1/check", json=body(n)).json()["allowed"] is True
    attempt = client.post("/v1/attempts", json=body(n, campaign="c1")).json()
    assert client.post("/v1/refusals", json={"number": n, "at": AT_ISO}).status_code == 201
    assert (
        client.post("/v1/optouts", json={"number": n, "at": AT_ISO, "source": "phone"}).status_code
        == 201
    )
    assert client.post("/v1/consents/withdraw", json={"number": n, "at": AT_ISO}).status_code == 201
    shown = client.get(f"/v1/numbers/{n}", params={"caller_id": NPV})
    assert shown.status_code == 200
    h = shown.json()
    assert set(h) >= {
        "number",
        "attempts",
        "refusals",
        "optouts",
        "consents",
        "contracts",
        "bloctel",
        "decision",
    }
    assert h["number"] == "+33611223344"
    assert len(h["attempts"]) == 1
    assert datetime.fromisoformat(h["attempts"][0].pop("at")) == AT
    assert h["attempts"][0].pop("recorded_at").endswith("+01:00")  # the consumer's zone
    assert h["attempts"] == [{
        "attempt_id": attempt["attempt_id"], "outcome": None, "campaign": "c1",
        "caller_id": "+33948123456", "purpose": "PROSPECTION", "outcomes": [],
        "voided_at": None, "void_reason": None,
    }]  # fmt: skip
    assert len(h["refusals"]) == 1 and h["optouts"][0]["source"] == "phone"
    assert h["consents"][0]["proof"] == "web-form-17" and len(h["withdrawals"]) == 1
    assert {x["code"] for x in h["decision"]["reasons"]} >= {"OPTED_OUT", "CONSENT_WITHDRAWN"}


def test_consent_evidence_outcome_history_and_lifts(client: Any) -> None:
    n = "06 11 22 33 45"
    r = client.post("/v1/consents", json={
        "number": n, "at": paris(2026, 10, 1).isoformat(), "proof": "form 12", "off_hours": True,
        "channel": "web", "source": "vendor-7", "wording": "v3", "proof_sha256": "AB" * 32,
    })  # fmt: skip
    assert r.status_code == 201, r.json()
    bad = client.post("/v1/consents", json={"number": n, "proof": "p", "proof_sha256": "xyz"})
    assert bad.status_code == 422 and bad.json()["field"] == "proof_sha256"
    attempt = client.post("/v1/attempts", json=body(n)).json()
    outcome = f"/v1/attempts/{attempt['attempt_id']}/outcome"
    assert client.post(outcome, json={"outcome": "REFUSED"}).status_code == 200
    assert client.post(outcome, json={"outcome": "ANSWERED"}).status_code == 200
    assert client.post("/v1/check", json=body(n)).json()["allowed"] is False
    blank = client.post("/v1/refusals/lift", json={"number": n, "reason": " "})
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    lifted = client.post("/v1/refusals/lift", json={"number": n, "reason": "misclick",
                                                    "at": AT_ISO, "by": "sup-3"})  # fmt: skip
    assert lifted.status_code == 200 and lifted.json() == {"lifted": 1}
    assert client.post("/v1/objections/lift", json={"number": n, "reason": "none"}).json() == {
        "lifted": 0
    }
    h = client.get(f"/v1/numbers/{n}", params={"caller_id": NPV}).json()
    assert h["attempts"][0]["outcomes"] == ["REFUSED", "ANSWERED"]
    assert (
        h["refusals"][0]["lift_reason"] == "misclick" and h["refusals"][0]["lifted_by"] == "sup-3"
    )
    consent = h["consents"][0]
    assert consent["off_hours"] is True and consent["proof_sha256"] == "ab" * 32
    assert (consent["channel"], consent["source"], consent["wording"]) == ("web", "vendor-7", "v3")


def test_writes_refuse_bad_input_by_field(client: Any) -> None:
    r = client.post("/v1/consents", json={"number": NUMBER})
    assert r.status_code == 422 and r.json()["field"] == "proof"
    r = client.post("/v1/refusals", json={"number": "garbage", "at": AT_ISO})
    assert r.status_code == 422 and r.json()["field"] == "number"
    r = client.post("/v1/optouts", json={"number": NUMBER, "professional": "rival"})
    assert r.status_code == 422 and r.json()["field"] == "professional"
    r = client.post(
        "/v1/consents",
        json={
            "number": NUMBER,
            "proof": "p",
            "at": AT_ISO,
            "expires_at": paris(2026, 1, 1).isoformat(),
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "expires_at"


def test_a_key_never_sees_or_writes_another_professionals_facts(client: Any, db: str) -> None:
    prepare(db, "rival", OTHER)
    rival = make_key(db, "rival")
    mine = client.post("/v1/attempts", json=body()).json()
    assert mine["allowed"]
    theirs = client.get(f"/v1/numbers/{NUMBER}", headers=auth(rival)).json()
    assert theirs["attempts"] == [] and theirs["consents"] == []
    assert client.get(f"/v1/numbers/{OTHER}").json()["consents"] == []
    # The rival's opt-out stays the rival's; no field can name another professional.
    assert (
        client.post("/v1/optouts", json={"number": NUMBER}, headers=auth(rival)).status_code == 201
    )
    assert client.post("/v1/check", json=body()).json()["allowed"] is True
    assert attempts_in(db, "rival") == 0


# -- failures -------------------------------------------------------------------------------------


def test_a_locked_ledger_is_503_and_records_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.db")
    prepare(path)
    key = make_key(path)
    with (
        serve(path, busy_timeout=0.2) as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=30) as c,
    ):
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            r = c.post("/v1/attempts", json=body())
            assert r.status_code == 503
            assert r.json()["allowed"] is False and r.json()["attempt_id"] is None
            assert [x["code"] for x in r.json()["reasons"]] == ["LEDGER_UNAVAILABLE"]
            r = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k1"})
            assert r.status_code == 503
            assert c.post("/v1/refusals", json={"number": NUMBER}).status_code == 503
            assert c.get("/healthz").status_code == 200  # readers still read (WAL)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        # The 503 was not stored: the retry is judged afresh, and allowed.
        r = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k1"})
        assert r.status_code == 200 and r.json()["allowed"] is True
        assert "callguard_ledger_errors_total" in c.get("/metrics").text
    assert attempts_in(path) == 1


def test_healthz_is_503_when_the_ledger_cannot_be_read(running: Running, client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    running.service._ledger.conn.close()  # type: ignore[attr-defined]
    with ValidatingClient(timeout=10) as c:
        r = c.get(running.url + "/healthz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"
    if running.service._inline_ledger is not None:  # the keys read on the event loop
        running.service._inline_ledger.conn.close()  # type: ignore[attr-defined]
    r = httpx.get(running.url + "/healthz", timeout=10)
    assert r.status_code == 503 and r.json()["status"] == "unavailable"
    # The keys cannot be read either: fail closed, never an allow.
    assert client.post("/v1/attempts", json=body()).status_code == 503


def test_garbage_never_crashes_the_server(running: Running, client: Any) -> None:
    host, port = running.url.removeprefix("http://").split(":")
    big = b"{" + b" " * (200 * 1024) + b"}"
    assert client.post("/v1/check", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    assert client.post("/v1/attempts", content=chunks()).status_code == 413
    assert client.post("/v1/check", content=b"\x00\xff" * 100).status_code == 422
    assert client.post("/v1/check", content=b"[" * 50_000).status_code == 422
    junk = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 50,
        b"GET / HTTP/9.9\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"POST /v1/check HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        bytes(range(256)) * 20,
    ]
    for payload in junk:
        with socket.create_connection((host, int(port)), timeout=1) as s, suppress(OSError):
            s.sendall(payload)
            s.recv(1024)  # a 400, the server closing the connection, or waiting for more
    # Half-open and silent clients are not served forever and do not block anyone.
    silent = [socket.create_connection((host, int(port)), timeout=5) for _ in range(20)]
    try:
        r = client.post("/v1/check", json=body())
        assert r.status_code == 200 and r.json()["allowed"] is True
    finally:
        for s in silent:
            s.close()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(lambda _: client.post("/v1/check", content=b"{").status_code, range(50))
        )
    assert set(statuses) == {422}
    assert client.post("/v1/check", json=body()).json()["allowed"] is True


def test_openapi_lists_exactly_the_routes(client: Any, running: Running) -> None:
    schema = client.get("/openapi.json").json()
    listed = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    served = {(m, r.path) for r in running.app.routes for m in (r.methods or ()) if m != "HEAD"}
    assert listed == served == {(m, p) for m, p, *_ in ROUTES}
    assert {
        ("POST", "/v1/check"), ("POST", "/v1/attempts"),
        ("POST", "/v1/attempts/{attempt_id}/outcome"), ("POST", "/v1/consents"),
        ("POST", "/v1/consents/withdraw"), ("POST", "/v1/optouts"), ("POST", "/v1/refusals"),
        ("GET", "/v1/numbers/{number}"), ("GET", "/healthz"), ("GET", "/metrics"),
    } <= listed  # fmt: skip
    check = schema["paths"]["/v1/check"]["post"]["requestBody"]["content"]["application/json"]
    assert set(check["schema"]["required"]) == {"number", "caller_id"}


def test_metrics_count_decisions_by_result_and_reason(client: Any) -> None:
    client.post("/v1/check", json=body())
    client.post("/v1/check", json=body(OTHER))
    text = client.get("/metrics").text
    assert 'callguard_decisions_total{result="allowed",route="/v1/check"} 1.0' in text
    assert 'callguard_decisions_total{result="refused",route="/v1/check"} 1.0' in text
    assert 'callguard_decision_reasons_total{reason="NO_CONSENT"} 1.0' in text
    assert "callguard_request_seconds_bucket" in text


def test_one_json_log_line_per_request_without_the_key(
    client: Any, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="callguard.server"):
        client.post("/v1/check", json=body(OTHER))
        client.post("/v1/check", json=body(), headers=auth("cg_wrong"))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "callguard.server"]
    assert lines[0]["route"] == "/v1/check" and lines[0]["professional"] == "acme"
    assert lines[0]["allowed"] is False and lines[0]["codes"] == ["NO_CONSENT"]
    assert lines[0]["status"] == 200 and lines[0]["latency_ms"] > 0
    assert lines[1]["status"] == 401
    assert key not in caplog.text and "cg_wrong" not in caplog.text


def test_the_threadpool_executor_answers_the_same(db: str, key: str) -> None:
    with (
        serve(db, executor="pool") as running,
        ValidatingClient(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        assert c.post("/v1/attempts", json=body()).json()["allowed"] is True


# -- PostgreSQL -----------------------------------------------------------------------------------


def test_postgres_ledger_served(postgres_server: str) -> None:
    with postgres_schema(postgres_server) as dsn:
        prepare(dsn)
        key = make_key(dsn)
        with serve(dsn) as running:

            def dialer(_: int) -> list[dict[str, Any]]:
                with ValidatingClient(base_url=running.url, headers=auth(key), timeout=30) as c:
                    return [c.post("/v1/attempts", json=body()).json() for _ in range(10)]

            with ThreadPoolExecutor(8) as pool:
                answers = [a for batch in pool.map(dialer, range(8)) for a in batch]
            assert sum(a["allowed"] for a in answers) == 4
            with ValidatingClient(base_url=running.url, headers=auth(key), timeout=30) as c:
                assert c.get("/healthz").status_code == 200
                n = "06 11 22 33 44"
                c.post(
                    "/v1/consents",
                    json={"number": n, "at": paris(2026, 10, 1).isoformat(), "proof": "p"},
                )
                first = c.post("/v1/attempts", json=body(n), headers={"Idempotency-Key": "i"})
                again = c.post("/v1/attempts", json=body(n), headers={"Idempotency-Key": "i"})
                assert first.json()["allowed"] and again.json() == first.json()
                other = c.post(
                    "/v1/attempts", json=body(n, campaign="x"), headers={"Idempotency-Key": "i"}
                )
                assert other.status_code == 422
                assert c.post("/v1/check", json=body(), headers=auth("cg_x")).status_code == 401
                h = c.get(f"/v1/numbers/{n}").json()
                assert len(h["attempts"]) == 1 and h["consents"][0]["proof"] == "p"
                with ledger_of(dsn) as ledger:
                    revoke_key(ledger, ledger.service_rows("SELECT name FROM api_keys", ())[0][0])
                assert c.post("/v1/check", json=body()).status_code == 401
        assert attempts_in(dsn) == 5


@contextmanager
def ledger_of(location: str) -> Iterator[Any]:
    ledger = open_ledger(location, busy_timeout=5.0)
    try:
        yield ledger
    finally:
        ledger.close()


def test_keys_and_stored_answers_move_with_migrate_ledger(
    tmp_path: Path, postgres_server: str
) -> None:
    from callguard.storage.copy import migrate_ledger

    source = str(tmp_path / "source.db")
    prepare(source)
    key = make_key(source)
    with serve(source) as running, ValidatingClient(base_url=running.url, headers=auth(key)) as c:
        first = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "m"}).json()
    with postgres_schema(postgres_server) as dsn:
        counts = migrate_ledger(source, dsn)
        assert counts["api_keys"] == 1 and counts["idempotency"] == 1
        with serve(dsn) as running, ValidatingClient(base_url=running.url, headers=auth(key)) as c:
            again = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "m"})
            assert again.status_code == 200 and again.json() == first
            assert c.post("/v1/attempts", json=body()).json()["attempt_id"] > first["attempt_id"]
        assert attempts_in(dsn) == 2


def test_a_stalled_body_is_408_and_blocks_no_one(db: str, key: str) -> None:
    with (
        serve(db, body_timeout=0.5) as running,
        httpx.Client(base_url=running.url, headers=auth(key), timeout=10) as client,
    ):
        host, port = running.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(
                b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                b'Content-Type: application/json\r\n\r\n{"num'
            )
            assert client.post("/v1/check", json=body()).json()["allowed"] is True
            assert s.recv(1024).startswith(b"HTTP/1.1 408")


def test_accept_language_fr_answers_each_reason_in_french(client: Any) -> None:
    english = client.post("/v1/check", json=body(OTHER)).json()["reasons"][0]
    assert english["code"] == "NO_CONSENT"
    french = client.post(
        "/v1/check", json=body(OTHER), headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    ).json()["reasons"][0]
    assert french["code"] == english["code"] == "NO_CONSENT"
    assert french["message"] == french["message_fr"] == english["message_fr"]
    assert french["message"] != english["message"]
    preferred_en = client.post(
        "/v1/check", json=body(OTHER), headers={"Accept-Language": "fr;q=0.1, en"}
    ).json()["reasons"][0]
    assert preferred_en["message"] == english["message"]
    history = client.get(
        f"/v1/numbers/{OTHER}", params={"caller_id": NPV}, headers={"Accept-Language": "fr"}
    ).json()
    assert history["decision"]["reasons"][0]["message"] == english["message_fr"]
