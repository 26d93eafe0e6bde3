"""How the service answers what the library refuses: the status, and the field named by the
library itself; and the reading of ``at``, whose fast path must read what dateutil reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from dateutil.parser import isoparse

from callguard import Guard
from callguard._exceptions import ConfigurationError
from callguard.server._schemas import Invalid, parse_time
from openapi_check import ValidatingClient
from test_server_http import Running, auth, body, make_key, prepare, serve


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
def client(running: Running, db: str) -> Iterator[Any]:
    with ValidatingClient(base_url=running.url, headers=auth(make_key(db)), timeout=10) as c:
        yield c


def test_an_outcome_the_library_refuses_is_a_422_naming_its_field(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt_id = client.post("/v1/attempts", json=body()).json()["attempt_id"]

    def refuse(self: Guard, attempt_id: int, outcome: object, at: object = None) -> None:
        raise ConfigurationError("this outcome cannot be recorded now", field="at", value=at)

    monkeypatch.setattr(Guard, "record_outcome", refuse)
    r = client.post(f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "BUSY"})
    assert r.status_code == 422  # not a 404: the attempt exists
    assert r.json()["field"] == "at"


@pytest.mark.parametrize(
    "attempt_id", ["0", "999999", "9223372036854775808", "99999999999999999999"]
)
def test_an_attempt_that_is_not_there_is_a_404(client: Any, attempt_id: str) -> None:
    r = client.post(f"/v1/attempts/{attempt_id}/outcome", json={"outcome": "BUSY"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_the_422_names_the_field_the_library_names(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ConfigurationError.field`` names the field; its sentence is not searched for one."""

    def refuse(self: Guard, number: object, caller_id: object, at: object, **kw: Any) -> None:
        raise ConfigurationError("not a line this professional may present", field="caller_id")

    monkeypatch.setattr(Guard, "may_call", refuse)
    r = client.post("/v1/check", json=body())
    assert r.status_code == 422 and r.json()["field"] == "caller_id"


TIMES = [
    "2026-11-23T10:30:00+01:00", "2026-11-23T10:30:00Z", "2026-11-23T10:30:00.123+01:00",
    "2026-11-23T10:30:00.123456-05:30", "2026-11-23T10:30:00+14:00", "2026-11-23T10:30:00-00:00",
    " 2026-11-23T10:30:00+01:00 ", "2026-11-23T24:00:00+01:00", "2026-11-23T10:30+01:00",
    "20261123T103000+0100", "2026-11-23T10:30:00.1234+01:00", "2026-11-23T10:30:00,5+01:00",
    "2026-11-23T10:30:00+0100", "2026-W48-1T10:30:00+01:00",
]  # fmt: skip
BAD = [
    "2026-02-29T10:00:00+01:00", "2026-11-23T10:30:60+01:00", "2026-11-23T10:30:00+24:00",
    "2026-11-23T10:30:00", "2026-11-23 10:30:00+01:00x", "0000-01-01T00:00:00Z", "tomorrow",
    "2026-13-01T10:00:00+01:00", "2026-11-23T10:30:00.123+01:00:00:00",
]  # fmt: skip


@pytest.mark.parametrize("text", TIMES)
def test_at_is_read_as_dateutil_reads_it(text: str) -> None:
    expected = isoparse(text.strip())
    got = parse_time(text, "at")
    assert got == expected and got.utcoffset() == expected.utcoffset()
    assert got.isoformat() == expected.isoformat()
    assert isinstance(got, datetime)


@pytest.mark.parametrize("text", BAD)
def test_what_dateutil_refuses_stays_a_422(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_time(text, "at")
    assert caught.value.field == "at"
