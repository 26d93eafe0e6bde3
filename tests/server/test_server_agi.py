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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from callguard.server import agi as agi_module
from callguard.storage import open_ledger
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


@dataclass
class Pbx:
    """What the PBX received and what its channel holds once the session ends."""

    commands: list[str] = field(default_factory=list)
    channel: dict[str, str] = field(default_factory=dict)
    hung_up: bool = False
    """Whether the channel hung up during the session (its dialplan then dials nothing)."""

    def __getitem__(self, name: str) -> str:
        return self.channel[name]

    def __contains__(self, name: object) -> bool:
        return name in self.channel

    @property
    def sets(self) -> list[tuple[str, str]]:
        return [
            (w[2], w[3]) for w in map(shlex.split, self.commands) if w[:2] == ["SET", "VARIABLE"]
        ]


def agi(
    port: int,
    script: str,
    *args: str,
    reply: str = "200 result=1",
    replies: dict[int, str] | None = None,
    channel: dict[str, str] | None = None,
    cut_after: int | None = None,
    hangup_at: int | None = None,
    ack_delay: float = 0.0,
) -> Pbx:
    """Run one AGI session as Asterisk's res_agi does; ``channel`` holds the channel's variables
    (``GET VARIABLE`` reads them, ``SET VARIABLE`` writes them, on a dead channel too). The PBX
    closes the connection instead of running command ``cut_after`` (counted from 0), sends
    ``HANGUP`` before its reply to command ``hangup_at``, and waits ``ack_delay`` s per reply."""
    pbx = Pbx(channel=dict(channel or {}))
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
        while True:
            line = f.readline().decode()
            if not line:
                return pbx  # the server ended the session
            count = len(pbx.commands)
            if count == cut_after:
                return pbx  # closed before running it
            pbx.commands.append(line.rstrip("\n"))
            words = shlex.split(line)
            answer = (replies or {}).get(count, reply)
            if words[:2] == ["GET", "VARIABLE"]:
                value = pbx.channel.get(words[2])
                answer = "200 result=0" if value is None else f"200 result=1 ({value})"
            else:
                assert words[:2] == ["SET", "VARIABLE"], line
                assert line.count('"') >= 2, f"values are quoted: {line!r}"
                if answer.startswith("200") or answer.startswith("HANGUP"):
                    pbx.channel[words[2]] = words[3]
            if count == hangup_at:
                pbx.hung_up = True
                answer = "HANGUP\n" + answer
            if ack_delay:
                time.sleep(ack_delay)
            try:
                s.sendall((answer + "\n").encode())
            except OSError:
                return pbx


ORDER = ["CALLGUARD_ALLOWED", "CALLGUARD_REASONS", "CALLGUARD_NEXT", "CALLGUARD_ATTEMPT_ID",
         "CALLGUARD_ALLOWED"]  # fmt: skip


def ledger_attempts(location: str) -> list[tuple[int, str | None]]:
    """(id, void_reason) of every attempt, in id order."""
    ledger = open_ledger(location, busy_timeout=5.0)
    try:
        rows = ledger.service_rows("SELECT id, void_reason FROM attempts ORDER BY id", ())
    finally:
        ledger.close()
    return [(int(i), None if r is None else str(r)) for i, r in rows]


def voided_soon(location: str, attempt_id: int) -> str | None:
    """The void reason of ``attempt_id`` once the server has voided it (it does so as soon as
    the session ends; waited for at most 5 s), else None."""
    deadline = time.monotonic() + 5
    while True:
        reason = dict(ledger_attempts(location)).get(attempt_id)
        if reason is not None or time.monotonic() > deadline:
            return reason
        time.sleep(0.02)


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
    # ALLOWED reset to 0 first, its value last: a cut session never leaves a stale or early 1.
    assert [n for n, _ in v.sets] == ORDER
    assert v.sets[0] == ("CALLGUARD_ALLOWED", "0") and v.sets[-1] == ("CALLGUARD_ALLOWED", "1")
    for _ in range(3):
        assert agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
    capped = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)
    assert capped["CALLGUARD_ALLOWED"] == "0" and capped["CALLGUARD_REASONS"] == "FREQUENCY_CAP"
    assert capped["CALLGUARD_NEXT"].startswith("2026-12-23T10:00:00")
    assert capped["CALLGUARD_ATTEMPT_ID"] == ""
    assert attempts_in(db) == 4
    assert all(reason is None for _, reason in ledger_attempts(db))


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
            f"agi_request: agi://h:1/check?key={key}\nagi_arg_1: {NUMBER}\nagi_arg_2: {NPV}\n\n".encode()
        )
        f = s.makefile("rb")
        received = []
        while line := f.readline().decode():
            received.append(line)
            s.sendall(b"200 result=1\n")
        assert received[0] == 'SET VARIABLE CALLGUARD_ALLOWED "0"\n'
        assert received[-1] == 'SET VARIABLE CALLGUARD_ALLOWED "1"\n'


@pytest.mark.parametrize(
    ("script", "args", "error"),
    [
        ("attempt?key=cg_unknown", (NUMBER, NPV), "unknown or revoked"),
        ("attempt", (NUMBER, NPV), "API key is required: set CALLGUARD_KEY"),
        ("dial?key={key}", (NUMBER, NPV), "unknown AGI script"),
        ("attempt?key={key}", (), "agi_arg_1"),
    ],
)
def test_bad_keys_and_requests_set_an_error(
    running: Running, key: str, db: str, script: str, args: tuple[str, ...], error: str
) -> None:
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
    assert [n for n, _ in v.sets] == ["CALLGUARD_ALLOWED"]  # nothing more to a dead channel
    v = agi(
        running.agi_port,
        f"check?key={key}",
        NUMBER,
        NPV,
        reply="511 Command Not Permitted on a dead channel or intercept routine",
    )
    assert [n for n, _ in v.sets] == ["CALLGUARD_ALLOWED"]
    usage = "520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE\n520 End of proper usage."
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, replies={1: usage})
    assert [n for n, _ in v.sets] == ["CALLGUARD_ALLOWED", "CALLGUARD_REASONS"]
    assert v["CALLGUARD_ALLOWED"] == "0"
    # An asynchronous HANGUP before the status line still ends it cleanly.
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, replies={0: "HANGUP\n200 result=1"})
    assert [n for n, _ in v.sets] == ["CALLGUARD_ALLOWED"]


def test_idle_junk_and_half_open_sessions_never_block_others(running: Running, key: str) -> None:
    port = running.agi_port
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    half = socket.create_connection(("127.0.0.1", port), timeout=10)
    half.sendall(b"agi_network: yes\nagi_request: agi://x/attempt?key=" + key.encode())
    try:
        started = time.monotonic()
        assert agi(port, f"check?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
        assert time.monotonic() - started < 1.0
        for junk in (
            b"\x00\xff" * 3000 + b"\n\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"x" * 10_000,
            b"agi_arg_1: " + b"9" * 5000 + b"\n\n",
        ):
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
            assert (
                agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"] == "1"
            )
        assert c.post("/v1/attempts", json=body).json()["allowed"] is False
        assert "agi/attempt" in c.get("/metrics").text
    assert attempts_in(db) == 4


def test_postgres_agi(postgres_server: str) -> None:
    with postgres_schema(postgres_server) as dsn:
        prepare(dsn)
        key = make_key(dsn)
        with serve(dsn, agi=True) as running:
            ids = {
                agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ATTEMPT_ID"]
                for _ in range(5)
            }
        assert len(ids) == 5 and "" in ids  # four attempts, then the cap
        assert attempts_in(dsn) == 4


# -- the key from the channel -------------------------------------------------------------------


def test_without_key_in_the_url_the_key_is_read_from_the_channel(
    running: Running, key: str, db: str
) -> None:
    v = agi(running.agi_port, "attempt", NUMBER, NPV, channel={"CALLGUARD_KEY": key})
    assert v.commands[0] == "GET VARIABLE CALLGUARD_KEY"
    assert v["CALLGUARD_ALLOWED"] == "1" and v["CALLGUARD_ATTEMPT_ID"].isdigit()
    # A key in the URL wins and nothing is asked.
    v = agi(running.agi_port, f"check?key={key}", NUMBER, NPV, channel={"CALLGUARD_KEY": "x"})
    assert v.commands[0].startswith("SET VARIABLE") and v["CALLGUARD_ALLOWED"] == "1"
    for channel, error in (({}, "API key is required: set CALLGUARD_KEY"),
                           ({"CALLGUARD_KEY": "cg_revoked"}, "unknown or revoked")):  # fmt: skip
        v = agi(running.agi_port, "attempt", NUMBER, NPV, channel=channel)
        assert v["CALLGUARD_ALLOWED"] == "0" and error in v["CALLGUARD_ERROR"]
    # The channel hangs up while its key is asked for: no decision, nothing recorded.
    v = agi(running.agi_port, "attempt", NUMBER, NPV, channel={"CALLGUARD_KEY": key}, hangup_at=0)
    assert v.commands == ["GET VARIABLE CALLGUARD_KEY"]
    assert attempts_in(db) == 1


# -- never a wrong state, never a phantom attempt -------------------------------------------------


def test_a_pbx_that_closes_right_after_the_environment_records_nothing(
    running: Running, key: str, db: str
) -> None:
    """CALLGUARD_ALLOWED=0 is set, and acknowledged, before anything is recorded."""
    v = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV, cut_after=0)
    assert v.channel == {}
    v = agi(running.agi_port, "attempt", NUMBER, NPV, channel={"CALLGUARD_KEY": key}, cut_after=1)
    assert v.commands == ["GET VARIABLE CALLGUARD_KEY"]
    assert ledger_attempts(db) == []


def test_a_pbx_that_closes_after_the_decision_voids_the_attempt(
    running: Running, key: str, db: str
) -> None:
    v = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV, cut_after=1)
    assert v.channel == {"CALLGUARD_ALLOWED": "0"}
    ((attempt_id, _),) = ledger_attempts(db)
    reason = voided_soon(db, attempt_id)
    assert reason == ("FastAGI: the connection closed before CALLGUARD_ALLOWED was acknowledged")
    # The cap is unaffected: four live attempts still pass, the fifth is capped.
    answers = [agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)["CALLGUARD_ALLOWED"]
               for _ in range(5)]  # fmt: skip
    assert answers == ["1", "1", "1", "1", "0"]


@pytest.mark.parametrize("how", ["cut", "hangup"])
def test_a_session_cut_after_any_line_never_leaves_allowed_without_its_attempt(
    running: Running, key: str, db: str, how: str
) -> None:
    """The channel carries a previous run's answer (a dialplan that loops). Whatever line the
    session ends on: no attempt is recorded before ALLOWED=0 is acknowledged; once one is,
    CALLGUARD_ALLOWED is 1 only beside its id and once acknowledged; every other attempt is
    voided."""
    stale = {"CALLGUARD_ALLOWED": "1", "CALLGUARD_ATTEMPT_ID": "999", "CALLGUARD_KEY": key}
    commands = ["GET VARIABLE CALLGUARD_KEY", *(f"SET {n}" for n in ORDER)]
    live: list[int] = []
    for line in range(len(commands) + 1):
        before = {i for i, _ in ledger_attempts(db)}
        cut = {"cut_after": line} if how == "cut" else {"hangup_at": line}
        v = agi(running.agi_port, "attempt", NUMBER, NPV, channel=stale, **cut)
        new = [i for i, _ in ledger_attempts(db) if i not in before]
        if line <= 1:  # before ALLOWED=0 ran: nothing recorded, the channel untouched
            assert new == [] and (v.channel == stale or v.hung_up), (line, v.channel)
            continue
        (attempt_id,) = new
        delivered = line == len(commands)  # the session ran whole
        assert v["CALLGUARD_ALLOWED"] == "0" or v["CALLGUARD_ATTEMPT_ID"] == str(attempt_id)
        # A live channel dials only on an answer delivered whole (a hung-up one dials nothing).
        assert v["CALLGUARD_ALLOWED"] == "0" or v.hung_up or delivered, (line, v.channel)
        reason = None if delivered else voided_soon(db, attempt_id)
        assert (reason is None) == delivered, (line, reason)
        if delivered:
            live.append(attempt_id)
    assert [i for i, r in ledger_attempts(db) if r is None] == live
    assert len(live) == 1


def test_an_acknowledgement_after_the_deadline_voids_and_resets(
    key: str, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agi_module, "AGI_SESSION_DEADLINE", 1.5)
    with serve(db, agi=True, agi_read_timeout=1.0) as running:
        v = agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV, ack_delay=0.4)
    ((attempt_id, _),) = ledger_attempts(db)
    assert voided_soon(db, attempt_id) is not None
    # ALLOWED's last value is 0, queued behind whatever the slow PBX still had to run.
    assert v["CALLGUARD_ALLOWED"] == "0" and "deadline" in v["CALLGUARD_ERROR"]


def test_a_trickling_peer_is_cut_at_the_session_deadline(
    key: str, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One environment line every 0.6 s never trips the 1 s line timeout; the session's own
    deadline (1.5 s here, 10 s by default) ends it."""
    assert agi_module.AGI_SESSION_DEADLINE == 10.0
    monkeypatch.setattr(agi_module, "AGI_SESSION_DEADLINE", 1.5)
    with (
        serve(db, agi=True, agi_read_timeout=1.0) as running,
        socket.create_connection(("127.0.0.1", running.agi_port), timeout=10) as s,
    ):
        started = time.monotonic()
        s.settimeout(0.6)
        answer = b""
        for i in range(20):
            s.sendall(f"agi_x{i}: {i}\n".encode())
            try:
                answer = s.recv(4096)  # waits 0.6 s: the next line comes after it
            except TimeoutError:
                continue
            break
        elapsed = time.monotonic() - started
        assert answer.startswith(b'SET VARIABLE CALLGUARD_ALLOWED "0"\n'), answer
        assert 1.4 < elapsed < 3.0, elapsed
    assert attempts_in(db) == 0


def test_postgres_agi_voids(postgres_server: str) -> None:
    with postgres_schema(postgres_server) as dsn:
        prepare(dsn)
        key = make_key(dsn)
        with serve(dsn, agi=True) as running:
            agi(
                running.agi_port,
                "attempt",
                NUMBER,
                NPV,
                channel={"CALLGUARD_KEY": key},
                hangup_at=3,
            )
            ((attempt_id, _),) = ledger_attempts(dsn)
            assert voided_soon(dsn, attempt_id) is not None
            answers = [agi(running.agi_port, f"attempt?key={key}", NUMBER, NPV)[
                "CALLGUARD_ALLOWED"] for _ in range(5)]  # fmt: skip
        assert answers == ["1", "1", "1", "1", "0"]
