"""``callguard serve``: the pre-dial service over HTTP and FastAGI (extra ``callguard-fr[server]``)."""

from __future__ import annotations

from .app import create_app
from .service import Service

__all__ = ["Service", "create_app"]
