"""One error per mistake: every bad setting or argument is a ConfigurationError naming the field
and the values allowed, wherever it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import callguard
from callguard import CallguardError, ConfigurationError, Guard, Policy

PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2026, 11, 23, 11, tzinfo=PARIS)
NPV = "09 48 00 00 01"


def test_the_tree_is_as_the_docstring_draws_it() -> None:
    from callguard import _exceptions

    for name in ("InvalidNumberError", "ConfigurationError", "LedgerError"):
        assert issubclass(getattr(callguard, name), CallguardError)
        assert name in (_exceptions.__doc__ or "")
    assert issubclass(ConfigurationError, ValueError)


@pytest.mark.parametrize(
    ("fields", "named", "allowed"),
    [
        ({"cap_calls": 9}, "cap_calls=9", "from 1 to 4"),
        ({"cap_days": 7}, "cap_days=7", "from 30 to 3660"),
        ({"refusal_cooldown_days": 10}, "refusal_cooldown_days=10", "from 60 to 3660"),
        ({"automated": "maybe"}, "automated='maybe'", "True or False"),
        ({"own_caller_ids": 5}, "own_caller_ids=5", "a list of phone numbers"),
        ({"capp_calls": 3}, "capp_calls=3", "cap_calls"),
    ],
)
def test_a_bad_policy_field_is_a_configuration_error(
    fields: dict[str, object], named: str, allowed: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Policy(**fields)  # type: ignore[arg-type]
    assert named in str(info.value) and allowed in str(info.value)


def _guard(tmp_path: Path) -> Guard:
    return Guard(tmp_path / "errors.db")


CASES: list[tuple[str, Callable[[Path], object], str]] = [
    ("Guard policy", lambda p: Guard(p / "a.db", policy="strict"), "policy"),  # type: ignore[arg-type]
    ("Guard professional", lambda p: Guard(p / "a.db", professional=" "), "professional"),
    ("Guard busy_timeout", lambda p: Guard(p / "a.db", busy_timeout=-1), "busy_timeout"),
    ("audit policy", lambda p: callguard.audit([], db=":memory:", policy={}), "policy"),  # type: ignore[arg-type]
    (
        "windows policy",
        lambda p: callguard.windows("06 12 34 56 78", AT, AT + timedelta(days=1), policy=1),  # type: ignore[arg-type]
        "policy",
    ),
    (
        "purpose",
        lambda p: _guard(p).may_call("06 12 34 56 78", NPV, AT, purpose="selling"),
        "PROSPECTION",
    ),
    ("sector", lambda p: _guard(p).may_call("06 12 34 56 78", NPV, AT, sector="x"), "Sector"),
    (
        "callee_tz",
        lambda p: _guard(p).may_call("06 12 34 56 78", NPV, AT, callee_tz="Mars/Olympus"),
        "IANA",
    ),
    ("outcome", lambda p: _guard(p).record_call("06 12 34 56 78", AT, outcome="meh"), "Outcome"),
]


@pytest.mark.parametrize(("what", "mistake", "named"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_argument_is_a_configuration_error(
    tmp_path: Path, what: str, mistake: Callable[[Path], object], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        mistake(tmp_path)
