"""How many connections the service holds, in all and per client address.

Shared by every listener of one service (HTTP and FastAGI): a client that opens sockets and
sends nothing, or trickles bytes, holds at most ``max_per_client`` of them, so it never uses up
the ``max_connections`` other dialers need. Counting only, no I/O and no event loop: a listener
asks :meth:`ConnectionLimits.admit` when a connection arrives, closes it when the answer is
False, and calls :meth:`ConnectionLimits.release` exactly once for each admitted connection.
"""

from __future__ import annotations

import threading

from .._exceptions import ConfigurationError
from .._i18n import _

__all__ = [
    "HEADER_TIMEOUT",
    "IDLE_TIMEOUT",
    "MAX_CONNECTIONS",
    "MAX_CONNECTIONS_PER_CLIENT",
    "ConnectionLimits",
]

MAX_CONNECTIONS = 1000
"""Connections held at once, every client together (``serve --max-connections``)."""
MAX_CONNECTIONS_PER_CLIENT = 100
"""Connections held at once from one client address (``serve --max-connections-per-client``)."""
HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's headers, counted from the connection or from the
previous answer: a trickle of bytes does not keep a socket open past it."""
IDLE_TIMEOUT = 5.0
"""Seconds an idle keep-alive connection is kept after an answer."""


class ConnectionLimits:
    """Admission of connections against a total and a per-client-address cap."""

    def __init__(
        self,
        max_connections: int = MAX_CONNECTIONS,
        max_per_client: int = MAX_CONNECTIONS_PER_CLIENT,
    ) -> None:
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ConfigurationError(
                _("max_connections must be an integer ≥ 1, not {value}",
                  value=repr(max_connections)),
                field="max_connections", value=max_connections,
            )  # fmt: skip
        if (
            isinstance(max_per_client, bool)
            or not isinstance(max_per_client, int)
            or max_per_client < 1
        ):
            raise ConfigurationError(
                _("max_per_client must be an integer ≥ 1, not {value}",
                  value=repr(max_per_client)),
                field="max_per_client", value=max_per_client,
            )  # fmt: skip
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self._lock = threading.Lock()
        self._total = 0
        self._per_client: dict[str, int] = {}

    def admit(self, client: str | None) -> bool:
        """Count a new connection from ``client`` (its address; None when unknown, e.g. a Unix
        socket) and say whether it may stay. A refused connection is not counted."""
        key = client or ""
        with self._lock:
            held = self._per_client.get(key, 0)
            if self._total >= self.max_connections or held >= self.max_per_client:
                return False
            self._total += 1
            self._per_client[key] = held + 1
            return True

    def release(self, client: str | None) -> None:
        """Forget one admitted connection from ``client``."""
        key = client or ""
        with self._lock:
            held = self._per_client.get(key, 0)
            if held <= 0:
                return
            self._total -= 1
            if held == 1:
                del self._per_client[key]
            else:
                self._per_client[key] = held - 1

    @property
    def total(self) -> int:
        """Connections held now."""
        return self._total

    def held(self, client: str | None) -> int:
        """Connections held now from ``client``."""
        return self._per_client.get(client or "", 0)
