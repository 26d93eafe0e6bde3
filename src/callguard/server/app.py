"""The HTTP face of the pre-dial service: a Starlette app over a :class:`Service`.

Every ``/v1`` route authenticates its Bearer key, validates its JSON body (422 naming the
field), does its ledger work in ONE hop to a worker thread, and answers JSON, within the
service's deadline (past it a decision is a 503 LEDGER_UNAVAILABLE). One JSON log line per
request (route, professional, result, codes, latency; never the key), serialised only when a
handler writes it (``callguard serve`` writes them from a thread of their own). How long a
client may take to send its request is bounded by the connection (``server/transport.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._decision import Decision
from .._i18n import Message, _, lang_of
from . import _openapi, _schemas
from ._answers import error_body, in_consumer_time
from .bodymap import BodyMap, parse_body
from .keys import ApiKey
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .service import Answer, Conflict, NotFound, Service, Unauthorized, Unavailable

__all__ = ["DECIDES", "MAX_BODY", "ROUTES", "create_app", "openapi_schema"]

MAX_BODY = 64 * 1024
"""Bodies larger than this are refused with a 413 before they are read in full."""

log = logging.getLogger("callguard.server")


class _Line:
    """A request's log line, turned into JSON only if a handler formats it."""

    __slots__ = ("info",)

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def __str__(self) -> str:
        return json.dumps(self.info, ensure_ascii=False)

# (method, path, summary, body kind, success status): the route table the app and its OpenAPI
# schema are both built from.
ROUTES: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("POST", "/v1/check", "May this number be called now? (read-only)", "check", 200),
    ("POST", "/v1/attempts", "Decide and, when allowed, record the attempt", "attempt", 200),
    ("POST", "/v1/attempts/{attempt_id}/outcome", "Record an attempt's outcome", "outcome", 200),
    ("POST", "/v1/attempts/{attempt_id}/void", "Void an attempt never placed (409 when too late)",
     "void", 200),
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


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
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


def localized(body: Any, request: Request) -> Any:
    """The answer with each reason's ``message`` in French when the client asks for it
    (``message_fr`` is kept as well)."""
    if not wants_french(request):
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


def _error(request: Request, status: int, code: str, message: Message | str,
           **extra: Any) -> JSONResponse:
    """An error answer, its sentence in the client's language (``Accept-Language``)."""
    lang = language(request)
    said = message.render(lang) if isinstance(message, Message) else Message(message).render(lang)
    return JSONResponse({"error": code, "message": said, **extra}, status_code=status)


def create_app(service: Service, *, agi_port: int | None = None, agi_host: str = "127.0.0.1",
               agi_read_timeout: float | None = None, close_service: bool = True,
               body_map: BodyMap | None = None) -> Starlette:
    """The ASGI app; with ``agi_port`` its lifespan also serves FastAGI on the same Guards;
    with ``body_map`` the decision routes also take that platform's pre-dial body."""
    metrics = Metrics()

    def handler(route: str, kind: str | None, status_ok: int,
                work: Callable[[Request, ApiKey, dict[str, Any], bytes], Callable[[], Answer]],
                decides: bool = False) -> Callable[[Request], Awaitable[Response]]:
        latency: dict[int, Any] = {}  # the histogram's child per status, looked up once

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            info: dict[str, Any] = {"route": route}
            response = await _handle(request, info)
            elapsed = time.perf_counter() - started
            status = response.status_code
            child = latency.get(status)
            if child is None:
                child = latency[status] = metrics.latency.labels(route, str(status))
            child.observe(elapsed)
            info["status"] = response.status_code
            info["latency_ms"] = round(elapsed * 1000, 3)
            if log.isEnabledFor(logging.INFO):
                log.info("%s", _Line(info))
            return response

        async def _handle(request: Request, info: dict[str, Any]) -> Response:
            key_text = _bearer(request)
            strict = False
            parsed: dict[str, Any] | None = None
            try:
                # One read: the connection bounds how long the body may take (a 408 there).
                body = await _read_body(request) if kind is not None else b""

                def blocking() -> Answer:
                    nonlocal strict, parsed
                    # The key first: a request without a valid key learns nothing, not even
                    # what is wrong with its body.
                    key = service.authenticate(key_text)
                    info["professional"] = key.professional
                    strict = _strict(request) if decides else False
                    args: dict[str, Any] = {}
                    if kind is not None:
                        args, platform = parse_body(body, kind, body_map)
                        # A platform that reads the status alone must never see a 200 refusal.
                        strict = strict or (platform and body_map is not None and body_map.strict)
                    parsed = args
                    return work(request, key, args, body)()

                answer = await service.run(blocking)
            except ClientDisconnect:
                return _error(request, 408, "timeout",
                              _("the client left before sending its body"))
            except _TooLarge:
                return _error(request, 413, "too_large",
                              _("the body is larger than {most} bytes", most=MAX_BODY))
            except Unauthorized as exc:
                return _error(request, 401, "unauthorized", exc.text)
            except _schemas.Invalid as exc:
                info["invalid"] = exc.field
                return JSONResponse(exc.to_dict(language(request)), status_code=422)
            except NotFound as exc:
                return _error(request, 404, "not_found", exc.text)
            except Conflict as exc:
                return _error(request, 409, "conflict", exc.text)
            except Unavailable as exc:
                metrics.ledger_errors.labels(route).inc()
                info["error"] = "LEDGER_UNAVAILABLE"
                if exc.decision is None and decides:  # past the deadline: still a decision
                    number = request.path_params.get("number")
                    known = parsed if parsed is not None else {"number": number}
                    exc.decision = service.late_decision(known, str(exc))
                if exc.decision is not None:
                    _note(info, exc.decision)
                    metrics.decision(route, exc.decision)
                    return JSONResponse(
                        localized(in_consumer_time(exc.decision.to_dict()), request),
                        status_code=503,
                    )
                return _error(request, 503, "ledger_unavailable",
                              _("the ledger cannot be read or written"))
            decision = answer.decision
            status = status_ok
            if decision is not None and decides:
                _note(info, decision)
                if answer.replayed:
                    info["replayed"] = True
                metrics.decision(route, decision, replayed=answer.replayed)
                if strict and not decision.allowed:
                    status = 409
            return JSONResponse(localized(in_consumer_time(answer.body), request),
                                status_code=status)

        return endpoint

    def check(_r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        return lambda: service.check(key, args)

    def attempt(r: Request, key: ApiKey, args: dict[str, Any], b: bytes) -> Callable[[], Answer]:
        idem = r.headers.get("idempotency-key")
        if idem is not None and not 0 < len(idem) <= 255:
            raise _schemas.Invalid(
                "Idempotency-Key",
                _("{field} must be 1 to 255 characters", field="Idempotency-Key"),
            )
        return lambda: service.attempt(key, args, idem, b)

    def outcome(r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        raw = r.path_params["attempt_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound(_("no attempt {attempt}", attempt=repr(raw[:40])))
        return lambda: service.outcome(key, int(raw), args)

    def void(r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        raw = r.path_params["attempt_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound(_("no attempt {attempt}", attempt=repr(raw[:40])))
        return lambda: service.void(key, int(raw), args)

    def fact(name: str) -> Callable[[Request, ApiKey, dict[str, Any], bytes], Callable[[], Answer]]:
        method = getattr(service, name)

        def work(_r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
            return lambda: method(key, args)

        return work

    def number(r: Request, key: ApiKey, _a: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        caller_id = r.query_params.get("caller_id")
        return lambda: service.number(key, r.path_params["number"], caller_id)

    async def healthz(_request: Request) -> Response:
        try:
            # On a worker, within the deadline: both connections the decisions use are read.
            problem = await service.run(service.healthy, inline=False)
        except Unavailable as exc:
            problem = str(exc)
        if problem is None:
            return JSONResponse({"status": "ok"})
        metrics.ledger_errors.labels("/healthz").inc()
        return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)

    async def metrics_route(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    schema = openapi_schema(body_map)  # built once: 1.7 ms, the same for every request

    async def openapi(_request: Request) -> Response:
        return JSONResponse(schema)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's own answers (no such route, a method the route does not take) in the
        # house's JSON error shape, like every other answer.
        assert isinstance(exc, HTTPException)
        french = wants_french(request)
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            content = error_body("method_not_allowed", french, method=request.method,
                                 path=request.url.path, allow=allow)
        elif exc.status_code == 404:
            content = error_body("not_found", french, path=request.url.path)
        else:
            content = {"error": "http_error", "message": str(exc.detail)}
        return JSONResponse(content, status_code=exc.status_code, headers=exc.headers)

    works = {
        "/v1/check": check,
        "/v1/attempts": attempt,
        "/v1/attempts/{attempt_id}/outcome": outcome,
        "/v1/attempts/{attempt_id}/void": void,
        "/v1/consents": fact("consent"),
        "/v1/consents/withdraw": fact("withdrawal"),
        "/v1/optouts": fact("optout"),
        "/v1/refusals": fact("refusal"),
        "/v1/refusals/lift": fact("lift_refusal"),
        "/v1/objections/lift": fact("lift_objection"),
        "/v1/numbers/{number}": number,
    }
    plain = {"/healthz": healthz, "/metrics": metrics_route, "/openapi.json": openapi}
    routes = []
    for method, path, _summary, kind, ok in ROUTES:
        if path in plain:
            routes.append(Route(path, plain[path], methods=[method]))
        else:
            routes.append(Route(path, handler(path, kind, ok, works[path], path in DECIDES),
                                methods=[method]))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        agi = None
        if agi_port is not None:
            from .agi import AGI_READ_TIMEOUT, start_agi

            agi = await start_agi(service, agi_host, agi_port, metrics,
                                  agi_read_timeout or AGI_READ_TIMEOUT)
            app.state.agi = agi
        try:
            yield
        finally:
            if agi is not None:
                await agi.stop()
            if close_service:
                service.close()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error})
    app.state.service = service
    app.state.metrics = metrics
    return app


def _note(info: dict[str, Any], decision: Decision) -> None:
    info["allowed"] = decision.allowed
    info["codes"] = [r.code.value for r in decision.reasons]
    if decision.attempt_id is not None:
        info["attempt_id"] = decision.attempt_id


def openapi_schema(body_map: BodyMap | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 description of :data:`ROUTES`: every status and field (``_openapi``)."""
    return _openapi.build(ROUTES, DECIDES, body_map)
