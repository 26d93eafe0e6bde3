"""FastAGI: Asterisk (and VICIdial) ask the same Guards over the AGI wire protocol.

``AGI(agi://HOST:PORT/attempt?key=KEY,${NUMBER},${CALLERID(num)})`` — Asterisk connects, sends
``agi_network: yes``, ``agi_network_script: attempt?key=KEY``, then its environment block
(``agi_request: agi://HOST:PORT/attempt?key=KEY``, ``agi_channel: …``, ``agi_arg_1: NUMBER``,
``agi_arg_2: CALLERID``…) ended by an empty line. The server answers with ``SET VARIABLE NAME
"VALUE"`` commands, reading Asterisk's reply to each (``200 result=1``; ``510``/``511``/``520``
are errors, a ``HANGUP`` line means the channel is gone), then closes the connection, which ends
the AGI. ``/check`` is a read-only decision; an optional third argument is the campaign.

Variables: ``CALLGUARD_ALLOWED`` (1/0), ``CALLGUARD_REASONS`` (codes joined by ``|``),
``CALLGUARD_NEXT`` (ISO 8601 or empty), ``CALLGUARD_ATTEMPT_ID`` (empty when none); on a bad key
or a malformed request ``CALLGUARD_ALLOWED=0``, empty reasons and ``CALLGUARD_ERROR`` naming the
problem. A ledger fault is ``0`` with ``LEDGER_UNAVAILABLE``. Every failure path sets 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .._decision import Decision
from .metrics import Metrics, agi_session
from .service import Answer, Service, Unauthorized, Unavailable

__all__ = ["AGI_READ_TIMEOUT", "AgiServer", "start_agi"]

AGI_READ_TIMEOUT = 5.0
"""Seconds to wait for each line of the environment block or of a reply (idle sessions end)."""
_MAX_LINE = 4096
_MAX_LINES = 200

log = logging.getLogger("callguard.server")


class _Malformed(Exception):
    pass


@dataclass
class AgiServer:
    server: asyncio.Server
    sessions: set[asyncio.Task[None]]

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting; let sessions in flight finish (each is bounded by its timeouts)."""
        self.server.close()
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=AGI_READ_TIMEOUT * 3)
        await self.server.wait_closed()


async def start_agi(service: Service, host: str, port: int, metrics: Metrics | None = None,
                    read_timeout: float = AGI_READ_TIMEOUT) -> AgiServer:
    sessions: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            await _session(service, metrics, reader, writer, read_timeout)
        except Exception:  # never let one dialer's session take the server down
            log.exception("AGI session failed")
        finally:
            sessions.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(on_connect, host, port, limit=_MAX_LINE)
    return AgiServer(server, sessions)


async def _readline(reader: asyncio.StreamReader, timeout: float) -> str | None:
    """One line without its end, or None when the peer closed the connection."""
    try:
        raw = await asyncio.wait_for(reader.readline(), timeout)
    except ValueError as exc:  # longer than the limit
        raise _Malformed("a line is too long") from exc
    if not raw:
        return None
    return raw.decode("utf-8", "replace").rstrip("\r\n")


async def _environment(reader: asyncio.StreamReader, timeout: float) -> dict[str, str]:
    env: dict[str, str] = {}
    for _ in range(_MAX_LINES):
        line = await _readline(reader, timeout)
        if line is None:
            raise _Malformed("the connection closed before the end of the AGI environment")
        if line == "":
            return env
        name, sep, value = line.partition(":")
        if not sep or not name.startswith("agi_"):
            raise _Malformed(f"not an AGI environment line: {line[:40]!r}")
        env[name.strip()] = value.strip()
    raise _Malformed("the AGI environment is too long")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


async def _set(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str,
               value: str, timeout: float) -> bool:
    """Send one SET VARIABLE and read its reply; False when the channel is gone or refused it."""
    writer.write(f"SET VARIABLE {name} {_quote(value)}\n".encode())
    await writer.drain()
    while True:
        line = await _readline(reader, timeout)
        if line is None or line.startswith("HANGUP"):
            return False
        if line.startswith("200"):
            return True
        if line[:3] in ("510", "511") or line.startswith("520 "):
            return False
        # "520-..." usage lines and anything else before the status line: keep reading.


def _route(env: dict[str, str]) -> tuple[str, dict[str, list[str]]]:
    request = env.get("agi_network_script") or ""
    if not request:
        parts = urllib.parse.urlsplit(env.get("agi_request", ""))
        request = parts.path.lstrip("/") + ("?" + parts.query if parts.query else "")
    path, _, query = request.partition("?")
    return path.strip("/"), urllib.parse.parse_qs(query)


async def _session(service: Service, metrics: Metrics | None, reader: asyncio.StreamReader,
                   writer: asyncio.StreamWriter, timeout: float) -> None:
    started = time.perf_counter()
    info: dict[str, Any] = {"route": "agi"}
    values: dict[str, str]
    try:
        env = await _environment(reader, timeout)
        path, query = _route(env)
        info["route"] = f"agi/{path}"
        if path not in ("attempt", "check"):
            raise _Malformed(f"unknown AGI script {path[:40]!r}: use /attempt or /check")
        key = (query.get("key") or [""])[0]
        number, caller_id = env.get("agi_arg_1", ""), env.get("agi_arg_2", "")
        if not number:
            raise _Malformed("agi_arg_1 (the number to call) is missing")
        args: dict[str, Any] = {"number": number, "caller_id": caller_id}
        if path == "attempt" and env.get("agi_arg_3"):
            args["campaign"] = env["agi_arg_3"]

        def blocking() -> Answer:
            found = service.authenticate(key)
            info["professional"] = found.professional
            if path == "check":
                return service.check(found, args)
            return service.attempt(found, args, None, b"")

        try:
            answer = await service.run(blocking)
            decision = answer.decision
        except Unavailable as exc:
            if metrics is not None:
                metrics.ledger_errors.labels(info["route"]).inc()
            decision = exc.decision
            if decision is None:
                raise _Malformed("LEDGER_UNAVAILABLE") from exc
        assert decision is not None
        values = _variables(decision)
        info["allowed"] = decision.allowed
        info["codes"] = [r.code.value for r in decision.reasons]
        if metrics is not None:
            metrics.decision(info["route"], decision)
    except Unauthorized as exc:
        values = _error(str(exc))
        info["error"] = "unauthorized"
    except (_Malformed, asyncio.TimeoutError) as exc:
        problem = str(exc) or "timed out waiting for the AGI environment"
        values = _error(problem)
        info["error"] = problem
    except Exception as exc:  # a bad value the library refuses (callee zone...), never an allow
        values = _error(f"invalid request: {str(exc)[:120]}")
        info["error"] = "invalid"
    try:
        for name, value in values.items():
            if not await _set(reader, writer, name, value, timeout):
                break
    except (asyncio.TimeoutError, ConnectionError, _Malformed):
        pass
    info["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
    agi_session(metrics, info, started)
    log.info(json.dumps(info, ensure_ascii=False))


def _variables(decision: Decision) -> dict[str, str]:
    return {
        "CALLGUARD_ALLOWED": "1" if decision.allowed else "0",
        "CALLGUARD_REASONS": "|".join(r.code.value for r in decision.reasons),
        "CALLGUARD_NEXT": (
            decision.next_allowed_at.isoformat() if decision.next_allowed_at is not None else ""
        ),
        "CALLGUARD_ATTEMPT_ID": "" if decision.attempt_id is None else str(decision.attempt_id),
    }


def _error(problem: str) -> dict[str, str]:
    return {
        "CALLGUARD_ALLOWED": "0",
        "CALLGUARD_REASONS": "",
        "CALLGUARD_NEXT": "",
        "CALLGUARD_ATTEMPT_ID": "",
        "CALLGUARD_ERROR": problem,
    }
