"""The testing guide (docs/testing.md) cannot rot: its example test file runs, and its
failure output is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
EXAMPLE_NAME = "test_retry_logic.py"
# The lines the doc tells readers to drop from the example to see a failure.
FIX = """    if decision.next_allowed_at is not None:
        retry = max(retry, decision.next_allowed_at)
"""


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text("utf-8"), re.S | re.M)


def example() -> str:
    found = [b for b in blocks("python") if b.startswith(f"# {EXAMPLE_NAME}\n")]
    assert len(found) == 1, f"docs/testing.md must hold one python block starting # {EXAMPLE_NAME}"
    return found[0]


@pytest.fixture
def platform(pytester: pytest.Pytester) -> pytest.Pytester:
    """A platform's project: nothing but callguard installed, warnings are errors."""
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\naddopts = -p no:hypothesispytest -p no:cacheprovider\n"
    )
    return pytester


def test_the_example_passes(platform: pytest.Pytester) -> None:
    platform.makepyfile(**{EXAMPLE_NAME[:-3]: example()})
    result = platform.runpytest("-v")
    result.assert_outcomes(passed=3)


def test_the_example_is_plain_python() -> None:
    compile(example(), EXAMPLE_NAME, "exec")
    assert "callguard_guard" in example() and "import callguard" in example()


def test_the_failure_shown_is_the_failure_you_get(platform: pytest.Pytester) -> None:
    code = example()
    assert FIX in code, "the doc's next_retry no longer has the lines it tells readers to drop"
    platform.makepyfile(**{EXAMPLE_NAME[:-3]: code.replace(FIX, "")})
    result = platform.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    (shown,) = [b for b in blocks("text") if "assert_allowed" in b or "FREQUENCY_CAP" in b]
    lines = shown.splitlines()
    assert any("FREQUENCY_CAP" in line for line in lines)
    assert any("next allowed at" in line for line in lines)
    result.stdout.fnmatch_lines(lines, consecutive=True)
