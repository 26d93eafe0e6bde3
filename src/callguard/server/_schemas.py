"""Request bodies of the pre-dial service: strict JSON objects, every problem named by field.

Hand-written rather than a model library's: the answers must name the field (``"field": "at"``)
in one short sentence, unknown fields are refused (a typo such as ``"calller_id"`` must not be
silently ignored), and a time must carry its offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from dateutil.parser import isoparse

from .._time import in_range
from .._types import Outcome, Purpose, Sector

__all__ = ["BODIES", "Invalid", "parse_body", "parse_time"]


class Invalid(Exception):
    """A 422: ``field`` is what was wrong (``"body"`` for the whole body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": "invalid_request", "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    """``str``, ``bool``, ``time`` (ISO 8601 with an offset), or ``enum``."""
    required: bool = False
    enum: type[Enum] | None = None
    max_len: int = 500


_DECISION = {
    "number": Field("str", True, max_len=64),
    "caller_id": Field("str", True, max_len=64),
    "at": Field("time"),
    "purpose": Field("enum", enum=Purpose),
    "sector": Field("enum", enum=Sector),
    "callee_tz": Field("str", max_len=64),
    "department": Field("str", max_len=8),
    "recorded_message": Field("bool"),
}

BODIES: dict[str, dict[str, Field]] = {
    "check": _DECISION,
    "attempt": {**_DECISION, "campaign": Field("str", max_len=200)},
    "outcome": {"outcome": Field("enum", True, enum=Outcome), "at": Field("time")},
    "consent": {
        "number": Field("str", True, max_len=64),
        "at": Field("time"),
        "proof": Field("str", True, max_len=2000),
        "expires_at": Field("time"),
        "off_hours": Field("bool"),
        "channel": Field("str", max_len=200),
        "source": Field("str", max_len=200),
        "wording": Field("str", max_len=10000),
        "proof_sha256": Field("str", max_len=64),
    },
    "withdrawal": {"number": Field("str", True, max_len=64), "at": Field("time")},
    "optout": {
        "number": Field("str", True, max_len=64),
        "at": Field("time"),
        "source": Field("str", max_len=200),
        "expires_at": Field("time"),
    },
    "refusal": {"number": Field("str", True, max_len=64), "at": Field("time")},
    "lift": {
        "number": Field("str", True, max_len=64),
        "reason": Field("str", True, max_len=2000),
        "at": Field("time"),
        "by": Field("str", max_len=200),
    },
}


def parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise Invalid(name, f"{name} must be an ISO 8601 time with an offset (a string)")
    try:
        moment = isoparse(value.strip())
    except (ValueError, OverflowError) as exc:
        raise Invalid(
            name, f"{name}={value[:60]!r} is not an ISO 8601 time, e.g. 2026-11-23T10:30:00+01:00"
        ) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(
            name, f"{name}={value[:60]!r} has no offset: add one, e.g. 2026-11-23T10:30:00+01:00"
        )
    try:
        in_range(moment, name)
    except ValueError as exc:
        raise Invalid(name, str(exc)) from None
    return moment


def parse_body(raw: bytes, kind: str) -> dict[str, Any]:
    """The validated arguments of a ``kind`` body: enums as their members, times as datetimes,
    absent optional fields left out. Raises :class:`Invalid` naming the field."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError) as exc:
        raise Invalid("body", f"the body is not JSON ({str(exc)[:80]})") from exc
    if not isinstance(data, dict):
        raise Invalid("body", "the body must be a JSON object")
    spec = BODIES[kind]
    for name in data:
        if name not in spec:
            raise Invalid(str(name)[:60], f"unknown field {str(name)[:60]!r}")
    out: dict[str, Any] = {}
    for name, f in spec.items():
        if name not in data or (data[name] is None and not f.required):
            if f.required:
                raise Invalid(name, f"{name} is required")
            continue
        out[name] = _value(name, f, data[name])
    return out


def _value(name: str, f: Field, value: object) -> object:
    if f.kind == "str":
        if not isinstance(value, str):
            raise Invalid(name, f"{name} must be a string")
        if len(value) > f.max_len:
            raise Invalid(name, f"{name} is longer than {f.max_len} characters")
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(name, f"{name} must be true or false")
        return value
    if f.kind == "time":
        return parse_time(value, name)
    assert f.enum is not None
    names = [m.name for m in f.enum]
    if not isinstance(value, str) or value.upper() not in names:
        raise Invalid(name, f"{name} must be one of {', '.join(names)}")
    return f.enum[value.upper()]
