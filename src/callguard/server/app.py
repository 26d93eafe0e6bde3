"""The HTTP face of the pre-dial service: a Starlette app over a :class:`Service`.

Every ``/v1`` route authenticates its Bearer key, validates its JSON body (422 naming the
field), does its ledger work in ONE step (see the threading model in ``server/service.py``),
and answers JSON, within the service's deadline (past it a decision is a 503
LEDGER_UNAVAILABLE). The ``/v1`` endpoints are module-level plain ASGI apps mounted by
Starlette's ``Route`` (the body read once from the channel, the answer sent with one header
block built here: no Request/Response churn on the dialers' path), reading the app's state
(``app.state.service``, ``.metrics``, ``.body_map``); what goes wrong is raised and answered by
the app's ``exception_handlers``; ONE pure-ASGI middleware times every ``/v1`` request and
writes its JSON log line (route, professional, result, codes, latency; never the key) to a
:class:`RequestLog` (``callguard serve`` writes it from a thread of its own), else through
:mod:`logging`. How long a client may take to send its request is bounded by the connection
(``server/transport.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from .._decision import Decision
from .._i18n import Message, _, lang_of
from . import _openapi, _schemas
from ._answers import _zone, error_body, in_consumer_time
from .bodymap import BodyMap, parse_body
from .keys import ApiKey
from .limits import ConnectionLimits
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .service import Answer, Conflict, NotFound, Service, Unauthorized, Unavailable

__all__ = ["DECIDES", "MAX_BODY", "ROUTES", "RequestLog", "create_app", "openapi_schema"]

MAX_BODY = 64 * 1024
"""Bodies larger than this are refused with a 413 before they are read in full."""

log = logging.getLogger("callguard.server")


class RequestLog:
    """The request log: one JSON line per ``/v1`` request, built once (no log record, no
    formatter) and kept in memory until its writer takes it (``callguard serve`` writes what it
    takes in one write every 50 ms from a thread of its own, and once more as it stops, so
    nothing answered is missing from the log). Appending and taking are each one operation on
    a list, safe between the event loop and that thread."""

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines: list[str] = []

    def write(self, line: str) -> None:
        self._lines.append(line)

    def take(self) -> list[str]:
        """The lines written since the last take, oldest first."""
        lines, self._lines = self._lines, []
        return lines


_log_line = json.JSONEncoder(ensure_ascii=False).encode
"""A request's log line (the layout ``json.dumps`` gives), its encoder built once."""


# (method, path, summary, body kind, success status): the route table the app and its OpenAPI
# schema are both built from.
ROUTES: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("POST", "/v1/check", "May this number be called now? (read-only)", "check", 200),
    ("POST", "/v1/attempts", "Decide and, when allowed, record the attempt", "attempt", 200),
    ("POST", "/v1/attempts/{attempt_id}/outcome", "Record an attempt's outcome", "outcome", 200),
    (
        "POST",
        "/v1/attempts/{attempt_id}/void",
        "Void an attempt never placed (409 when too late)",
        "void",
        200,
    ),
    ("POST", "/v1/consents", "Record a prior consent", "consent", 201),
    ("POST", "/v1/consents/withdraw", "Record a consent withdrawal", "withdrawal", 201),
    ("POST", "/v1/optouts", "Put a number on the do-not-call list", "optout", 201),
    ("POST", "/v1/refusals", "The consumer refused during the call", "refusal", 201),
    ("POST", "/v1/refusals/lift", "Lift refusals entered by mistake (logged)", "lift", 200),
    ("POST", "/v1/objections/lift", "Lift objections entered by mistake (logged)", "lift", 200),
    ("GET", "/v1/numbers/{number}", "The number's facts, history and decision now", None, 200),
    ("GET", "/healthz", "200 when the ledger answers, else 503", None, 200),
    ("GET", "/metrics", "Prometheus metrics", None, 200),
    ("GET", "/openapi.json", "This schema", None, 200),
)
DECIDES = frozenset({"/v1/check", "/v1/attempts", "/v1/numbers/{number}"})
"""The routes that answer a decision: counted in the metrics, ``?strict=true`` makes a refusal a
409."""


class _TooLarge(Exception):
    pass


async def _read_body(declared: str | None, receive: Receive) -> bytes:
    """The body, read once from the ASGI channel (no stream wrapper): a 413 past
    :data:`MAX_BODY` (``declared`` is its Content-Length), :class:`ClientDisconnect` when the
    client leaves (or the connection's body deadline passes) before it is all in."""
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _TooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnect
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > MAX_BODY:
            raise _TooLarge
        return body  # the common case: one message
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _bearer(header: str) -> str | None:
    """The key of an ``Authorization: Bearer KEY`` header."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _strict(request: Request) -> bool:
    if not request.scope.get("query_string"):
        return False  # the common case, without parsing a query
    value = request.query_params.get("strict", "false").lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise _schemas.Invalid("strict", _("{field} must be true or false", field="strict"))


def wants_french(request: Request) -> bool:
    """Whether ``Accept-Language`` prefers French over English (``fr``, ``fr-FR``, weighted)."""
    return language(request) == "fr"


def language(request: Request) -> str:
    """``"fr"`` when ``Accept-Language`` prefers French over English, else ``"en"``."""
    header = request.headers.get("accept-language", "")
    if "fr" not in header.lower():
        return "en"
    best, best_q = "en", -1.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in ("fr", "en") and q > best_q:
            best, best_q = lang, q
    return lang_of(best)


def localized(body: Any, french: bool) -> Any:
    """The answer with each reason's ``message`` in French when the client asks for it
    (``french``: :func:`wants_french`; ``message_fr`` is kept as well)."""
    if not french:
        return body

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items()}
            if "code" in out and out.get("message_fr"):
                out["message"] = out["message_fr"]
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(body)


def _error(
    request: Request, status: int, code: str, message: Message | str, **extra: Any
) -> JSONResponse:
    """An error answer, its sentence in the client's language (``Accept-Language``)."""
    lang = language(request)
    said = message.render(lang) if isinstance(message, Message) else Message(message).render(lang)
    return JSONResponse({"error": code, "message": said, **extra}, status_code=status)


# -- one request's context -----------------------------------------------------------------------

_CONTEXT = "callguard"
"""The scope key of a ``/v1`` request's :class:`_Context`: the endpoint fills it, the exception
handlers and the middleware read it (Starlette's router passes the same scope down)."""

_MAX_ID = 2**63 - 1

_STARTED = "callguard.started"
"""The scope key of when :class:`_Direct` took a request (``time.perf_counter()``): the
endpoint it calls times itself, without :class:`Timing` wrapping its ``send``."""


@dataclass(slots=True)
class _Context:
    route: str
    decides: bool
    info: dict[str, Any]
    parsed: dict[str, Any] | None = None
    strict: bool = False


def _context(request: Request) -> _Context | None:
    ctx = request.scope.get(_CONTEXT)
    return ctx if isinstance(ctx, _Context) else None


Work = Callable[[Request, Service, ApiKey, dict[str, Any], bytes], Callable[[], Answer]]


_JSON_HEADERS = [(b"content-type", b"application/json")]


def _encoder() -> Callable[[Any], str]:
    """JSON as Starlette's ``JSONResponse`` renders it (compact, non-ASCII kept, no NaN), in
    the stdlib's fastest form: its C encoder built once (``json.dumps`` builds one per call)."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    c_encode = make(
        None,
        json.JSONEncoder().default,
        encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )

    def encode(body: Any) -> str:
        return "".join(c_encode(body, 0))

    return encode


_encode = _encoder()


async def _answer(send: Send, status: int, body: Any) -> None:
    """A JSON answer in two ASGI messages, its header block built here (no Response object)."""
    payload = _encode(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_JSON_HEADERS, (b"content-length", b"%d" % len(payload))],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _in_consumer_time(answer: Answer) -> dict[str, Any]:
    """:func:`in_consumer_time`; a decision's own answer shifted from its instant, without
    reading back the text of it."""
    body, decision = answer.body, answer.decision
    if (
        decision is not None
        and not answer.replayed
        and "decision" not in body
        and decision.at.tzinfo is not None
        and body.get("callee_tz") == decision.callee_tz
    ):
        zone = _zone(decision.callee_tz)
        if zone is not None and body.get("at") == decision.at.isoformat():
            return {**body, "at": decision.at.astimezone(zone).isoformat()}
    return in_consumer_time(body)


class _Endpoint:
    """A ``/v1`` route as a plain ASGI app (Starlette's ``Route`` mounts it as it is): the key,
    the body read once, the ledger work in one step, the JSON answer. What goes wrong is
    raised, and answered by the app's exception handlers."""

    __slots__ = ("decides", "kind", "route", "status_ok", "work")

    def __init__(
        self, route: str, kind: str | None, status_ok: int, work: Work, decides: bool = False
    ) -> None:
        self.route = route
        self.kind = kind
        self.status_ok = status_ok
        self.work = work
        self.decides = decides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        route, kind, decides = self.route, self.kind, self.decides
        state = scope["app"].state
        service: Service = state.service
        body_map: BodyMap | None = state.body_map
        ctx = _Context(route, decides, {"route": route})
        scope[_CONTEXT] = ctx
        # The three headers every request reads, in one pass (as Starlette's, the first of each).
        key_header = declared = accept = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                key_header = key_header if key_header is not None else value
            elif name == b"content-length":
                declared = declared if declared is not None else value
            elif name == b"accept-language":
                accept = accept if accept is not None else value
        key_text = _bearer(key_header.decode("latin-1")) if key_header is not None else None
        # One read: the connection bounds how long the body may take (a 408 there).
        body = (
            await _read_body(None if declared is None else declared.decode("latin-1"), receive)
            if kind is not None
            else b""
        )
        work = self.work

        def blocking() -> Answer:
            # The key first: a request without a valid key learns nothing, not even what is
            # wrong with its body.
            key = service.authenticate(key_text)
            ctx.info["professional"] = key.professional
            ctx.strict = _strict(request) if decides else False
            args: dict[str, Any] = {}
            if kind is not None:
                args, platform = parse_body(body, kind, body_map)
                # A platform that reads the status alone must never see a 200 refusal.
                ctx.strict = ctx.strict or (platform and body_map is not None and body_map.strict)
            ctx.parsed = args
            return work(request, service, key, args, body)()

        answer = await service.run(blocking)
        status = self.status_ok
        decision = answer.decision
        if decision is not None and decides:
            _note(ctx.info, decision)
            if answer.replayed:
                ctx.info["replayed"] = True
            state.metrics.decision(route, decision, replayed=answer.replayed)
            if ctx.strict and not decision.allowed:
                status = 409
        started = scope.get(_STARTED)
        if started is not None:  # called by _Direct: timed here, before the answer leaves
            state.timing.record(ctx, status, time.perf_counter() - started)
        french = accept is not None and b"fr" in accept.lower() and wants_french(request)
        await _answer(send, status, localized(_in_consumer_time(answer), french))


# -- the work of each route (run in the one step, with the key and the parsed body) -------------


def _check(
    _r: Request, service: Service, key: ApiKey, args: dict[str, Any], _b: bytes
) -> Callable[[], Answer]:
    return lambda: service.check(key, args)


def _attempt(
    r: Request, service: Service, key: ApiKey, args: dict[str, Any], b: bytes
) -> Callable[[], Answer]:
    idem = r.headers.get("idempotency-key")
    if idem is not None and not 0 < len(idem) <= 255:
        raise _schemas.Invalid(
            "Idempotency-Key",
            _("{field} must be 1 to 255 characters", field="Idempotency-Key"),
        )
    return lambda: service.attempt(key, args, idem, b)


def _attempt_id(r: Request) -> int:
    """The path's attempt id; anything that cannot be one is an unknown attempt (404)."""
    raw = r.path_params["attempt_id"]
    if not raw.isdigit() or len(raw) > 19 or not 0 < int(raw) <= _MAX_ID:
        raise NotFound(_("no attempt {attempt}", attempt=repr(raw[:40])))
    return int(raw)


def _outcome(
    r: Request, service: Service, key: ApiKey, args: dict[str, Any], _b: bytes
) -> Callable[[], Answer]:
    attempt_id = _attempt_id(r)
    return lambda: service.outcome(key, attempt_id, args)


def _void(
    r: Request, service: Service, key: ApiKey, args: dict[str, Any], _b: bytes
) -> Callable[[], Answer]:
    attempt_id = _attempt_id(r)
    return lambda: service.void(key, attempt_id, args)


def _fact(name: str) -> Work:
    def work(
        _r: Request, service: Service, key: ApiKey, args: dict[str, Any], _b: bytes
    ) -> Callable[[], Answer]:
        method = getattr(service, name)
        return lambda: method(key, args)

    return work


def _number(
    r: Request, service: Service, key: ApiKey, _a: dict[str, Any], _b: bytes
) -> Callable[[], Answer]:
    caller_id = r.query_params.get("caller_id")
    return lambda: service.number(key, r.path_params["number"], caller_id)


# -- the endpoints ---------------------------------------------------------------------------------

check = _Endpoint("/v1/check", "check", 200, _check, decides=True)
attempt = _Endpoint("/v1/attempts", "attempt", 200, _attempt, decides=True)
outcome = _Endpoint("/v1/attempts/{attempt_id}/outcome", "outcome", 200, _outcome)
void = _Endpoint("/v1/attempts/{attempt_id}/void", "void", 200, _void)
consent = _Endpoint("/v1/consents", "consent", 201, _fact("consent"))
withdrawal = _Endpoint("/v1/consents/withdraw", "withdrawal", 201, _fact("withdrawal"))
optout = _Endpoint("/v1/optouts", "optout", 201, _fact("optout"))
refusal = _Endpoint("/v1/refusals", "refusal", 201, _fact("refusal"))
lift_refusal = _Endpoint("/v1/refusals/lift", "lift", 200, _fact("lift_refusal"))
lift_objection = _Endpoint("/v1/objections/lift", "lift", 200, _fact("lift_objection"))
number = _Endpoint("/v1/numbers/{number}", None, 200, _number, decides=True)


async def healthz(request: Request) -> Response:
    service: Service = request.app.state.service
    try:
        # On a worker, within the deadline: both connections the decisions use are read.
        problem = await service.run(service.healthy, inline=False)
    except Unavailable as exc:
        problem = str(exc)
    if problem is None:
        return JSONResponse({"status": "ok"})
    request.app.state.metrics.ledger_errors.labels("/healthz").inc()
    return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)


async def metrics_route(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)  # built once: 1.7 ms, the same for all


ENDPOINTS: dict[str, Any] = {
    "/v1/check": check,
    "/v1/attempts": attempt,
    "/v1/attempts/{attempt_id}/outcome": outcome,
    "/v1/attempts/{attempt_id}/void": void,
    "/v1/consents": consent,
    "/v1/consents/withdraw": withdrawal,
    "/v1/optouts": optout,
    "/v1/refusals": refusal,
    "/v1/refusals/lift": lift_refusal,
    "/v1/objections/lift": lift_objection,
    "/v1/numbers/{number}": number,
    "/healthz": healthz,
    "/metrics": metrics_route,
    "/openapi.json": openapi,
}
"""The endpoint of each path of :data:`ROUTES`."""


# -- the exception handlers ------------------------------------------------------------------------


async def _on_disconnect(request: Request, _exc: Exception) -> Response:
    return _error(request, 408, "timeout", _("the client left before sending its body"))


async def _on_too_large(request: Request, _exc: Exception) -> Response:
    return _error(
        request, 413, "too_large", _("the body is larger than {most} bytes", most=MAX_BODY)
    )


async def _on_unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthorized)
    return _error(request, 401, "unauthorized", exc.text)


async def _on_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _schemas.Invalid)
    ctx = _context(request)
    if ctx is not None:
        ctx.info["invalid"] = exc.field
    return JSONResponse(exc.to_dict(language(request)), status_code=422)


async def _on_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFound)
    return _error(request, 404, "not_found", exc.text)


async def _on_conflict(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Conflict)
    return _error(request, 409, "conflict", exc.text)


async def _on_unavailable(request: Request, exc: Exception) -> Response:
    """A 503: a decision route still answers a decision, the LEDGER_UNAVAILABLE refusal."""
    assert isinstance(exc, Unavailable)
    ctx = _context(request)
    route = ctx.route if ctx is not None else request.url.path
    metrics: Metrics = request.app.state.metrics
    metrics.ledger_errors.labels(route).inc()
    if ctx is not None:
        ctx.info["error"] = "LEDGER_UNAVAILABLE"
        if exc.decision is None and ctx.decides:  # past the deadline: still a decision
            known = (
                ctx.parsed
                if ctx.parsed is not None
                else {"number": request.path_params.get("number")}
            )
            exc.decision = request.app.state.service.late_decision(known, str(exc))
        if exc.decision is not None:
            _note(ctx.info, exc.decision)
            metrics.decision(route, exc.decision)
            return JSONResponse(
                localized(in_consumer_time(exc.decision.to_dict()), wants_french(request)),
                status_code=503,
            )
    return _error(request, 503, "ledger_unavailable", _("the ledger cannot be read or written"))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (no such route, a method the route does not take) in the house's
    JSON error shape, like every other answer."""
    assert isinstance(exc, HTTPException)
    french = wants_french(request)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        content = error_body(
            "method_not_allowed", french, method=request.method, path=request.url.path, allow=allow
        )
    elif exc.status_code == 404:
        content = error_body("not_found", french, path=request.url.path)
    else:
        content = {"error": "http_error", "message": str(exc.detail)}
    return JSONResponse(content, status_code=exc.status_code, headers=exc.headers)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {
    HTTPException: _on_http_error,
    ClientDisconnect: _on_disconnect,
    _TooLarge: _on_too_large,
    Unauthorized: _on_unauthorized,
    _schemas.Invalid: _on_invalid,
    NotFound: _on_not_found,
    Conflict: _on_conflict,
    Unavailable: _on_unavailable,
}


# -- the middleware ------------------------------------------------------------------------------


class Timing:
    """Pure ASGI: the latency histogram and the JSON log line of every ``/v1`` request (the
    requests whose endpoint set a :class:`_Context`). The histogram's child per (route, status)
    is looked up once."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, request_log: RequestLog | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.request_log = request_log
        self._children: dict[tuple[str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def sending(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                # Recorded before the answer leaves: a client that reads it finds its line.
                ctx = scope.get(_CONTEXT)
                if isinstance(ctx, _Context):
                    self.record(ctx, message["status"], time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, sending)

    def record(self, ctx: _Context, status: int, elapsed: float) -> None:
        """One request answered ``status`` after ``elapsed`` seconds: its latency and log line."""
        child = self._children.get((ctx.route, status))
        if child is None:
            child = self.metrics.latency.labels(ctx.route, str(status))
            self._children[(ctx.route, status)] = child
        child.observe(elapsed)
        sink = self.request_log
        if sink is None and not log.isEnabledFor(logging.INFO):
            return
        info = ctx.info
        info["status"] = status
        info["latency_ms"] = round(elapsed * 1000, 3)
        if sink is not None:
            sink.write(_log_line(info))
        else:  # no request log of its own: through logging ("callguard.server", INFO)
            log.info("%s", _log_line(info))


# -- the app ---------------------------------------------------------------------------------------


def _handler_for(exc: Exception) -> Callable[[Request, Exception], Any] | None:
    for kind in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            return handler
    return None


class _Direct:
    """The ``/v1`` routes without a path parameter, called without Starlette's router and its
    two outer middlewares (which the app picks them for by exact method and path), timed by
    ``timing`` as the middleware times the others: what goes wrong is answered by the same
    :data:`EXCEPTION_HANDLERS`, anything else is a 500 raised on to the server, as Starlette's
    ``ServerErrorMiddleware`` does."""

    __slots__ = ("endpoints", "timing")

    def __init__(self, endpoints: dict[str, _Endpoint], timing: Timing) -> None:
        self.endpoints = endpoints
        self.timing = timing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = scope[_STARTED] = time.perf_counter()
        try:
            await self.endpoints[scope["path"]](scope, receive, send)
        except Exception as exc:
            handler = _handler_for(exc)
            if handler is None:
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
                raise
            response = await handler(Request(scope, receive), exc)
            ctx = scope.get(_CONTEXT)
            if isinstance(ctx, _Context):
                self.timing.record(ctx, response.status_code, time.perf_counter() - started)
            await response(scope, receive, send)


class _App(Starlette):
    """Starlette, with the dialers' plain ``/v1`` routes (``POST /v1/check``, ``/v1/attempts``,
    the facts) answered by :class:`_Direct` through the same :class:`Timing`: the routes,
    their answers and their errors are the app's own, minus the router's per-request
    matching and wrapping, and the middleware's wrapping of ``send``."""

    direct: dict[tuple[str, str], ASGIApp]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            fast = self.direct.get((scope["method"], scope["path"]))
            if fast is not None:
                scope["app"] = self
                await fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    service: Service,
    *,
    agi_port: int | None = None,
    agi_host: str = "127.0.0.1",
    agi_read_timeout: float | None = None,
    close_service: bool = True,
    body_map: BodyMap | None = None,
    limits: ConnectionLimits | None = None,
    request_log: RequestLog | None = None,
) -> Starlette:
    """The ASGI app; with ``agi_port`` its lifespan also serves FastAGI on the same Guards,
    its connections counted in ``limits`` (by default those ``server_config`` gives the HTTP
    listener, so one client's sockets are capped across both); with ``body_map`` the decision
    routes also take that platform's pre-dial body; with ``request_log`` each ``/v1`` request's
    JSON line goes there rather than through :mod:`logging` (``callguard.server`` at INFO)."""
    metrics = Metrics()
    routes = [Route(path, ENDPOINTS[path], methods=[method]) for method, path, *_ in ROUTES]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        agi = None
        if agi_port is not None:
            from .agi import AGI_READ_TIMEOUT, start_agi

            agi = await start_agi(
                service,
                agi_host,
                agi_port,
                metrics,
                agi_read_timeout or AGI_READ_TIMEOUT,
                limits=app.state.limits,
            )
            app.state.agi = agi
        try:
            yield
        finally:
            if agi is not None:
                await agi.stop()
            if close_service:
                service.close()

    app = _App(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(Timing, metrics=metrics, request_log=request_log)],
    )
    direct = {
        path: endpoint
        for path, endpoint in ENDPOINTS.items()
        if isinstance(endpoint, _Endpoint) and "{" not in path
    }
    timing = Timing(app.router, metrics, request_log)
    fast = _Direct(direct, timing)
    app.direct = {(method, path): fast for method, path, *_ in ROUTES if path in direct}
    app.state.service = service
    app.state.metrics = metrics
    app.state.timing = timing
    app.state.body_map = body_map
    app.state.limits = limits
    app.state.openapi = openapi_schema(body_map)
    return app


def _note(info: dict[str, Any], decision: Decision) -> None:
    info["allowed"] = decision.allowed
    info["codes"] = [r.code.value for r in decision.reasons]
    if decision.attempt_id is not None:
        info["attempt_id"] = decision.attempt_id


def openapi_schema(body_map: BodyMap | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 description of :data:`ROUTES`: every status and field (``_openapi``)."""
    return _openapi.build(ROUTES, DECIDES, body_map)
