"""The service's core, free of HTTP and AGI: keys, one long-lived Guard per professional, the
idempotent attempt, and the blocking work run off the event loop.

Threading model (measured with ``benchmarks/service.py``, 2 cores, uvicorn with httptools and
uvloop): a request's ledger work runs in ONE step, its key looked up by hash first, so a revoked
key stops working at once (one indexed read, ~12 µs on SQLite, no cache to invalidate across
instances).

* SQLite (``executor="auto"``, the default): on the event loop, on connections whose busy
  timeout is 0. A decision is ~45 µs of Python holding the GIL; handing it to a worker thread
  cost more than that (the hand-off, the wake-up and the GIL going back and forth), and
  reads never wait in WAL mode. When the work cannot go on at once — a write lock held by
  another process, a failing file — it fails fast with :class:`Unavailable`, rolled back, and
  is run again on the dedicated worker thread, with the busy timeout and the deadline.
* ``executor="dedicated"``: always on that worker (one thread for SQLite: the ledger
  serialises statements and writes anyway, and a pool only adds lock hand-offs).
* PostgreSQL: always on a small pool of worker threads (as many as the ledger pool's
  connections), so the event loop stays free while a decision waits on the network.

Whatever the ledger does, a request is answered within :attr:`Service.deadline`: see
:meth:`Service.run`.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .._decision import Decision
from .._engine import unavailable as _unavailable
from .._evidence import number_history
from .._exceptions import (
    CallguardError,
    ConfigurationError,
    InvalidNumberError,
    LedgerConflictError,
    LedgerError,
    UnknownAttemptError,
    VoidRefusedError,
)
from .._guard import Guard
from .._i18n import Message, _
from .._numbers import parse_number
from .._policy import Policy
from .._time import from_us, now_utc, to_us
from .._types import ReasonCode
from ..storage import DEFAULT_BUSY_TIMEOUT, Ledger, open_ledger
from ..storage.base import parse_location
from . import keys as _keys
from ._schemas import Invalid

__all__ = [
    "DEFAULT_DEADLINE",
    "IDEMPOTENCY_TTL",
    "Answer",
    "Conflict",
    "Service",
    "Unauthorized",
    "Unavailable",
]

T = TypeVar("T")

IDEMPOTENCY_TTL = timedelta(hours=48)
"""Stored answers are kept 48 hours (the contract asks for at least 24)."""

DEFAULT_DEADLINE = 5.0
"""Seconds a request may take, ledger work included (``serve --deadline``): past it a decision
is a 503 LEDGER_UNAVAILABLE, never an allow, whatever the ledger does meanwhile."""

# The deadline of the request the current worker thread is running (time.monotonic()).
_request = threading.local()


def request_due() -> float | None:
    """The monotonic time by which the request this thread works for must be answered, if any."""
    due: float | None = getattr(_request, "due", None)
    return due


class _Late(Exception):
    """The deadline passed while the request waited for a worker: it was never started."""


class _Said(Exception):
    """An answer's error: its sentence is a message of the catalog, rendered in the client's
    language (``str()`` is English)."""

    def __init__(self, message: Message | str) -> None:
        self.text = message if isinstance(message, Message) else Message(message)
        super().__init__(self.text.render("en"))

    def render(self, lang: str = "en") -> str:
        return self.text.render(lang)


class Unauthorized(_Said):
    """No key, or an unknown or revoked one: a 401."""


class NotFound(_Said):
    """An unknown attempt, or one of another professional: a 404."""


class Conflict(_Said):
    """The request contradicts what the ledger holds (an attempt too old to void): a 409."""


class Unavailable(Exception):
    """The ledger could not be read or written: a 503 (nothing recorded, nothing stored)."""

    def __init__(self, detail: str, decision: Decision | None = None) -> None:
        super().__init__(detail)
        self.decision = decision


@dataclass(frozen=True, slots=True)
class Answer:
    """What a route answers: the body, and the decision it carries (for metrics and logs)."""

    body: dict[str, Any]
    decision: Decision | None = None
    replayed: bool = False


class _Rollback(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


def _accepts(method: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(method).parameters)


_DECISION_ARGS = _accepts(Guard.may_call)
_ATTEMPT_ARGS = _accepts(Guard.attempt)
_CONSENT_ARGS = _accepts(Guard.record_consent)


def _supported(args: dict[str, Any], accepted: frozenset[str], defaults: dict[str, Any]) -> None:
    """Fields the contract names that this library version's Guard does not take yet: their
    default is accepted (and dropped), any other value is a 422 rather than silently ignored."""
    for name, default in defaults.items():
        if name in args and name not in accepted:
            if args[name] != default:
                raise Invalid(
                    name, _("{field} is not supported by this callguard version", field=name)
                )
            del args[name]


class Service:
    """One ledger served to every dialer: keys, Guards per professional, a worker thread."""

    def __init__(
        self,
        location: str,
        *,
        policy: Policy | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
        executor: str = "auto",
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, (int, float))
            or not 0 < deadline <= 600
        ):
            raise ConfigurationError(
                _("deadline must be a number of seconds in (0, 600], not {value}",
                  value=repr(deadline)),
                field="deadline", value=deadline,
            )  # fmt: skip
        self.location = location
        self.policy = policy
        self.busy_timeout = busy_timeout
        self.deadline = float(deadline)
        self.clock = clock if clock is not None else now_utc
        # The storage's own reading of a location: a libpq keyword string (host=… dbname=…)
        # is PostgreSQL as much as a postgresql:// URL is.
        self.postgres = parse_location(location).server
        if executor not in ("auto", "dedicated", "pool"):
            raise ConfigurationError(
                _("executor must be 'auto', 'dedicated' or 'pool', not {value}",
                  value=repr(executor)),
                field="executor", value=executor,
            )  # fmt: skip
        self.executor = executor
        self.inline = executor == "auto" and not self.postgres
        """SQLite decisions run on the event loop first (see the module's threading model)."""
        self._guards: dict[str, Guard] = {}
        self._inline_guards: dict[str, Guard] = {}
        self._guards_lock = threading.Lock()
        self._ledger: Ledger = open_ledger(location, busy_timeout=busy_timeout)
        self._errors: tuple[type[Exception], ...] = (LedgerError,)
        self._fallback: tuple[type[Exception], ...] = (Unavailable, *self._errors)
        # Connections that never wait for a lock, for the work done on the event loop.
        self._inline_ledger: Ledger | None = (
            open_ledger(location, busy_timeout=0) if self.inline else None
        )
        # "pool": as many threads as Starlette's thread pool, kept to measure against.
        workers = 40 if executor == "pool" else 4 if self.postgres else 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="callguard-ledger")

    # -- plumbing -----------------------------------------------------------------------------

    async def run(self, fn: Callable[[], T], *, due: float | None = None, inline: bool = True) -> T:
        """Run blocking ledger work off the event loop (see the module's threading model),
        answering within the deadline whatever the ledger does.

        ``due`` is the request's deadline (``time.monotonic()``; default: :attr:`deadline`
        seconds from now). Past it the request gets :class:`Unavailable` at once, while the
        worker finishes or fails on its own: work still queued is dropped unstarted, an
        attempt decided too late is rolled back rather than recorded (see :meth:`attempt`),
        and a PostgreSQL statement is cut by the ledger's own client-side deadline.
        """
        if inline and self.inline:
            _request.inline = True
            try:
                return fn()
            except self._fallback:
                pass  # a lock held elsewhere, or a failing file: the worker, bounded, decides
            finally:
                _request.inline = False
        now = time.monotonic()
        if due is None:
            due = now + self.deadline
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, self._within, fn, due)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not future.done():
                expired = True
                future.cancel()

        timer = loop.call_later(due - now, expire)
        try:
            return await future
        except asyncio.CancelledError:
            if expired:
                raise Unavailable(f"no answer from the ledger within {self.deadline:g} s") from None
            raise
        except _Late:
            raise Unavailable(f"no answer from the ledger within {self.deadline:g} s") from None
        finally:
            timer.cancel()

    def _within(self, fn: Callable[[], T], due: float) -> T:
        if time.monotonic() >= due:
            raise _Late
        _request.due = due
        try:
            if self.postgres:
                from ..storage.postgres import statements_due

                with statements_due(due):
                    return fn()
            return fn()
        finally:
            _request.due = None

    @staticmethod
    def _late() -> bool:
        due = request_due()
        return due is not None and time.monotonic() >= due

    def close(self) -> None:
        # A worker stuck on a paused server is not waited for: its statement is cut by the
        # ledger's client-side deadline, and its connection closed with the ledger below.
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._guards_lock:
            for guard in (*self._guards.values(), *self._inline_guards.values()):
                guard.close()
            self._guards.clear()
            self._inline_guards.clear()
        self._ledger.close()
        if self._inline_ledger is not None:
            self._inline_ledger.close()

    def guard(self, professional: str) -> Guard:
        """The professional's Guard: on the event loop, one whose connection never waits for
        a lock (busy timeout 0); on a worker, one that waits the busy timeout."""
        inline = getattr(_request, "inline", False)
        guards = self._inline_guards if inline else self._guards
        guard = guards.get(professional)
        if guard is not None:
            return guard
        with self._guards_lock:
            guard = guards.get(professional)
            if guard is None:
                guard = Guard(
                    self.location,
                    professional=professional,
                    policy=self.policy,
                    busy_timeout=0 if inline else self.busy_timeout,
                    clock=self.clock,
                    create=False,
                )
                guards[professional] = guard
            return guard

    def _keys_ledger(self) -> Ledger:
        inline = self._inline_ledger
        if inline is not None and getattr(_request, "inline", False):
            return inline
        return self._ledger

    def authenticate(self, key: str | None) -> _keys.ApiKey:
        """The key's professional; every request looks it up, so a revocation bites at once."""
        if not key:
            raise Unauthorized(_("an API key is required: Authorization: Bearer KEY"))
        try:
            found = _keys.lookup_key(self._keys_ledger(), key)
        except self._errors as exc:
            raise Unavailable(f"cannot read the API keys: {exc}") from exc
        if found is None:
            raise Unauthorized(_("unknown or revoked API key"))
        return found

    def healthy(self) -> str | None:
        """None when the ledger the decisions use answers, else what went wrong. A SQLite
        ledger file moved, replaced or deleted under the service is a problem: the decisions
        refuse to read it (the open file is no longer the one at the path)."""
        try:
            for ledger in (self._ledger, self._inline_ledger):
                if ledger is not None:
                    ledger.api_key_count()
        except self._errors as exc:
            return str(exc)
        return None

    def late_decision(self, args: dict[str, Any] | None, detail: str) -> Decision:
        """The LEDGER_UNAVAILABLE refusal of a decision that missed its deadline."""
        args = dict(args or {})
        at = args.pop("at", None) or self.clock()
        return self._unavailable(args, at, detail)

    def _now(self, args: dict[str, Any]) -> datetime:
        at = args.pop("at", None)
        return at if at is not None else self.clock()

    def _unavailable(self, args: dict[str, Any], at: datetime, detail: str) -> Decision:
        try:
            number: str | None = parse_number(args.get("number")).e164
        except InvalidNumberError:
            number = None
        return _unavailable(detail, at, args.get("callee_tz") or "Europe/Paris", number)

    # -- decisions ----------------------------------------------------------------------------

    def _decision_args(self, args: dict[str, Any], accepted: frozenset[str]) -> dict[str, Any]:
        args = dict(args)
        _supported(args, accepted, {"department": None, "recorded_message": False})
        return args

    def check(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        args = self._decision_args(args, _DECISION_ARGS)
        at = self._now(args)
        guard = self.guard(key.professional)
        try:
            decision = guard.may_call(args.pop("number"), args.pop("caller_id"), at, **args)
        except ValueError as exc:
            raise Invalid(_field(exc, args), exc) from exc
        return self._answer(decision)

    def _answer(self, decision: Decision) -> Answer:
        if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
            raise Unavailable("ledger unavailable", decision)
        return Answer(decision.to_dict(), decision)

    def attempt(
        self, key: _keys.ApiKey, args: dict[str, Any], idempotency_key: str | None, body: bytes
    ) -> Answer:
        raw = dict(args)
        args = self._decision_args(args, _ATTEMPT_ARGS)
        at = self._now(args)
        guard = self.guard(key.professional)
        number, caller_id = args.pop("number"), args.pop("caller_id")
        ledger: Any = guard.engine.ledger
        if idempotency_key is None:
            try:
                with ledger.write():
                    decision = guard.attempt(number, caller_id, at, **args)
                    if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
                        raise _Rollback(decision)
                    self._in_time(decision, number, args, at)
                return self._answer(decision)
            except _Rollback as exc:
                raise Unavailable("ledger unavailable", exc.decision) from None
            except ValueError as exc:
                raise Invalid(_field(exc, args), exc) from exc
            except LedgerError as exc:  # the COMMIT itself failed
                decision = self._unavailable({"number": number, **args}, at, str(exc))
                raise Unavailable(str(exc), decision) from exc
        digest = _request_digest(raw, body)
        for _try in range(2):
            try:
                return self._idempotent(
                    guard, ledger, key, idempotency_key, digest, number, caller_id, at, args
                )
            except _Rollback as exc:
                raise Unavailable("ledger unavailable", exc.decision) from None
            except ValueError as exc:
                raise Invalid(_field(exc, args), exc) from exc
            except LedgerError as exc:
                # A concurrent request with the same key stored its answer first (its row's
                # primary key refused ours, and our attempt rolled back with it): replay it.
                if not isinstance(exc, LedgerConflictError):
                    decision = self._unavailable({"number": number, **args}, at, str(exc))
                    raise Unavailable(str(exc), decision) from exc
        decision = self._unavailable({"number": number, **args}, at, "idempotency conflict")
        raise Unavailable("idempotency conflict", decision)

    def _idempotent(
        self,
        guard: Guard,
        ledger: Any,
        key: _keys.ApiKey,
        idempotency_key: str,
        digest: str,
        number: object,
        caller_id: object,
        at: datetime,
        args: dict[str, Any],
    ) -> Answer:
        """Look the key up, decide and record, store the answer: one write transaction, so a
        crash or a 503 leaves neither an attempt without its stored answer nor the reverse."""
        with ledger.write():
            found = ledger.stored_answer(key.id, idempotency_key)
            replaced: int | None = None
            if found is not None:
                request, response, stored_id = found
                if request != digest:
                    raise Invalid(
                        "Idempotency-Key",
                        _("this Idempotency-Key was used with a different body"),
                    )
                stored = json.loads(response)
                if not _voided(ledger, stored.get("attempt_id")):
                    return Answer(stored, _stored_decision(stored), True)
                # The stored answer's attempt was voided (never placed): replaying "allowed"
                # would let the dialer place a call the cap does not count. The retry is
                # judged afresh, as after a 503, and its answer replaces the stored one.
                replaced = int(stored_id)
            decision = guard.attempt(number, caller_id, at, **args)
            if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
                raise _Rollback(decision)  # not stored: a retry is judged afresh
            self._in_time(decision, number, args, at)
            body = decision.to_dict()
            now = to_us(now_utc())
            # Journaled like any fact: a stored answer replays a decision. Its expiry erases its
            # journal entry too (the answer holds the number).
            if replaced is not None:  # journaled, like the answer it replaces
                ledger.update_row(
                    "idempotency", replaced, {"response": json.dumps(body), "created_at": now}
                )
            else:
                ledger.store_answer(
                    guard.engine.pid, key.id, idempotency_key, digest, 200, json.dumps(body), now
                )
            ledger.expire_answers(now - to_us(from_us(0) + IDEMPOTENCY_TTL))
        return Answer(body, decision)

    def _in_time(
        self, decision: Decision, number: object, args: dict[str, Any], at: datetime
    ) -> None:
        """Roll the attempt back when its answer can no longer reach the dialer in time: the
        dialer was told 503 and will not place the call, so the ledger must not count it."""
        if decision.allowed and self._late():
            detail = f"no answer from the ledger within {self.deadline:g} s"
            raise _Rollback(self._unavailable({"number": number, **args}, at, detail))

    # -- facts --------------------------------------------------------------------------------

    def _write(self, what: Callable[[], object]) -> None:
        try:
            what()
        except LedgerError as exc:
            raise Unavailable(str(exc)) from exc
        except InvalidNumberError as exc:
            raise Invalid("number", exc) from exc

    def outcome(self, key: _keys.ApiKey, attempt_id: int, args: dict[str, Any]) -> Answer:
        guard = self.guard(key.professional)
        try:
            guard.record_outcome(attempt_id, args["outcome"], args.get("at"))
        except LedgerError as exc:
            raise Unavailable(str(exc)) from exc
        except UnknownAttemptError as exc:
            raise NotFound(_("no attempt {attempt} for this key", attempt=attempt_id)) from exc
        except ValueError as exc:  # a value the library refuses: a 422 naming its field
            raise Invalid(_field(exc, args, "outcome"), exc) from exc
        return Answer({"attempt_id": attempt_id, "outcome": args["outcome"].value})

    def void(self, key: _keys.ApiKey, attempt_id: int, args: dict[str, Any]) -> Answer:
        """Void an attempt the dialer never placed (``Guard.void_attempt``): 404 when unknown
        or another professional's, 409 when too late or an outcome was reported."""
        guard = self.guard(key.professional)
        try:
            guard.void_attempt(attempt_id, args["reason"], args.get("at"))
        except LedgerError as exc:
            raise Unavailable(str(exc)) from exc
        except UnknownAttemptError as exc:
            raise NotFound(_("no attempt {attempt} for this key", attempt=attempt_id)) from exc
        except VoidRefusedError as exc:
            raise Conflict(exc.message) from exc
        except ValueError as exc:
            raise Invalid(_field(exc, args, "reason"), str(exc)) from exc
        return Answer({"attempt_id": attempt_id, "voided": True})

    def _fact(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        e164 = parse_number(args["number"]).e164
        at = args.get("at") or self.clock()
        return {"number": e164, "recorded": kind, "at": at.isoformat()}

    def consent(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        guard = self.guard(key.professional)
        args = dict(args)
        at = args.pop("at", None) or self.clock()
        extra = {k: args.pop(k) for k in list(args) if k not in ("number", "proof", "expires_at")}
        for name in extra:
            if name not in _CONSENT_ARGS:
                raise Invalid(
                    name, _("{field} is not supported by this callguard version", field=name)
                )
        number = args["number"]
        try:
            self._write(
                lambda: guard.record_consent(
                    number, at, proof=args["proof"], expires_at=args.get("expires_at"), **extra
                )
            )
        except ValueError as exc:
            raise Invalid(_field(exc, args, "proof"), exc) from exc
        return Answer(self._fact({"number": number, "at": at}, "consent"))

    def withdrawal(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        guard = self.guard(key.professional)
        at = args.get("at") or self.clock()
        self._write(lambda: guard.withdraw_consent(args["number"], at))
        return Answer(self._fact({"number": args["number"], "at": at}, "withdrawal"))

    def optout(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        guard = self.guard(key.professional)
        at = args.get("at") or self.clock()
        try:
            self._write(
                lambda: guard.add_optout(
                    args["number"],
                    at,
                    source=args.get("source", "internal"),
                    expires_at=args.get("expires_at"),
                )
            )
        except ValueError as exc:
            raise Invalid(_field(exc, args, "expires_at"), exc) from exc
        return Answer(self._fact({"number": args["number"], "at": at}, "optout"))

    def refusal(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        guard = self.guard(key.professional)
        at = args.get("at") or self.clock()
        self._write(lambda: guard.record_refusal(args["number"], at))
        return Answer(self._fact({"number": args["number"], "at": at}, "refusal"))

    def lift_refusal(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        return self._lift(key, args, "refusal")

    def lift_objection(self, key: _keys.ApiKey, args: dict[str, Any]) -> Answer:
        return self._lift(key, args, "objection")

    def _lift(self, key: _keys.ApiKey, args: dict[str, Any], kind: str) -> Answer:
        """Lift refusals or objections entered by mistake: an explicit act, logged with its
        reason (docs/rules.md §11); answers how many were lifted."""
        guard = self.guard(key.professional)
        at = args.get("at") or self.clock()
        lift = guard.lift_refusal if kind == "refusal" else guard.lift_objection
        lifted: list[int] = []
        try:
            self._write(
                lambda: lifted.append(
                    lift(args["number"], at, reason=args["reason"], by=args.get("by"))
                )
            )
        except ValueError as exc:
            raise Invalid(_field(exc, args, "reason"), exc) from exc
        return Answer({"lifted": lifted[0]})

    def number(self, key: _keys.ApiKey, number: str, caller_id: str | None) -> Answer:
        """The number's facts and history for this key's professional, and the decision now."""
        guard = self.guard(key.professional)
        decision = guard.may_call(number, caller_id, self.clock())
        if ReasonCode.LEDGER_UNAVAILABLE in decision.codes:
            raise Unavailable("ledger unavailable", decision)
        body: dict[str, Any] = {
            "number": decision.number,
            "attempts": [], "refusals": [], "optouts": [], "consents": [],
            "withdrawals": [], "slots": [], "contracts": [], "bloctel": [],
        }  # fmt: skip
        try:
            parsed = parse_number(number)
        except InvalidNumberError:
            parsed = None
        if parsed is not None:
            try:
                body.update(
                    number_history(
                        guard.engine.ledger, guard.engine.pid, parsed.key, decision.callee_tz
                    )
                )
            except self._errors as exc:
                raise Unavailable(
                    str(exc), self._unavailable({"number": number}, self.clock(), str(exc))
                ) from exc
        body["decision"] = decision.to_dict()
        return Answer(body, decision)


def _request_digest(args: dict[str, Any], body: bytes) -> str:
    """The same body means the same request: the parsed JSON, keys sorted, not the raw bytes
    (a retry may re-serialise the same object with other spacing or key order)."""
    canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _voided(ledger: Any, attempt_id: object) -> bool:
    """Whether a stored answer's attempt was voided and counts for nothing (no outcome)."""
    if not isinstance(attempt_id, int):
        return False
    return bool(ledger.attempt_voided(attempt_id))


def _stored_decision(body: dict[str, Any]) -> Decision | None:
    """Enough of a replayed decision for metrics and logs (allowed and the codes)."""
    from .._decision import Reason

    reasons = tuple(
        Reason(ReasonCode(r["code"]), r.get("message", ""), r.get("legal_basis", ""))
        for r in body.get("reasons", [])
    )
    return Decision(
        allowed=bool(body.get("allowed")), reasons=reasons, next_allowed_at=None,
        number=body.get("number"), regime=str(body.get("regime")),
        callee_tz=str(body.get("callee_tz")), at=now_utc(), attempt_id=body.get("attempt_id"),
    )  # fmt: skip


def _field(exc: BaseException, args: dict[str, Any], default: str = "body") -> str:
    """The body field a library error is about: the field it names
    (``ConfigurationError.field``), else guessed from its sentence."""
    named = getattr(exc, "field", None)
    if isinstance(named, str) and named:
        return named
    return _field_of(exc, args, default)


def _field_of(exc: BaseException, args: dict[str, Any], default: str = "body") -> str:
    """The body field a library ValueError is about (it names the parameter first)."""
    text = str(exc)
    for name in (
        "callee_tz", "department", "expires_at", "proof_sha256", "proof", "purpose", "sector",
        "off_hours", "channel", "source", "wording", "reason", "at",
    ):  # fmt: skip
        if text.startswith(name) or f" {name}" in text.split(":")[0]:
            return name
    if "zone" in text.lower():
        return "callee_tz"
    return default


__reexported__ = (CallguardError,)  # errors the app maps
