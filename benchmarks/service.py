"""The pre-dial service under load: decisions and attempts per second over loopback HTTP.

    python benchmarks/service.py                          # about 2 minutes on 2 cores
    python benchmarks/service.py --scale 0.01 --seconds 0.5   # the smoke run

A ledger of consented numbers is built through the public API (200 000 at full scale; ``--scale``
multiplies it), then ``callguard serve`` runs in its own process and a load generator in another
(asyncio, raw HTTP/1.1 keep-alive connections, so the client costs little) drives it with 1, 8
and 32 concurrent clients for ``--seconds`` each:

* ``check``: ``POST /v1/check`` on ever-different numbers (allowed decisions, read-only);
* ``attempt``: ``POST /v1/attempts`` on ever-different numbers (allowed, each one recorded);
* ``floor``: the same server answering an authenticated request with no ledger work (the key is
  looked up, the empty body is refused with a 422): what HTTP, JSON and the thread hop cost;
* ``bare``: a bare Starlette route answering a constant JSON on uvicorn with httptools and
  uvloop, in a server process of its own: the least any Python HTTP service costs here.

Beside them, in the benchmark's own process and on the same ledger, ``Guard.may_call`` and
``Guard.attempt`` are timed in a loop, and ``check+encode`` (``may_call`` and the JSON of its
answer): the in-process cost the service adds to. Each server configuration is run with both
ways of keeping blocking ledger calls off the event loop (the dedicated worker thread the
service uses, and a 40-thread pool as Starlette's) to show why it uses the first. The server's
CPU time (user + system, from /proc/PID/stat: the server process's own counters) is quoted per
request.

The last lines give what the service adds to a ``/v1/check`` — its server CPU per request
minus the in-process ``check+encode`` of the same requests (the numbers the 8-client run
answered, in its order and as many, replayed in this process right after it: row
``check+encode, as served``) — beside the bare route's cost, both with 8 keep-alive clients,
and the command that produced them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callguard import Guard
from callguard.server.keys import create_key, lookup_key
from callguard.storage import open_ledger

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 11, 0, tzinfo=PARIS)  # a Tuesday, in the consent regime
CONSENTED = datetime(2026, 9, 1, tzinfo=PARIS)
CALLER_ID = "09 48 12 34 56"
FULL_NUMBERS = 200_000
CLIENTS = (1, 8, 32)
COMPARED_AT = 8  # clients, for the added cost against the bare route


def national(i: int) -> str:
    """The i-th number of the population: distinct 073–079 mobiles (as benchmarks/run.py)."""
    return f"0{730_000_000 + (i * 7919 + 1234567) % 70_000_000}"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the ledger -----------------------------------------------------------------------------------


def build(path: str, numbers: int) -> str:
    with Guard(path, professional="acme") as guard, guard.batch():
        for i in range(numbers):
            guard.record_consent(national(i), CONSENTED, proof=f"form-{i}")
    ledger = open_ledger(path, busy_timeout=5.0)
    try:
        return create_key(ledger, ledger.professional_id("acme"), "acme", "bench")
    finally:
        ledger.close()


def in_process(
    path: str, key: str, numbers: int, seconds: float, first: int
) -> dict[str, dict[str, float]]:
    """may_call and attempt() timed in this process, one call after the other."""
    out: dict[str, dict[str, float]] = {}
    with Guard(path, professional="acme") as guard:

        def check_encode(number: str, caller_id: str, at: datetime) -> Any:
            # What the service does in-process for one /v1/check: decide, then the JSON.
            d = guard.may_call(number, caller_id, at)
            json.dumps(d.to_dict(), ensure_ascii=False).encode()
            return d

        calls = {"may_call": guard.may_call, "check+encode": check_encode, "attempt": guard.attempt}
        for name, fn in calls.items():
            lat: list[float] = []
            i = first
            # At most one attempt per number here: the service's runs that follow take the
            # others, and a number's fifth attempt in 30 days would be refused at the cap.
            last = first + numbers if name == "attempt" else None
            cpu0 = time.process_time()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline and i != last:
                t = time.perf_counter()
                d = fn(national(i % numbers), CALLER_ID, NOW)
                lat.append(time.perf_counter() - t)
                assert d.allowed, d.reasons
                i += 1
            cpu = time.process_time() - cpu0
            out[name] = _stats(lat, sum(lat), cpu)
            if name == "attempt":
                out["_next"] = {"i": float(i)}
    # What authenticating every request costs: the key looked up by its SHA-256 in the ledger.
    ledger = open_ledger(path, busy_timeout=5.0)
    try:
        lat = []
        cpu0 = time.process_time()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            assert lookup_key(ledger, key) is not None
            lat.append(time.perf_counter() - t)
        out["key lookup"] = _stats(lat, sum(lat), time.process_time() - cpu0)
    finally:
        ledger.close()
    return out


def replay(path: str, first: int, count: int, numbers: int) -> dict[str, float]:
    """``check+encode`` on exactly the requests a served ``/v1/check`` run answered (the same
    numbers, in the same order, as many): what the service does in-process for each —
    ``may_call`` and the JSON of its answer — timed in this process once the server is gone."""
    with Guard(path, professional="acme") as guard:
        guard.may_call(national(first % numbers), CALLER_ID, NOW)  # opened, as the server's is
        asked = [national(i % numbers) for i in range(first, first + count)]
        lat: list[float] = []
        cpu0 = time.process_time()
        for number in asked:
            t = time.perf_counter()
            d = guard.may_call(number, CALLER_ID, NOW)
            json.dumps(d.to_dict(), ensure_ascii=False).encode()
            lat.append(time.perf_counter() - t)
        # No attempt landed since the server answered: these are its decisions, allowed or not
        # (an executor measured after another's attempt runs finds numbers at the cap).
        cpu = time.process_time() - cpu0
    return _stats(lat, sum(lat), cpu)


def _stats(lat: list[float], wall: float, cpu: float) -> dict[str, float]:
    lat = sorted(lat)
    return {
        "n": len(lat),
        "rate": len(lat) / wall if wall else 0.0,
        "p50_us": statistics.median(lat) * 1e6,
        "p99_us": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6,
        "cpu_us_per_req": cpu * 1e6 / max(1, len(lat)),
    }


# -- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BARE_SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

ANSWER = {"allowed": True, "reasons": [], "next_allowed_at": None, "attempt_id": None}

async def bare(request):
    await request.body()
    return JSONResponse(ANSWER)

app = Starlette(routes=[Route("/bare", bare, methods=["POST"]),
                        Route("/healthz", bare, methods=["GET"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop="uvloop",
            log_config=None, access_log=False)
"""


def start_bare() -> tuple[subprocess.Popen[bytes], int]:
    """A bare Starlette route on uvicorn with httptools and uvloop, in its own process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, _wait_ready(proc, port)


def start_server(
    path: str, executor: str, agi_port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    agi = ["--agi-port", str(agi_port)] if agi_port is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-c", "from callguard.cli import main; main()", "serve", "--db", path,
         "--port", str(port), "--executor", executor, *agi],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, _wait_ready(proc, port)


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    return port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


def agi_session(port: int, key: str, number: str) -> int:
    """One FastAGI session as Asterisk runs it: the environment block, the key answered to
    ``GET VARIABLE CALLGUARD_KEY`` (as set in the dialplan's ``[globals]``), then
    ``200 result=1`` to each ``SET VARIABLE`` until the server ends the session; returns how
    many were set."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        script = "check"  # the key is the channel's CALLGUARD_KEY, read with GET VARIABLE
        env = [
            "agi_network: yes", f"agi_network_script: {script}",
            f"agi_request: agi://127.0.0.1:{port}/{script}", "agi_channel: SIP/trunk-00000001",
            f"agi_arg_1: {number}", "agi_arg_2: 0948123456", "", "",
        ]  # fmt: skip
        s.sendall("\n".join(env).encode())
        f = s.makefile("rb")
        count = 0
        while line := f.readline():
            if line.startswith(b"GET VARIABLE CALLGUARD_KEY"):
                s.sendall(f"200 result=1 ({key})\n".encode())
                continue
            count += 1
            s.sendall(b"200 result=1\n")
        return count


def drive_agi(port: int, key: str, seconds: float, numbers: int, pid: int) -> dict[str, float]:
    """Sequential FastAGI sessions on distinct numbers for ``seconds``: per-session latency."""
    lat: list[float] = []
    cpu0, start = cpu_seconds(pid), time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        assert agi_session(port, key, national(i % numbers)) >= 4
        lat.append(time.perf_counter() - t0)
        i += 1
    return _stats(lat, time.perf_counter() - start, cpu_seconds(pid) - cpu0)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the load generator (its own process) --------------------------------------------------------


def _request(route: str, key: str, i: int, numbers: int) -> bytes:
    if route == "floor":
        body, path = b"{}", "/v1/check"
    elif route == "bare":
        body, path = b'{"number": "%s"}' % national(i % numbers).encode(), "/bare"
    else:
        path = "/v1/check" if route == "check" else "/v1/attempts"
        body = json.dumps(
            {"number": national(i % numbers), "caller_id": CALLER_ID, "at": NOW.isoformat()}
        ).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _load(
    port: int, key: str, route: str, clients: int, seconds: float, first: int, numbers: int
) -> dict[str, Any]:
    counter = [first]
    lat: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            i = counter[0]
            counter[0] += 1
            request = _request(route, key, i, numbers)
            t = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    wall = time.perf_counter() - began
    return {"lat": lat, "wall": wall, "statuses": statuses, "next": counter[0]}


def _loadgen(args: tuple[Any, ...], queue: Any) -> None:
    queue.put(asyncio.run(_load(*args)))


def drive(
    port: int,
    key: str,
    route: str,
    clients: int,
    seconds: float,
    first: int,
    numbers: int,
    server_pid: int,
) -> tuple[dict[str, float], int, dict[int, int]]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    cpu0 = cpu_seconds(server_pid)
    p = ctx.Process(
        target=_loadgen, args=((port, key, route, clients, seconds, first, numbers), queue)
    )
    p.start()
    result = queue.get()
    p.join()
    cpu = cpu_seconds(server_pid) - cpu0
    stats = _stats(result["lat"], result["wall"], cpu)
    return stats, int(result["next"]), result["statuses"]


# -- report ---------------------------------------------------------------------------------------


def render(rows: list[tuple[str, str, str, dict[str, float]]]) -> str:
    lines = [
        "| where | route | clients | req/s | p50 µs | p99 µs | CPU µs / req |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for where, route, clients, s in rows:
        lines.append(
            f"| {where} | {route} | {clients} | {s['rate']:,.0f} | {s['p50_us']:,.0f} | "
            f"{s['p99_us']:,.0f} | {s['cpu_us_per_req']:,.0f} |"
        )
    return "\n".join(lines)


def added_cost(
    rows: list[tuple[str, str, str, dict[str, float]]], argv: Sequence[str] | None
) -> str:
    """What the service adds to a /v1/check beside what a bare route costs (same run)."""

    def cpu(where: str, route: str) -> float | None:
        for w, r, c, s in rows:
            if w == where and r == route and (c == str(COMPARED_AT) or w == "in-process"):
                return s["cpu_us_per_req"]
        return None

    bare = cpu("HTTP (bare Starlette)", "bare")
    command = " ".join(
        ["python", "benchmarks/service.py", *(sys.argv[1:] if argv is None else argv)]
    )
    lines = []
    for where, _, _, _ in rows:
        if not where.startswith("HTTP (") or "bare" in where or any(where in x for x in lines):
            continue
        served = cpu(where, "check")
        executor = where[len("HTTP (") : -1]
        inproc = cpu("in-process", f"check+encode, as served ({executor})")
        if served is None or bare is None or inproc is None:
            continue
        added = served - inproc
        lines.append(
            f"{where}: /v1/check adds {added:,.0f} µs of server CPU per request "
            f"({served:,.0f} served − {inproc:,.0f} in-process decision and JSON of the same "
            f"requests) = "
            f"{added / bare:.2f}× the bare Starlette route's {bare:,.0f} µs "
            f"({COMPARED_AT} keep-alive clients)"
        )
    lines.append(f"command: {command}")
    return "\n".join(lines)


def _backend_pids(dsn: str, application: str) -> list[int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def postgres_sizing(server: str, numbers: int, seconds: float, argv: Sequence[str] | None) -> int:
    """Attempts per second of one instance on a PostgreSQL ledger, and the PostgreSQL CPU
    each attempt costs (its backends' own counters, read from /proc: the server must run on
    this host), so attempts/s per PostgreSQL core = 1 / that CPU."""
    import secrets
    import urllib.parse

    import psycopg

    schema = f"cg_bench_{secrets.token_hex(4)}"
    application = f"callguard-bench-{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = urllib.parse.urlsplit(server)
    query = [
        *urllib.parse.parse_qsl(parts.query),
        ("options", f"-csearch_path={schema}"),
        ("application_name", application),
    ]
    dsn = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    lines = []
    try:
        log(f"building a PostgreSQL ledger of {numbers:,} consented numbers in {schema}")
        key = build(dsn, numbers)
        proc, port = start_server(dsn, "auto")
        try:
            nxt = 0
            for clients in (8, 32):
                drive(port, key, "check", clients, min(seconds, 1.0), 0, numbers, proc.pid)
                pids = _backend_pids(server, application)
                pg0 = sum(cpu_seconds(p) for p in pids)
                s, nxt, statuses = drive(
                    port, key, "attempt", clients, seconds, nxt, numbers, proc.pid
                )
                pg = sum(cpu_seconds(p) for p in pids) - pg0
                assert set(statuses) == {200}, statuses
                n = s["n"]
                pg_us = pg * 1e6 / max(1, n)
                line = (
                    f"| attempt | {clients} | {s['rate']:,.0f} | {s['p50_us']:,.0f} | "
                    f"{s['p99_us']:,.0f} | {s['cpu_us_per_req']:,.0f} | {pg_us:,.0f} | "
                    f"{1e6 / pg_us if pg_us else float('inf'):,.0f} |"
                )
                lines.append(line)
                log("  " + line)
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(
        f"callguard service on PostgreSQL — one instance, {numbers:,} consented numbers, "
        f"{os.cpu_count()} CPUs, {seconds:g} s per row\n"
    )
    print(
        "| route | clients | attempts/s | p50 µs | p99 µs | service CPU µs / attempt | "
        "PostgreSQL CPU µs / attempt | attempts/s per PostgreSQL core |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    command = " ".join(
        ["python", "benchmarks/service.py", *(sys.argv[1:] if argv is None else argv)]
    )
    print(f"\ncommand: {command}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the ledger size")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument(
        "--executor",
        choices=["auto", "dedicated", "pool", "both"],
        default="both",
        help="both: auto (the default) and dedicated",
    )
    parser.add_argument("--json", dest="json_out", default=None, help="also write rows as JSON")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="instead: size one instance on a PostgreSQL ledger (a fresh schema "
        "on this server, dropped after)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be in (0, 1], not {args.scale}")
    numbers = max(1000, int(FULL_NUMBERS * args.scale))
    if args.postgres:
        return postgres_sizing(args.postgres, numbers, args.seconds, argv)
    rows: list[tuple[str, str, str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        log(f"building a ledger of {numbers:,} consented numbers")
        key = build(path, numbers)
        # Each number takes 4 attempts before the cap: spread them so every attempt is allowed.
        mine = in_process(path, key, numbers, args.seconds, 0)
        nxt = int(mine.pop("_next")["i"])
        for name, s in mine.items():
            rows.append(("in-process", name, "1", s))
            log(f"  in-process {name}: {s['rate']:,.0f}/s p50 {s['p50_us']:.0f} µs")
        proc, port = start_bare()
        try:
            for clients in CLIENTS:
                s, _, statuses = drive(
                    port, key, "bare", clients, args.seconds, 0, numbers, proc.pid
                )
                assert set(statuses) == {200}, statuses
                rows.append(("HTTP (bare Starlette)", "bare", str(clients), s))
                log(
                    f"  bare x{clients}: {s['rate']:,.0f}/s p50 {s['p50_us']:.0f} µs "
                    f"CPU {s['cpu_us_per_req']:.0f} µs/req"
                )
        finally:
            proc.terminate()
            proc.wait(30)
        executors = ("auto", "dedicated") if args.executor == "both" else (args.executor,)
        served: dict[str, dict[str, float]] = {}  # executor: its check run replayed in-process
        for executor in executors:
            agi_port = free_port()
            proc, port = start_server(path, executor, agi_port)
            try:
                s = drive_agi(agi_port, key, args.seconds, numbers, proc.pid)
                rows.append((f"FastAGI ({executor})", "check session", "1", s))
                log(
                    f"  {executor} FastAGI check: {s['rate']:,.0f} sessions/s "
                    f"p50 {s['p50_us']:.0f} µs p99 {s['p99_us']:.0f} µs"
                )
                for route in ("floor", "check", "attempt"):
                    for clients in CLIENTS:
                        s, used, statuses = drive(
                            port, key, route, clients, args.seconds, nxt, numbers, proc.pid
                        )
                        if route == "attempt":  # reads leave the numbers' attempts untouched
                            nxt = used
                        if route == "check" and clients == COMPARED_AT:
                            # Replayed before any attempt lands on these numbers (the server
                            # idle meanwhile): the same decisions, allowed, as it answered.
                            served[executor] = replay(path, nxt, used - nxt, numbers)
                        want = 422 if route == "floor" else 200
                        assert set(statuses) == {want}, statuses
                        rows.append((f"HTTP ({executor})", route, str(clients), s))
                        log(
                            f"  {executor} {route} x{clients}: {s['rate']:,.0f}/s "
                            f"p50 {s['p50_us']:.0f} µs p99 {s['p99_us']:.0f} µs "
                            f"CPU {s['cpu_us_per_req']:.0f} µs/req"
                        )
            finally:
                proc.terminate()
                proc.wait(30)
        for executor, s in served.items():
            rows.append(("in-process", f"check+encode, as served ({executor})", "1", s))
            log(
                f"  in-process check+encode of the {s['n']:,.0f} requests served ({executor}): "
                f"CPU {s['cpu_us_per_req']:.0f} µs/req"
            )
        if nxt > 4 * numbers:
            log("note: more attempts than 4 per number: the last ones were refused at the cap")
    table = render(rows)
    print(
        f"callguard service benchmark — {numbers:,} consented numbers, {os.cpu_count()} CPUs, "
        f"{args.seconds:g} s per row, Python {sys.version.split()[0]}\n"
    )
    print(table)
    print()
    print(added_cost(rows, argv))
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                [{"where": w, "route": r, "clients": c, **s} for w, r, c, s in rows], indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
