"""Request bodies of the pre-dial service: strict JSON objects, every problem named by field.

Hand-written rather than a model library's: the answers must name the field (``"field": "at"``)
in one short sentence, unknown fields are refused (a typo such as ``"calller_id"`` must not be
silently ignored), and a time must carry its offset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from dateutil.parser import isoparse

from .._exceptions import CallguardError
from .._i18n import Message, _
from .._time import in_range
from .._types import Outcome, Purpose, Sector

__all__ = ["BODIES", "Invalid", "decode", "parse_body", "parse_time", "validate"]


class Invalid(Exception):
    """A 422: ``field`` is what was wrong (``"body"`` for the whole body); the sentence is a
    message of the catalog (a library error gives its own), rendered in the client's language."""

    def __init__(self, field: str, message: Message | str | BaseException) -> None:
        if isinstance(message, CallguardError):
            text = message.message
        elif isinstance(message, Message):
            text = message
        else:
            text = Message(str(message))
        super().__init__(text.render("en"))
        self.field = field
        self.text = text
        self.message = text.render("en")

    def to_dict(self, lang: str = "en") -> dict[str, str]:
        return {"error": "invalid_request", "field": self.field, "message": self.text.render(lang)}


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    """``str``, ``bool``, ``time`` (ISO 8601 with an offset), or ``enum``."""
    required: bool = False
    enum: type[Enum] | None = None
    max_len: int = 500
    description: str = ""
    """What the field means, for the OpenAPI schema."""


_NUMBER = 'The consumer\'s number, as dialled or in E.164 ("06 12 34 56 78", "+33612345678").'
_TIME = "ISO 8601 with an offset; omitted, the server's now."
_AT_FACT = "When it happened: " + _TIME

_DECISION = {
    "number": Field("str", True, max_len=64, description=_NUMBER),
    "caller_id": Field(
        "str",
        True,
        max_len=64,
        description=(
            "The number presented to the consumer. Required; empty or hidden is a refusal "
            "(CALLER_ID_INVALID)."
        ),
    ),
    "at": Field(
        "time",
        description=(
            "The instant judged: ISO 8601 with an offset (a time without one is a 422); omitted, "
            "the server's now."
        ),
    ),
    "purpose": Field(
        "enum", enum=Purpose, description="Why the call is made (default PROSPECTION)."
    ),
    "sector": Field(
        "enum",
        enum=Sector,
        description="The product canvassed, when its sector has rules of its own.",
    ),
    "callee_tz": Field(
        "str",
        max_len=64,
        description=(
            "The consumer's IANA time zone when the dialer knows it better than the number's "
            'prefix does ("Europe/Paris").'
        ),
    ),
    "department": Field(
        "str",
        max_len=8,
        description=(
            'INSEE code of the consumer\'s département ("57", "2A", "974"): decides the zone '
            "and the local holidays."
        ),
    ),
    "recorded_message": Field(
        "bool", description="The call plays a recorded message without a human."
    ),
}

BODIES: dict[str, dict[str, Field]] = {
    "check": _DECISION,
    "attempt": {
        **_DECISION,
        "campaign": Field(
            "str",
            max_len=200,
            description=("The dialer's campaign, kept with the recorded attempt."),
        ),
    },
    "outcome": {
        "outcome": Field("enum", True, enum=Outcome, description="What happened on the call."),
        "at": Field("time", description=_AT_FACT),
    },
    # POST /v1/attempts/{attempt_id}/void: an attempt never placed (kept with its reason).
    "void": {
        "reason": Field(
            "str",
            True,
            max_len=500,
            description=("Why the attempt was never placed: kept in the ledger and the journal."),
        ),
        "at": Field("time", description="When it is voided (default now): " + _TIME),
    },
    "consent": {
        "number": Field("str", True, max_len=64, description=_NUMBER),
        "at": Field("time", description="When the consent was given: " + _TIME),
        "proof": Field(
            "str",
            True,
            max_len=2000,
            description=("Where the proof is kept (a document id, a URL, a recording)."),
        ),
        "expires_at": Field("time", description="When the consent ends, if it has an end."),
        "off_hours": Field(
            "bool",
            description=(
                "The consumer expressly agreed to be called outside the legal days and hours."
            ),
        ),
        "channel": Field(
            "str", max_len=200, description=("Where it was given: web, phone, paper, sms, email…")
        ),
        "source": Field(
            "str", max_len=200, description=("The party that collected it, e.g. a lead vendor.")
        ),
        "wording": Field(
            "str",
            max_len=10000,
            description=("The text the consumer agreed to, or its version id."),
        ),
        "proof_sha256": Field(
            "str", max_len=64, description=("Hex SHA-256 digest of the proof document.")
        ),
    },
    "withdrawal": {
        "number": Field("str", True, max_len=64, description=_NUMBER),
        "at": Field("time", description=_AT_FACT),
    },
    "optout": {
        "number": Field("str", True, max_len=64, description=_NUMBER),
        "at": Field("time", description=_AT_FACT),
        "source": Field(
            "str", max_len=200, description=("Where the objection came from (default internal).")
        ),
        "expires_at": Field("time", description="When the opt-out ends, if it has an end."),
    },
    "refusal": {
        "number": Field("str", True, max_len=64, description=_NUMBER),
        "at": Field("time", description=_AT_FACT),
    },
    "lift": {
        "number": Field("str", True, max_len=64, description=_NUMBER),
        "reason": Field(
            "str",
            True,
            max_len=2000,
            description=("Why the entries were mistakes: kept in the journal."),
        ),
        "at": Field("time", description=_AT_FACT),
        "by": Field("str", max_len=200, description="Who lifts them."),
    },
}


# The shape dialers send (2026-11-23T10:30:00+01:00, …Z, milli- or microseconds): the standard
# library reads it as dateutil does, ~25 µs sooner; anything else goes to dateutil's strict
# parser, so what is accepted, and how it is read, does not change.
_COMMON = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6})?(?:Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def _iso(text: str) -> datetime:
    if _COMMON.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # 24:00, a 29 February of a common year...: dateutil's answer, or its error
    return isoparse(text)


def parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise Invalid(
            name, _("{field} must be an ISO 8601 time with an offset (a string)", field=name)
        )
    try:
        moment = _iso(value.strip())
    except (ValueError, OverflowError) as exc:
        raise Invalid(
            name,
            _(
                "{field}={value} is not an ISO 8601 time, e.g. 2026-11-23T10:30:00+01:00",
                field=name,
                value=repr(value[:60]),
            ),
        ) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(
            name,
            _(
                "{field}={value} has no offset: add one, e.g. 2026-11-23T10:30:00+01:00",
                field=name,
                value=repr(value[:60]),
            ),
        )
    try:
        in_range(moment, name)
    except ValueError as exc:
        raise Invalid(name, str(exc)) from None
    return moment


def parse_body(raw: bytes, kind: str) -> dict[str, Any]:
    """The validated arguments of a ``kind`` body: enums as their members, times as datetimes,
    absent optional fields left out. Raises :class:`Invalid` naming the field."""
    return validate(decode(raw), kind)


def decode(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; raises :class:`Invalid` (``"body"``) for anything else."""
    try:
        try:
            text: str | bytes = raw.decode()  # UTF-8, as sent: no encoding to detect
        except UnicodeDecodeError:
            text = raw  # json.loads says what is wrong (or reads UTF-16 and UTF-32)
        data = json.loads(text) if raw.strip() else None
    except (ValueError, RecursionError) as exc:
        raise Invalid("body", _("the body is not JSON ({error})", error=str(exc)[:80])) from exc
    if not isinstance(data, dict):
        raise Invalid("body", _("the body must be a JSON object"))
    return data


def validate(
    data: dict[str, Any],
    kind: str,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """:func:`parse_body` of a decoded object; ``names`` maps a field to the name an error must
    give it (a platform's own field name, under a body map)."""
    spec = BODIES[kind]
    for name in data:
        if name not in spec:
            raise Invalid(str(name)[:60], _("unknown field {field}", field=repr(str(name)[:60])))
    out: dict[str, Any] = {}
    try:
        for name, f in spec.items():
            if name not in data or (data[name] is None and not f.required):
                if f.required:
                    raise Invalid(name, _("{field} is required", field=name))
                continue
            out[name] = _value(name, f, data[name])
    except Invalid as exc:
        theirs = (names or {}).get(exc.field)
        if theirs is None:
            raise
        if exc.text.params.get("field") == exc.field:  # the message names it: by their name
            raise Invalid(
                theirs, Message(exc.text.msgid, {**exc.text.params, "field": theirs})
            ) from None
        raise Invalid(theirs, exc.message.replace(exc.field, theirs, 1)) from None
    return out


def _value(name: str, f: Field, value: object) -> object:
    if f.kind == "str":
        if not isinstance(value, str):
            raise Invalid(name, _("{field} must be a string", field=name))
        if len(value) > f.max_len:
            raise Invalid(
                name, _("{field} is longer than {most} characters", field=name, most=f.max_len)
            )
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(name, _("{field} must be true or false", field=name))
        return value
    if f.kind == "time":
        return parse_time(value, name)
    assert f.enum is not None
    names = [m.name for m in f.enum]
    if not isinstance(value, str) or value.upper() not in names:
        raise Invalid(
            name, _("{field} must be one of {choices}", field=name, choices=", ".join(names))
        )
    return f.enum[value.upper()]
