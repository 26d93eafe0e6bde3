"""POST /v1/attempts/{attempt_id}/void over a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from callguard import Guard  # noqa: E402
from conftest import postgres_schema  # noqa: E402
from test_server_http import AT, Running, auth, body, make_key, prepare, serve  # noqa: E402


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = str(tmp_path / "ledger.db")
        prepare(path)
        yield path
        return
    with postgres_schema(request.getfixturevalue("postgres_server")) as dsn:
        prepare(dsn)
        yield dsn


@pytest.fixture
def served(location: str) -> Iterator[tuple[Running, Any, str]]:
    key = make_key(location)
    with (
        serve(location) as running,
        httpx.Client(base_url=running.url, headers=auth(key), timeout=10) as client,
    ):
        yield running, client, location


def _attempt(client: Any, **extra: Any) -> dict[str, Any]:
    answer = client.post("/v1/attempts", json=body(**extra))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _void(client: Any, attempt_id: object, after: timedelta | None = None) -> Any:
    payload: dict[str, Any] = {"reason": "the PBX never dialled it"}
    if after is not None:
        payload["at"] = (AT + after).isoformat()
    return client.post(f"/v1/attempts/{attempt_id}/void", json=payload)


def test_a_void_frees_the_cap_and_its_boundaries(served: tuple[Running, Any, str]) -> None:
    _, client, _ = served
    ids = [_attempt(client)["attempt_id"] for _ in range(4)]
    assert _attempt(client)["allowed"] is False  # the cap
    answer = _void(client, ids[3], timedelta(minutes=4, seconds=59))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"attempt_id": ids[3], "voided": True}
    assert _void(client, ids[3]).status_code == 200  # a retried void: the first one stands
    fifth = _attempt(client)
    assert fifth["allowed"] is True and fifth["attempt_id"] not in ids
    late = _void(client, ids[2], timedelta(minutes=5, seconds=1))
    assert late.status_code == 409, late.text
    assert late.json()["error"] == "conflict"
    assert f"attempt {ids[2]} cannot be voided" in late.json()["message"]
    assert _attempt(client)["allowed"] is False


def test_after_an_outcome_a_void_is_409(served: tuple[Running, Any, str]) -> None:
    _, client, _ = served
    attempt_id = _attempt(client)["attempt_id"]
    outcome = client.post(f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "NO_ANSWER"})
    assert outcome.status_code == 200
    answer = _void(client, attempt_id, timedelta(minutes=1))
    assert answer.status_code == 409
    assert "an outcome (NO_ANSWER) was reported" in answer.json()["message"]


def test_unknown_and_other_professionals_attempts_are_404(
    served: tuple[Running, Any, str],
) -> None:
    running, client, location = served
    attempt_id = _attempt(client)["attempt_id"]
    prepare(location, professional="other")
    other_key = make_key(location, professional="other")
    with httpx.Client(base_url=running.url, headers=auth(other_key), timeout=10) as other:
        assert _void(other, attempt_id).status_code == 404
    for unknown in (attempt_id + 1000, "abc", "9" * 30):
        answer = _void(client, unknown)
        assert answer.status_code == 404, answer.text
    assert client.post(f"/v1/attempts/{attempt_id}/void", json={}).json()["field"] == "reason"
    bad = client.post(f"/v1/attempts/{attempt_id}/void", json={"reason": "  "})
    assert bad.status_code == 422 and bad.json()["field"] == "reason"
    assert _void(client, attempt_id).status_code == 200  # nothing above voided it


def test_an_idempotent_retry_of_a_voided_attempt_is_judged_afresh(
    served: tuple[Running, Any, str],
) -> None:
    """A replay of "allowed" for a voided attempt would be a call the cap never counts."""
    _, client, location = served
    headers = {"Idempotency-Key": "call-42"}
    first = client.post("/v1/attempts", json=body(), headers=headers).json()
    assert first["allowed"] and first["attempt_id"]
    assert client.post("/v1/attempts", json=body(), headers=headers).json() == first  # replay
    assert _void(client, first["attempt_id"], timedelta(minutes=1)).status_code == 200
    retried = client.post("/v1/attempts", json=body(), headers=headers).json()
    assert retried["allowed"] and retried["attempt_id"] != first["attempt_id"]
    # The fresh answer replaces the stored one: later retries replay it.
    assert client.post("/v1/attempts", json=body(), headers=headers).json() == retried
    # Three more attempts fill the cap: the live retry counts, the voided one does not.
    assert [_attempt(client)["allowed"] for _ in range(4)] == [True, True, True, False]
    with Guard(location, professional="acme") as guard:
        assert guard.verify().ok  # the replaced answer is journaled too


def test_the_void_route_is_in_the_openapi_schema(served: tuple[Running, Any, str]) -> None:
    _, client, _ = served
    op = client.get("/openapi.json").json()["paths"]["/v1/attempts/{attempt_id}/void"]["post"]
    assert {"200", "404", "409", "422"} <= set(op["responses"])
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["reason"] and set(schema["properties"]) == {"reason", "at"}
