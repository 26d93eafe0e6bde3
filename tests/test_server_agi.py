"""FastAGI: a client that speaks the wire protocol as Asterisk's res_agi does.

Asterisk connects, sends ``agi_network: yes``, ``agi_network_script: SCRIPT``, its environment
block (``agi_request``, ``agi_channel``, … ``agi_arg_N``) ended by an empty line; then for every
command it receives it answers one status line (``200 result=1``, ``510 Invalid or unknown
command``, ``511 Command Not Permitted on a dead channel``, a ``520-`` usage block ending in
``520 End of proper usage.``), or ``HANGUP`` once the channel is gone.
"""

from __future__ import annotations

import shlex
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from conftest import NPV, paris
from test_server_http import (
    NUMBER,
    OTHER,
    Running,
    attempts_in,
    make_key,
    postgres_schema,
    prepare,
    serve,
)


def agi(
    port: int,
    script: str,
    *args: str,
    reply: str = "200 result=1",
    replies: dict[int, str] | None = None,
) -> dict[str, str]:
    """Run one AGI session; returns the variables the server set, in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        lines = [
            "agi_network: yes",
            f"agi_network_script: {script}",
            f"agi_request: agi://127.0.0.1:{port}/{script}",
            "agi_channel: SIP/trunk-00000001",
            "agi_language: fr",
            "agi_type: SIP",
            "agi_uniqueid: 1700000000.1",
            "agi_version: 20.5.0",
            "agi_callerid: 0948123456",
            "agi_calleridname: unknown",
            "agi_context: outbound",
            "agi_extension: s",
            "agi_priority: 1",
            "agi_enhanced: 0.0",
            "agi_accountcode: ",
            "agi_threadid: 140000000000000",
            *(f"agi_arg_{i}: {a}" for i, a in enumerate(args, 1)),
            "",
            "",
        ]
        s.sendall("\n".join(lines).encode())
        f = s.makefile("rb")
        variables: dict[str, str] = {}
        count = 0
        while True:
            line = f.readline().decode()
            if not line:
                return variables  # the server ended the session
            words = shlex.split(line)
            assert words[:2] == ["SET", "VARIABLE"], line
            assert line.count('"') >= 2, f"values are quoted: {line!r}"
            variables[words[2]] = words[3]
            answer = (replies or {}).get(count, reply)
            count += 1
            s.sendall((answer + "\n").encode())


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    prepare(path)
    return path


@pytest.fixture
def running(db: str) -> Iterator[Running]:
    with serve(db, agi=True, agi_read_timeout=1.0) as r:
        yield r


@pytest.fixture
def key(db: str) -> str:
    return make_key(db)


def test_attempt_sets_the_variables_and_records(running: Running, key: str, db: str) -> None:
    v = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)
    assert v["CALLGUARD_ALLOWED"] == "1" and v["CALLGUARD_REASONS"] == ""
    assert v["CALLGUARD_NEXT"] == "" and v["CALLGUARD_ATTEMPT_ID"].isdigit()
    assert "CALLGUARD_ERROR" not in v
    assert list(v) == ["CALLGUARD_ALLOWED", "CALLGUARD_REASONS", "CALLGUARD_NEXT",
                       "CALLGUARD_ATTEMPT_ID"]
    for _ in range(3):
        assert agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
    capped = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)
    assert capped["CALLGUARD_ALLOWED"] == "0" and capped["CALLGUARD_REASONS"] == "FREQUENCY_CAP"
    assert capped["CALLGUARD_NEXT"].startswith("2026-12-23T10:00:00")
    assert capped["CALLGUARD_ATTEMPT_ID"] == ""
    assert attempts_in(db) == 4


def test_check_is_read_only(running: Running, key: str, db: str) -> None:
    for _ in range(6):
        v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV)
        assert v["CALLGUARD_ALLOWED"] == "1" and v["CALLGUARD_ATTEMPT_ID"] == ""
    refused = agi(running.agi_port, f"check?key={key}", OTHER, "anonymous")
    assert refused["CALLGUARD_ALLOWED"] == "0"
    assert refused["CALLGUARD_REASONS"].split("|") == ["CALLER_ID_INVALID", "NO_CONSENT"]
    assert attempts_in(db) == 0


def test_the_request_line_alone_is_enough(running: Running, key: str) -> None:
    """Older Asterisk versions send no agi_network_script: the path comes from agi_request."""
    with socket.create_connection(("127.0.0.1", running.agi_port), timeout=10) as s:
        s.sendall(
            f"agi_request: agi://h:1/check?key={key}\nagi_arg_1: {NUMBER}\nagi_arg_2: {NPV}\n\n"
            .encode()
        )
        f = s.makefile("rb")
        first = f.readline().decode()
        assert first == 'SET VARIABLE CALLGUARD_ALLOWED "1"\n'


@pytest.mark.parametrize(
    ("script", "args", "error"),
    [
        ("attempt?key=cg_unknown", (NUMBER, NPV), "unknown or revoked"),
        ("attempt", (NUMBER, NPV), "API key is required"),
        ("dial?key={key}", (NUMBER, NPV), "unknown AGI script"),
        ("attempt?key={key}", (), "agi_arg_1"),
    ],
)
def test_bad_keys_and_requests_set_an_error(running: Running, key: str, db: str, script: str,
                                            args: tuple[str, ...], error: str) -> None:
    v = agi(running.agi_port, script.format(key=key), *args)
    assert v["CALLGUARD_ALLOWED"] == "0" and v["CALLGUARD_REASONS"] == ""
    assert error in v["CALLGUARD_ERROR"]
    assert attempts_in(db) == 0


def test_a_locked_ledger_refuses_with_ledger_unavailable(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.db")
    prepare(path)
    key = make_key(path)
    with serve(path, agi=True, busy_timeout=0.2) as running:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            v = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert v["CALLGUARD_ALLOWED"] == "0" and v["CALLGUARD_REASONS"] == "LEDGER_UNAVAILABLE"
        assert v["CALLGUARD_ATTEMPT_ID"] == ""
        assert agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
    assert attempts_in(path) == 1


def test_hangup_and_error_replies_end_the_session(running: Running, key: str) -> None:
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, reply="HANGUP")
    assert list(v) == ["CALLGUARD_ALLOWED"]  # nothing more is sent to a dead channel
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV,
            reply="511 Command Not Permitted on a dead channel")
    assert list(v) == ["CALLGUARD_ALLOWED"]
    usage = "520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE\n520 End of proper usage."
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, replies={1: usage})
    assert list(v) == ["CALLGUARD_ALLOWED", "CALLGUARD_REASONS"]
    # An asynchronous HANGUP before the status line still ends it cleanly.
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, replies={0: "HANGUP\n200 result=1"})
    assert list(v) == ["CALLGUARD_ALLOWED"]


def test_idle_junk_and_half_open_sessions_never_block_others(running: Running, key: str) -> None:
    port = running.agi_port
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    half = socket.create_connection(("127.0.0.1", port), timeout=10)
    half.sendall(b"agi_network: yes\nagi_request: agi://x/attempt?key=" + key.encode())
    try:
        started = time.monotonic()
        assert agi(port, f"check?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
        assert time.monotonic() - started < 1.0
        for junk in (b"\x00\xff" * 3000 + b"\n\n", b"GET / HTTP/1.1\r\n\r\n", b"x" * 10_000,
                     b"agi_arg_1: " + b"9" * 5000 + b"\n\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(junk)
                data = s.makefile("rb").readline()
                assert data.startswith(b'SET VARIABLE CALLGUARD_ALLOWED "0"'), data
        # The idle session times out (1 s here) with ALLOWED=0 and an error, then closes.
        f = idle.makefile("rb")
        assert f.readline() == b'SET VARIABLE CALLGUARD_ALLOWED "0"\n'
        assert agi(port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
    finally:
        idle.close()
        half.close()


def test_agi_and_http_share_the_guards_and_the_cap(running: Running, key: str, db: str) -> None:
    import httpx

    with httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {key}"}) as c:
        body = {"number": NUMBER, "caller_id": NPV, "at": paris(2026, 11, 23, 10, 30).isoformat()}
        for _ in range(2):
            assert c.post("/v1/attempts", json=body).json()["allowed"]
        for _ in range(2):
            assert agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
        assert c.post("/v1/attempts", json=body).json()["allowed"] is False
        assert "agi/attempt" in c.get("/metrics").text
    assert attempts_in(db) == 4


def test_postgres_agi(postgres_server: str) -> None:
    with postgres_schema(postgres_server) as dsn:
        prepare(dsn)
        key = make_key(dsn)
        with serve(dsn, agi=True) as running:
            ids = {agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ATTEMPT_ID"]
                   for _ in range(5)}
        assert len(ids) == 5 and "" in ids  # four attempts, then the cap
        assert attempts_in(dsn) == 4
