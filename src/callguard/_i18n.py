"""One message catalog for everything callguard says to a person.

English is written in the code and is the fallback; French comes from the gettext catalog
``locale/fr/LC_MESSAGES/callguard.po``, compiled to the ``callguard.mo`` shipped in the package and
read with the standard library's :mod:`gettext` (``tools/i18n.py`` extracts and compiles it).

A sentence built from values is never assembled from translated fragments nor translated by
matching the English text: it is one message id with named placeholders, kept with its values in a
:class:`Message` until it is shown, so the CLI and the service render it in the caller's language::

    msg = _("{value} is not a valid phone number ({reason}).", value="'0612'", reason=...)
    msg.render("fr")  # "'0612' n'est pas un numéro de téléphone valide (…)."

A value that is itself a :class:`Message` is rendered in the same language.
"""

from __future__ import annotations

import gettext as _gettext
import string
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALE_DIR",
    "N_",
    "Joined",
    "Lang",
    "Message",
    "Translated",
    "_",
    "click_language",
    "french_table",
    "lang_of",
    "placeholders",
    "render",
    "say",
    "text",
    "translations",
]

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")
DOMAIN = "callguard"
LOCALE_DIR = Path(__file__).parent / "locale"


def lang_of(value: object) -> Lang:
    """``"fr"`` for French (``fr``, ``FR``, ``fr-FR``, ``fr_CA``), else English."""
    tag = str(value or "").strip().lower().replace("_", "-").split("-")[0]
    return "fr" if tag == "fr" else "en"


@cache
def translations(lang: Lang) -> _gettext.NullTranslations:
    """The catalog of ``lang``; English is the text in the code. A missing French catalog is an
    error, not a silent fallback: a French call centre must not get English unawares."""
    if lang_of(lang) == "en":
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=["fr"])


def text(msgid: str, lang: str = "en") -> str:
    """``msgid`` in ``lang`` (itself when the catalog has no translation)."""
    if lang == "en":  # the code's own text: no lookup (every reason renders it)
        return msgid
    if lang == "fr":
        french = _FRENCH or _load_french()
        return french(msgid)
    return translations(lang_of(lang)).gettext(msgid)


_FRENCH: Callable[[str], str] | None = None


def _load_french() -> Callable[[str], str]:
    global _FRENCH
    _FRENCH = translations("fr").gettext
    return _FRENCH


def placeholders(template: str) -> set[str]:
    """The named placeholders of a ``str.format`` template."""
    return {name.split(".")[0].split("[")[0] for _t, name, _s, _c in
            string.Formatter().parse(template) if name}  # fmt: skip


class Message:
    """A sentence to show a person: its message id (the English template) and its values."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: Mapping[str, object] | None = None) -> None:
        self.msgid = msgid
        self.params: dict[str, object] = params if type(params) is dict else dict(params or {})

    def render(self, lang: str = "en") -> str:
        return render(self.msgid, lang, **self.params)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return (self.msgid, self.params) == (other.msgid, other.params)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)


class Joined(Message):
    """Sentences shown together (``"; "`` between them), each in the reader's language."""

    __slots__ = ("parts", "sep")

    def __init__(self, parts: list[Message | str], sep: str = "; ") -> None:
        super().__init__("", {})
        self.parts = [p if isinstance(p, Message) else Message(p) for p in parts]
        self.sep = sep

    def render(self, lang: str = "en") -> str:
        return self.sep.join(p.render(lang) for p in self.parts)

    def __repr__(self) -> str:
        return f"Joined({self.parts!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Joined):
            return (self.parts, self.sep) == (other.parts, other.sep)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(p.msgid for p in self.parts))


class Translated(Message):
    """A sentence given in English and French by its author (``message_fr``-style strings not
    yet in the catalog): the French when asked and given, else the catalog's, else English."""

    __slots__ = ("fr",)

    def __init__(self, en: str, fr: str = "") -> None:
        super().__init__(en, {})
        self.fr = fr

    def render(self, lang: str = "en") -> str:
        if lang_of(lang) == "fr" and self.fr:
            return self.fr
        return text(self.msgid, lang)

    def __repr__(self) -> str:
        return f"Translated({self.msgid!r}, {self.fr!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Translated):
            return (self.msgid, self.fr) == (other.msgid, other.fr)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.msgid)


def say(message: Message | str, lang: str = "en") -> str:
    """A message, or a plain sentence looked up as its own id, in ``lang``."""
    return message.render(lang) if isinstance(message, Message) else text(message, lang)


def render(msgid: str, lang: str = "en", /, **params: object) -> str:
    """``msgid`` in ``lang`` with its placeholders filled (nested messages in ``lang`` too).

    Without values the text is returned as it stands, so a plain English sentence used as a
    message id (``CallguardError("…")``) may hold braces."""
    template = text(msgid, lang)
    if not params:
        return template
    for value in params.values():
        if isinstance(value, Message):
            params = {k: v.render(lang) if isinstance(v, Message) else v
                      for k, v in params.items()}  # fmt: skip
            break
    return template.format(**params)


def _(msgid: str, /, **params: object) -> Message:
    """A translatable sentence with its values (extracted by ``tools/i18n.py``)."""
    return Message(msgid, params)


def N_(msgid: str) -> str:
    """Marks a constant string for extraction; it is translated where it is shown."""
    return msgid


def french_table(table: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The French of a ``{"en": {key: msgid}, "fr": {key: text}}`` table of labels: each
    English label through the catalog, the table's own ``"fr"`` entry only where the catalog has
    no translation yet (labels other modules still add in pairs)."""
    given = table.get("fr", {})
    out: dict[str, str] = {}
    for key, english in table["en"].items():
        french = text(english, "fr")
        out[key] = given.get(key, french) if french == english else french
    return out


# click translates its own sentences (usage errors, "Usage:", "Error:") with the process-wide
# gettext domain, which a library must not take over: while a French command runs, the modules of
# click read them through callguard's catalog instead, and get their own functions back after.
_CLICK_MODULES = (
    "click.core", "click.exceptions", "click.parser", "click.types", "click.decorators",
    "click.formatting", "click.termui", "click._termui_impl", "click.shell_completion",
)  # fmt: skip


@contextmanager
def click_language(lang: str) -> Iterator[None]:
    """Within the block, click's own messages are in ``lang``."""
    if lang_of(lang) == "en":
        yield
        return
    import importlib

    catalog = translations("fr")
    saved: list[tuple[Any, str, Any]] = []
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a click without that module
            continue
        for attr, repl in (("_", catalog.gettext), ("ngettext", catalog.ngettext)):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, repl)
    try:
        yield
    finally:
        for module, attr, original in reversed(saved):
            setattr(module, attr, original)
