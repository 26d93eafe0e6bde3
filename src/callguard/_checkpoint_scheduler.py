"""Checkpoints taken while the pre-dial service runs (``callguard serve --signing-key``).

A background thread takes one checkpoint when the service starts, then one every
``--checkpoint-every`` minutes. Each runs in a worker of its own, on a ledger connection of
its own, with its own deadline: a ledger that is locked, slow or gone, a full disk or an
unreachable timestamp authority is logged (one JSON line on ``callguard.server``) and never
stops, slows or blocks the decisions being served.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from ._checkpoint import load_signing_key, take_checkpoint
from ._exceptions import CallguardError, ConfigurationError, LedgerError
from ._i18n import _
from ._time import now_utc
from .storage import describe, open_ledger

__all__ = ["CheckpointScheduler"]

log = logging.getLogger("callguard.server")


class CheckpointScheduler:
    """Take a checkpoint of ``location`` now, then every ``every``, until :meth:`stop`."""

    def __init__(
        self,
        location: str,
        signing_key: str | os.PathLike[str],
        out_dir: str | os.PathLike[str],
        *,
        every: timedelta = timedelta(minutes=60),
        deadline: float = 60.0,
        tsa: str | None = None,
        clock: Callable[[], datetime] = now_utc,
        on_taken: Callable[[Path | None], None] | None = None,
    ) -> None:
        if every <= timedelta(0):
            raise ConfigurationError(
                _("every={value}: the interval between checkpoints is positive",
                  value=repr(every)),
                field="every", value=every,
            )  # fmt: skip
        load_signing_key(signing_key)  # a bad key stops the service at start, not an hour later
        self.location = location
        self.signing_key = signing_key
        self.out_dir = out_dir
        self.every = every
        self.deadline = deadline
        self.tsa = tsa
        self.clock = clock
        self.on_taken = on_taken
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="callguard-checkpoints", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.every.total_seconds())

    def tick(self) -> Path | None:
        """Take one checkpoint within the deadline; its path, or None (the failure logged).
        While a previous one still runs past its deadline, none is started."""
        if not self._busy.acquire(blocking=False):
            _event("checkpoint-skipped", reason="the previous checkpoint is still running")
            return None
        result: list[Path | None] = [None]

        def work() -> None:
            try:
                result[0] = self._take()
            except Exception as exc:  # logged: a checkpoint never stops the service
                _event("checkpoint-failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._busy.release()

        worker = threading.Thread(target=work, name="callguard-checkpoint", daemon=True)
        worker.start()
        worker.join(self.deadline)
        if worker.is_alive():
            _event("checkpoint-failed", error=f"no checkpoint within {self.deadline:g} s")
            path = None
        else:
            path = result[0]
        if self.on_taken is not None:
            self.on_taken(path)
        return path

    def _take(self) -> Path:
        ledger = open_ledger(self.location, create=False, busy_timeout=self.deadline)
        try:
            try:
                path = take_checkpoint(
                    ledger,
                    self.signing_key,
                    self.out_dir,
                    now=self.clock(),
                    tsa=self.tsa,
                    tsa_timeout=self.deadline,
                )
            except LedgerError as exc:
                raise CallguardError(
                    f"cannot take a checkpoint of {describe(self.location)!r}: {exc}"
                ) from exc
        finally:
            ledger.close()
        _event("checkpoint", path=str(path))
        return path


def _event(event: str, **fields: str) -> None:
    level = logging.INFO if event == "checkpoint" else logging.WARNING
    log.log(level, json.dumps({"event": event, **fields}, ensure_ascii=False))
