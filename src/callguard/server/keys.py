"""API keys of the pre-dial service: one professional each, stored as a SHA-256, shown once.

A key is ``cg_`` followed by 43 URL-safe characters (32 random bytes): high-entropy, so a plain
SHA-256 is enough to store it (no salt or slow hash is needed against guessing). The ledger keeps
the hash, a display prefix (the first 11 characters), a name and the professional's id; the key
itself is printed once by ``callguard keys create`` and never stored, logged or listed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from .._exceptions import ConfigurationError
from .._i18n import _
from .._time import now_utc, to_us
from ..storage.base import Ledger

__all__ = ["ApiKey", "KeyInfo", "create_key", "hash_key", "list_keys", "lookup_key", "revoke_key"]

_PREFIX_LEN = 11
_MAX_KEY_LEN = 200


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An authenticated caller: the key's row id and the professional it acts for."""

    id: int
    professional: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What ``keys list`` shows of a key (never the key)."""

    name: str
    professional: str
    prefix: str
    created_at: int
    revoked_at: int | None

    def to_dict(self) -> dict[str, Any]:
        from .._time import from_us

        return {
            "name": self.name,
            "professional": self.professional,
            "prefix": self.prefix,
            "created_at": from_us(self.created_at).isoformat(),
            "revoked_at": None if self.revoked_at is None else from_us(self.revoked_at).isoformat(),
        }


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(ledger: Ledger, professional_id: int, professional: str, name: str | None) -> str:
    """Store a new key for ``professional``; returns the key (the only time it exists)."""
    key = "cg_" + secrets.token_urlsafe(32)
    prefix = key[:_PREFIX_LEN]
    label = name if name is not None else f"{professional}-{prefix[3:]}"
    if not label.strip():
        raise ConfigurationError(_("--name must not be empty"), field="name", value=name)
    if ledger.api_key_exists(label):
        raise ConfigurationError(
            _("a key named {value} already exists", value=repr(label)), field="name", value=label
        )
    with ledger.write():
        ledger.insert_row(
            "api_keys",
            {
                "professional": professional_id,
                "name": label,
                "prefix": prefix,
                "hash": hash_key(key),
                "created_at": to_us(now_utc()),
            },
        )
    return key


def lookup_key(ledger: Ledger, key: str) -> ApiKey | None:
    """The live key ``key`` is, or None (unknown, revoked, or not a key at all)."""
    if not key or len(key) > _MAX_KEY_LEN:
        return None
    digest = hash_key(key)
    found = ledger.api_key_by_hash(digest)
    if found is None:
        return None
    key_id, professional, stored, revoked = found
    if revoked is not None or not hmac.compare_digest(stored, digest):
        return None
    return ApiKey(key_id, professional)


def list_keys(ledger: Ledger) -> list[KeyInfo]:
    return [KeyInfo(*row) for row in ledger.api_keys()]


def revoke_key(ledger: Ledger, name_or_prefix: str) -> KeyInfo:
    """Revoke the one key named ``name_or_prefix`` or whose prefix it is; ValueError otherwise."""
    matches = [k for k in list_keys(ledger) if name_or_prefix in (k.name, k.prefix)]
    if not matches:
        raise ConfigurationError(
            _("no key named {name} or with that prefix", name=repr(name_or_prefix)),
            field="name_or_prefix",
            value=name_or_prefix,
        )
    if len(matches) > 1:
        raise ConfigurationError(
            _(
                "{name} names {count} keys: give the key's name",
                name=repr(name_or_prefix),
                count=len(matches),
            ),
            field="name_or_prefix",
            value=name_or_prefix,
        )
    (key,) = matches
    if key.revoked_at is None:
        with ledger.write():
            for key_id in ledger.live_api_key_ids(key.name):
                ledger.update_row("api_keys", key_id, {"revoked_at": to_us(now_utc())})
    return next(k for k in list_keys(ledger) if k.name == key.name)
