"""Every command is documented in the CLI reference (docs/cli.md), with every option it takes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from callguard.cli import cli

ROOT = Path(__file__).parent.parent


def reference() -> str:
    return (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def sections(text: str) -> dict[str, str]:
    """Heading ``### `callguard X Y` `` → the text under it."""
    parts = re.split(r"^#+ `(callguard [^`]+)`\s*$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def command_of(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_the_reference_lists_commands() -> None:
    assert len(commands()) >= 14


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_command_is_documented(path: tuple[str, ...]) -> None:
    name = "callguard " + " ".join(path)
    documented = sections(reference())
    assert name in documented, f"{name} has no section in the CLI reference"
    section = documented[name]
    assert f"`{name}" in section, f"{name}: no usage line"
    assert "```console" in section and f"$ {name}" in section, f"{name}: no example"
    for param in command_of(path).params:
        if isinstance(param, click.Option):
            if param.hidden:  # a benchmark's knob, not for users
                continue
            assert any(opt in section for opt in param.opts), (
                f"{name}: option {'/'.join(param.opts)} is not documented"
            )
        else:
            assert (param.metavar or param.name or "").upper() in section, (name, param.name)
