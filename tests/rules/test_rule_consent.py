"""Prior consent in the opt-in regime (docs/rules.md §6): rules/consent.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from callguard import Guard, ReasonCode
from conftest import MOBILE, NPV, consented, paris


def test_consent_needed_from_2026_08_11(guard: Guard) -> None:
    at = paris(2026, 11, 23, 11)
    assert guard.may_call(MOBILE, NPV, at).codes == {ReasonCode.NO_CONSENT}
    consented(guard, MOBILE, paris(2026, 11, 20))
    assert guard.may_call(MOBILE, NPV, at).allowed


def test_consent_recorded_tomorrow_does_not_open_today(guard: Guard) -> None:
    consented(guard, MOBILE, paris(2026, 11, 24, 12, 30))
    d = guard.may_call(MOBILE, NPV, paris(2026, 11, 23, 11))
    assert d.codes == {ReasonCode.NO_CONSENT}
    assert d.next_allowed_at == paris(2026, 11, 24, 12, 30)


@pytest.mark.parametrize(
    ("at", "ok"),
    [(paris(2027, 9, 1, 10, 59, 59), True), (paris(2027, 9, 1, 11, 0, 0), False)],
)
def test_consent_valid_one_year(guard: Guard, at: datetime, ok: bool) -> None:
    # Given Tuesday 2026-09-01 11:00; 365 days later is Wednesday 2027-09-01 11:00.
    consented(guard, MOBILE, paris(2026, 9, 1, 11))
    d = guard.may_call(MOBILE, NPV, at)
    assert d.allowed is ok
    if not ok:
        assert d.codes == {ReasonCode.CONSENT_EXPIRED}
        assert d.next_allowed_at is None


def test_consent_expires_at_and_withdrawal(guard: Guard) -> None:
    guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", expires_at=paris(2026, 10, 1))
    assert guard.may_call(MOBILE, NPV, paris(2026, 9, 30, 11)).allowed
    assert guard.may_call(MOBILE, NPV, paris(2026, 10, 1, 11)).codes == {ReasonCode.CONSENT_EXPIRED}
    other = "06 11 22 33 44"
    consented(guard, other, paris(2026, 9, 1))
    guard.withdraw_consent(other, paris(2026, 9, 15, 12))
    # A withdrawal stamped after now is already in force for a live decision (clock skew).
    early = guard.may_call(other, NPV, paris(2026, 9, 15, 11))
    assert early.codes == {ReasonCode.CONSENT_WITHDRAWN}
    d = guard.may_call(other, NPV, paris(2026, 9, 15, 14))
    assert d.codes == {ReasonCode.CONSENT_WITHDRAWN}
    assert d.next_allowed_at is None
    consented(guard, other, paris(2026, 10, 1))  # a new consent after the withdrawal counts
    assert guard.may_call(other, NPV, paris(2026, 10, 1, 11)).allowed


def test_consent_is_per_professional(make_guard: Callable[..., Guard]) -> None:
    consented(make_guard("a"), MOBILE, paris(2026, 9, 1))
    assert make_guard("a").may_call(MOBILE, NPV, paris(2026, 11, 23, 11)).allowed
    assert not make_guard("b").may_call(MOBILE, NPV, paris(2026, 11, 23, 11))


def test_consent_requires_proof(guard: Guard) -> None:
    with pytest.raises(ValueError, match="proof"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="  ")


def test_consent_evidence_is_checked_and_kept(guard: Guard) -> None:
    with pytest.raises(ValueError, match="proof_sha256"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", proof_sha256="abc")
    with pytest.raises(ValueError, match="proof_sha256"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", proof_sha256="g" * 64)
    with pytest.raises(ValueError, match="channel"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", channel=" ")
    with pytest.raises(ValueError, match="off_hours"):
        guard.record_consent(MOBILE, paris(2026, 9, 1), proof="p", off_hours="yes")  # type: ignore[arg-type]
    guard.record_consent(
        MOBILE, paris(2026, 9, 1), proof="form 12", off_hours=True, channel="web",
        source="vendor-7", wording="v3", proof_sha256="AB" * 32,
    )  # fmt: skip
    rows = guard.engine.ledger.service_rows(  # type: ignore[attr-defined]
        "SELECT off_hours, channel, source, wording, proof_sha256 FROM consents", ()
    )
    assert rows == [(1, "web", "vendor-7", "v3", "ab" * 32)]
