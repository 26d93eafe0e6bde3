"""``callguard serve``: the pre-dial service over HTTP and FastAGI (extra ``callguard-fr[server]``).

``callguard.server.keys`` needs nothing beyond callguard itself; the app and the service import
Starlette and prometheus-client when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .service import Service

__all__ = ["Service", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Service":
        from .service import Service

        return Service
    raise AttributeError(name)
