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
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._decision import Decision
from . import _schemas
from .keys import ApiKey
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .service import Answer, NotFound, Service, Unauthorized, Unavailable

__all__ = ["MAX_BODY", "ROUTES", "create_app"]

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
    raise _schemas.Invalid("strict", "strict must be true or false")


def wants_french(request: Request) -> bool:
    """Whether ``Accept-Language`` prefers French over English (``fr``, ``fr-FR``, weighted)."""
    header = request.headers.get("accept-language", "")
    if "fr" not in header.lower():
        return False
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
    return best == "fr"


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


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def create_app(service: Service, *, agi_port: int | None = None, agi_host: str = "127.0.0.1",
               agi_read_timeout: float | None = None, close_service: bool = True) -> Starlette:
    """The ASGI app; with ``agi_port`` its lifespan also serves FastAGI on the same Guards."""
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
                    args = _schemas.parse_body(body, kind) if kind is not None else {}
                    parsed = args
                    return work(request, key, args, body)()

                answer = await service.run(blocking)
            except ClientDisconnect:
                return _error(408, "timeout", "the client left before sending its body")
            except _TooLarge:
                return _error(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
            except Unauthorized as exc:
                return _error(401, "unauthorized", str(exc))
            except _schemas.Invalid as exc:
                info["invalid"] = exc.field
                return JSONResponse(exc.to_dict(), status_code=422)
            except NotFound as exc:
                return _error(404, "not_found", str(exc))
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
                        localized(exc.decision.to_dict(), request), status_code=503
                    )
                return _error(503, "ledger_unavailable", "the ledger cannot be read or written")
            decision = answer.decision
            status = status_ok
            if decision is not None and decides:
                _note(info, decision)
                if answer.replayed:
                    info["replayed"] = True
                metrics.decision(route, decision)
                if strict and not decision.allowed:
                    status = 409
            return JSONResponse(localized(answer.body, request), status_code=status)

        return endpoint

    def check(_r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        return lambda: service.check(key, args)

    def attempt(r: Request, key: ApiKey, args: dict[str, Any], b: bytes) -> Callable[[], Answer]:
        idem = r.headers.get("idempotency-key")
        if idem is not None and not 0 < len(idem) <= 255:
            raise _schemas.Invalid("Idempotency-Key", "Idempotency-Key must be 1 to 255 characters")
        return lambda: service.attempt(key, args, idem, b)

    def outcome(r: Request, key: ApiKey, args: dict[str, Any], _b: bytes) -> Callable[[], Answer]:
        raw = r.path_params["attempt_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound(f"no attempt {raw[:40]!r}")
        return lambda: service.outcome(key, int(raw), args)

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

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_schema())

    works = {
        "/v1/check": (check, True),
        "/v1/attempts": (attempt, True),
        "/v1/attempts/{attempt_id}/outcome": (outcome, False),
        "/v1/consents": (fact("consent"), False),
        "/v1/consents/withdraw": (fact("withdrawal"), False),
        "/v1/optouts": (fact("optout"), False),
        "/v1/refusals": (fact("refusal"), False),
        "/v1/refusals/lift": (fact("lift_refusal"), False),
        "/v1/objections/lift": (fact("lift_objection"), False),
        "/v1/numbers/{number}": (number, True),
    }
    plain = {"/healthz": healthz, "/metrics": metrics_route, "/openapi.json": openapi}
    routes = []
    for method, path, _summary, kind, ok in ROUTES:
        if path in plain:
            routes.append(Route(path, plain[path], methods=[method]))
        else:
            work, decides = works[path]
            routes.append(Route(path, handler(path, kind, ok, work, decides), methods=[method]))

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

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.state.metrics = metrics
    return app


def _note(info: dict[str, Any], decision: Decision) -> None:
    info["allowed"] = decision.allowed
    info["codes"] = [r.code.value for r in decision.reasons]
    if decision.attempt_id is not None:
        info["attempt_id"] = decision.attempt_id


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 description of :data:`ROUTES` (fields from the request schemas)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, kind, ok in ROUTES:
        op: dict[str, Any] = {"summary": summary, "responses": {str(ok): {"description": "OK"}}}
        if path.startswith("/v1/"):
            op["security"] = [{"bearer": []}]
            op["responses"].update({
                "401": {"description": "no key, or an unknown or revoked one"},
                "422": {"description": "invalid request; the answer names the field"},
                "503": {"description": "ledger unavailable (a LEDGER_UNAVAILABLE decision)"},
            })  # fmt: skip
        if kind is not None:
            fields = _schemas.BODIES[kind]
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "required": [n for n, f in fields.items() if f.required],
                "properties": {n: _property(f) for n, f in fields.items()},
            }}}}  # fmt: skip
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in ("attempt_id", "number") if "{" + p + "}" in path
        ]
        if path in ("/v1/check", "/v1/attempts"):
            params.append({"name": "strict", "in": "query", "schema": {"type": "boolean"}})
        if path == "/v1/attempts":
            params.append({"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}})
        if params:
            op["parameters"] = params
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callguard pre-dial service", "version": "1"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def _property(f: _schemas.Field) -> dict[str, Any]:
    if f.kind == "bool":
        return {"type": "boolean"}
    if f.kind == "time":
        return {"type": "string", "format": "date-time"}
    if f.kind == "enum":
        assert f.enum is not None
        return {"type": "string", "enum": [m.name for m in f.enum]}
    return {"type": "string", "maxLength": f.max_len}
