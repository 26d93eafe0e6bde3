"""pytest plugin registered through the ``pytest11`` entry point (fixtures for platforms' tests).

Installing callguard gives every pytest suite these fixtures, with no import:

``callguard_clock``
    a :class:`callguard.testing.Clock` at Monday 2026-11-23 10:00 Europe/Paris;
``callguard_policy``
    the :class:`callguard.Policy` the guard uses (override the fixture to change it);
``callguard_guard``
    a :class:`callguard.Guard` on a fresh in-memory ledger that reads ``callguard_clock``
    when ``now`` is omitted;
``callguard_history``
    a :class:`callguard.testing.History` writing into ``callguard_guard``, dating omitted
    instants with ``callguard_clock``.

Each test gets its own: a fresh ledger, a clock back at its start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callguard import Guard, Policy
from callguard.testing import Clock, History, fresh_guard

__all__ = ["callguard_clock", "callguard_guard", "callguard_history", "callguard_policy"]


@pytest.fixture
def callguard_clock() -> Clock:
    """A test clock at Monday 2026-11-23 10:00 Europe/Paris; ``advance()``, ``move_to()`` and
    ``to_next_window()`` move it. ``callguard_guard`` reads it when ``now`` is omitted."""
    return Clock()


@pytest.fixture
def callguard_policy() -> Policy:
    """The ``Policy`` of ``callguard_guard`` (the law's defaults); override to change it."""
    return Policy()


@pytest.fixture
def callguard_guard(callguard_clock: Clock, callguard_policy: Policy) -> Iterator[Guard]:
    """A ``Guard`` on a fresh in-memory ledger, reading ``callguard_clock`` for ``now``."""
    with fresh_guard(callguard_clock, policy=callguard_policy) as guard:
        yield guard


@pytest.fixture
def callguard_history(callguard_guard: Guard, callguard_clock: Clock) -> History:
    """Builders stating what ``callguard_guard``'s ledger holds: ``calls``, ``refused``,
    ``consented``, ``bloctel``, ``reachable``… (omitted dates are ``callguard_clock.now()``)."""
    return History(callguard_guard, callguard_clock)
