"""The service's HTTP/1.1 connections: uvicorn's httptools protocol with the limits it lacks.

uvicorn bounds neither how long a client may take to send its headers (a slowloris trickle
keeps a socket open for good: each byte re-arms nothing and cancels the keep-alive timer) nor
how many sockets one client holds (``limit_concurrency`` counts every client together, so 2 000
idle sockets from anyone turn every dialer's request into a 503). This protocol adds, per
connection, one timer and a count:

* the request's headers must arrive within :data:`~callguard.server.limits.HEADER_TIMEOUT`
  of the connection or of the previous answer, and its body within ``body_timeout`` of the
  headers (a 408, then the connection is closed);
* an idle keep-alive connection is closed after :data:`~callguard.server.limits.IDLE_TIMEOUT`;
* a connection is admitted against :class:`~callguard.server.limits.ConnectionLimits` (total and
  per client address); one over either cap gets a 503 and is closed at once;
* a request carrying both ``Content-Length`` and ``Transfer-Encoding`` is a 400 and its
  connection is closed, with whatever was pipelined behind it unread (RFC 9112 §6.3: the
  framing is ambiguous, the usual vector of request smuggling);
* an answer's head and body leave in one write (:class:`_OneWrite`).

Subclassing uvicorn's protocol, rather than writing one, keeps its parsing, flow control,
pipelining and graceful shutdown; the timers are ``call_later`` handles (no task per request),
so the body is read once by the app without a timer of its own. Measured with
``benchmarks/service.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .._exceptions import ConfigurationError
from .._i18n import _
from .limits import HEADER_TIMEOUT, IDLE_TIMEOUT, ConnectionLimits

__all__ = ["BODY_TIMEOUT", "guarded_protocol", "server_config"]

BODY_TIMEOUT = 10.0
"""Seconds a client may take to send its body once the headers are in (then a 408)."""


def _plain(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(text)).encode() + b"\r\nconnection: close\r\n\r\n" + text
    )


_BUSY = _plain(b"503 Service Unavailable", b"too many connections from this client or in all")
_LATE_HEADERS = _plain(b"408 Request Timeout", b"the request's headers took too long")
_LATE_BODY_JSON = b'{"error": "timeout", "message": "the body took too long"}'
_LATE_BODY = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_LATE_BODY_JSON)).encode()
    + b"\r\nconnection: close\r\n\r\n"
    + _LATE_BODY_JSON
)


class _Ambiguous(Exception):
    """Content-Length and Transfer-Encoding in one request."""


class _OneWrite:
    """The transport one request's cycle writes its answer to: the response's head is held
    until its first body bytes (or the end of the response, or a close), so a JSON answer
    leaves in one write — one system call and one wake-up of the client rather than two (ASGI
    sends the head and the body as two messages, which uvicorn writes as they come). An
    interim ``100 Continue`` goes out at once."""

    __slots__ = ("_head", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""
        self._held = False  # whether this cycle's head has been seen

    def write(self, data: bytes) -> None:
        if self._head:
            data = self._head + data
            self._head = b""
        elif not self._held and data.startswith(b"HTTP/1.1 "):
            if data.startswith(b"HTTP/1.1 1"):  # interim: the real head is still to come
                self._transport.write(data)
                return
            self._held = True
            self._head = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head:
            head, self._head = self._head, b""
            self._transport.write(head)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and connection caps."""

    limits: ConnectionLimits = ConnectionLimits()
    header_timeout: float = HEADER_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._peer: str | None = None
        self._admitted = False
        self._begun = False  # a byte of the awaited request has arrived
        self._body_due = False  # headers parsed, body deadline to arm after this read

    # -- the connection -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer = self.client[0] if self.client else None
        if not self.limits.admit(self._peer):
            self.connections.discard(self)
            transport.write(_BUSY)
            transport.close()
            return
        self._admitted = True
        self._timer = self.loop.call_later(self.header_timeout, self._request_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._admitted:
            self._admitted = False
            self.limits.release(self._peer)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._admitted or self.transport.is_closing():
            return  # refused or closing: nothing more is read from this connection
        self._begun = True
        super().data_received(data)
        if self._body_due and not self.transport.is_closing():
            # Headers in, body not yet: the body deadline. (Most requests arrive whole in one
            # read: no timer is armed and cancelled for them.)
            self._body_due = False
            self._timer = self.loop.call_later(self.body_timeout, self._body_late)

    # -- the timer: one per connection, re-armed at each stage ---------------------------------

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _request_late(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._begun:  # part of a request arrived: say why before closing
            self.transport.write(_LATE_HEADERS)
        self.transport.close()

    def _idle_over(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._begun:  # idle keep-alive connection
            self.transport.close()
            return
        # A request has begun: it gets the rest of its header deadline.
        self._timer = self.loop.call_later(
            self.header_timeout - self.idle_timeout, self._request_late
        )

    def _body_late(self) -> None:
        self._timer = None
        cycle = self.cycle
        if self.transport.is_closing():
            return
        if cycle is not None and not cycle.response_started:
            cycle.disconnected = True  # the app's pending read ends; its answer is dropped
            cycle.message_event.set()
            self.transport.write(_LATE_BODY)
        self.transport.close()

    # -- parser callbacks ---------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        names = [name for name, _ in self.headers]
        if b"transfer-encoding" in names and b"content-length" in names:
            # Raised inside the parser's callback: httptools stops parsing there and uvicorn
            # answers a 400 and closes, so nothing pipelined behind this request is run.
            raise _Ambiguous("Content-Length and Transfer-Encoding in one request")
        self._disarm()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None:
            cycle.transport = _OneWrite(self.transport)  # type: ignore[assignment]
        self._body_due = True  # armed once this read is parsed, unless the body was in it

    def on_message_complete(self) -> None:
        self._body_due = False
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        if cycle is not None and isinstance(cycle.transport, _OneWrite):
            cycle.transport.flush()  # a head without a body (HEAD, 204, 304) leaves now
        super().on_response_complete()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            # Waiting for the next request: the idle keep-alive deadline, which becomes the
            # header deadline when a byte of a request has arrived by then.
            self._disarm()
            self._begun = False
            self._timer = self.loop.call_later(self.idle_timeout, self._idle_over)


def guarded_protocol(
    limits: ConnectionLimits,
    *,
    header_timeout: float = HEADER_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> type[GuardedHttpProtocol]:
    """A protocol class bound to one server's limits and timeouts."""
    if not 0 < idle_timeout <= header_timeout:
        raise ConfigurationError(
            _("idle_timeout must be > 0 and ≤ header_timeout ({limit}), not {value}",
              limit=header_timeout, value=idle_timeout),
            field="idle_timeout", value=idle_timeout,
        )  # fmt: skip
    attrs = {
        "limits": limits,
        "header_timeout": header_timeout,
        "idle_timeout": idle_timeout,
        "body_timeout": body_timeout,
    }
    return type("CallguardHttpProtocol", (GuardedHttpProtocol,), attrs)


def server_config(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    limits: ConnectionLimits | None = None,
    header_timeout: float = HEADER_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    **options: Any,
) -> uvicorn.Config:
    """The uvicorn configuration ``callguard serve`` runs: httptools with the guarded protocol,
    uvloop when installed, no access log (the app logs one JSON line per request)."""
    limits = limits if limits is not None else ConnectionLimits()
    state = getattr(app, "state", None)
    if state is not None and getattr(state, "limits", False) is None:
        # The app's FastAGI listener (started by its lifespan) shares these caps.
        state.limits = limits
    protocol = guarded_protocol(
        limits,
        header_timeout=header_timeout,
        idle_timeout=idle_timeout,
        body_timeout=body_timeout,
    )
    defaults: dict[str, Any] = {
        "access_log": False,
        "log_config": None,
        "server_header": False,
        "date_header": True,
        "timeout_graceful_shutdown": 10,
        "loop": "auto",  # uvloop when installed (the server extra installs it off Windows)
    }
    defaults.update(options)
    return uvicorn.Config(
        app, host=host, port=port, http=protocol,
        # Our own timers and caps replace these two (see the module's docstring).
        timeout_keep_alive=max(1, int(idle_timeout + 1)), limit_concurrency=None,
        **defaults,
    )  # fmt: skip
