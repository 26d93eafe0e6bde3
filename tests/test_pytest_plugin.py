"""The pytest plugin: installing callguard gives any suite its fixtures, with no import."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INI = """
[pytest]
filterwarnings = error
addopts = -p no:hypothesispytest -p no:cacheprovider
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throwaway project whose warnings are errors, as in a careful platform's suite."""
    pytester.makeini(INI)
    return pytester


def test_plugin_is_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="pytest11") if ep.name == "callguard"]
    assert [ep.value for ep in found] == ["callguard.pytest_plugin"]


def test_fixtures_need_no_import(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_fixtures(callguard_guard, callguard_clock, callguard_history, callguard_policy):
            callguard_history.reachable("06 12 34 56 78")
            decision = callguard_guard.may_call("06 12 34 56 78", "09 48 12 34 56")
            assert decision.allowed, decision.reasons
            assert decision.at == callguard_clock.now()
            assert callguard_guard.policy is callguard_policy
            assert callguard_guard.path == ":memory:"
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_the_guard_reads_the_clock(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from callguard import ReasonCode

        def test_clock(callguard_guard, callguard_clock, callguard_history):
            number = "06 12 34 56 78"
            callguard_history.reachable(number)
            callguard_clock.advance(hours=3)  # 13:00
            decision = callguard_guard.may_call(number, "09 48 12 34 56")
            assert decision.codes == {ReasonCode.OUTSIDE_HOURS}
            callguard_clock.move_to(decision.next_allowed_at)
            assert callguard_guard.may_call(number, "09 48 12 34 56").allowed
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_ledger_and_clock(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        def test_fresh(callguard_guard, callguard_clock, callguard_history, run):
            assert callguard_clock.now().isoformat() == "2026-11-23T10:00:00+01:00"
            callguard_history.reachable("06 12 34 56 78")
            assert callguard_guard.may_call("06 12 34 56 78", "09 48 12 34 56").allowed
            callguard_history.calls("06 12 34 56 78", at=[callguard_clock.now()] * 4)
            callguard_clock.advance(days=1)
        """
    )
    suite.runpytest().assert_outcomes(passed=2)


def test_policy_is_overridden_like_any_fixture(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        """
        import pytest
        from callguard import Policy

        @pytest.fixture
        def callguard_policy():
            return Policy(automated=False)  # manual calls: any valid fixed caller ID
        """
    )
    suite.makepyfile(
        """
        def test_manual(callguard_guard, callguard_history):
            callguard_history.reachable("06 12 34 56 78")
            assert callguard_guard.may_call("06 12 34 56 78", "01 45 12 34 56").allowed
        """
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_failure_says_which_rule_refused_and_when(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from datetime import timedelta
        from callguard.testing import assert_allowed

        def test_fifth_call(callguard_guard, callguard_clock, callguard_history):
            number = "06 12 34 56 78"
            callguard_history.reachable(number)
            callguard_history.calls(number, at=[callguard_clock.now() - timedelta(days=d)
                                                for d in (7, 6, 5, 4)])
            assert_allowed(callguard_guard.may_call(number, "09 48 12 34 56"))
        """
    )
    result = suite.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">*assert_allowed(callguard_guard.may_call(number, *",
            "E *AssertionError: expected callguard to allow the call, but",
            "E *refused: call to +33612345678 at Monday 2026-11-23 10:00:00 (Europe/Paris), "
            "regime consent",
            "E *  FREQUENCY_CAP: 4 attempts already fall within 30 days (*",
            "E *  next allowed at: Wednesday 2026-12-16 10:00:00 (Europe/Paris)",
        ]
    )
    # The traceback stops at the test's line, not inside callguard.testing.
    assert "callguard/testing.py" not in result.stdout.str()


def test_fixtures_are_documented(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*fixtures defined from callguard.pytest_plugin*",
            "callguard_clock -- *",
            "*Monday 2026-11-23 10:00 Europe/Paris*",
            "callguard_policy -- *",
            "*override*",
            "callguard_guard -- *",
            "*fresh in-memory ledger*",
            "callguard_history -- *",
        ]
    )


def test_suites_without_plugin_autoload_name_the_plugin(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    suite.makepyfile(
        """
        def test_fixture(callguard_guard):
            assert callguard_guard.path == ":memory:"
        """
    )
    suite.runpytest().assert_outcomes(errors=1)
    suite.runpytest("-p", "callguard.pytest_plugin").assert_outcomes(passed=1)
