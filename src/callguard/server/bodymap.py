"""Other platforms' pre-dial bodies, mapped to callguard's fields (``callguard serve --body-map``).

A dialing platform that validates each record before dialing posts ITS record, under its own
field names, and reads the HTTP status alone. A body map names, for each callguard field, the
platform's field that carries it; ``/v1/check`` and ``/v1/attempts`` then take either body.

* ``genesys-cxcontact`` is built in. Genesys Outbound Contact Server (the engine of CX Contact)
  posts, with pre-dial validation on, one HTTP POST per record before dialing it; the body holds
  the record's properties as the call's attached data would (``GSW_PHONE``,
  ``GSW_CAMPAIGN_NAME``, ``GSW_CALLING_LIST``, ``GSW_RECORD_HANDLE``, ``GSW_CALL_ATTEMPT_GUID``…,
  then the calling list's own fields). It dials on ``200 OK`` and applies treatments, without
  dialing, on ``409 Conflict``; so a refusal is always a 409 under this map, ``?strict=true`` or
  not — a 200 carrying ``"allowed": false`` would be dialed. The caller ID is the record-level
  CPN, ``GSW_CPN_DIGITS``.
* A FILE is a JSON object ``{"number": "THEIR_FIELD", "caller_id": "THEIR_FIELD", ...}``: keys
  are callguard fields of ``/v1/attempts``, values the platform's field names. Its refusals
  follow ``?strict=true`` as callguard's own bodies do.

A body carrying none of the platform's field names (those that are not also callguard's) is
read as a callguard body, strictly as always. A
platform body is read as the platform sends it: fields the map does not name are the platform's
own and ignored; a mapped field is validated like the callguard field, and an error names the
platform's field (``GSW_PHONE is required``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._schemas import BODIES, Invalid, decode, validate

__all__ = ["BUILT_IN", "BodyMap", "BodyMapError", "load_body_map", "parse_body"]

_MAPPABLE = tuple(BODIES["attempt"])
"""The callguard fields a map may fill: those of ``/v1/attempts``."""
_REQUIRED = tuple(name for name, f in BODIES["attempt"].items() if f.required)


class BodyMapError(ValueError):
    """A ``--body-map`` that cannot be used: the message names the file, field or name."""


@dataclass(frozen=True)
class BodyMap:
    """Which platform field carries each callguard field."""

    name: str
    fields: MappingProxyType[str, str]
    """callguard field -> the platform's field name."""
    strict: bool = False
    """Refusals answer 409 whatever ``?strict`` says (the platform reads the status alone)."""
    _theirs: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The platform's names that callguard's own bodies never carry tell its bodies apart.
        object.__setattr__(self, "_theirs", frozenset(self.fields.values()) - set(_MAPPABLE))

    def recognises(self, data: dict[str, Any]) -> bool:
        """Whether a decoded body is the platform's: it carries one of the platform's field
        names (one that is not also a callguard field)."""
        return any(k in self._theirs for k in data)

    def translate(self, data: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The callguard body of a platform body, and callguard field -> platform field (to
        name the platform's field in an error). Fields the route does not take are dropped."""
        spec = BODIES[kind]
        out: dict[str, Any] = {}
        names: dict[str, str] = {}
        for ours, theirs in self.fields.items():
            if ours not in spec:
                continue
            names[ours] = theirs
            if theirs in data:
                value = data[theirs]
                # Platforms write numbers and IDs as JSON numbers as often as strings.
                if (
                    spec[ours].kind == "str"
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                ):
                    value = str(value)
                out[ours] = value
        for ours, f in spec.items():
            if f.required and ours not in names:
                raise Invalid(ours, f"the body map {self.name!r} names no field for {ours}")
        return out, names


def _check(name: str, fields: dict[str, Any]) -> MappingProxyType[str, str]:
    for ours, theirs in fields.items():
        if ours not in _MAPPABLE:
            raise BodyMapError(
                f"{name}: {ours!r} is not a callguard field; the fields are {', '.join(_MAPPABLE)}"
            )
        if not isinstance(theirs, str) or not theirs.strip():
            raise BodyMapError(
                f"{name}: the platform field for {ours!r} must be a non-empty "
                f"string, not {theirs!r}"
            )
    for required in _REQUIRED:
        if required not in fields:
            raise BodyMapError(f"{name}: {required!r} is required (which field carries it?)")
    if all(theirs in _MAPPABLE for theirs in fields.values()):
        raise BodyMapError(
            f"{name}: every field it names is already callguard's: it would "
            "never tell a platform's body from callguard's own"
        )
    seen: dict[str, str] = {}
    for ours, theirs in fields.items():
        if theirs in seen:
            raise BodyMapError(
                f"{name}: {theirs!r} is mapped to both {seen[theirs]!r} and {ours!r}"
            )
        seen[theirs] = ours
    return MappingProxyType(dict(fields))


BUILT_IN: MappingProxyType[str, BodyMap] = MappingProxyType({
    # Genesys Outbound Contact Server, "Pre-Dial Validation" (Outbound Contact 8.0.001 and
    # later, CX Contact's dialing engine): 200 OK dials, 409 Conflict does not.
    "genesys-cxcontact": BodyMap(
        "genesys-cxcontact",
        _check("genesys-cxcontact", {
            "number": "GSW_PHONE",
            "caller_id": "GSW_CPN_DIGITS",
            "campaign": "GSW_CAMPAIGN_NAME",
        }),
        strict=True,
    ),
})  # fmt: skip


def load_body_map(spec: str) -> BodyMap:
    """A built-in map by name, or a JSON file ``{"number": "THEIR_FIELD", ...}``. Raises
    :class:`BodyMapError` naming the file and the problem."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    path = Path(spec)
    if not path.is_file():
        raise BodyMapError(
            f"{spec!r} is neither a built-in body map ({', '.join(BUILT_IN)}) nor a file"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BodyMapError(f"{spec}: not a JSON file ({str(exc)[:120]})") from exc
    if not isinstance(data, dict):
        raise BodyMapError(
            f"{spec}: must be a JSON object such as "
            '{"number": "THEIR_FIELD", "caller_id": "THEIR_FIELD"}'
        )
    return BodyMap(path.name, _check(spec, data))


def parse_body(raw: bytes, kind: str, body_map: BodyMap | None) -> tuple[dict[str, Any], bool]:
    """The validated arguments of a ``kind`` body (``_schemas.parse_body``), a decision body
    possibly ``body_map``'s platform's; and whether it was the platform's."""
    data = decode(raw)
    if body_map is None or kind not in ("check", "attempt") or not body_map.recognises(data):
        return validate(data, kind), False
    translated, names = body_map.translate(data, kind)
    return validate(translated, kind, names), True
