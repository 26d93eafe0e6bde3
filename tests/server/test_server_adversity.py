"""The pre-dial service under adversity: a stuck or vanished ledger, hostile connections, an
instance killed under load. A real HTTP server and raw sockets; a paused PostgreSQL is a private
cluster the test starts (never the shared server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from callguard.server import Service  # noqa: E402
from callguard.server.limits import ConnectionLimits  # noqa: E402
from conftest import postgres_schema  # noqa: E402
from test_server_http import (  # noqa: E402
    NUMBER,
    attempts_in,
    auth,
    body,
    make_key,
    prepare,
    serve,
)


def _hostport(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _closed(s: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    began = time.monotonic()
    s.settimeout(within)
    got = b""
    while True:
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    return got, time.monotonic() - began


@pytest.fixture
def db(tmp_path: Path) -> str:
    location = str(tmp_path / "ledger.db")
    prepare(location)
    return location


# -- the ledger ------------------------------------------------------------------------------------


def test_healthz_is_503_when_the_ledger_file_is_moved_away(db: str) -> None:
    key = make_key(db)
    with serve(db) as running, httpx.Client(base_url=running.url, timeout=10) as c:
        assert c.get("/healthz").status_code == 200
        os.rename(db, db + ".moved")
        health = c.get("/healthz")
        assert health.status_code == 503, health.text
        assert "moved" in health.text or "deleted" in health.text
        check = c.post("/v1/check", json=body(), headers=auth(key))
        assert check.status_code == 503
        os.rename(db + ".moved", db)
        assert c.get("/healthz").status_code == 200


def test_healthz_is_503_when_the_ledger_file_is_replaced(db: str, tmp_path: Path) -> None:
    other = str(tmp_path / "other.db")
    prepare(other)
    with serve(db) as running, httpx.Client(base_url=running.url, timeout=10) as c:
        assert c.get("/healthz").status_code == 200
        os.replace(other, db)
        assert c.get("/healthz").status_code == 503


def test_a_locked_ledger_answers_503_within_the_deadline_and_records_nothing(db: str) -> None:
    key = make_key(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    with (
        serve(db, busy_timeout=30.0, deadline=0.5) as running,
        httpx.Client(base_url=running.url, headers=auth(key), timeout=10) as c,
    ):
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        began = time.monotonic()
        r = c.post("/v1/attempts", json=body())
        took = time.monotonic() - began
        assert r.status_code == 503, r.text
        assert took < 2.0, took
        answer = r.json()
        assert answer["allowed"] is False
        assert [x["code"] for x in answer["reasons"]] == ["LEDGER_UNAVAILABLE"]
        # Later requests are not stuck behind the first: they too answer within the deadline.
        began = time.monotonic()
        again = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k1"})
        assert again.status_code == 503 and time.monotonic() - began < 2.0
        blocker.execute("ROLLBACK")
        # The worker got the lock after the 503s: the attempts it decided too late were rolled
        # back, since the dialer was told not to call.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if c.post("/v1/check", json=body()).status_code == 200:
                break
            time.sleep(0.05)
        assert attempts_in(db) == 0
        ok = c.post("/v1/attempts", json=body(), headers={"Idempotency-Key": "k1"})
        assert ok.status_code == 200 and ok.json()["allowed"] is True
    blocker.close()
    assert attempts_in(db) == 1


def test_the_deadline_is_refused_when_not_a_positive_number(db: str) -> None:
    for wrong in (0, -1.0, 601, float("nan")):
        with pytest.raises(ValueError, match="deadline"):
            Service(db, deadline=wrong)


def test_a_libpq_keyword_location_is_a_postgresql_ledger(postgres_server: str) -> None:
    import psycopg

    with postgres_schema(postgres_server) as dsn:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
        keywords = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
        assert not keywords.startswith("postgres")
        service = Service(keywords)
        try:
            assert service.postgres
            assert service._pool._max_workers == 4
        finally:
            service.close()


# -- a paused PostgreSQL (a private cluster) ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*argv: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return list(argv)


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, int]]:
    """A PostgreSQL cluster of this test's own (initdb + pg_ctl in a temporary directory, on a
    free port): (DSN, postmaster pid). It may be paused: the shared server never is."""
    initdb = shutil.which("initdb")
    pg_ctl = shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("initdb/pg_ctl not found: a private PostgreSQL cluster cannot be started")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb refuses to run as root")
    top = tempfile.mkdtemp(prefix="callguard-pg-")
    if os.geteuid() == 0:
        shutil.chown(top, "postgres")
    data = os.path.join(top, "data")
    port = _free_port()
    subprocess.run(_as_postgres(initdb, "-D", data, "-A", "trust", "-U", "postgres"),
                   check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={top}"
    subprocess.run(
        _as_postgres(pg_ctl, "-D", data, "-o", options, "-l", os.path.join(top, "log"),
                     "-w", "-t", "60", "start"),
        check=True, capture_output=True,
    )  # fmt: skip
    pid = int(Path(data, "postmaster.pid").read_text().split()[0])
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", pid
    finally:
        _signal_cluster(pid, signal.SIGCONT)
        subprocess.run(_as_postgres(pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(top, ignore_errors=True)


def _cluster(pid: int) -> list[int]:
    """The postmaster and its children (backends, checkpointer, …)."""
    found = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path("/proc", entry, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _signal_cluster(pid: int, sig: signal.Signals) -> None:
    for p in _cluster(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, sig)


@pytest.mark.slow
def test_a_paused_postgresql_answers_every_route_within_the_deadline(
    private_postgres: tuple[str, int],
) -> None:
    dsn, postmaster = private_postgres
    prepare(dsn)
    key = make_key(dsn)
    with (
        serve(dsn, deadline=1.0) as running,
        httpx.Client(base_url=running.url, headers=auth(key), timeout=15) as c,
    ):
        assert c.post("/v1/check", json=body()).status_code == 200
        _signal_cluster(postmaster, signal.SIGSTOP)
        try:

            def timed(call: Any) -> tuple[int, float, Any]:
                began = time.monotonic()
                r = call()
                return r.status_code, time.monotonic() - began, r.json()

            with ThreadPoolExecutor(10) as pool:
                checks = [
                    pool.submit(timed, lambda: c.post("/v1/check", json=body())) for _ in range(8)
                ]
                health = pool.submit(timed, lambda: c.get("/healthz"))
                attempt = pool.submit(timed, lambda: c.post("/v1/attempts", json=body()))
                results = [f.result() for f in (*checks, attempt)]
                health_status, health_took, _ = health.result()
            for status, took, answer in results:
                assert status == 503 and took < 3.0, (status, took)
                assert answer["allowed"] is False
                assert [r["code"] for r in answer["reasons"]] == ["LEDGER_UNAVAILABLE"]
            assert health_status == 503 and health_took < 3.0
        finally:
            _signal_cluster(postmaster, signal.SIGCONT)
        # The server is back: fresh connections replace the ones cut, decisions are allowed.
        deadline = time.monotonic() + 20
        while c.post("/v1/check", json=body()).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
            time.sleep(0.2)
        assert c.get("/healthz").status_code == 200
    assert attempts_in(dsn) == 0


# -- connections -----------------------------------------------------------------------------------


def test_one_clients_idle_sockets_never_stop_another_clients_dialer(db: str) -> None:
    key = make_key(db)
    limits = ConnectionLimits(max_connections=50, max_per_client=5)
    with serve(db, limits=limits) as running:
        host, port = _hostport(running.url)
        idle = [socket.create_connection((host, port), timeout=5) for _ in range(5)]
        try:
            extra = socket.create_connection((host, port), timeout=5)
            got, _ = _closed(extra, 5)
            assert got.startswith(b"HTTP/1.1 503"), got
            extra.close()
            # Another address (127.0.0.2 is loopback too) still gets its decisions.
            with socket.create_connection(
                (host, port), timeout=5, source_address=("127.0.0.2", 0)
            ) as other:
                payload = httpx.Request(
                    "POST",
                    f"{running.url}/v1/check",
                    json=body(),
                    headers={**auth(key), "Connection": "close"},
                )
                head = (
                    f"POST /v1/check HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload.read())}\r\nConnection: close\r\n\r\n"
                )
                other.sendall(head.encode() + payload.read())
                got, _ = _closed(other, 5)
                assert got.startswith(b"HTTP/1.1 200"), got
        finally:
            for s in idle:
                s.close()
        # The first client's sockets are released when closed: it is served again.
        deadline = time.monotonic() + 5
        while limits.held("127.0.0.1") and time.monotonic() < deadline:
            time.sleep(0.02)
        with httpx.Client(base_url=running.url, headers=auth(key), timeout=10) as c:
            assert c.post("/v1/check", json=body()).status_code == 200


def test_the_total_cap_holds_across_clients(db: str) -> None:
    limits = ConnectionLimits(max_connections=3, max_per_client=100)
    with serve(db, limits=limits) as running:
        host, port = _hostport(running.url)
        held = [socket.create_connection((host, port), timeout=5,
                                         source_address=(f"127.0.0.{i + 2}", 0))
                for i in range(3)]  # fmt: skip
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                got, _ = _closed(s, 5)
                assert got.startswith(b"HTTP/1.1 503")
        finally:
            for s in held:
                s.close()


def test_a_slowloris_trickle_is_cut_at_the_header_deadline(db: str) -> None:
    with serve(db, header_timeout=1.0, idle_timeout=0.5) as running:
        s = socket.create_connection(_hostport(running.url), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        began = time.monotonic()
        closed_after = None
        while time.monotonic() - began < 5:
            try:
                s.sendall(b"a")
            except OSError:
                closed_after = time.monotonic() - began
                break
            time.sleep(0.1)
            s.setblocking(False)
            try:
                if s.recv(4096, socket.MSG_PEEK) is not None:
                    closed_after = time.monotonic() - began
                    break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
        assert closed_after is not None and closed_after < 2.0, closed_after
        got, _ = _closed(s, 2)
        assert got == b"" or got.startswith(b"HTTP/1.1 408"), got
        s.close()


def test_a_connection_that_never_sends_is_closed_at_the_header_deadline(db: str) -> None:
    with (
        serve(db, header_timeout=0.6, idle_timeout=0.3) as running,
        socket.create_connection(_hostport(running.url), timeout=5) as s,
    ):
        got, took = _closed(s, 5)
        assert got == b"" and 0.4 < took < 2.0, (got, took)


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(db: str) -> None:
    with (
        serve(db, header_timeout=5.0, idle_timeout=0.5) as running,
        socket.create_connection(_hostport(running.url), timeout=5) as s,
    ):
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        got, took = _closed(s, 5)
        assert got == b"" and took < 1.5, (got, took)


def test_content_length_with_transfer_encoding_is_400_and_nothing_pipelined_runs(
    db: str,
) -> None:
    key = make_key(db)
    import json

    smuggled = json.dumps(body()).encode()
    behind = (f"POST /v1/attempts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(smuggled)}\r\n\r\n"
              ).encode() + smuggled  # fmt: skip
    first = (
        b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n"
    )
    with serve(db) as running, socket.create_connection(_hostport(running.url), timeout=5) as s:
        s.sendall(first + behind)
        got, _ = _closed(s, 5)
        assert got.startswith(b"HTTP/1.1 400"), got
        assert got.count(b"HTTP/1.1") == 1, got
    assert attempts_in(db) == 0


# -- scale-out: two instances on one PostgreSQL ledger --------------------------------------------


def _serve_process(dsn: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from callguard.cli import main; main()", "serve", "--db", dsn,
         "--port", str(port), "--no-log-requests"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


@pytest.mark.slow
def test_two_instances_one_killed_mid_load_keep_the_cap_and_idempotency(
    postgres_server: str,
) -> None:
    numbers = [f"06 12 34 {i // 10}{i % 10} 00" for i in range(12)]
    with postgres_schema(postgres_server) as dsn:
        for n in numbers:
            prepare(dsn, number=n)
        key = make_key(dsn)
        a, port_a = _serve_process(dsn)
        b, port_b = _serve_process(dsn)
        urls = [f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"]
        answers: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        sent = [0]
        killed = threading.Event()

        def one(task: tuple[int, str]) -> None:
            i, number = task
            idem = f"req-{i}"
            for round_ in range(40):  # a dialer retries the same request on the other instance
                url = urls[(i + round_) % 2]
                try:
                    r = httpx.post(
                        f"{url}/v1/attempts",
                        json=body(number),
                        timeout=10,
                        headers={**auth(key), "Idempotency-Key": idem},
                    )
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    with lock:
                        answers[idem] = r.json()
                        sent[0] += 1
                        if sent[0] == 20:
                            a.kill()  # SIGKILL mid-load: no graceful anything
                            killed.set()
                    return
            raise AssertionError(f"{idem} never answered")

        def replay(task: tuple[int, str]) -> tuple[str, dict[str, Any]]:
            i, number = task
            r = httpx.post(
                f"{urls[1]}/v1/attempts",
                json=body(number),
                timeout=10,
                headers={**auth(key), "Idempotency-Key": f"req-{i}"},
            )
            assert r.status_code == 200, r.text
            return f"req-{i}", r.json()

        tasks = [(i, numbers[i % len(numbers)]) for i in range(8 * len(numbers))]
        try:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(one, tasks))
                # Every request retried on the surviving instance, whichever answered it first
                # (the killed one included): the same answer, nothing recorded again.
                replayed = dict(pool.map(replay, tasks))
            assert replayed == answers
        finally:
            a.kill()
            b.terminate()
            a.wait(10)
            b.wait(10)
        assert killed.is_set()
        assert len(answers) == len(tasks)
        allowed = [x for x in answers.values() if x["allowed"]]
        ids = [x["attempt_id"] for x in allowed]
        assert len(ids) == len(set(ids))
        # The cap (4 a number) was never exceeded, and the ledger holds exactly the attempts the
        # dialers were told about: none lost, none recorded twice by a retry.
        per_number: dict[str, int] = {}
        for x in allowed:
            per_number[x["number"]] = per_number.get(x["number"], 0) + 1
        assert max(per_number.values()) <= 4, per_number
        assert attempts_in(dsn) == len(ids)
        assert sum(per_number.values()) == 4 * len(numbers)
        assert NUMBER not in per_number or per_number[NUMBER] <= 4


def test_connection_limits_count_per_client_and_in_all() -> None:
    limits = ConnectionLimits(max_connections=3, max_per_client=2)
    assert limits.admit("10.0.0.1") and limits.admit("10.0.0.1")
    assert not limits.admit("10.0.0.1")  # its own cap
    assert limits.admit("10.0.0.2")
    assert not limits.admit("10.0.0.3")  # the total
    limits.release("10.0.0.1")
    limits.release("10.0.0.9")  # never admitted: nothing to forget
    assert limits.total == 2 and limits.held("10.0.0.1") == 1
    assert limits.admit("10.0.0.3")
    for wrong in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_connections"):
            ConnectionLimits(max_connections=wrong)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_per_client"):
            ConnectionLimits(max_per_client=wrong)  # type: ignore[arg-type]
