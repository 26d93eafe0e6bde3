"""A command pays only for what it uses: ``callguard --help`` loads no library code, ``check``
neither the bulk pipeline, the audit, the evidence pack nor the service (see
docs/performance.md for what each costs)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import callguard.cli as cli_package

# What no command needs until it uses it: the service's web stack, spreadsheets, charts, numpy
# (sqlite-utils loads it when installed), and callguard's own heavy modules.
HEAVY = (
    "numpy", "pandas", "matplotlib", "openpyxl", "starlette", "uvicorn", "psycopg",
    "prometheus_client", "httpx", "callguard._audit", "callguard._control",
    "callguard._html_report", "callguard._evidence", "callguard._bulk", "callguard.server",
)  # fmt: skip
# What checking one number needs, but listing the commands does not.
LIBRARY = ("pydantic", "phonenumbers", "holidays", "sqlite_utils", "callguard._engine")


def loaded_after(code: str) -> set[str]:
    """The modules of HEAVY and LIBRARY a fresh interpreter holds after running ``code``."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"print(json.dumps([m for m in {list(HEAVY + LIBRARY)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def run_cli(*args: str) -> str:
    return (
        "import contextlib, io\n"
        "from callguard.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        cli.main({list(args)!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
    )


def test_importing_the_package_and_the_cli_loads_no_library() -> None:
    # It was: import callguard.cli took 0.6-0.8 s of CPU, every module of the library loaded.
    assert loaded_after("import callguard") == set()
    assert loaded_after("import callguard.cli") == set()
    assert loaded_after(run_cli("--help")) == set()


def test_check_loads_the_decision_path_only(tmp_path: Path) -> None:
    db = f"{tmp_path}/ledger.db"
    init = "from callguard.cli import main; main()"
    subprocess.run([sys.executable, "-c", init, "init", "--db", db], check=True,
                   capture_output=True)  # fmt: skip
    loaded = loaded_after(
        run_cli("check", "0612345678", "--caller-id", "0948123456", "--db", db,
                "--at", "2026-11-24T11:00:00+01:00")
    )  # fmt: skip
    assert loaded & set(HEAVY) == set()
    assert {"phonenumbers", "callguard._engine"} <= loaded


def test_the_public_names_resolve_lazily() -> None:
    import callguard

    for name in callguard.__all__:
        assert getattr(callguard, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        callguard.nope  # noqa: B018


def test_the_help_table_is_the_commands_own() -> None:
    """``callguard --help`` reads its summaries from cli.COMMANDS: they must be the commands'."""
    commands = cli_package.cli.commands
    assert isinstance(commands, cli_package.LazyCommands)
    commands.load()
    missing = set(dict.keys(commands)) ^ set(cli_package.COMMANDS)
    assert not missing, f"{sorted(missing)}: list each command in callguard.cli.COMMANDS"
    for name, (_, _, text) in cli_package.COMMANDS.items():
        help_text = inspect.cleandoc(dict.__getitem__(commands, name).help or "")
        assert help_text.split("\n\n")[0].replace("\n", " ") == text, name


def test_the_holiday_table_is_what_the_holidays_package_says() -> None:
    # The calendar skips importing `holidays` on a day the table knows is open: the table must
    # be the package's answer for every year and area it holds (rewrite it after an upgrade).
    from callguard.rules import _holiday_table

    data = Path(_holiday_table.__file__).with_name("_holiday_table_data.py")
    assert holiday_table() == data.read_text(encoding="utf-8")


def test_a_guard_without_policy_decides_under_the_defaults_of_policy() -> None:
    # A guard opened without a policy reads plain defaults instead of building the pydantic
    # model: they must be Policy()'s, field for field, and guard.policy still a real Policy().
    import dataclasses

    from callguard import Guard, Policy
    from callguard._readings import DEFAULT_READINGS

    default = Policy()
    assert [f.name for f in dataclasses.fields(DEFAULT_READINGS)] == list(Policy.model_fields)
    for name in Policy.model_fields:
        assert getattr(DEFAULT_READINGS, name) == getattr(default, name), name
    with Guard(":memory:") as guard:
        assert guard.policy == default
        assert isinstance(guard.policy, Policy)


def test_checking_one_number_loads_neither_pydantic_nor_holidays_nor_sqlite_utils(
    tmp_path: Path,
) -> None:
    ledger = str(tmp_path / "ledger.db")
    assert subprocess.run(
        [sys.executable, "-c", "from callguard.cli import main; main()", "init", "--db", ledger],
        capture_output=True, timeout=120,
    ).returncode == 0  # fmt: skip
    loaded = loaded_after(
        run_cli("check", "06 12 34 56 78", "--caller-id", "09 48 12 34 56",
                "--at", "2026-11-24T11:00:00+01:00", "--db", ledger)
    )  # fmt: skip
    assert not loaded & {"pydantic", "holidays", "sqlite_utils"}, loaded
    assert "callguard._engine" in loaded


def holiday_table(first: int = 1990, last: int = 2060) -> str:
    """The data module's text, computed by the ``holidays`` package through the calendar."""
    import holidays

    from callguard.rules.calendar import _LOCAL, _local, _national

    years = range(first, last + 1)
    national = sorted(day.toordinal() for year in years for day in _national(year))
    local = {
        area: sorted(day.toordinal() for year in years for day in _local(year, area))
        for area in sorted({a for a, *_rest in _LOCAL})
    }
    lines = [
        '"""Generated by ``python tests/test_startup.py`` (holidays '
        f'{holidays.__version__}): day ordinals; do not edit."""',
        "",
        "# fmt: off",
        f"FIRST = {first}",
        f"LAST = {last}",
        f"NATIONAL: frozenset[int] = frozenset({national!r})",
        "LOCAL: dict[str, frozenset[int]] = {",
        *(f"    {area!r}: frozenset({days!r})," for area, days in local.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(holiday_table(), end="")
