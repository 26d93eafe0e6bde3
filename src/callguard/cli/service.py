"""CLI commands around the pre-dial service: ``init``, ``attempt``, ``outcome``, ``void``,
``keys`` and ``serve``. Same conventions as ``check``: ``--db``, ``--professional``, ``--json``; exit 0 on
success (allowed), 1 refused, 2 on a usage or ledger error (a LEDGER_UNAVAILABLE refusal too).

Every command but ``init`` refuses a SQLite ledger file that does not exist, so a typo in
``--db`` never judges calls against an empty ledger.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import click

from .._exceptions import CallguardError
from .._i18n import _
from .._types import Outcome, Purpose, Sector
from ..storage import DEFAULT_BUSY_TIMEOUT, Ledger, default_db_path, is_server_url, open_ledger
from ._common import (
    Command,
    Failure,
    Group,
    at_option,
    choice,
    db_option,
    department_option,
    failure,
    guarded,
    json_option,
    ledger_location,
    professional_option,
    recorded_message_option,
    render_decision,
    say,
    user_errors,
)
from .checkpoints import checkpoint_options, checkpoint_scheduler
from .decisions import exit_code

__all__ = ["service_commands"]


def _is_server(location: str) -> bool:
    return is_server_url(location)


@contextlib.contextmanager
def _ledger(db: str | None) -> Iterator[Ledger]:
    location = ledger_location(db)
    try:
        ledger = open_ledger(location, busy_timeout=DEFAULT_BUSY_TIMEOUT)
    except CallguardError as exc:
        raise failure(exc) from exc
    try:
        with user_errors():
            yield ledger
    finally:
        ledger.close()


@click.command("init", cls=Command)
@db_option
def init_command(db: str | None) -> None:
    """Create a ledger (a SQLite file readable by its owner only, or a PostgreSQL schema)."""
    location = db or default_db_path()
    existed = _is_server(location) or os.path.isfile(location)
    try:
        ledger = open_ledger(location, busy_timeout=DEFAULT_BUSY_TIMEOUT)
    except CallguardError as exc:
        raise failure(exc) from exc
    ledger.close()
    where = location.split("@")[-1]
    click.echo(say(_("ledger ready: {location}", location=where) if existed
                   else _("created ledger: {location}", location=where)))  # fmt: skip


@click.command("attempt", cls=Command)
@click.argument("number")
@click.option("--caller-id", required=True, help="The number the call will present.")
@at_option
@db_option
@professional_option
@click.option("--purpose", type=choice(Purpose), default="PROSPECTION", show_default=True)
@click.option("--sector", type=choice(Sector), default=None)
@click.option("--tz", "callee_tz", default=None, help="The consumer's known IANA zone.")
@department_option
@recorded_message_option
@click.option("--campaign", default=None, help="The campaign the attempt belongs to.")
@json_option
def attempt_command(
    number: str,
    caller_id: str,
    at: datetime | None,
    db: str | None,
    professional: str,
    purpose: str,
    sector: str | None,
    callee_tz: str | None,
    department: str | None,
    recorded_message: bool,
    campaign: str | None,
    as_json: bool,
) -> None:
    """Decide and, when allowed, record the attempt atomically (the cap holds across dialers).

    Exit 0 when allowed (the attempt id is printed), 1 when refused, 2 on an error
    (LEDGER_UNAVAILABLE included).
    """
    with guarded(ledger_location(db), professional) as guard:
        try:
            decision = guard.attempt(
                number,
                caller_id,
                at,
                purpose=purpose,
                sector=sector,
                callee_tz=callee_tz,
                department=department,
                recorded_message=recorded_message,
                campaign=campaign,
            )
        except ValueError as exc:
            raise click.UsageError(failure(exc).message) from exc
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    elif decision.allowed:
        click.echo(str(decision.attempt_id))
    else:
        click.echo(render_decision(decision))
    sys.exit(exit_code(decision))


@click.command("outcome", cls=Command)
@click.argument("attempt_id", type=int)
@click.argument("outcome", type=choice(Outcome))
@at_option
@db_option
@professional_option
@json_option
def outcome_command(
    attempt_id: int,
    outcome: str,
    at: datetime | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Record the OUTCOME of attempt ATTEMPT_ID (REFUSED starts the 60-day cooldown, OBJECTED
    adds a permanent opt-out). --at defaults to the attempt's own time."""
    with guarded(ledger_location(db), professional) as guard:
        guard.record_outcome(attempt_id, outcome.upper(), at)
    if as_json:
        click.echo(json.dumps({"attempt_id": attempt_id, "outcome": outcome.upper()}))
    else:
        click.echo(
            say(
                _(
                    "recorded outcome of attempt {attempt}: {outcome}",
                    attempt=attempt_id,
                    outcome=outcome.upper(),
                )
            )
        )


@click.command("void", cls=Command)
@click.argument("attempt_id", type=int)
@click.option("--reason", required=True, help="Why it was never placed (kept in the ledger).")
@at_option
@db_option
@professional_option
@json_option
def void_command(
    attempt_id: int,
    reason: str,
    at: datetime | None,
    db: str | None,
    professional: str,
    as_json: bool,
) -> None:
    """Void attempt ATTEMPT_ID, never placed: it stays in the ledger with --reason and no longer
    counts toward the cap. Within 5 minutes of the attempt and before any outcome (exit 2 after).
    --at defaults to now."""
    with guarded(ledger_location(db), professional) as guard:
        guard.void_attempt(attempt_id, reason, at)
    if as_json:
        click.echo(json.dumps({"attempt_id": attempt_id, "voided": True}))
    else:
        click.echo(f"voided attempt {attempt_id}")


# -- API keys -------------------------------------------------------------------------------------


@click.group("keys", cls=Group)
def keys_group() -> None:
    """API keys of the pre-dial service: one professional each, stored hashed, shown once."""


@keys_group.command("create")
@professional_option
@click.option("--name", default=None, metavar="LABEL", help="A unique label (default: derived).")
@db_option
def keys_create(professional: str, name: str | None, db: str | None) -> None:
    """Create a key for --professional and print it, alone on one line (it is not kept)."""
    from ..server.keys import create_key

    with _ledger(db) as ledger:
        pid = ledger.professional_id(professional)
        key = create_key(ledger, pid, professional, name)
    click.echo(key)


@keys_group.command("list")
@db_option
@json_option
def keys_list(db: str | None, as_json: bool) -> None:
    """Every key: name, professional, prefix, created, revoked (never the key)."""
    from ..server.keys import list_keys

    with _ledger(db) as ledger:
        found = [k.to_dict() for k in list_keys(ledger)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for k in found:
        click.echo(
            f"{k['name']}\t{k['professional']}\t{k['prefix']}\t{k['created_at']}\t"
            f"{k['revoked_at'] or '-'}"
        )


@keys_group.command("revoke")
@click.argument("name_or_prefix")
@db_option
def keys_revoke(name_or_prefix: str, db: str | None) -> None:
    """Revoke the key with this name or prefix: it stops working at once."""
    from ..server.keys import revoke_key

    with _ledger(db) as ledger:
        key = revoke_key(ledger, name_or_prefix)
    click.echo(
        say(
            _(
                "revoked {name} ({prefix}..., {professional})",
                name=key.name,
                prefix=key.prefix,
                professional=key.professional,
            )
        )
    )


# -- the service ----------------------------------------------------------------------------------


@click.command("serve", cls=Command)
@click.option(
    "--db",
    "db",
    default=None,
    metavar="PATH|URL",
    help="Ledger file or postgresql:// URL (default: $CALLGUARD_DB, else ./callguard.db).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--agi-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Also serve FastAGI (Asterisk, VICIdial) on this port.",
)
@click.option(
    "--busy-timeout",
    default=DEFAULT_BUSY_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0, 600),
    help="Seconds a write waits for a lock (then 503).",
)
@click.option("--ssl-keyfile", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--ssl-certfile", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--deadline",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds every request may take, ledger included: past it a decision is a "
    "503 LEDGER_UNAVAILABLE, never an allow.",
)
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Connections held at once, in all.",
)
@click.option(
    "--max-connections-per-client",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Connections held at once from one client address.",
)
@click.option(
    "--log-requests/--no-log-requests",
    default=True,
    show_default=True,
    help="One JSON line per request on stderr.",
)
@click.option(
    "--executor", type=click.Choice(["auto", "dedicated", "pool"]), default="auto", hidden=True
)
@click.option(
    "--body-map",
    "body_map_spec",
    default=None,
    metavar="NAME|FILE",
    help="Also take another platform's pre-dial body on /v1/check and /v1/attempts: "
    'genesys-cxcontact, or a JSON file {"number": "THEIR_FIELD", ...}.',
)
@checkpoint_options
def serve_command(
    db: str | None,
    host: str,
    port: int,
    agi_port: int | None,
    busy_timeout: float,
    ssl_keyfile: str | None,
    ssl_certfile: str | None,
    deadline: float,
    max_connections: int,
    max_connections_per_client: int,
    log_requests: bool,
    executor: str,
    body_map_spec: str | None,
    signing_key: str | None,
    checkpoint_dir: str | None,
    checkpoint_every: float,
) -> None:
    """Serve the ledger to every dialer: HTTP (JSON, Bearer keys) and optionally FastAGI.

    A request's headers must arrive within 10 s, an idle keep-alive connection is closed after
    5 s. SIGTERM or Ctrl-C stops accepting, finishes the requests in flight, then exits.
    """
    try:
        import uvicorn

        from ..server import Service, create_app
        from ..server.limits import ConnectionLimits
        from ..server.transport import server_config
    except ImportError as exc:
        raise Failure(
            _(
                "the service needs its extra: pip install 'callguard-fr[server]' ({error})",
                error=str(exc),
            )
        ) from exc
    body_map = None
    if body_map_spec is not None:
        from ..server.bodymap import BodyMapError, load_body_map

        try:
            body_map = load_body_map(body_map_spec)
        except BodyMapError as exc:
            # Checked before anything listens: a dialer must never meet a half-configured map.
            raise click.BadParameter(str(exc), param_hint="--body-map") from exc
    location = ledger_location(db)
    try:
        service = Service(location, busy_timeout=busy_timeout, executor=executor, deadline=deadline)
    except CallguardError as exc:
        raise failure(exc) from exc
    listener = _configure_logging(log_requests)
    checkpoints = checkpoint_scheduler(location, signing_key, checkpoint_dir, checkpoint_every)
    app = create_app(
        service,
        agi_port=agi_port,
        agi_host=host,
        body_map=body_map,
        request_log=listener.requests if log_requests else None,
    )
    config = server_config(
        app, host=host, port=port,
        limits=ConnectionLimits(max_connections, max_connections_per_client),
        ssl_keyfile=ssl_keyfile, ssl_certfile=ssl_certfile,
    )  # fmt: skip

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)
            listener.drain()

    if checkpoints is not None:
        checkpoints.start()
    try:
        Server(config).run()
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        listener.stop()


class _BatchedLines:
    """The request log's lines and a logging handler's records, written by a thread of its own
    every 50 ms in one write, and once more as the server stops: neither the write to stderr
    nor a thread woken for each line is on the event loop's path."""

    def __init__(self, stream: Any, every: float = 0.05) -> None:
        import logging
        import queue
        import threading

        from ..server.app import RequestLog

        self.requests = RequestLog()
        """The request log's lines, already JSON: written with the records, in the same write."""
        self.stream = stream
        self.every = every
        self.records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self.formatter = logging.Formatter("%(message)s")
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="callguard log", daemon=True)

    def handler(self) -> Any:
        import logging

        records = self.records

        class Enqueue(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.put(record)

        return Enqueue()

    def drain(self) -> None:
        """Write every line queued so far (also called as the server stops: uvicorn re-raises
        the signal it caught once it has shut down, and the process ends there)."""
        with self.lock:
            self._drain()

    def _drain(self) -> None:
        import queue

        lines = self.requests.take()
        while True:
            try:
                record = self.records.get_nowait()
            except queue.Empty:
                break
            try:
                lines.append(self.formatter.format(record))
            except Exception:  # a bad record must not stop the others' lines
                lines.append(f"unprintable log record: {record.msg!r}")
        if lines:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            self.drain()
        self.drain()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


def _configure_logging(log_requests: bool) -> _BatchedLines:
    import logging

    lines = _BatchedLines(sys.stderr)
    lines.start()
    handler = lines.handler()
    for name in ("callguard.server", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(
            logging.INFO if log_requests or name != "callguard.server" else logging.WARNING
        )
        logger.propagate = False
    return lines


service_commands = (
    init_command,
    attempt_command,
    outcome_command,
    void_command,
    keys_group,
    serve_command,
)
