"""The public surface is a contract : lock it."""

from __future__ import annotations

import callguard
from callguard import Outcome, Purpose, ReasonCode, Sector

EXPECTED_ALL = {
    "CallguardError",
    "ConfigurationError",
    "Decision",
    "Guard",
    "ImportReport",
    "InvalidNumberError",
    "LedgerError",
    "Outcome",
    "Policy",
    "Purpose",
    "PurgeReport",
    "Reason",
    "ReasonCode",
    "Rejected",
    "Sector",
    "UnknownAttemptError",
    "VoidRefusedError",
    "__version__",
    "audit",
    "default_db_path",
    "may_call",
    "verify",
    "VerifyReport",
    "windows",
}


def test_all_is_locked() -> None:
    assert set(callguard.__all__) == EXPECTED_ALL
    for name in callguard.__all__:
        assert hasattr(callguard, name), name


def test_reason_codes_are_the_contract() -> None:
    assert [c.value for c in ReasonCode] == [
        "INVALID_NUMBER",
        "UNSUPPORTED_DESTINATION",
        "CALLER_ID_INVALID",
        "CALLER_ID_MOBILE",
        "CALLER_ID_NOT_NPV",
        "CALLER_ID_NOT_OWNED",
        "WEEKEND",
        "HOLIDAY",
        "OUTSIDE_HOURS",
        "FREQUENCY_CAP",
        "REFUSAL_COOLDOWN",
        "BLOCTEL_LISTED",
        "BLOCTEL_UNCHECKED",
        "NO_CONSENT",
        "CONSENT_EXPIRED",
        "CONSENT_WITHDRAWN",
        "OPTED_OUT",
        "SECTOR_BANNED",
        "NO_CONTRACT",
        "LEDGER_UNAVAILABLE",
    ]
    assert all(c.name == c.value and isinstance(c, str) for c in ReasonCode)


def test_enums_are_the_contract() -> None:
    assert [p.name for p in Purpose] == [
        "PROSPECTION",
        "CONTRACT",
        "PRESS",
        "NON_COMMERCIAL",
        "B2B",
    ]
    assert [s.name for s in Sector] == ["ENERGY_RENOVATION", "HOME_ADAPTATION", "CPF_TRAINING"]
    assert [o.name for o in Outcome] == [
        "ANSWERED",
        "NO_ANSWER",
        "BUSY",
        "VOICEMAIL",
        "FAILED",
        "REFUSED",
        "OBJECTED",
    ]


def test_exception_tree() -> None:
    for exc in (
        callguard.InvalidNumberError,
        callguard.ConfigurationError,
        callguard.LedgerError,
        callguard.UnknownAttemptError,
        callguard.VoidRefusedError,
    ):
        assert issubclass(exc, callguard.CallguardError)


def test_policy_defaults_are_the_contract() -> None:
    p = callguard.Policy()
    assert (
        p.automated,
        p.own_caller_ids,
        p.strict_local_holidays,
        p.cap_calls,
        p.cap_days,
        p.refusal_cooldown_days,
        p.consent_max_age_days,
        p.bloctel_max_age_days,
    ) == (True, None, True, 4, 30, 60, 365, 30)
