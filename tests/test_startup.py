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
    "callguard._report", "callguard._evidence", "callguard._bulk", "callguard.server",
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
