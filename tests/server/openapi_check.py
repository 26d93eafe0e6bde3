"""Every answer the service tests receive, checked against the service's own OpenAPI schema.

``ValidatingClient`` is an ``httpx.Client`` whose every response is validated as it arrives: its
status must be documented for its route and method, and its JSON body must match the documented
schema (``jsonschema``, Draft 2020-12, the dialect of OpenAPI 3.1). An unknown route or method
must answer the house's JSON error. Times (``format: date-time``) must carry an offset.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import httpx
import jsonschema

from callguard.server.app import openapi_schema

__all__ = ["ValidatingClient", "check_answer", "validated"]

validated: list[tuple[str, str, int]] = []
"""(method, route, status) of every answer checked, for the tests that count them."""

_formats = jsonschema.FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no offset")
    return True


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return openapi_schema()


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for path in _document()["paths"]:
        regex = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)) + "$"
        out.append((re.compile(regex), path))
    # Literal paths before templated ones (/v1/attempts/{id}/outcome vs a literal sibling).
    return sorted(out, key=lambda p: "{" in p[1])


def _validate(schema: dict[str, Any], instance: Any, where: str) -> None:
    root = {**schema, "components": _document()["components"]}
    validator = jsonschema.Draft202012Validator(root, format_checker=_formats)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}"


def check_answer(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Assert that this answer is what the schema documents; raises AssertionError."""
    route = next((p for regex, p in _patterns() if regex.match(path)), None)
    ops = _document()["paths"].get(route, {}) if route is not None else {}
    op = ops.get(method.lower())
    where = f"{method} {path} -> {status}"
    if op is None:
        assert status in (404, 405), f"{where}: an unknown route or method must be 404 or 405"
        assert content_type.startswith("application/json"), f"{where}: not JSON"
        _validate(
            {"$ref": "#/components/schemas/Error"},
            httpx.Response(status, content=body).json(),
            where,
        )
        validated.append((method, "?", status))
        return
    responses = op["responses"]
    assert str(status) in responses, f"{where}: status not documented ({sorted(responses)})"
    content = responses[str(status)]["content"]
    media = content_type.split(";")[0].strip()
    assert media in content, f"{where}: {media} not documented ({sorted(content)})"
    if media == "application/json":
        import json

        _validate(content[media]["schema"], json.loads(body), where)
    validated.append((method, route or path, status))


def _hook(response: httpx.Response) -> None:
    response.read()
    check_answer(
        response.request.method,
        response.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
    )


class ValidatingClient(httpx.Client):
    """An ``httpx.Client`` that checks every answer against the OpenAPI schema."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        hooks = dict(kwargs.pop("event_hooks", None) or {})
        hooks["response"] = [*hooks.get("response", []), _hook]
        super().__init__(*args, event_hooks=hooks, **kwargs)
