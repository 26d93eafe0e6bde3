"""Caller ID: a visible, valid number; from 2019-08-01 no 06/07 mobile on an automated dialer;
from 2023-01-01 an NPV number for automated dialers and no 06/07 mobile for any call centre.

Code de la consommation, art. L221-17 (hidden or invalid caller IDs); ARCEP décision
n° 2019-0954, in force 2019-08-01; ARCEP décision n° 2022-1583, in force 2023-01-01
(docs/rules.md §9).
"""

from __future__ import annotations

from datetime import datetime

from .._decision import Reason
from .._i18n import _
from .._numbers import LineKind, PhoneNumber
from .._types import ReasonCode
from .base import Context, Rule
from .regimes import CALLER_ID_MOBILE_BAN_FROM, CALLER_ID_PLAN_FROM

__all__ = ["CallerId"]


class CallerId(Rule):
    """Caller-ID rules (docs/rules.md §9).

    Hidden or invalid caller IDs are banned since L221-17; from 2019-08-01 ARCEP décision
    n° 2019-0954 forbids automated systems to present 06/07 mobiles; from 2023-01-01 ARCEP
    décision n° 2022-1583 requires them to present an NPV number and forbids 06/07 mobiles to
    every call centre.
    """

    needs_number = False

    def check(self, ctx: Context, t: datetime) -> list[Reason]:
        question = ctx.question
        if question.caller is None:
            problem = question.caller_problem or _("missing")
            return [
                Reason.of(
                    ReasonCode.CALLER_ID_INVALID,
                    _(
                        "The caller ID is {problem}: a call must present a valid, visible number.",
                        problem=problem,
                    ),
                    "Code de la consommation, art. L221-17",
                )
            ]
        caller = question.caller
        reasons: list[Reason] = []
        own = question.policy.own_caller_ids
        if own is not None and caller.e164 not in own:
            reasons.append(
                Reason.of(
                    ReasonCode.CALLER_ID_NOT_OWNED,
                    _(
                        "The caller ID {caller} is not one of the professional's own numbers.",
                        caller=caller.e164,
                    ),
                    "Policy.own_caller_ids (ARCEP décision n° 2022-1583)",
                )
            )
        day = ctx.day(t)
        if day < CALLER_ID_MOBILE_BAN_FROM:
            return reasons
        plan = day >= CALLER_ID_PLAN_FROM
        mobile = caller.french and caller.kind is LineKind.MOBILE
        if mobile and plan:
            reasons.append(
                Reason.of(
                    ReasonCode.CALLER_ID_MOBILE,
                    _(
                        "The caller ID {caller} is a mobile number, which call centres may not "
                        "present.",
                        caller=caller.e164,
                    ),
                    "ARCEP décision n° 2022-1583",
                )
            )
        elif mobile and question.policy.automated:
            reasons.append(
                Reason.of(
                    ReasonCode.CALLER_ID_MOBILE,
                    _(
                        "The caller ID {caller} is a mobile number, which an automated dialer may "
                        "not present.",
                        caller=caller.e164,
                    ),
                    "ARCEP décision n° 2019-0954",
                )
            )
        if not plan:
            return reasons
        if question.policy.automated and not _npv_acceptable(caller):
            reasons.append(
                Reason.of(
                    ReasonCode.CALLER_ID_NOT_NPV,
                    _(
                        "The caller ID {caller} is outside the verified ranges (NPV) an automated "
                        "dialer must present.",
                        caller=caller.e164,
                    ),
                    "ARCEP décision n° 2022-1583",
                )
            )
        return reasons


def _npv_acceptable(caller: PhoneNumber) -> bool:
    if not caller.french:
        return False
    if caller.npv:
        return True
    # Special numbers other than 089 and the 30/31 short numbers may be presented too (M).
    if caller.kind is LineKind.SPECIAL:
        return not caller.national.startswith("089")
    if caller.kind is LineKind.SHORT:
        return caller.national[:2] in ("30", "31")
    return False
