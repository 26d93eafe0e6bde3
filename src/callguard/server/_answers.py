"""How answers are written: instants with the consumer's offset, and the house's JSON errors for
what Starlette answers itself (an unknown path, a method the route does not take).

Messages are plain English templates kept in one table (:data:`MESSAGES`), each with its French
beside it, so that a catalog can take them over as they are.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._evidence import zone_of
from .._i18n import N_, text

__all__ = ["MESSAGES", "error_body", "in_consumer_time"]

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (English, French); {placeholders} are filled from the request.
    "not_found": (
        N_("no route {path}: the routes are listed at /openapi.json"),
        "aucune route {path} : les routes sont décrites dans /openapi.json",
    ),
    "method_not_allowed": (
        N_("{method} is not allowed on {path}: use {allow}"),
        "{method} n'est pas accepté sur {path} : utilisez {allow}",
    ),
}


def error_body(code: str, french: bool, **values: str) -> dict[str, str]:
    """``{"error": code, "message": ...}`` in English, or French when asked for (from the message
    catalog; the French written beside the English is used while the catalog has none)."""
    english, in_french = MESSAGES[code]
    template = english
    if french:
        template = text(english, "fr")
        template = in_french if template == english else template
    return {"error": code, "message": template.format(**{k: v[:200] for k, v in values.items()})}


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _shifted(value: object, zone: ZoneInfo | None) -> object:
    if zone is None or not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(zone).isoformat()


def in_consumer_time(body: dict[str, Any]) -> dict[str, Any]:
    """The answer with its ``at`` in the consumer's zone, like ``next_allowed_at``: a decision's
    (its ``callee_tz``), a recorded fact's (its number's zone), the decision of a number's
    history. A dialer in another zone, or the server's UTC clock, must not show the consumer's
    instant in another offset (D223-9 hours are the consumer's)."""
    out = dict(body)
    if "at" in out and "callee_tz" in out:
        out["at"] = _shifted(out["at"], _zone(str(out["callee_tz"])))
    elif "at" in out and "recorded" in out and isinstance(out.get("number"), str):
        out["at"] = _shifted(out["at"], _zone(zone_of(out["number"])))
    if isinstance(out.get("decision"), dict):
        out["decision"] = in_consumer_time(out["decision"])
    return out
