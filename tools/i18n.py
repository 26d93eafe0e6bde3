"""Keep callguard's message catalog in step with the code (needs babel: ``pip install -e .[dev]``).

    python tools/i18n.py extract   # add the code's new message ids to the French .po
    python tools/i18n.py compile   # write the .mo the package ships from the .po
    python tools/i18n.py check     # exit 1 when a message id is missing, untranslated or the .mo
                                   # is not the .po's (CI runs the same checks in tests/test_i18n.py)

Message ids are the first argument of ``_(...)`` and ``N_(...)`` in ``src/callguard``, the command
line's help texts (``help=`` and the commands' docstrings in ``src/callguard/cli``), and click's
own sentences (``gettext``/``ngettext`` in the installed click), which callguard translates for it.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

# Fixed header dates: the .po changes only when a message does.
_EPOCH = datetime(2026, 12, 3, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "callguard"
PO = SRC / "locale" / "fr" / "LC_MESSAGES" / "callguard.po"
MO = PO.with_suffix(".mo")


_HELP_KEYWORDS = ("help", "short_help", "epilog")
_COMMAND_DECORATORS = ("command", "group")


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _node_messages(node: ast.AST, in_cli: bool) -> Iterator[str]:
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        first = _string(node.args[0]) if node.args else None
        if name in ("_", "N_") and first is not None:
            yield first
        # The command line's help texts: click's ``help=`` and the commands' docstrings.
        for keyword in node.keywords if in_cli else ():
            value = _string(keyword.value)
            if keyword.arg in _HELP_KEYWORDS and value:
                yield inspect.cleandoc(value)
    elif (
        in_cli
        and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(_decorator_name(d) in _COMMAND_DECORATORS for d in node.decorator_list)
    ):
        doc = ast.get_docstring(node, clean=True)
        if doc:
            yield doc.partition("\f")[0]


def code_messages() -> Iterator[tuple[str, str, int]]:
    """``(msgid, file, line)`` for every ``_("…")`` and ``N_("…")`` in callguard's source, and
    the command line's help texts: ``help=`` strings and the docstrings of click commands in
    ``callguard/cli`` (shown through the catalog by ``cli._common.Command``)."""
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        in_cli = path.parent.name == "cli"
        for node in ast.walk(tree):
            for msgid in _node_messages(node, in_cli):
                yield msgid, str(path.relative_to(ROOT)), getattr(node, "lineno", 0)


def click_messages() -> Iterator[tuple[str | tuple[str, str], str, int]]:
    """click's translatable sentences, singular or ``(singular, plural)``."""
    import click

    base = Path(click.__file__).parent
    for path in sorted(base.glob("*.py")):
        if path.name == "_winconsole.py":
            continue
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords={"_": None, "ngettext": (1, 2)}
        ):
            yield message, f"click/{path.name}", lineno


def load() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="fr", domain="callguard")


def extract() -> Catalog:
    """The .po with the code's message ids added (translations kept; gone ids dropped)."""
    template = Catalog(
        locale="fr",
        domain="callguard",
        project="callguard",
        version="1",
        fuzzy=False,
        creation_date=_EPOCH,
        revision_date=_EPOCH,
        language_team="French <fr@li.org>",
        last_translator="the callguard authors",
        copyright_holder="the callguard authors",
        msgid_bugs_address="https://github.com/callguard/callguard-fr/issues",
    )
    for msgid, where, line in code_messages():
        template.add(msgid, locations=[(where, line)], flags=["python-brace-format"])
    for msgid, where, line in click_messages():
        template.add(msgid, locations=[(where, line)])
    catalog = load() if PO.exists() else Catalog(locale="fr", domain="callguard")
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    for field in (
        "project",
        "version",
        "copyright_holder",
        "msgid_bugs_address",
        "last_translator",
        "language_team",
    ):
        setattr(catalog, field, getattr(template, field))
    catalog.revision_date = _EPOCH
    # French plurals as gettext writes them: one for 0 and 1, another from 2.
    catalog._num_plurals, catalog._plural_expr = 2, "(n > 1)"
    return catalog


def save(catalog: Catalog) -> None:
    PO.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=False)
    PO.write_bytes(buf.getvalue())


def compiled(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def problems() -> list[str]:
    """What ``check`` reports: code ids missing from the .po, untranslated ids, a stale .mo."""
    catalog = load()
    found: list[str] = []
    for msgid, where, line in code_messages():
        if msgid not in catalog:
            found.append(f"{where}:{line}: {msgid!r} is missing from {PO.name}")
    for message in catalog:
        if message.id and (not message.string or message.fuzzy):
            found.append(f"{PO.name}: {message.id!r} has no French translation")
    if not MO.exists() or MO.read_bytes() != compiled(catalog):
        found.append(f"{MO.name} is not {PO.name} compiled: run python tools/i18n.py compile")
    return found


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "extract":
        save(extract())
        MO.write_bytes(compiled(load()))
        return 0
    if command == "compile":
        MO.write_bytes(compiled(load()))
        return 0
    if command == "check":
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    print(f"unknown command {command!r}: expected extract, compile or check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
