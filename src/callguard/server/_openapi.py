"""The service's OpenAPI 3.1 schema: every route, every status it answers, every field described.

Built from the route table (``app.ROUTES``), the request bodies (``_schemas.BODIES``) and the
ledger's own table definitions (the history of ``GET /v1/numbers/{number}`` shows every column
of its tables). The response schemas forbid fields they do not describe, so the test suite, which
validates every answer it receives against this schema, catches an undocumented field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._evidence import _HISTORY, TABLES, is_instant
from .._types import ReasonCode
from ..rules.regimes import REGIMES
from ..storage.base import ColumnType
from . import _schemas
from .bodymap import BodyMap

__all__ = ["build", "success_schema"]

Route = tuple[str, str, str, str | None, int]

_NULLABLE_TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(
    description: str,
    props: dict[str, dict[str, Any]],
    required: Sequence[str] | None = None,
) -> dict[str, Any]:
    return {
        "type": "object", "description": description, "additionalProperties": False,
        "required": list(props) if required is None else list(required), "properties": props,
    }  # fmt: skip


def _d(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


_COLUMNS: dict[str, str] = {
    "id": "The fact's id in the ledger.",
    "at": "When it happened, in the consumer's zone.",
    "caller_id": "The caller ID the call was placed from.",
    "outcome": "The latest outcome reported for the call (null before any).",
    "campaign": "The dialer's campaign.",
    "purpose": "Why the call was made.",
    "recorded_at": "When the ledger recorded it, in the consumer's zone.",
    "attempt_id": "The attempt during which the consumer refused, when known.",
    "lifted_at": "When it was lifted as a mistake (null while in force).",
    "lift_reason": "Why it was lifted.",
    "lifted_by": "Who lifted it.",
    "voided_at": "When the attempt was voided as never placed (null: it counts).",
    "void_reason": "Why it was voided.",
    "expires_at": "When it ends (null: no end).",
    "removed_at": "When it was removed (null while in force).",
    "source": "Where it came from.",
    "proof": "Where the proof is kept.",
    "off_hours": "The consumer agreed to calls outside the legal days and hours.",
    "channel": "Where the consent was given.",
    "wording": "The text the consumer agreed to, or its version id.",
    "proof_sha256": "Hex SHA-256 digest of the proof document.",
    "start": "When it begins, in the consumer's zone.",
    "end": "When it ends, in the consumer's zone (null: open-ended).",
    "subject": "What the contract is about.",
}
_MISSING = "A column of the ledger's {table} table."
"""The description of a column nobody described yet (a test refuses it)."""

_HISTORY_TEXT = {
    "attempts": "Calls recorded, oldest first.",
    "refusals": "Refusals during a call, oldest first.",
    "optouts": "Do-not-call entries, oldest first.",
    "consents": "Prior consents with their evidence, oldest first.",
    "withdrawals": "Consent withdrawals, oldest first.",
    "slots": "Consents to a call at a precise slot, oldest first.",
    "contracts": "Contracts, oldest first.",
}


def _column(table: str, name: str, kind: ColumnType) -> dict[str, Any]:
    text = _COLUMNS.get(name, _MISSING.format(table=table))
    if kind is ColumnType.ID:
        return _d({"type": "integer"}, text)
    if kind is ColumnType.FLAG:
        return _d({"type": ["boolean", "null"]}, text)
    if kind is ColumnType.INT:
        return _d(_NULLABLE_TIME if is_instant(name) else {"type": ["integer", "null"]}, text)
    return _d({"type": ["string", "null"]}, text)


def _history_item(name: str, table: str) -> dict[str, Any]:
    t = TABLES[table]
    props = {
        c.name: _column(table, c.name, c.type)
        for c in t.columns if c.name not in ("professional", "number")
    }  # fmt: skip
    if name == "attempts":
        props.pop("id")
        props = {
            "attempt_id": _d({"type": "integer"}, "The attempt's id (post its outcome to it)."),
            **props,
            "outcomes": _d(
                {"type": "array", "items": {"type": "string"}},
                "Every outcome reported for the call, in order.",
            ),
        }
    return _obj(_HISTORY_TEXT.get(name, f"Rows of {table}."), props)


def components() -> dict[str, Any]:
    regimes = sorted({r.name for r in REGIMES})
    schemas: dict[str, Any] = {
        "Reason": _obj(
            "One rule that refuses the call.",
            {
                "code": _d(
                    {"type": "string", "enum": [c.value for c in ReasonCode]},
                    "The reason code (public, stable).",
                ),
                "message": _d(
                    {"type": "string"},
                    "One sentence a supervisor understands, in the "
                    "language asked for with Accept-Language.",
                ),
                "message_fr": _d({"type": "string"}, "The same sentence in French."),
                "legal_basis": _d({"type": "string"}, "The article the rule comes from."),
            },
        ),
        "Decision": _obj(
            "Whether the call may be placed now, why not, and when it may be.",
            {
                "allowed": _d({"type": "boolean"}, "Dial only when true."),
                "number": _d(
                    {"type": ["string", "null"]},
                    "The destination in E.164, or null when it is not a valid number.",
                ),
                "at": _d(_TIME, "The instant judged, with the consumer's offset."),
                "regime": _d(
                    {"type": "string", "enum": regimes},
                    "The legal regime in force at that instant.",
                ),
                "callee_tz": _d({"type": "string"}, "The consumer's IANA time zone."),
                "next_allowed_at": _d(
                    _NULLABLE_TIME,
                    (
                        "The earliest instant the same call becomes allowed given today's ledger, with "
                        "the consumer's offset; null when time alone will not help."
                    ),
                ),
                "attempt_id": _d(
                    {"type": ["integer", "null"]},
                    "The attempt recorded (POST /v1/attempts, when allowed), else null.",
                ),
                "reasons": _d(
                    {"type": "array", "items": _ref("Reason")},
                    "Every rule that refuses the call; empty when allowed.",
                ),
            },
        ),
        "Error": _obj(
            "A request the service could not serve.",
            {
                "error": _d(
                    {"type": "string"},
                    "A short code: unauthorized, not_found, "
                    "method_not_allowed, timeout, too_large, ledger_unavailable…",
                ),
                "message": _d({"type": "string"}, "One sentence naming what was wrong."),
            },
        ),
        "InvalidRequest": _obj(
            "A body, field or header that is not valid.",
            {
                "error": _d(
                    {"type": "string", "enum": ["invalid_request"]}, "Always invalid_request."
                ),
                "field": _d({"type": "string"}, 'The field at fault ("body" for the whole body).'),
                "message": _d({"type": "string"}, "One sentence naming what was wrong."),
            },
        ),
        "FactRecorded": _obj(
            "The fact written into the ledger.",
            {
                "number": _d({"type": "string"}, "The number in E.164."),
                "recorded": _d(
                    {"type": "string", "enum": ["consent", "withdrawal", "optout", "refusal"]},
                    "What was recorded.",
                ),
                "at": _d(_TIME, "The fact's instant, with the consumer's offset."),
            },
        ),
        "OutcomeRecorded": _obj(
            "The outcome written for the attempt.",
            {
                "attempt_id": _d({"type": "integer"}, "The attempt."),
                "outcome": _d({"type": "string"}, "The outcome recorded."),
            },
        ),
        # POST /v1/attempts/{attempt_id}/void (voided attempts).
        "AttemptVoided": _obj(
            "The attempt is voided: kept with its reason, not counted.",
            {
                "attempt_id": _d({"type": "integer"}, "The attempt."),
                "voided": _d({"type": "boolean", "const": True}, "Always true."),
            },
        ),
        "Lifted": _obj(
            "Entries lifted as mistakes (journaled with their reason).",
            {
                "lifted": _d({"type": "integer", "minimum": 0}, "How many were lifted."),
            },
        ),
        "Health": _obj(
            "Whether the ledger the decisions use answers.",
            {
                "status": _d(
                    {"type": "string", "enum": ["ok", "unavailable"]}, "ok, or unavailable."
                ),
                "error": _d({"type": "string"}, "What went wrong (only when unavailable)."),
            },
            required=["status"],
        ),
    }
    history: dict[str, dict[str, Any]] = {
        "number": _d({"type": ["string", "null"]}, "The number in E.164 (null when invalid)."),
    }
    for name, table, _order in _HISTORY:
        history[name] = _d(
            {"type": "array", "items": _ref(f"History_{name}")},
            _HISTORY_TEXT.get(name, f"Rows of {table}."),
        )
        schemas[f"History_{name}"] = _history_item(name, table)
    history["bloctel"] = _d(
        {"type": "array", "items": _ref("BloctelCheck")},
        "Bloctel checks of the number, oldest first.",
    )
    history["decision"] = _d(_ref("Decision"), "The decision now.")
    schemas["BloctelCheck"] = _obj(
        "One Bloctel check.",
        {
            "checked_at": _d(_TIME, "When Bloctel was asked, in the consumer's zone."),
            "listed": _d({"type": "boolean"}, "Whether Bloctel listed the number."),
        },
    )
    schemas["NumberHistory"] = _obj(
        "Everything the ledger holds on the number for this key's "
        "professional, and the decision now.",
        history,
    )
    return schemas


_SUCCESS: dict[str, str] = {
    "/v1/check": "Decision",
    "/v1/attempts": "Decision",
    "/v1/attempts/{attempt_id}/outcome": "OutcomeRecorded",
    "/v1/attempts/{attempt_id}/void": "AttemptVoided",
    "/v1/consents": "FactRecorded",
    "/v1/consents/withdraw": "FactRecorded",
    "/v1/optouts": "FactRecorded",
    "/v1/refusals": "FactRecorded",
    "/v1/refusals/lift": "Lifted",
    "/v1/objections/lift": "Lifted",
    "/v1/numbers/{number}": "NumberHistory",
    "/healthz": "Health",
}


def success_schema(path: str) -> str | None:
    """The component a route's success answers with (None: not JSON, or a free object)."""
    return _SUCCESS.get(path)


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(path: str, kind: str | None, ok: int, decides: bool) -> dict[str, Any]:
    if path == "/metrics":
        return {
            "200": {
                "description": "Prometheus text format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    if path == "/openapi.json":
        return {"200": _json("This schema.", {"type": "object"})}
    if path == "/healthz":
        return {
            "200": _json("The ledger answers.", _ref("Health")),
            "503": _json("The ledger does not answer.", _ref("Health")),
        }
    name = _SUCCESS.get(path)
    ok_schema = _ref(name) if name is not None else {"type": "object"}
    out: dict[str, Any] = {
        str(ok): _json("Allowed or refused: read allowed." if decides else "Done.", ok_schema),
        "401": _json("No key, or an unknown or revoked one.", _ref("Error")),
        "422": _json("Invalid request: the answer names the field.", _ref("InvalidRequest")),
        "503": _json(
            "The ledger cannot be read or written: a LEDGER_UNAVAILABLE decision "
            "(never an allow, nothing recorded), or an error.",
            {"anyOf": [_ref("Decision"), _ref("Error")]},
        ),
    }
    if decides:
        out["409"] = _json(
            "A refusal under ?strict=true (or a pre-dial body map that reads the "
            "status alone): the same body as the 200.",
            ok_schema,
        )
    if "{attempt_id}" in path:
        out["404"] = _json("An unknown attempt, or one of another professional.", _ref("Error"))
    if path.endswith("/void"):
        out["409"] = _json(
            "Too late (5 minutes after the attempt) or an outcome was reported: "
            "the call was placed.",
            _ref("Error"),
        )
    if kind is not None:
        out["408"] = _json("The body took too long to arrive.", _ref("Error"))
        out["413"] = _json("The body is too large.", _ref("Error"))
    return dict(sorted(out.items()))


def _property(f: _schemas.Field) -> dict[str, Any]:
    if f.kind == "bool":
        out: dict[str, Any] = {"type": "boolean"}
    elif f.kind == "time":
        out = {"type": "string", "format": "date-time"}
    elif f.kind == "enum":
        assert f.enum is not None
        out = {"type": "string", "enum": [m.name for m in f.enum]}
    else:
        out = {"type": "string", "maxLength": f.max_len}
    return {**out, "description": f.description}


def _request(kind: str, body_map: BodyMap | None) -> dict[str, Any]:
    fields = _schemas.BODIES[kind]
    ours: dict[str, Any] = {
        "type": "object", "additionalProperties": False,
        "required": [n for n, f in fields.items() if f.required],
        "properties": {n: _property(f) for n, f in fields.items()},
    }  # fmt: skip
    if body_map is None or kind not in ("check", "attempt"):
        return ours
    theirs: dict[str, Any] = {
        "type": "object",
        "description": f"The {body_map.name} pre-dial body; its other fields are ignored.",
        "required": [t for o, t in body_map.fields.items() if fields.get(o) and fields[o].required],
        "properties": {t: _property(fields[o]) for o, t in body_map.fields.items() if o in fields},
    }  # fmt: skip
    return {"anyOf": [ours, theirs]}


def build(
    routes: Sequence[Route],
    decides: frozenset[str],
    body_map: BodyMap | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``routes`` (``decides``: the paths that answer a decision
    and take ``?strict``)."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, kind, ok in routes:
        op: dict[str, Any] = {
            "summary": summary,
            "responses": _responses(path, kind, ok, path in decides),
        }
        if path.startswith("/v1/"):
            op["security"] = [{"bearer": []}]
        if kind is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _request(kind, body_map)}},
            }
        params: list[dict[str, Any]] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"},
             "description": text}
            for p, text in (("attempt_id", "The attempt's id, as answered by /v1/attempts."),
                            ("number", "The consumer's number (E.164 or as dialled)."))
            if "{" + p + "}" in path
        ]  # fmt: skip
        if path in decides:
            params.append(
                {
                    "name": "strict",
                    "in": "query",
                    "schema": {"type": "boolean"},
                    "description": "true: a refusal answers 409 (same body).",
                }
            )
        if path == "/v1/attempts":
            params.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "The same key with the same body replays the stored "
                    "answer and records nothing more.",
                }
            )
        if path == "/v1/numbers/{number}":
            params.append(
                {
                    "name": "caller_id",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "The caller ID the decision now is judged for "
                    "(omitted: a refusal, CALLER_ID_INVALID).",
                }
            )
        if params:
            op["parameters"] = params
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callguard pre-dial service", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components(),
        },
        "paths": paths,
    }
