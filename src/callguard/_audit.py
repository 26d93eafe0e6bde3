"""Auditing a call log: did last quarter's calls respect the rules? (a DGCCRF control asks it).

:func:`audit` replays the calls in time order. Each call is judged as :meth:`Guard.may_call`
would have judged it at its own ``started_at`` — by the regime and rules in force that day —
against the ledger's consents, contracts, opt-outs, consent withdrawals and Bloctel checks, and
against the calls before it:

* **The log is the record of what was dialed.** Every call in the log counts as an attempt for
  the ones after it (same professional and number), whether or not it was itself a violation; an
  outcome ``REFUSED`` starts the refusal cooldown and ``OBJECTED`` puts the number on the
  professional's do-not-call list, as :meth:`Guard.record_call` does.
* **The ledger's own attempts count only before the log begins** (its earliest ``started_at``):
  they bring the history the cap window needs for the first calls of the log. From the log's
  start on, the log is the truth; counting the ledger's attempts there too would count each call
  twice whenever the dialer recorded it with ``attempt()`` or the log was loaded with
  ``import-calls`` — and a cap of four would flag the third call.
* **The ledger's refusals and opt-outs count for the calls strictly after them**, so refusals
  recorded by hand (``callguard refuse``) are seen, while a log already imported does not flag
  its own ``REFUSED``/``OBJECTED`` calls.

The ledger is never modified: a file ledger is opened read-only.

A row that cannot be judged (no number, no readable ``started_at``, an unknown outcome, purpose
or sector, a date before 2016-06-01) is rejected and reported with its line, never dropped.

The replay is set-based: the log is read into columns, each pair's calls are taken in time order
with two pointers and bisection, and ``judge`` — the only authority on the rules — is asked once
per distinct situation (see ``_replay``); the report is the one judging each call would give.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from operator import attrgetter
from zoneinfo import ZoneInfo

from ._calllog import CallColumns, CallLogFormat, CallSource, read_call_columns
from ._decision import Reason
from ._engine import (
    AnswerCache,
    _collector_paused,
    judge,
    lookback,
    read_question,
    read_terms,
)
from ._exceptions import ConfigurationError, InvalidNumberError, LedgerError
from ._facts import Facts
from ._guard import Guard
from ._numbers import PhoneNumber, consumer_line, parse_number
from ._policy import Policy
from ._question import Question
from ._reports import AuditReport, Rejected, Violation
from ._time import UTC
from ._types import Outcome, Purpose
from .rules import calendar as cal
from .storage import Ledger, default_db_path, is_server_url, open_ledger

__all__ = ["AuditReport", "Violation", "audit"]

_LINE = attrgetter("line")


def _open(db: str | os.PathLike[str]) -> Ledger:
    text = os.fspath(db)
    if text != ":memory:" and not is_server_url(text) and not os.path.isfile(text):
        raise LedgerError(
            f"no ledger at {text!r} (pass --db PATH, or ':memory:' to audit against no facts)"
        )
    return open_ledger(text, read_only=True)


def audit(
    calls: CallSource,
    *,
    db: str | os.PathLike[str] | Guard | None = None,
    professional: str | None = None,
    policy: Policy | None = None,
    log_format: CallLogFormat | None = None,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Replay a call log and report every call that broke the rules in force at its time.

    ``calls`` is a CSV path (columns ``number``, ``caller_id``, ``started_at`` and optionally
    ``outcome``, ``purpose``, ``sector``, ``professional``, ``campaign``; a naive time is
    Europe/Paris) or an iterable of mappings with those keys. ``db`` is the ledger: a path
    (default ``$CALLGUARD_DB``, else ``./callguard.db``; it must exist, and is opened read-only),
    ``":memory:"`` for none, or an open :class:`Guard`. ``professional`` applies to rows that do
    not name one (default: the guard's, else ``"default"``); ``policy`` defaults to the guard's,
    else ``Policy()``. ``log_format`` reads a dialer's own log (:func:`call_log_format`:
    VICIdial, Asterisk, or a column and outcome mapping); ``progress`` is called with about how
    many bytes of the file were read since its last call.

    See the module docstring for what counts as an earlier attempt. The ledger is not modified.
    """
    if policy is not None and not isinstance(policy, Policy):
        from ._i18n import _

        raise ConfigurationError(
            _("policy must be a callguard.Policy or None, not {value}", value=f"{policy!r:.60}"),
            field="policy",
            value=policy,
        )
    if isinstance(db, Guard):
        ledger, owned = db.engine.ledger, False
        default_professional = professional or db.professional
        policy = policy if policy is not None else db.policy
    else:
        if db is None:
            db = default_db_path()
        ledger, owned = _open(db), True
        default_professional = professional or "default"
    try:
        # The log's columns and the replay's state are kept to the end and make no cycle: the
        # cycle collector would walk them again and again for nothing (as in a scrub).
        with _collector_paused():
            log, rejected = read_call_columns(
                calls, professional=default_professional, log_format=log_format, progress=progress
            )
            report = _replay(policy or Policy(), ledger, log, rejected)
            report.skipped = len(log.skipped)
            del log  # let go while the collector is paused: it need not walk the columns
    except LedgerError as exc:
        raise LedgerError(f"cannot read the ledger: {exc}") from exc
    finally:
        if owned:
            ledger.close()
    report.violations.sort(key=_LINE)
    report.rejected.sort(key=_LINE)
    return report


# -- the replay, set-based -----------------------------------------------------------------------
#
# A verdict is a function of the call without its number (caller ID, purpose, sector, recorded
# message, zones and holiday areas; the number itself only when it is not a consumer line), of
# the instant, and of the facts. The replay computes, for every row, a key holding exactly what
# of these can change the verdict, and asks ``judge`` once per distinct key:
#
# * the instant as the rules read it: the consumer's local date in each zone (regime, caller-ID
#   dates, Bloctel age, the cap's calendar days, the cooldown's midnights) and the calendar's
#   reasons for its minute — for a whole UTC hour that the calendar leaves open in every zone
#   with one whole-hour offset, the dates alone; otherwise the UTC minute (both decide all of it);
# * every comparison of the instant with a fact's instant (given, expiry, withdrawal, slot,
#   contract, Bloctel check, opt-out end): how many of those instants are at or before it;
# * the facts themselves, reduced to those a decision at that instant reads: the attempts and the
#   latest refusal within the lookback a live decision reads (older ones can fill no cap window
#   and end no cooldown), and only when at least ``cap_calls`` attempts are in it do they enter
#   the key; the opt-outs in the order the OptOut rule reads them (the ledger's begun before the
#   call, then the log's first objection: a later one is never reached), each with whether it
#   still runs.
#
# Any row may be the one judged for its key. Rows the rulebook cannot judge are found by judging
# and taken out of the history, and the keys computed again (a call before 2016-06-01 is rare).


_MINUTE = 60_000_000
_HOUR = 3_600_000_000
_59_MINUTES, _ONE_HOUR = timedelta(minutes=59), timedelta(hours=1)
_ZONE_SHIFT = 41
"""An hour since 1970 lies within ±2**40 (a datetime's whole range does: a call before the rulebook
is read, to be rejected by judging): ``zone << _ZONE_SHIFT`` plus it keys one zone set's hour."""

# The hour shortcut needs the calling windows to open and close on the hour: a window edge
# inside an hour would make two minutes of it differ while both of its ends are open.
_WINDOWS_ON_THE_HOUR = all(
    edge.minute == 0 and edge.second == 0 and edge.microsecond == 0
    for window in cal.WINDOWS
    for edge in window
)

_Zones = tuple[tuple[ZoneInfo, ...], tuple[str, ...]]


@dataclass(slots=True)
class _Pair:
    """What the ledger says of one (professional, number), as the replay reads it."""

    before: list[int]
    """The ledger's attempts before the log's start, in order."""
    refusals: list[int]
    """The ledger's refusals, in order."""
    optouts: list[tuple[int, int | None]]
    """The ledger's opt-outs, in the ledger's order."""
    fixed: Facts
    """The facts the log does not change (consents, withdrawals, slots, contracts, Bloctel)."""
    fixed_id: int
    """``fixed``'s signature, interned: equal ids, equal facts."""
    edges: list[int]
    """Every instant of ``fixed`` a rule compares the call's instant with, sorted."""


def _edges(f: Facts, policy: Policy) -> list[int]:
    """The instants the rules compare a call's instant with, in facts the log does not change:
    two calls on either side of none of them read those facts alike (a consent's age limit
    included, which ``consent_valid`` adds to its date)."""
    max_age = policy.consent_max_age_days * 86_400_000_000
    found: set[int] = set()
    for given, expires in (*f.consents, *f.off_hours):
        found.update((given, given + max_age))
        if expires is not None:
            found.add(expires)
    found.update(f.withdrawals)
    for start, end in f.slots:
        found.update((start, end))
    for start, until in f.contracts:
        found.add(start)
        if until is not None:
            found.add(until)
    found.update(at for at, _ in f.bloctel)
    return sorted(found)


def _hour_dates(
    zones: tuple[ZoneInfo, ...], areas: tuple[str, ...], strict: bool, hour: int
) -> tuple[date, ...] | None:
    """The consumer's local date in each zone, when every minute of the UTC ``hour`` has them
    and the calendar gives no reason at any of them; else None (the minute decides).

    With one whole-hour offset in each zone through the hour, its minutes are those of one
    local hour of one date; the windows open and close on the hour (checked at import), so
    the calendar's answer at the first minute is its answer at every one. That answer is
    asked as a yes or no (:func:`_closed`): the reasons of a closed hour are never shown.
    """
    if not _WINDOWS_ON_THE_HOUR or not zones or hour < 0:
        return None  # (an hour before 1970 is a call before the rulebook: its minute decides)
    first = datetime.fromtimestamp(hour * 3600, UTC)  # exact: whole seconds
    last = first + _59_MINUTES
    starts = []
    for tz in zones:
        start, end = first.astimezone(tz), last.astimezone(tz)
        offset = start.utcoffset()
        if offset is None or offset != end.utcoffset() or offset % _ONE_HOUR:
            return None
        starts.append(start)
    if _closed(starts, areas, strict):
        return None  # a closed hour (most of those the log has): its minutes decide
    return tuple(start.date() for start in starts)


def _closed(local: list[datetime], areas: tuple[str, ...], strict: bool) -> bool:
    """Whether the calendar gives a reason for a call at the instant whose local time in each
    of the consumer's zones is ``local``: ``bool(rules.hours._calendar(...))`` at its minute,
    without writing the reasons."""
    return any(
        cal.is_weekend(moment.date())
        or not cal.in_hours(moment.time())
        or cal.holiday_name(moment.date(), areas, strict) is not None
        for moment in local
    )


@dataclass(slots=True)
class _Number:
    """One distinct (number as written, département) of the log."""

    key: int | None
    """The ledger key of a consumer line, None for a number the rules refuse as such."""
    shown: str
    """What a violation shows: E.164 when valid, else as written."""
    place: object
    """What of the number the verdict depends on: the zones and areas of a consumer line, the
    number as written otherwise."""
    zones: _Zones
    zone_id: int
    """``zones`` interned."""


def _number(raw: str, department: str | None, zone_ids: dict[_Zones, int]) -> _Number:
    """A number as ``read_question`` reads it (parsed, its zones and areas), once per distinct
    (number, département) of the log rather than once per call."""
    line = consumer_line(raw)
    if line is not None:
        # A metropolitan consumer line in a common form: what parse_number would give of it,
        # without building a PhoneNumber; a known département decides its zones without it.
        key, e164, names, territories, alsace = line
        zones = (
            cal.line_zones(names, territories, alsace)
            if department is None
            else cal.consumer_zones(None, None, department)
        )
        zone_id = zone_ids.setdefault(zones, len(zone_ids))
        return _Number(key, e164, zones, zones, zone_id)
    parsed: PhoneNumber | None
    try:
        parsed = parse_number(raw)
    except InvalidNumberError:
        parsed = None
    zones = cal.consumer_zones(parsed, None, department)
    zone_id = zone_ids.setdefault(zones, len(zone_ids))
    if parsed is not None and parsed.consumer_line:
        return _Number(parsed.key, parsed.e164, zones, zones, zone_id)
    shown = raw if parsed is None else parsed.e164
    return _Number(None, shown, (raw, department), zones, zone_id)


def _replay(
    policy: Policy, ledger: Ledger, log: CallColumns, rejected: list[Rejected]
) -> AuditReport:
    """The report of the log's calls (see the module docstring), each distinct situation judged
    once."""
    report = AuditReport(rejected=rejected)
    n = len(log)
    if not n:
        return report
    when, extras = log.when, log.extras
    tus = [w[1] for w in when]
    start_us = min(tus)
    since_us = start_us - lookback(policy) // timedelta(microseconds=1)

    # One pass over the rows: the numbers read once per distinct (number, département), each
    # row's situation, (professional, number) pair, and instant as the rules read it — the
    # consumer's dates when its UTC hour is open in all of its zones, else its minute.
    strict = policy.strict_local_holidays
    numbers: dict[tuple[str, str | None], _Number] = {}
    zone_ids: dict[_Zones, int] = {}
    kinds: dict[int, int] = {}
    kind_ids: dict[tuple[object, ...], int] = {}
    seen: dict[tuple[str, str, int, str], tuple[_Number, int, int, int]] = {}
    situations: dict[tuple[object, ...], int] = {}
    pair_ids: dict[tuple[str, int], int] = {}
    hours: dict[int, tuple[date, ...] | None] = {}
    places: list[_Number] = []
    situation: list[int] = []
    pair: list[int] = []
    instant: list[object] = []
    add_place, add_situation, add_pair, add_instant = (
        places.append, situation.append, pair.append, instant.append,
    )  # fmt: skip
    columns = zip(log.number, log.caller_id, extras, log.professional, tus, strict=True)
    for raw, caller, extra, who, tu in columns:
        # The reader shares one extras tuple between equal rows: its purpose, sector, recorded
        # message and département are looked at once per tuple, not hashed per row.
        kind = kinds.get(id(extra))
        if kind is None:
            profile = (extra[1], extra[2], extra[4], extra[3])
            kind = kinds[id(extra)] = kind_ids.setdefault(profile, len(kind_ids))
        row = (raw, caller, kind, who)
        known = seen.get(row)
        if known is None:
            place = numbers.get((raw, extra[3]))
            if place is None:
                place = numbers[(raw, extra[3])] = _number(raw, extra[3], zone_ids)
            found = situations.setdefault((caller, kind, place.place), len(situations))
            p = -1 if place.key is None else pair_ids.setdefault((who, place.key), len(pair_ids))
            # One int keys a zone set's hour (see _ZONE_SHIFT).
            known = seen[row] = (place, found, p, place.zone_id << _ZONE_SHIFT)
        place, found, p, zone_hours = known
        add_place(place)
        add_situation(found)
        add_pair(p)
        hour = zone_hours + tu // _HOUR
        dates = hours.get(hour, False)
        if dates is False:
            dates = hours[hour] = _hour_dates(*place.zones, strict, tu // _HOUR)
        add_instant(tu // _MINUTE if dates is None else dates)
    pairs = _pairs(ledger, policy, pair_ids, start_us, since_us)

    excluded: dict[int, str] = {}
    while True:
        facts_key = _sweep(policy, log, tus, pair, pairs, excluded)
        verdicts, unjudged = _judge_all(policy, log, situation, instant, facts_key, pairs, pair)
        more = {i: str(verdicts[i]) for i in unjudged if i not in excluded}
        if not more:
            break
        # A call the rulebook cannot judge (before its first date) is rejected and, as in a
        # replay call by call, neither counts as an attempt nor records its outcome.
        excluded.update(more)
    calls = 0
    violations, refused = report.violations, report.rejected
    for line, (started, _), place, caller, who, verdict in zip(
        log.line, when, places, log.caller_id, log.professional, verdicts, strict=True
    ):
        if isinstance(verdict, str):
            refused.append(Rejected(line, started.isoformat(), verdict))
            continue
        calls += 1
        if verdict:
            violations.append(_violation(line, place.shown, started, caller, who, verdict))
    report.calls += calls
    return report


# Most calls of a log that needs an audit may be violations: each is built through its slots'
# descriptors, as the engine builds a Decision, in a third of a frozen dataclass's __init__.
_VIOLATION_FIELDS = ("line", "number", "started_at", "caller_id", "professional", "reasons")
if tuple(f.name for f in fields(Violation)) != _VIOLATION_FIELDS:  # pragma: no cover
    raise ImportError("Violation's fields changed: update _audit._violation to set every one")
_set_line, _set_number, _set_started, _set_caller, _set_who, _set_reasons = (
    Violation.__dict__[name].__set__ for name in _VIOLATION_FIELDS
)
_new = object.__new__


def _violation(
    line: int,
    number: str,
    started_at: datetime,
    caller_id: str,
    professional: str,
    reasons: tuple[Reason, ...],
) -> Violation:
    """``Violation(line, number, started_at, caller_id, professional, reasons)``."""
    made: Violation = _new(Violation)
    _set_line(made, line)
    _set_number(made, number)
    _set_started(made, started_at)
    _set_caller(made, caller_id)
    _set_who(made, professional)
    _set_reasons(made, reasons)
    return made


_NO_FACTS = Facts()
"""The facts of a number the ledger knows nothing about (never modified)."""

_READ_CHUNK = 4096
"""How many numbers one ``facts_many`` reads: the facts of a chunk are filed into pairs (most
numbers sharing one) before the next is read, so a large log never holds a :class:`Facts` per
number at once."""


def _pairs(
    ledger: Ledger,
    policy: Policy,
    pair_ids: dict[tuple[str, int], int],
    start_us: int,
    since_us: int,
) -> list[_Pair]:
    """Each pair's ledger facts, read set-based (``facts_many`` per professional, over its keys
    in order, ``_READ_CHUNK`` at a time)."""
    wanted: dict[str, list[int]] = {}
    for who, key in pair_ids:
        wanted.setdefault(who, []).append(key)
    pairs: list[_Pair | None] = [None] * len(pair_ids)
    fixed_ids: dict[tuple[object, ...], _Pair] = {}
    for who, keys in wanted.items():
        pid = ledger.find_professional(who)
        keys.sort()
        for lo in range(0, len(keys), _READ_CHUNK):
            chunk = keys[lo : lo + _READ_CHUNK]
            # An unknown professional has no facts of its own; Bloctel checks are everyone's.
            # Only the numbers with facts come back (most of a log's are unknown to the
            # ledger); the others share the empty facts.
            known = ledger.facts_many(
                -1 if pid is None else pid, chunk, start_us, since_us, known_only=True
            )
            _file(policy, who, chunk, known, pair_ids, pairs, fixed_ids, start_us)
    found = [p for p in pairs if p is not None]
    assert len(found) == len(pairs), "facts_many answers for every number"
    return found


def _file(
    policy: Policy,
    who: str,
    keys: list[int],
    known: dict[int, Facts],
    pair_ids: dict[tuple[str, int], int],
    pairs: list[_Pair | None],
    fixed_ids: dict[tuple[object, ...], _Pair],
    start_us: int,
) -> None:
    """The pairs of ``who``'s ``keys`` from their facts: the facts the log does not change
    interned (numbers with equal ones share them), the rest each pair's own."""
    for key in keys:
        f = known.get(key, _NO_FACTS)
        signature = (
            tuple(f.consents), tuple(f.off_hours), tuple(f.withdrawals), tuple(f.slots),
            tuple(f.contracts), tuple(f.bloctel),
        )  # fmt: skip
        model = fixed_ids.get(signature)
        if model is None:
            fixed = Facts(
                consents=f.consents,
                off_hours=f.off_hours,
                withdrawals=f.withdrawals,
                slots=f.slots,
                contracts=f.contracts,
                bloctel=f.bloctel,
            )
            model = fixed_ids[signature] = _Pair(
                [], [], [], fixed, len(fixed_ids), _edges(fixed, policy)
            )
        attempts, refusals, optouts = f.attempts, f.refusals, f.optouts
        pairs[pair_ids[(who, key)]] = (
            _Pair(
                sorted(a for a in attempts if a < start_us) if attempts else [],
                sorted(refusals) if refusals else [],
                list(optouts) if optouts else [],
                model.fixed,
                model.fixed_id,
                model.edges,
            )
            if attempts or refusals or optouts
            else model
        )


# What a call's facts add to its key: (fixed facts' id, how many of their instants are at or
# before the call, the attempts in the lookback when they could fill the cap, the latest
# refusal in it, the opt-outs with whether each is still running).
_Optouts = tuple[tuple[tuple[int, int | None], ...], tuple[bool, ...]] | None
_FactsKey = tuple[int, int, tuple[int, ...], int | None, _Optouts]


def _sweep(
    policy: Policy,
    log: CallColumns,
    tus: list[int],
    pair: list[int],
    pairs: list[_Pair],
    excluded: dict[int, str],
) -> list[_FactsKey | None]:
    """Every row's facts key: the rows of each pair in time order (then line), the attempts'
    window kept with two pointers, the refusals and opt-outs found by bisection."""
    keys: list[_FactsKey | None] = [None] * len(tus)
    span = lookback(policy) // timedelta(microseconds=1)
    cap = policy.cap_calls
    extras = log.extras
    # The rows by pair, time and line: three stable sorts on the columns themselves (no
    # tuple per row); the first two find the log nearly in order already.
    order = sorted(range(len(tus)), key=log.line.__getitem__)
    order.sort(key=tus.__getitem__)
    order.sort(key=pair.__getitem__)
    current = -1
    history: list[int] = []
    low = 0
    log_refusal: int | None = None
    log_optout: tuple[int, int | None] | None = None
    state = pairs[0] if pairs else None
    for i in order:
        p = pair[i]
        if p < 0:
            continue
        tu = tus[i]
        if p != current:
            current, state = p, pairs[p]
            history, low = list(state.before), 0
            log_refusal, log_optout = None, None
        assert state is not None
        floor = tu - span
        while low < len(history) and history[low] < floor:
            low += 1
        attempts = tuple(history[low:]) if len(history) - low >= cap else ()
        latest = log_refusal
        refusals = state.refusals
        if refusals:
            j = bisect_left(refusals, tu)
            if j and (latest is None or refusals[j - 1] > latest):
                latest = refusals[j - 1]
        if latest is not None and latest < floor:
            latest = None
        optouts: _Optouts = None
        if state.optouts or log_optout is not None:
            listed = [o for o in state.optouts if o[0] < tu]
            if log_optout is not None:
                listed.append(log_optout)  # a later objection is never reached
            optouts = (tuple(listed), tuple(e is None or tu < e for _, e in listed))
        edges = state.edges
        keys[i] = (
            state.fixed_id, bisect_right(edges, tu) if edges else 0, attempts, latest, optouts,
        )  # fmt: skip
        if i in excluded:
            continue
        history.append(tu)
        outcome = extras[i][0]
        if outcome is Outcome.REFUSED:
            log_refusal = tu
        elif outcome is Outcome.OBJECTED and log_optout is None:
            log_optout = (tu, None)
    return keys


def _judge_all(
    policy: Policy,
    log: CallColumns,
    situation: list[int],
    instant: list[object],
    facts_key: list[_FactsKey | None],
    pairs: list[_Pair],
    pair: list[int],
) -> tuple[list[tuple[Reason, ...] | str], list[int]]:
    """Each row's reasons (or why the rulebook cannot judge it), ``judge`` asked once per
    distinct (situation, instant as read, facts key); and the rows it could not judge."""
    questions: dict[int, Question] = {}
    answers = AnswerCache(limit=1 << 62)  # every distinct key of one log: the log bounds them
    unjudgeable: dict[tuple[object, ...], str] = {}
    out: list[tuple[Reason, ...] | str] = []
    unjudged: list[int] = []
    none = Facts()
    for i, key in enumerate(zip(situation, instant, facts_key, strict=True)):
        answer = answers.get(key)
        if answer is not None:
            out.append(answer.reasons)
            continue
        why = unjudgeable.get(key)
        if why is None:
            s, _, fk = key
            started, tu = log.when[i]
            t = started.astimezone(UTC)
            question = questions.get(s)
            if question is None:
                extra = log.extras[i]
                terms = read_terms(
                    log.caller_id[i], extra[1] or Purpose.PROSPECTION, extra[2], extra[4], policy
                )
                question = questions[s] = read_question(log.number[i], terms, t, None, extra[3])
            facts = none if fk is None else _facts(pairs[pair[i]], fk)
            try:
                # The question at the row's instant: ``question._replace(at=t, at_us=tu)``
                # without its keyword machinery.
                asked = _make_question((*question[:_AT], t, tu, *question[_AT + 2 :]))
                answer = answers.keep(key, judge(asked, facts, search=False, live=False))
            except ValueError as exc:  # a date outside the rulebook's range
                why = unjudgeable[key] = str(exc)
            else:
                out.append(answer.reasons)
                continue
        unjudged.append(i)
        out.append(why)
    return out, unjudged


_AT = Question._fields.index("at")
if Question._fields[_AT : _AT + 2] != ("at", "at_us"):  # pragma: no cover - a field moved
    raise ImportError("Question's fields changed: update _audit's question at an instant")
_make_question = Question._make


def _facts(state: _Pair, key: _FactsKey) -> Facts:
    """The facts a row's key stands for (what the per-call replay would pass, reduced to what
    the rules read at the row's instant)."""
    fixed = state.fixed
    _, _, attempts, latest, optouts = key
    if not attempts and latest is None and optouts is None:
        return fixed  # the facts the log does not change, and nothing else (judge only reads)
    return Facts(
        attempts=list(attempts),
        refusals=[] if latest is None else [latest],
        optouts=[] if optouts is None else list(optouts[0]),
        consents=fixed.consents,
        off_hours=fixed.off_hours,
        withdrawals=fixed.withdrawals,
        slots=fixed.slots,
        contracts=fixed.contracts,
        bloctel=fixed.bloctel,
    )
