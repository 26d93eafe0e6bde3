"""The message catalog: complete in French, placeholders matching, the .mo the .po compiled, and
sentences built from values translated whole (never pieced together from English)."""

from __future__ import annotations

import gettext
import importlib.util
import sys
from pathlib import Path

import pytest

from callguard import InvalidNumberError
from callguard._i18n import LOCALE_DIR, Message, _, click_language, lang_of, placeholders
from callguard._numbers import parse_number

ROOT = Path(__file__).resolve().parent.parent


def _tool():  # tools/i18n.py, the script that extracts and compiles the catalog
    spec = importlib.util.spec_from_file_location("callguard_i18n_tool", ROOT / "tools" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    pytest.importorskip("babel")
    return _tool()


def test_every_message_id_of_the_code_is_in_the_catalog(tool) -> None:
    catalog = tool.load()
    missing = [f"{where}:{line}: {msgid!r}" for msgid, where, line in tool.code_messages()
               if msgid not in catalog]  # fmt: skip
    assert not missing, "run python tools/i18n.py extract:\n" + "\n".join(missing)


def test_every_message_id_has_a_french_translation_with_the_same_placeholders(tool) -> None:
    problems = []
    for message in tool.load():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
            continue
        wanted = set().union(*(placeholders(i) for i in ids))
        for s in strings:
            if placeholders(s) != wanted and not (
                # A plural's singular may spell out « 1 » instead of its count.
                isinstance(message.id, tuple) and placeholders(s) <= wanted
            ):
                problems.append(f"{message.id!r}: {placeholders(s)} != {wanted}")
    assert not problems, "\n".join(problems)


def test_the_shipped_mo_is_the_po_compiled(tool) -> None:
    assert tool.MO.read_bytes() == tool.compiled(tool.load()), "run python tools/i18n.py compile"
    assert tool.problems() == []


def test_the_runtime_reads_the_mo_with_the_standard_library() -> None:
    fr = gettext.translation("callguard", LOCALE_DIR, languages=["fr"])
    assert fr.gettext("unknown country code") == "indicatif de pays inconnu"


def test_a_message_keeps_its_id_and_values_and_renders_nested_messages_in_one_language() -> None:
    inner = _("a national number has 10 digits starting with 0, got {count}", count=6)
    outer = _("{value} is not a valid phone number ({reason}).", value="'061234'", reason=inner)
    assert outer.render("en") == (
        "'061234' is not a valid phone number (a national number has 10 digits starting with 0,"
        " got 6)."
    )
    assert outer.render("fr") == (
        "'061234' n'est pas un numéro de téléphone valide (un numéro national compte 10 chiffres"
        " commençant par 0, reçu 6)."
    )
    assert str(outer) == outer.render("en")
    assert Message("no digits").render("fr") == "aucun chiffre"
    # A sentence the catalog does not know stays as written, braces and all.
    assert Message("{not a placeholder}").render("fr") == "{not a placeholder}"


def test_an_invalid_number_error_carries_its_message_id_and_values() -> None:
    with pytest.raises(InvalidNumberError) as info:
        parse_number("061234")
    exc = info.value
    assert exc.message_id == "invalid phone number {value}: {reason}"
    assert exc.params["value"] == "'061234'"
    assert str(exc) == (
        "invalid phone number '061234': a national number has 10 digits starting with 0, got 6"
    )
    assert exc.render("fr") == (
        "numéro de téléphone invalide '061234' : un numéro national compte 10 chiffres "
        "commençant par 0, reçu 6"
    )
    assert exc.reason == "a national number has 10 digits starting with 0, got 6"


@pytest.mark.parametrize(
    ("tag", "lang"),
    [("fr", "fr"), ("FR", "fr"), ("fr-FR", "fr"), ("fr_CA", "fr"), ("en", "en"), ("de", "en"),
     ("", "en"), (None, "en")],
)  # fmt: skip
def test_lang_of(tag: object, lang: str) -> None:
    assert lang_of(tag) == lang


def test_click_reads_its_sentences_through_the_catalog_only_inside_the_block() -> None:
    import click.exceptions

    with click_language("fr"):
        assert click.exceptions._("Missing argument") == "Argument manquant"
    assert click.exceptions._("Missing argument") == "Missing argument"
