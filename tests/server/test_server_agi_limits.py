"""FastAGI under the service's connection limits: the caps HTTP has, over a real TCP socket."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from callguard.server import Service
from callguard.server.agi import start_agi
from callguard.server.limits import ConnectionLimits
from conftest import NPV
from test_server_agi import agi
from test_server_http import NUMBER, attempts_in, make_key, prepare, serve


def refused(port: int) -> bool:
    """Whether the server closes a new connection at once, before reading anything."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(2)
        try:
            return s.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False  # held open: the server waits for the AGI environment


def held(port: int) -> socket.socket:
    """An admitted connection that sends nothing (an idle or half-open PBX)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    time.sleep(0.1)  # accepted and counted by the server before the next one arrives
    return s


def test_one_client_holds_at_most_its_share_of_agi_sessions(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    prepare(db)
    key = make_key(db)
    limits = ConnectionLimits(max_connections=50, max_per_client=2)
    with serve(db, agi=True, agi_read_timeout=5.0, limits=limits) as running:
        port = running.agi_port
        first, second = held(port), held(port)
        try:
            assert limits.held("127.0.0.1") == 2
            assert refused(port)  # the third is closed before a line is read
            assert attempts_in(db) == 0
        finally:
            first.close()
            second.close()
        deadline = time.monotonic() + 5
        while limits.held("127.0.0.1") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert limits.held("127.0.0.1") == 0  # every session released its place
        answer = agi(port, f"attempt?key={key}", NUMBER, NPV)
        assert answer["CALLGUARD_ALLOWED"] == "1"
        assert limits.total == 0


def test_http_and_agi_count_against_the_same_caps(tmp_path: Path) -> None:
    """``server_config``'s limits are the FastAGI listener's too: idle HTTP sockets of a client
    count toward its FastAGI share (one cap per client address, whatever the protocol)."""
    db = str(tmp_path / "ledger.db")
    prepare(db)
    limits = ConnectionLimits(max_connections=50, max_per_client=2)
    with serve(db, agi=True, agi_read_timeout=5.0, limits=limits) as running:
        host, port = running.url.removeprefix("http://").split(":")
        sockets = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
        try:
            time.sleep(0.2)
            assert limits.total == 2
            assert refused(running.agi_port)
        finally:
            for s in sockets:
                s.close()


def test_the_total_cap_refuses_whoever_comes_next(tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    prepare(db)
    service = Service(db)
    limits = ConnectionLimits(max_connections=1, max_per_client=5)

    async def scenario() -> bool:
        server = await start_agi(service, "127.0.0.1", 0, read_timeout=5.0, limits=limits)
        try:
            loop = asyncio.get_running_loop()
            _, first = await asyncio.open_connection("127.0.0.1", server.port)
            await asyncio.sleep(0.1)
            assert limits.total == 1
            closed = await loop.run_in_executor(None, refused, server.port)
            first.close()
            return closed
        finally:
            await server.stop()

    try:
        assert asyncio.run(scenario())
        assert limits.total == 0
    finally:
        service.close()
