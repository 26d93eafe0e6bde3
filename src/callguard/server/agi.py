"""FastAGI: Asterisk (and VICIdial) ask the same Guards over the AGI wire protocol.

``AGI(agi://HOST:PORT/attempt,${NUMBER},${CALLERID(num)})`` — Asterisk connects, sends
``agi_network: yes``, ``agi_network_script: attempt``, then its environment block
(``agi_request: agi://HOST:PORT/attempt``, ``agi_channel: …``, ``agi_arg_1: NUMBER``,
``agi_arg_2: CALLERID``…) ended by an empty line. ``/check`` is a read-only decision; an
optional third argument is the campaign.

The key: ``key=KEY`` in the script's URL, or else the channel variable ``CALLGUARD_KEY``, read
with ``GET VARIABLE CALLGUARD_KEY`` (``res_agi.c`` answers ``200 result=1 (VALUE)``, or
``200 result=0`` when it is not set). Set it once in the dialplan's ``[globals]``: Asterisk
prints the AGI URL in its verbose log on every call (``pbx.c``'s "Executing [...]" line, at
verbose level 3), so a key in the URL ends up in every call's log line.

The answer is a series of ``SET VARIABLE NAME "VALUE"`` commands, each acknowledged by Asterisk
with ``200 result=1`` before the next is sent: ``CALLGUARD_ALLOWED`` is first reset to ``0``,
before the decision (a dialplan that loops runs the AGI again on the same channel, whose
previous ``1`` must not survive a cut session; and a PBX already gone is found before an attempt
is recorded), then ``CALLGUARD_REASONS`` (codes joined by ``|``), ``CALLGUARD_NEXT``
(ISO 8601 or empty), ``CALLGUARD_ATTEMPT_ID`` (empty when none) and, on a bad key or request,
``CALLGUARD_ERROR``; ``CALLGUARD_ALLOWED`` is set to its value **last**. A session cut at any
line therefore never leaves ``CALLGUARD_ALLOWED=1`` without the attempt id beside it.

When the channel hangs up, Asterisk sends ``HANGUP`` on the socket (``run_agi``, unless the
dialplan set ``AGISIGHUP=no``) and still acknowledges ``SET VARIABLE`` on the dead channel. So
an attempt whose ``CALLGUARD_ALLOWED`` was not acknowledged with ``200 result=1`` before any
``HANGUP``, a ``510``/``511``/``520`` error, the connection's end or the session's deadline was
never dialled: it is **voided** (kept with its reason, not counted by the cap). The session has
a total deadline (:data:`AGI_SESSION_DEADLINE`), so a peer trickling one line every few seconds
is cut; every line also has its own timeout. A ledger fault sets ``0`` with
``LEDGER_UNAVAILABLE``; every failure path sets ``0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._decision import Decision
from .limits import ConnectionLimits
from .metrics import Metrics, agi_session
from .service import Answer, Service, Unauthorized, Unavailable

__all__ = ["AGI_READ_TIMEOUT", "AGI_SESSION_DEADLINE", "AgiServer", "start_agi"]

AGI_READ_TIMEOUT = 5.0
"""Seconds to wait for each line of the environment block or of a reply (idle sessions end)."""
AGI_SESSION_DEADLINE = 10.0
"""Seconds a whole session may last, from the connection to the last acknowledgement: a peer
sending one line just before each read times out is cut all the same."""
VOID_TIMEOUT = 5.0
"""Seconds to wait for the void of an attempt whose answer was not delivered (it still
completes later in the ledger's worker; past this the session only stops waiting for it)."""
KEY_VARIABLE = "CALLGUARD_KEY"
_MAX_LINE = 4096
_MAX_LINES = 200

log = logging.getLogger("callguard.server")
T = TypeVar("T")


class _Malformed(Exception):
    pass


class _Late(Exception):
    """The session's deadline passed."""


class _Gone(Exception):
    """The channel hung up or the connection closed before a decision was taken."""


@dataclass
class AgiServer:
    server: asyncio.Server
    sessions: set[asyncio.Task[None]]

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting; let sessions in flight (and their voids) finish: each is bounded."""
        self.server.close()
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=AGI_SESSION_DEADLINE + VOID_TIMEOUT * 2)
        await self.server.wait_closed()


async def start_agi(
    service: Service,
    host: str,
    port: int,
    metrics: Metrics | None = None,
    read_timeout: float = AGI_READ_TIMEOUT,
    deadline: float | None = None,
    limits: ConnectionLimits | None = None,
) -> AgiServer:
    """Serve FastAGI on ``host:port``; ``deadline`` (default :data:`AGI_SESSION_DEADLINE`)
    bounds each whole session; ``limits`` (default: a :class:`ConnectionLimits` of its own with
    the default caps; ``callguard serve`` shares the HTTP listener's) caps the sessions held at
    once, in all and per peer address: a connection past a cap is closed at once, before a
    line is read, and no attempt is recorded for it."""
    sessions: set[asyncio.Task[None]] = set()
    agi = _Agi(
        service,
        metrics,
        read_timeout,
        AGI_SESSION_DEADLINE if deadline is None else deadline,
        sessions,
    )
    admission = limits if limits is not None else ConnectionLimits()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if not admission.admit(peer):
            log.warning(
                json.dumps({"route": "agi", "error": "too many connections", "client": peer})
            )
            writer.transport.abort()  # nothing read, nothing answered, nothing recorded
            return
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            await agi.session(reader, writer)
        except Exception:  # never let one dialer's session take the server down
            log.exception("AGI session failed")
        finally:
            sessions.discard(task)
            admission.release(peer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), read_timeout)

    server = await asyncio.start_server(on_connect, host, port, limit=_MAX_LINE)
    return AgiServer(server, sessions)


def _peer(writer: asyncio.StreamWriter) -> str | None:
    """The peer's address (without its port), None when unknown."""
    name = writer.get_extra_info("peername")
    if isinstance(name, (tuple, list)) and name:
        return str(name[0])
    return None


# Asterisk's replies to a command (res_agi.c agi_handle_command): a status line ``200 …``,
# ``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel…``, a
# ``520-`` usage block ending in ``520 End of proper usage.``; and, whenever the channel hangs
# up, an unsolicited ``HANGUP`` line.
_OK, _HANGUP, _CLOSED, _REFUSED = "ok", "hangup", "closed", "refused"


@dataclass
class _Wire:
    """One session's socket, every read and write bounded by the line timeout and the
    session's deadline."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    read_timeout: float
    deadline: float
    """The event loop's time when the session must end."""
    reset: bool = False
    """Whether Asterisk acknowledged ``CALLGUARD_ALLOWED=0``, sent before the decision."""

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def _bound(self) -> float:
        left = self.remaining()
        if left <= 0:
            raise _Late
        return min(self.read_timeout, left)

    async def line(self) -> str | None:
        """One line without its end, or None when the peer closed the connection."""
        timeout = self._bound()
        try:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
        except ValueError as exc:  # longer than the limit
            raise _Malformed("a line is too long") from exc
        except asyncio.TimeoutError:
            if self.remaining() <= 0:
                raise _Late from None
            raise
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for _ in range(_MAX_LINES):
            line = await self.line()
            if line is None:
                raise _Malformed("the connection closed before the end of the AGI environment")
            if line == "":
                return env
            name, sep, value = line.partition(":")
            if not sep or not name.startswith("agi_"):
                raise _Malformed(f"not an AGI environment line: {line[:40]!r}")
            env[name.strip()] = value.strip()
        raise _Malformed("the AGI environment is too long")

    async def command(self, text: str) -> tuple[str, str]:
        """Send one command and read its reply: (``_OK``, the status line), (``_HANGUP``, ""),
        (``_CLOSED``, "") or (``_REFUSED``, the error line)."""
        try:
            self.writer.write(f"{text}\n".encode())
            await asyncio.wait_for(self.writer.drain(), self._bound())
        except (ConnectionError, RuntimeError):
            return _CLOSED, ""
        except asyncio.TimeoutError:
            if self.remaining() <= 0:
                raise _Late from None
            raise
        while True:
            try:
                line = await self.line()
            except ConnectionError:
                return _CLOSED, ""
            if line is None:
                return _CLOSED, ""
            if line.startswith(("HANGUP", "511")):  # 511: not permitted on a dead channel
                return _HANGUP, ""
            if line.startswith("200"):
                return _OK, line
            if line.startswith(("510", "520 ")):
                return _REFUSED, line
            # "520-..." usage lines and anything else before the status line: keep reading.

    def send_only(self, lines: list[str]) -> None:
        """Write commands without waiting for their replies (the deadline has passed):
        Asterisk still runs them in order from its socket buffer."""
        with contextlib.suppress(Exception):
            self.writer.write("".join(f"{line}\n" for line in lines).encode())


@dataclass
class _Agi:
    service: Service
    metrics: Metrics | None
    read_timeout: float
    deadline: float
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        wire = _Wire(reader, writer, self.read_timeout, loop.time() + self.deadline)
        info: dict[str, Any] = {"route": "agi"}
        decision: Decision | None = None
        values: dict[str, str]
        late = False
        try:
            decision = await self._decide(wire, info)
            values = _variables(decision)
        except _Gone as exc:
            info["error"] = str(exc)
            self._log(info, started)
            return  # the channel is gone: nothing to answer, nothing recorded
        except _Late:
            late = True
            values = _error(f"the session took more than its {self.deadline:g} s deadline")
            info["error"] = "deadline"
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
        attempt_id = None if decision is None else decision.attempt_id
        commands = [f"SET VARIABLE {n} {_quote(v)}" for n, v in _ordered(values, wire.reset)]
        if late:
            wire.send_only(commands)
            failure: str | None = "the session's deadline passed"
        else:
            failure = await self._deliver(wire, commands)
        if failure is not None and attempt_id is not None:
            info["voided"] = attempt_id
            await self._void(info, attempt_id, failure)
        if failure is not None:
            info["undelivered"] = failure
        self._log(info, started)

    async def _decide(self, wire: _Wire, info: dict[str, Any]) -> Decision:
        env = await wire.environment()
        path, query = _route(env)
        info["route"] = f"agi/{path}"
        if path not in ("attempt", "check"):
            raise _Malformed(f"unknown AGI script {path[:40]!r}: use /attempt or /check")
        number, caller_id = env.get("agi_arg_1", ""), env.get("agi_arg_2", "")
        if not number:
            raise _Malformed("agi_arg_1 (the number to call) is missing")
        key = (query.get("key") or [""])[0] or await self._key_variable(wire)
        if not key:
            raise Unauthorized(
                f"an API key is required: set {KEY_VARIABLE} in the dialplan's [globals] "
                "(or key= in the AGI URL)"
            )
        await self._reset(wire)
        args: dict[str, Any] = {"number": number, "caller_id": caller_id}
        if path == "attempt" and env.get("agi_arg_3"):
            args["campaign"] = env["agi_arg_3"]
        service = self.service

        def blocking() -> Answer:
            found = service.authenticate(key)
            info["professional"] = found.professional
            if path == "check":
                return service.check(found, args)
            return service.attempt(found, args, None, b"")

        try:
            answer = await self._within(wire, service.run(blocking), info)
            decision = answer.decision
        except Unavailable as exc:
            if self.metrics is not None:
                self.metrics.ledger_errors.labels(info["route"]).inc()
            decision = exc.decision
            if decision is None:
                raise _Malformed("LEDGER_UNAVAILABLE") from exc
        assert decision is not None
        info["allowed"] = decision.allowed
        info["codes"] = [r.code.value for r in decision.reasons]
        if decision.attempt_id is not None:
            info["attempt_id"] = decision.attempt_id
        if self.metrics is not None:
            self.metrics.decision(info["route"], decision)
        return decision

    async def _reset(self, wire: _Wire) -> None:
        """``CALLGUARD_ALLOWED=0`` before deciding. A dialplan that loops runs the AGI again on
        a channel still holding the previous answer's 1, which must not survive a session cut
        later on; and a PBX that has already hung up or closed is found here, before an attempt
        is recorded for a call that cannot be placed."""
        status, line = await wire.command('SET VARIABLE CALLGUARD_ALLOWED "0"')
        if status == _HANGUP:
            raise _Gone("the channel hung up before the decision")
        if status == _CLOSED:
            raise _Gone("the connection closed before the decision")
        if status == _REFUSED:
            raise _Malformed(f"SET VARIABLE was refused: {line[:60]}")
        wire.reset = True

    async def _key_variable(self, wire: _Wire) -> str:
        """``CALLGUARD_KEY`` read from the channel ("" when it is not set)."""
        status, line = await wire.command(f"GET VARIABLE {KEY_VARIABLE}")
        if status == _HANGUP:
            raise _Gone("the channel hung up before the decision")
        if status == _CLOSED:
            raise _Gone("the connection closed before the decision")
        if status == _REFUSED:
            raise _Malformed(f"GET VARIABLE {KEY_VARIABLE} was refused: {line[:60]}")
        # res_agi.c handle_getvariable: "200 result=1 (VALUE)", or "200 result=0" when unset;
        # the value is not escaped, so it runs from the first "(" to the last ")".
        head, sep, rest = line.partition("(")
        if head.split() != ["200", "result=1"] or not sep or not rest.endswith(")"):
            return ""
        return rest[:-1].strip()

    async def _within(self, wire: _Wire, work: Awaitable[T], info: dict[str, Any]) -> T:
        """``work`` within the session's deadline. Past it the session ends without an answer
        and, should the work still record an attempt, that attempt is voided when it does."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=max(wire.remaining(), 0))
        if task in done:
            return task.result()

        def finished(t: asyncio.Future[T]) -> None:
            if t.cancelled() or t.exception() is not None:
                return
            answer = t.result()
            decision = getattr(answer, "decision", None)
            if decision is not None and decision.attempt_id is not None:
                late = {**info, "voided": decision.attempt_id}
                self._keep(self._void(late, decision.attempt_id, "the session's deadline passed"))

        task.add_done_callback(finished)
        raise _Late

    def _keep(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, wire: _Wire, commands: list[str]) -> str | None:
        """Send each command once the previous one is acknowledged; None when the last
        (``CALLGUARD_ALLOWED``) was, else why the answer was not delivered."""
        for text in commands:
            try:
                status, line = await wire.command(text)
            except (_Late, asyncio.TimeoutError) as exc:
                late = isinstance(exc, _Late)
                why = (
                    "the session's deadline passed"
                    if late
                    else f"no acknowledgement within {self.read_timeout:g} s"
                )
                # A slow PBX may still run what it has received, CALLGUARD_ALLOWED=1 included:
                # a last CALLGUARD_ALLOWED=0 queued behind it is run after it, and wins.
                wire.send_only([
                    f"SET VARIABLE CALLGUARD_ERROR {_quote(why)}",
                    'SET VARIABLE CALLGUARD_ALLOWED "0"',
                ])  # fmt: skip
                return why
            except _Malformed as exc:
                return str(exc)
            if status == _HANGUP:
                return "the channel hung up"  # nothing more is sent to a dead channel
            if status == _CLOSED:
                return "the connection closed"
            if status == _REFUSED:
                return f"Asterisk answered {line[:60]!r}"
        return None

    async def _void(self, info: dict[str, Any], attempt_id: int, failure: str) -> None:
        """Void an attempt whose answer was not delivered: the dialer never placed it."""
        professional = info.get("professional")
        if professional is None:
            return
        reason = f"FastAGI: {failure} before CALLGUARD_ALLOWED was acknowledged"
        guard = self.service.guard(professional)
        try:
            await asyncio.wait_for(
                self.service.run(lambda: guard.void_attempt(attempt_id, reason)), VOID_TIMEOUT
            )
        except Exception as exc:  # the attempt stays counted: the cap errs on the safe side
            info["void_error"] = str(exc)[:200]
            log.error(json.dumps({**info, "attempt_id": attempt_id}, ensure_ascii=False))

    def _log(self, info: dict[str, Any], started: float) -> None:
        info["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        agi_session(self.metrics, info, started)
        log.info(json.dumps(info, ensure_ascii=False))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _route(env: dict[str, str]) -> tuple[str, dict[str, list[str]]]:
    request = env.get("agi_network_script") or ""
    if not request:
        parts = urllib.parse.urlsplit(env.get("agi_request", ""))
        request = parts.path.lstrip("/") + ("?" + parts.query if parts.query else "")
    path, _, query = request.partition("?")
    return path.strip("/"), urllib.parse.parse_qs(query)


def _ordered(values: dict[str, str], reset: bool) -> list[tuple[str, str]]:
    """The SET VARIABLE commands in the order that never leaves a wrong state: ALLOWED reset to
    0 first (unless ``reset`` says it was, before the decision), the others, then ALLOWED's own
    value last."""
    rest = [(n, v) for n, v in values.items() if n != "CALLGUARD_ALLOWED"]
    first = [] if reset else [("CALLGUARD_ALLOWED", "0")]
    return [*first, *rest, ("CALLGUARD_ALLOWED", values["CALLGUARD_ALLOWED"])]


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
