"""The request log and how answers are written: one JSON line per /v1 request (never the key),
taken by ``callguard serve``'s writer on a deadline and at shutdown; an answer's head and body
in one write."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import threading

import uvicorn

from callguard.server import Service, create_app
from callguard.server.app import RequestLog
from callguard.server.transport import _OneWrite, server_config
from openapi_check import ValidatingClient
from test_server_http import AT, OTHER, auth, body, make_key, prepare


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.db")
    prepare(path)
    return path


def test_one_line_per_request_in_the_request_log_without_the_key(db: str) -> None:
    key = make_key(db)
    lines = RequestLog()
    service = Service(db, clock=lambda: AT)
    server = uvicorn.Server(server_config(create_app(service, request_log=lines), port=0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with ValidatingClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.post("/v1/check", json=body(OTHER), headers=auth(key)).status_code == 200
            assert (
                client.post("/v1/check", json=body(), headers=auth("cg_wrong")).status_code == 401
            )
            # A route with a path parameter goes through the router: logged once as well.
            assert client.get("/v1/numbers/0612345678", headers=auth(key)).status_code == 200
            assert (
                client.post("/v1/consents", json={"number": OTHER}, headers=auth(key)).status_code
                == 422
            )
            assert client.get("/healthz").status_code == 200  # not a /v1 request: no line
    finally:
        server.should_exit = True
        thread.join(20)
    taken = lines.take()
    assert lines.take() == []
    logged = [json.loads(line) for line in taken]
    assert [(x["route"], x["status"]) for x in logged] == [
        ("/v1/check", 200),
        ("/v1/check", 401),
        ("/v1/numbers/{number}", 200),
        ("/v1/consents", 422),
    ]
    assert logged[0]["professional"] == "acme" and logged[0]["codes"] == ["NO_CONSENT"]
    assert logged[0]["allowed"] is False and logged[0]["latency_ms"] > 0
    assert logged[3]["invalid"] == "proof"
    assert all(key not in line and "cg_wrong" not in line for line in taken)


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return name


def test_an_answer_leaves_in_one_write() -> None:
    transport = _Transport()
    one = _OneWrite(transport)  # type: ignore[arg-type]
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # interim: at once
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert len(transport.writes) == 1  # the head waits for its body
    one.write(b"{}")
    assert transport.writes[1] == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    one.write(b"HTTP/1.1 a body that looks like a head")  # after the head: written as it is
    assert transport.writes[2] == b"HTTP/1.1 a body that looks like a head"
    assert one.get_extra_info("peername") == "peername"
    # A head without a body leaves when the response ends, or when the connection closes.
    other = _OneWrite(transport)  # type: ignore[arg-type]
    other.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    other.close()
    assert transport.writes[3] == b"HTTP/1.1 204 No Content\r\n\r\n" and transport.closed


def test_a_head_request_is_answered(db: str) -> None:
    from test_server_http import serve

    with serve(db) as running:
        port = int(running.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                chunk = s.recv(1000)
                assert chunk, head
                head += chunk
            assert head.startswith(b"HTTP/1.1 200")
            # The connection is still usable: the next answer follows.
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(1000).startswith(b"HTTP/1.1 200")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines_within(stream: Any, want: int, seconds: float) -> list[dict[str, Any]]:
    """The JSON lines read from ``stream`` until ``want`` of them are /v1 lines or ``seconds``
    pass."""
    found: list[dict[str, Any]] = []
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    pending = b""
    while len(found) < want and time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        found += [json.loads(x) for x in complete if x.startswith(b'{"route"')]
    selector.close()
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_serve_writes_each_line_on_a_deadline_and_loses_none_on_sigterm(db: str) -> None:
    key = make_key(db)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from callguard.cli import main; main()", "serve", "--db", db,
         "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        payload = json.dumps(body(OTHER)).encode()
        request = (
            f"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            reader = s.makefile("rb")

            def ask() -> None:
                s.sendall(request)
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += reader.readline()
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                assert head.startswith(b"HTTP/1.1 200") and reader.read(length)

            # While the server runs, a line is written within its deadline (50 ms; a few
            # seconds allowed for a loaded machine), without waiting for more requests.
            ask()
            stderr = proc.stderr
            assert stderr is not None
            first = _lines_within(stderr, 1, 10)
            assert [x["route"] for x in first] == ["/v1/check"]
            # Answered requests, then SIGTERM at once: every line is written before the exit.
            for _ in range(50):
                ask()
        proc.send_signal(signal.SIGTERM)
        rest = _lines_within(stderr, 50, 30)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert len(rest) == 50
    assert all(x["route"] == "/v1/check" and x["status"] == 200 for x in rest)
