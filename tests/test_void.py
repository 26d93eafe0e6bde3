"""Voided attempts: an attempt the dialer never placed stays in the ledger with its reason, and
the D223-9 cap no longer counts it; too late, or once an outcome is reported, it is a call."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import callguard._guard as guard_module
from callguard import (
    CallguardError,
    Guard,
    Outcome,
    ReasonCode,
    UnknownAttemptError,
    VoidRefusedError,
)
from callguard._numbers import parse_number
from conftest import NPV, consented, paris, voided_attempt

NUMBER = "06 12 34 56 78"
T = paris(2026, 11, 23, 10, 30)  # a Monday, in hours, consent regime


def _attempts(guard: Guard, n: int, at: datetime = T) -> list[int]:
    ids = []
    for i in range(n):
        d = guard.attempt(NUMBER, NPV, at + timedelta(minutes=i))
        assert d.allowed and d.attempt_id is not None, d
        ids.append(d.attempt_id)
    return ids


@pytest.fixture
def ready(guard: Guard) -> Guard:
    consented(guard, NUMBER, paris(2026, 9, 1))
    return guard


@pytest.mark.parametrize(
    ("after", "voided"),
    [
        (timedelta(0), True),
        (timedelta(minutes=4, seconds=59), True),
        (timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
        (timedelta(hours=2), False),
    ],
)
def test_a_void_is_accepted_within_five_minutes_of_the_attempt(
    ready: Guard, after: timedelta, voided: bool
) -> None:
    (first,) = _attempts(ready, 1)
    if voided:
        ready.void_attempt(first, "the PBX hung up before the answer", T + after)
    else:
        with pytest.raises(VoidRefusedError) as caught:
            ready.void_attempt(first, "the PBX hung up before the answer", T + after)
        assert caught.value.attempt_id == first
        assert f"attempt {first} cannot be voided" in str(caught.value)
        assert "5 minutes" in str(caught.value)
    # Four more attempts: the cap lets exactly four count.
    later = T + timedelta(hours=4)  # 14:30, after the lunch break
    allowed = [ready.attempt(NUMBER, NPV, later + timedelta(minutes=i)).allowed for i in range(4)]
    assert allowed == [True, True, True, voided]


def test_a_voided_attempt_frees_its_place_under_the_cap(ready: Guard) -> None:
    ids = _attempts(ready, 4)
    capped = ready.may_call(NUMBER, NPV, T + timedelta(minutes=10))
    assert capped.codes == {ReasonCode.FREQUENCY_CAP}
    ready.void_attempt(ids[3], "never dialled: the trunk was down", T + timedelta(minutes=4))
    assert ready.may_call(NUMBER, NPV, T + timedelta(minutes=10)).allowed
    assert ready.scrub([NUMBER], NPV, T + timedelta(minutes=10))[0].allowed
    again = ready.attempt(NUMBER, NPV, T + timedelta(minutes=11))
    assert again.allowed
    assert ready.attempt(NUMBER, NPV, T + timedelta(minutes=12)).codes == {ReasonCode.FREQUENCY_CAP}


def test_an_outcome_refuses_the_void_and_a_later_outcome_counts_it_again(ready: Guard) -> None:
    a, _, _, d = _attempts(ready, 4)
    ready.record_outcome(a, Outcome.NO_ANSWER, T + timedelta(minutes=1))
    with pytest.raises(VoidRefusedError, match=rf"attempt {a} cannot be voided: an outcome"):
        ready.void_attempt(a, "typo", T + timedelta(minutes=2))
    ready.void_attempt(d, "never placed", T + timedelta(minutes=4))
    assert ready.may_call(NUMBER, NPV, T + timedelta(minutes=10)).allowed
    # The PBX reports the call after all: it was placed, and counts again.
    ready.record_outcome(d, Outcome.ANSWERED, T + timedelta(minutes=5))
    assert ready.may_call(NUMBER, NPV, T + timedelta(minutes=10)).codes == {
        ReasonCode.FREQUENCY_CAP
    }
    # Voiding it once more changes nothing (its first void stands), and it still counts.
    ready.void_attempt(d, "again", T + timedelta(minutes=5))
    assert not ready.may_call(NUMBER, NPV, T + timedelta(minutes=10)).allowed


def test_unknown_and_other_professionals_attempts_are_unknown(
    make_guard: Callable[..., Guard],
) -> None:
    acme, other = make_guard("acme"), make_guard("other")
    consented(acme, NUMBER, paris(2026, 9, 1))
    (mine,) = _attempts(acme, 1)
    for guard, attempt_id in ((other, mine), (acme, mine + 1000)):
        with pytest.raises(UnknownAttemptError, match=f"no attempt {attempt_id} for professional"):
            guard.void_attempt(attempt_id, "never placed", T)
    assert issubclass(UnknownAttemptError, (CallguardError, ValueError))
    for bad_reason in ("", "  ", None, 3):
        with pytest.raises(ValueError, match="reason must say why"):
            acme.void_attempt(mine, bad_reason, T)  # type: ignore[arg-type]
    for bad_id in (0, -1, True, "1", 2**70):
        with pytest.raises(ValueError, match="attempt_id"):
            acme.void_attempt(bad_id, "x", T)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"at=.*before attempt"):
        acme.void_attempt(mine, "x", T - timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        acme.void_attempt(mine, "x", datetime(2026, 11, 23, 10, 31))
    assert acme.may_call(NUMBER, NPV, T).allowed  # one attempt, still counted


def test_a_void_stamped_in_the_past_cannot_reach_a_call_recorded_long_ago(
    ready: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = _attempts(ready, 1)
    real = guard_module.now_utc
    monkeypatch.setattr(guard_module, "now_utc", lambda: real() + timedelta(minutes=11))
    with pytest.raises(VoidRefusedError, match=f"attempt {first} cannot be voided"):
        ready.void_attempt(first, "backdated", T + timedelta(minutes=1))


def test_voids_are_kept_journaled_and_shown(ready: Guard) -> None:
    from callguard._evidence import number_history

    a, b = _attempts(ready, 2)
    ready.void_attempt(b, "AGI: the channel hung up", T + timedelta(minutes=2))
    engine = ready.engine
    key = parse_number(NUMBER).key
    history = number_history(engine.ledger, engine.pid, key, "Europe/Paris")
    shown = {h["attempt_id"]: h for h in history["attempts"]}
    assert shown[a]["voided_at"] is None and shown[a]["void_reason"] is None
    assert shown[b]["void_reason"] == "AGI: the channel hung up"
    assert shown[b]["voided_at"] == (T + timedelta(minutes=2)).isoformat()
    bodies = engine.ledger.service_rows(
        "SELECT op, body FROM journal WHERE tbl = 'attempts' AND row_id = ? ORDER BY id", (b,)
    )
    assert [op for op, _ in bodies] == ["insert", "update"]
    assert "AGI: the channel hung up" in json.dumps(json.loads(str(bodies[1][1])))
    assert ready.verify().ok


def test_a_call_log_line_for_a_voided_attempt_is_imported(ready: Guard) -> None:
    from callguard._bulk import import_calls

    (a,) = _attempts(ready, 1)
    ready.void_attempt(a, "never placed", T + timedelta(minutes=1))
    log = [{"number": NUMBER, "caller_id": NPV, "started_at": T, "outcome": "ANSWERED"}]
    report = import_calls(ready, log)
    assert report.duplicates == 0  # the log proves the call: it counts


def test_every_path_skips_voided_attempts_and_counts_answered_ones(ready: Guard) -> None:
    """may_call (lean and general), scrub, attempt and the audit replay read the same facts."""
    import callguard
    from callguard import _engine

    other = "06 12 34 56 79"
    consented(ready, other, paris(2026, 9, 1))
    day = T - timedelta(days=3)
    for i in range(3):
        for number in (NUMBER, other):
            ready.record_call(number, day + timedelta(minutes=i), caller_id=NPV)
    voided_attempt(ready, NUMBER, day + timedelta(minutes=10))
    voided_attempt(ready, NUMBER, day + timedelta(minutes=20))
    voided_attempt(ready, other, day + timedelta(minutes=10), answered=True)
    expected = [True, False]
    assert [ready.may_call(n, NPV, T).allowed for n in (NUMBER, other)] == expected
    assert [
        ready.may_call(n, NPV, T).allowed for n in (NUMBER, other)
    ] == expected  # a shared answer
    assert [d.allowed for d in ready.scrub([NUMBER, other] * 3, NPV, T)] == expected * 3
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_engine.Engine, "shared", lambda *args: None)
        assert [ready.may_call(n, NPV, T).allowed for n in (NUMBER, other)] == expected
    log = [{"number": n, "caller_id": NPV, "started_at": T.isoformat(), "outcome": "NO_ANSWER"}
           for n in (NUMBER, other)]  # fmt: skip
    report = callguard.audit(log, db=ready)
    assert [(v.line, v.codes) for v in report.violations] == [(2, ("FREQUENCY_CAP",))]
    assert [ready.attempt(n, NPV, T).allowed for n in (NUMBER, other)] == expected


def test_the_control_pack_lists_voids_apart_from_calls(tmp_path: Path) -> None:
    """A voided attempt is no call: not in calls.csv nor in the audit's cap, but in voids.csv."""
    pytest.importorskip("matplotlib", reason='the report needs matplotlib: pip install ".[report]"')
    from callguard._control import control_pack

    with Guard(str(tmp_path / "ledger.db"), professional="acme") as guard:
        consented(guard, NUMBER, paris(2026, 9, 1))
        ids = _attempts(guard, 4)
        guard.void_attempt(ids[0], "AGI: the channel hung up", T + timedelta(minutes=1))
        guard.record_call(NUMBER, T + timedelta(hours=1), caller_id=NPV)  # the 4th call, lawful
        pack = control_pack(guard, tmp_path / "pack", start=T.date(), end=T.date())
    assert pack.calls == 4 and pack.violations == 0
    calls = json.loads((tmp_path / "pack" / "calls.json").read_text(encoding="utf-8"))
    assert ids[0] not in {c["attempt_id"] for c in calls}
    voids = json.loads((tmp_path / "pack" / "voids.json").read_text(encoding="utf-8"))
    assert [(v["id"], v["void_reason"]) for v in voids] == [(ids[0], "AGI: the channel hung up")]
    assert voids[0]["voided_at"] == (T + timedelta(minutes=1)).isoformat()
    assert "voids.csv" in pack.files


def test_the_void_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from callguard.cli import cli

    db = str(tmp_path / "ledger.db")
    with Guard(db, professional="acme") as guard:
        consented(guard, NUMBER, paris(2026, 9, 1))
        a, b = _attempts(guard, 2)

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, [*args, "--db", db, "--professional", "acme"])

    ok = run("void", str(a), "--reason", "trunk down", "--at", "2026-11-23T10:33")
    assert ok.exit_code == 0 and ok.output == f"voided attempt {a}\n", ok.output
    late = run("void", str(b), "--reason", "x", "--at", "2026-11-23T10:37:01", "--json")
    assert late.exit_code == 2 and f"attempt {b} cannot be voided" in late.output
    assert run("void", "999", "--reason", "x").exit_code == 2
    assert run("void", str(b)).exit_code == 2  # --reason is required
    with Guard(db, professional="acme") as guard:
        assert guard.may_call(NUMBER, NPV, T + timedelta(minutes=10)).allowed
