"""What every ``callguard`` command shares: options, time parsing, opening the ledger, errors,
rendering a decision, and the command group itself."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from .._exceptions import CallguardError, ConfigurationError
from .._i18n import N_, Message, _, click_language, lang_of, text
from .._time import now_utc, parse_instant

if TYPE_CHECKING:
    from .._decision import Decision
    from .._guard import Guard

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


def parse_at(value: str | None) -> datetime | None:
    """ISO 8601 or ``23/11/2026 10:30``; a naive time is Europe/Paris. None or "now" means the
    current time."""
    if value is None or value.strip().lower() == "now":
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(
            say(
                _(
                    "{value} is not an ISO 8601 time, e.g. 2026-11-23T10:30 or "
                    "2026-11-23T10:30+01:00",
                    value=repr(value),
                )
            )
        ) from exc


class _At(_ParamType):
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime) or value is None:
            return value
        try:
            return parse_at(str(value))
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class _DayOrTime(_ParamType):
    """A date (``2026-11-23``: the whole day, in Paris) or a time (ISO 8601, naive = Paris)."""

    name = "DATE|TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (date, datetime)) or value is None:
            return value
        text = str(value).strip()
        if _DAY.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                self.fail(
                    say(_("{value} is not a date, e.g. 2026-11-23", value=repr(text))), param, ctx
                )
        try:
            return parse_at(text) or now_utc()
        except click.BadParameter as exc:
            self.fail(
                say(_("{problem} (or a date, e.g. 2026-11-23)", problem=exc.message)), param, ctx
            )


AT = _At()
DAY_OR_TIME = _DayOrTime()
db_option = click.option(
    "--db",
    "db",
    default=None,
    metavar="PATH",
    help="Ledger file (default: $CALLGUARD_DB, else ./callguard.db).",
)
professional_option = click.option(
    "--professional",
    default="default",
    show_default=True,
    help="The principal whose counters apply.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
at_option = click.option(
    "--at", type=AT, default=None, help="When (ISO 8601; naive = Europe/Paris; default: now)."
)
column_option = click.option(
    "--column",
    default=None,
    metavar="NAME",
    help="The phone column: its header, or its position from 1 (default: found by its header).",
)


_F = TypeVar("_F", bound=Callable[..., Any])


def input_argument(name: str, metavar: str | None = None) -> Callable[[_F], _F]:
    """A file argument: a path, or ``-`` for standard input (refused: a directory)."""
    return click.argument(
        name,
        metavar=metavar,
        type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    )


@contextlib.contextmanager
def input_file(path: str) -> Iterator[str]:
    """The path to read: ``path`` itself, or for ``-`` a temporary copy of standard input
    (the encoding is found in one pass over the bytes, the rows read in a second)."""
    if path != "-":
        yield path
        return
    import shutil
    import tempfile  # 5 ms of a command's start-up: only standard input needs it

    with tempfile.TemporaryDirectory(prefix="callguard-") as tmp:
        spooled = os.path.join(tmp, "stdin")
        with open(spooled, "wb") as f:
            shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
        yield spooled


PROGRESS_MIN_BYTES = 512 * 1024
"""Files at least this large get a progress bar (when stderr is a terminal)."""


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def progress_bar(
    stack: contextlib.ExitStack, path: str, label: str
) -> Callable[[int], None] | None:
    """A progress bar on standard error, sized in bytes of ``path``, for a long file read while
    standard error is a terminal; None otherwise."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    if size < PROGRESS_MIN_BYTES or not stderr_is_tty():
        return None
    bar = stack.enter_context(
        click.progressbar(length=size, label=text(label, current_lang()), file=sys.stderr)
    )
    update: Callable[[int], None] = bar.update
    return update


def call_log_options(f: _F) -> _F:
    """--preset, --map, --outcome-map, --caller-id, --tz and --internal-context: how to read a
    dialer's call log."""
    options = [
        click.option(
            "--preset",
            type=click.Choice(["vicidial", "asterisk"], case_sensitive=False),
            default=None,
            help="The dialer whose log this is: vicidial (vicidial_log export) or asterisk "
            "(cdr_csv Master.csv, no header).",
        ),
        click.option(
            "--map",
            "mapping",
            default=None,
            metavar="FIELD=COLUMN,...",
            help="Which column holds each field, e.g. number=phone_number,started_at=call_date.",
        ),
        click.option(
            "--outcome-map",
            default=None,
            metavar="STATUS=OUTCOME,...",
            help="What the log's statuses mean, e.g. NI=REFUSED,DNC=OBJECTED.",
        ),
        click.option(
            "--caller-id",
            default=None,
            help="The number every call presented, for a log without a caller ID column.",
        ),
        click.option(
            "--tz",
            default=None,
            metavar="ZONE",
            help="The zone of the log's times written without an offset (default Europe/Paris).",
        ),
        click.option(
            "--internal-context",
            "internal_contexts",
            multiple=True,
            metavar="CONTEXT",
            help="With --preset asterisk: a dialplan context of internal calls, skipped unless "
            "they dial a phone number; repeat it for several (default: from-internal).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


department_option = click.option(
    "--department", default=None,
    help="The INSEE code of the consumer's département (e.g. 57, 2A, 974): decides the zone and "
    "local holidays instead of the number's prefix.",
)  # fmt: skip
recorded_message_option = click.option(
    "--recorded-message", is_flag=True, default=False,
    help="The call plays a recorded message without a human (needs consent, CPCE L34-5).",
)  # fmt: skip


def ledger_location(db: str | None) -> str:
    """The ``--db`` ledger, which must exist (a server URL is checked when it is opened): only
    ``callguard init`` creates one, so a typo never judges calls against an empty ledger."""
    from ..storage import default_db_path, is_server_url

    location = db or default_db_path()
    if not is_server_url(location) and location != ":memory:" and not os.path.isfile(location):
        raise Failure(
            _(
                "no ledger at {location}: run `callguard init --db {path}` to create one",
                location=repr(location),
                path=location,
            )
        )
    return location


def open_guard(db: str | None, professional: str) -> Guard:
    from .._guard import Guard

    location = ledger_location(db)
    try:
        return Guard(location, professional=professional, create=False)
    except CallguardError as exc:
        raise Failure(exc.message) from exc


class Failure(click.ClickException):
    """A command's error, its sentence from the message catalog in the invocation's language
    (``message`` keeps the :class:`~callguard._i18n.Message`)."""

    def __init__(self, message: Message | str) -> None:
        self.text = message if isinstance(message, Message) else Message(message)
        super().__init__(say(self.text))


# A library argument's name → the option a user types for it, where the two differ (the
# command's own parameter of the same name is preferred: ``--from`` is ``start`` in its command).
_OPTIONS = {
    "at": "--at", "before": "--before", "busy_timeout": "--busy-timeout",
    "callee_tz": "--tz", "caller_id": "--caller-id", "checked_at": "--checked-at",
    "checkpoints": "--checkpoints", "column": "--column", "deadline": "--deadline",
    "department": "--department", "executor": "--executor", "expires_at": "--expires",
    "id_column": "--id-column", "internal_contexts": "--internal-context", "location": "--db",
    "mapping": "--map", "max_age_days": "--max-age", "max_connections": "--max-connections",
    "max_per_client": "--max-connections-per-client", "name": "--name", "out": "--out",
    "out_dir": "--out", "outcome_map": "--outcome-map", "output": "--output", "path": "--db",
    "preset": "--preset", "professional": "--professional",
    "proof_retention_days": "--keep-proofs-days", "public_key": "--public-key",
    "purpose": "--purpose", "reason": "--reason", "sector": "--sector",
    "signing_key_path": "--signing-key", "tsa": "--tsa", "tsa_roots": "--tsa-root", "tz": "--tz",
}  # fmt: skip


def option_of(field: str) -> str | None:
    """The option (or argument) of the running command that sets library argument ``field``."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        for param in ctx.command.params:
            if param.name == field:
                if isinstance(param, click.Option):
                    return max(param.opts, key=len)
                return param.human_readable_name
    return _OPTIONS.get(field)


def failure(exc: BaseException) -> Failure:
    """The error of a library call, in the invocation's language (a :class:`CallguardError`
    through its message id; another error as it reads). A :class:`ConfigurationError` about
    one argument names the option the user typed for it, as click names a bad option."""
    if isinstance(exc, ConfigurationError) and exc.field:
        option = option_of(exc.field)
        if option is not None:
            return Failure(
                _(
                    "Invalid value for {param_hint}: {message}",
                    param_hint=f"'{option}'",
                    message=exc.message,
                )
            )
    if isinstance(exc, CallguardError):
        return Failure(exc.message)
    if isinstance(exc, OSError) and (exc.strerror or exc.filename):
        return Failure(
            _("{file}: {problem}", file=exc.filename, problem=exc.strerror or str(exc))
            if exc.filename
            else exc.strerror or str(exc)
        )
    return Failure(str(exc))


def say(message: Message | str) -> str:
    """A sentence in the language of this invocation."""
    lang = current_lang()
    return message.render(lang) if isinstance(message, Message) else text(message, lang)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors about input into a one-line message and exit code 2."""
    try:
        yield
    except (CallguardError, ValueError, OSError) as exc:
        raise failure(exc) from exc


@contextlib.contextmanager
def guarded(db: str | None, professional: str) -> Iterator[Guard]:
    guard = open_guard(db, professional)
    try:
        with user_errors():
            yield guard
    finally:
        guard.close()


def choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([m.value for m in enum], case_sensitive=False)


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def e164_text(number: str) -> str:
    from .._numbers import parse_number

    return parse_number(number).e164


LANGS = ("en", "fr")


_LANG: list[str] = []
"""The language of the command running now (set by :class:`Group` before click parses, so a
usage error is in it too)."""


def current_lang() -> str:
    """The language of this invocation: ``--lang``, else ``$CALLGUARD_LANG``, else English."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and "callguard.lang" in ctx.find_root().meta:
        return str(ctx.find_root().meta["callguard.lang"])
    return _LANG[-1] if _LANG else "en"


# Labels by key; the English is the message id, the French comes from the catalog. A "fr" entry
# here is only used for a key the catalog does not translate yet.
_WORDS = {
    "en": {
        "ALLOWED": N_("ALLOWED"), "REFUSED": N_("REFUSED"), "invalid": N_("(invalid number)"),
        "next": N_("next allowed at"), "never": N_("never by waiting alone"),
        "error": N_("Error"),
    },
    "fr": {},
}  # fmt: skip


def word(key: str, lang: str | None = None) -> str:
    """One label of the command output in the current language."""
    lang = lang_of(lang or current_lang())
    english = _WORDS["en"][key]
    if lang == "en":
        return english
    translated = text(english, lang)
    return _WORDS.get(lang, {}).get(key, translated) if translated == english else translated


def local_time(moment: datetime, zone: str) -> str:
    """An instant as ISO 8601 in ``zone`` (the consumer's), never bare UTC."""
    try:
        return moment.astimezone(ZoneInfo(zone)).isoformat()
    except (ValueError, KeyError):
        return moment.astimezone(ZoneInfo("Europe/Paris")).isoformat()


def render_decision(decision: Decision, lang: str | None = None) -> str:
    lang = lang or current_lang()
    verdict = word("ALLOWED" if decision.allowed else "REFUSED", lang)
    lines = [
        f"{verdict}  {decision.number or word('invalid', lang)}  "
        f"[{decision.regime or '-'}, {decision.callee_tz}]"
    ]
    for reason in decision.reasons:
        message = (
            reason.message_fr if lang_of(lang) == "fr" and reason.message_fr else reason.message
        )
        lines.append(f"  {reason.code.value}: {message}")
        lines.append(f"      {reason.legal_basis}")
    if decision.next_allowed_at is not None:
        when = local_time(decision.next_allowed_at, decision.callee_tz)
        lines.append(f"  {word('next', lang)}: {when}")
    elif not decision.allowed:
        lines.append(f"  {word('next', lang)}: {word('never', lang)}")
    return "\n".join(lines)


def _hoist_lang(args: list[str]) -> list[str]:
    """``--lang`` may follow the subcommand (``callguard check … --lang fr``): it belongs to the
    group, so it is moved in front of the subcommand."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i:]
            break
        if a == "--lang" and i + 1 < len(args):
            front += [a, args[i + 1]]
            i += 2
            continue
        if a.startswith("--lang="):
            front.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


class LazyCommands(dict[str, click.Command]):
    """A group's commands, each module imported when one of its commands is first asked for.

    ``table`` maps a command's name to (its modules, relative to ``package``; the attribute
    holding it, or a list of commands; the first paragraph of its help, for ``--help``). Asking
    for every command (iterating, ``items()``…) imports them all, so whoever reads the group's
    commands sees them all; ``get(name)``, what click does to run one, imports its own.
    """

    def __init__(
        self,
        group: click.Group,
        package: str,
        table: dict[str, tuple[tuple[str, ...], str, str]],
    ) -> None:
        super().__init__()
        self.group, self.package, self.table = group, package, table
        self.complete = False

    def load(self, name: str | None = None) -> None:
        """Import the modules of ``name`` (of every command when None) and register them."""
        import importlib

        names = list(self.table) if name is None else [name]
        for each in names:
            if dict.__contains__(self, each) or each not in self.table:
                continue
            modules, attribute, _ = self.table[each]
            found: object = None
            for module in modules:
                imported = importlib.import_module(f"{self.package}.{module}")
                found = found if found is not None else getattr(imported, attribute, None)
            # Commands decorated with @cli.command() registered themselves on import; the
            # others (a list, or a command defined apart) are added here.
            for command in found if isinstance(found, (list, tuple)) else [found]:
                if isinstance(command, click.Command) and command.name is not None:
                    dict.setdefault(self, command.name, command)
        if name is None:
            self.complete = True

    def _all(self) -> None:
        if not self.complete:
            self.load()

    def get(self, key: str, default: Any = None) -> Any:
        if not dict.__contains__(self, key):
            self.load(key) if key in self.table else self._all()
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> click.Command:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        self._all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._all()
        return dict.keys(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)


# click writes « [required] » through its own gettext, which reads callguard's catalog while a
# French command runs (see click_language); the word is not among click's extracted sentences.
_CLICK_WORDS = (N_("required"),)


class Command(click.Command):
    """A command whose help texts (its docstring, its options' ``help=``) are message ids of the
    catalog, shown in the invocation's language when ``--help`` asks for them; English is the
    text in the code. ``tools/i18n.py`` extracts them."""

    def _help_text(self, lang: str) -> str:
        if not self.help:
            return ""
        return text(inspect.cleandoc(self.help).partition("\f")[0], lang)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click words --help once, in the language of the first run that asks, and keeps it:
        # keep the message id instead, so each run shows it in its own language.
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = N_("Show this message and exit.")
        return option

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = current_lang()
        if lang == "en":
            super().format_help_text(ctx, formatter)
            return
        words = self._help_text(lang)
        if words:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(words)

    def get_short_help_str(self, limit: int = 45) -> str:
        lang = current_lang()
        if lang == "en":
            return super().get_short_help_str(limit)
        if self.short_help:
            return text(inspect.cleandoc(self.short_help), lang).strip()
        # Shortened as click shortens a help (a stand-in command holding the translation).
        return click.Command(None, help=self._help_text(lang)).get_short_help_str(limit)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.format_own_options(ctx, formatter)

    def format_own_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The options' section (a group's commands come after, in :class:`Group`)."""
        lang = current_lang()
        if lang == "en":
            click.Command.format_options(self, ctx, formatter)
            return
        import copy

        rows = []
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue
            shown = param
            if isinstance(param, click.Option) and param.help:
                shown = copy.copy(param)  # the option itself keeps its message id
                shown.help = text(param.help, lang)
            record = shown.get_help_record(ctx)
            if record is not None:
                rows.append(record)
        if rows:
            with formatter.section(text("Options", lang)):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = current_lang()
        if lang == "en" or not self.epilog:
            super().format_epilog(ctx, formatter)
            return
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(text(inspect.cleandoc(self.epilog), lang))


class Group(Command, click.Group):
    """The ``callguard`` group and its subgroups: their commands are :class:`Command` s (help in
    the invocation's language), their subgroups groups of this class."""

    command_class = Command
    group_class = type

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.format_own_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def list_commands(self, ctx: click.Context) -> list[str]:
        commands = self.commands
        if isinstance(commands, LazyCommands):  # the names without importing their modules
            return sorted(set(commands.table) | set(dict.keys(commands)))
        return super().list_commands(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = self.commands
        if not isinstance(commands, LazyCommands) or commands.complete:
            super().format_commands(ctx, formatter)
            return
        # ``callguard --help`` lists every command from the table: no module is imported.
        lang = current_lang()
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded: click.Command | None = dict.get(commands, name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                # Shortened as click shortens the command's own help (a stand-in command).
                stand_in = click.Command(name, help=text(commands.table[name][2], lang))
                rows.append((name, stand_in.get_short_help_str(limit)))
        if rows:
            with formatter.section(text("Commands", lang)):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # click exits 1 on ClickException; the contract wants 2 for every usage or ledger error.
        given = list(sys.argv[1:] if args is None else args)
        lang = _lang_of(given)
        # The whole run, click's own messages included (usage errors, « Error: »), speaks the
        # invocation's language: the library errors render their message id in it.
        _LANG.append(lang)
        try:
            with click_language(lang):
                try:
                    return super().main(_hoist_lang(given), prog_name, complete_var, False, **extra)
                except click.exceptions.Exit as exc:
                    sys.exit(exc.exit_code)
                except click.ClickException as exc:
                    exc.show()
                    sys.exit(EXIT_ERROR)
                except click.Abort:
                    click.echo(text("Aborted!", lang), err=True)
                    sys.exit(EXIT_ERROR)
        finally:
            _LANG.pop()


def _lang_of(args: list[str]) -> str:
    """The language asked for: ``--lang`` (before or after the subcommand), else
    ``$CALLGUARD_LANG``; anything but French is English."""
    front = _hoist_lang(args)
    for i, a in enumerate(front):
        if a == "--lang" and i + 1 < len(front):
            return lang_of(front[i + 1])
        if a.startswith("--lang="):
            return lang_of(a.split("=", 1)[1])
    return lang_of(os.environ.get("CALLGUARD_LANG", "en"))


@click.group(cls=Group)
@click.version_option(package_name="callguard-fr", prog_name="callguard")
@click.option(
    "--lang",
    type=click.Choice(LANGS, case_sensitive=False),
    envvar="CALLGUARD_LANG",
    default="en",
    show_default=True,
    help="Language of decisions, labels and messages (also $CALLGUARD_LANG).",
)
@click.pass_context
def cli(ctx: click.Context, lang: str) -> None:
    """callguard: may I call this number, from this caller ID, now? (French rules)"""
    ctx.meta["callguard.lang"] = lang.lower()
