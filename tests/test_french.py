"""French from end to end: every command with ``--lang fr`` and every route with
``Accept-Language: fr`` speak French, their errors included.

The check is a heuristic over what a person reads: after removing quoted values (what the user
typed), codes (``INVALID_NUMBER``), paths, numbers and field names, no run of three common English
words may remain. It is strict enough to catch the half-translated sentences French used to get
(« n'est pas un numéro de téléphone valide (a national number has 10 digits starting with 0,
got 6) »).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from callguard import Guard
from callguard.cli import cli
from conftest import NPV, paris

DATA = Path(__file__).parent / "data"

ENGLISH = frozenset(
    """
    a about after all allowed already also an and any are as at be because been before being but
    attempt attempts command commands professional
    by call called calls can cannot check checked could create created day days did digits do does
    done each empty error every expected file files first for found from given got had has have he
    her his how if in into invalid is it its last least ledger line lines list listed may missing
    more most must national needs never new next no none not now number numbers of on one only
    open or other out over read record recorded refused rejected row rows run same should since
    skipped so some starting such than that the their them then there these they this those time
    times to too unknown until up use used valid value was were what when where which while who
    will with within without written wrong yet you your
    """.split()  # noqa: SIM905
)
"""Common English words; three in a row outside quotes is an English sentence."""

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`|«[^»\n]*»")
_NOISE = re.compile(
    r"\b[0-9a-f]{16,}\b"  # digests: a SHA-256 in hex holds "a"s between its digits
    r"|[A-Z][A-Z0-9_]{2,}"  # codes: INVALID_NUMBER, REFUSED
    r"|[\w.+-]*[/\\][\w./\\-]*"  # paths and URLs
    r"|\S+@\S+|\S+\.(?:csv|db|html|json|txt|xlsx|pdf|png)\b"  # files
    r"|--?[a-z][\w-]*"  # options
    r"|\b[^\W_]+(?:_[^\W_]*)+"  # field names: callguard_next_allowed_at, phone_code
    r"|\+?\d[\d:T.,+-]*"  # numbers, times, dates
)


def english_runs(text: str, extra_allowed: frozenset[str] = frozenset()) -> list[str]:
    """Runs of 3+ common English words outside quoted values, codes, paths and numbers."""
    found = []
    for line in text.splitlines():
        line = _NOISE.sub(" ", _QUOTED.sub(" ", line))
        run: list[str] = []
        for word in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", line):
            low = word.lower()
            if low in ENGLISH and low not in extra_allowed:
                run.append(word)
                continue
            if len(run) >= 3:
                found.append(" ".join(run))
            run = []
        if len(run) >= 3:
            found.append(" ".join(run))
    return found


@pytest.mark.parametrize(
    "text",
    [
        "'061234' n'est pas un numéro de téléphone valide (a national number has 10 digits "
        "starting with 0, got 6).",
        "aucun registre à 'x.db': run `callguard init --db x.db` to create one",
        "5 rows: 1 allowed, 4 refused",
        "Erreur : the ledger could not be read",
        "Utilisation : No such command 'x'.",
        "next_allowed_at: when the number may be called",
    ],
)
def test_the_heuristic_catches_english(text: str) -> None:
    assert english_runs(text)


@pytest.mark.parametrize(
    "text",
    [
        "'061234' n'est pas un numéro de téléphone valide (un numéro national compte 10 chiffres "
        "commençant par 0, reçu 6).",
        "Erreur : aucun registre à 'no such file.db' : créez-le avec `callguard init --db x`",
        "REFUSÉ  +33612345678  [consent, Europe/Paris]",
        "Le consommateur a refusé le 2026-11-23 : aucun appel pendant 60 jours révolus.",
        "plus callguard_next_allowed_at (ISO 8601)",
    ],
)
def test_the_heuristic_lets_french_through(text: str) -> None:
    assert english_runs(text) == []


def assert_french(text: str, where: str) -> None:
    runs = english_runs(text)
    assert not runs, f"{where}: English in a French answer: {runs}\n{text}"


# --- the command line ---------------------------------------------------------------------------


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


COMMANDS = sorted(_commands(cli))


def _invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--lang", "fr", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_refuses_an_unknown_option_in_french(command: tuple[str, ...]) -> None:
    code, out = _invoke(*command, "--no-such-option")
    assert code == 2
    assert "Option inconnue" in out
    assert_french(out, " ".join(command))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_names_a_missing_ledger_in_french(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    """Given what it needs but a ledger that does not exist, each command that reads a ledger
    says so in French (and those that need more say that in French)."""
    missing = str(tmp_path / "missing.db")
    args = list(command)
    params = {p.name for p in _command(command).params}
    if "db" in params:
        args += ["--db", missing]
    for p in _command(command).params:
        if isinstance(p, click.Argument):
            args.append(_ARGUMENT_VALUES.get(p.name or "", "0612345678"))
    code, out = _invoke(*args)
    assert_french(out, " ".join(command))
    if "db" in params and command != ("init",) and "Utilisation" not in out:
        assert code == 2
        assert "aucun registre" in out or "n'existe pas" in out or "introuvable" in out, out


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


_ARGUMENT_VALUES = {
    "attempt_id": "1",
    "outcome": "answered",
    "source": str(DATA / "journal_v1.db") + ".absent",
    "target": "/nonexistent/dir/target.db",
}


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    db = str(tmp_path / "l.db")
    with Guard(db) as guard:
        guard.import_bloctel([], paris(2025, 11, 20), submitted=["06 12 34 56 78"])
        guard.record_refusal("06 98 76 54 32", paris(2025, 11, 21, 11))
    return db


def _happy_paths(db: str, tmp: Path) -> dict[tuple[str, ...], list[list[str]]]:
    """What each command is asked in the walk: its ordinary use and its errors."""
    at = ["--at", "2025-11-24T11:00"]
    return {
        ("check",): [
            ["check", "06 12 34 56 78", "--caller-id", NPV, *at, "--db", db],
            ["check", "061234", "--caller-id", NPV, *at, "--db", db],
            ["check", "06 98 76 54 32", "--caller-id", "0612345678", *at, "--db", db],
            ["check", "06 98 76 54 32", "--caller-id", NPV, "--at", "2025-11-22T21:00", "--db", db],
            ["check", "06 12 34 56 78", "--caller-id", NPV, "--at", "garbage", "--db", db],
            ["check", "06 12 34 56 78", "--caller-id", NPV, "--purpose", "nope", "--db", db],
            ["check", "06 12 34 56 78", "--caller-id", NPV, "--tz", "Mars/Olympus", "--db", db],
            ["check", "06 12 34 56 78", "--caller-id", NPV, "--department", "99", "--db", db],
        ],
        ("attempt",): [
            ["attempt", "06 12 34 56 78", "--caller-id", NPV, *at, "--db", db],
            ["attempt", "not a number", "--caller-id", NPV, *at, "--db", db],
        ],
        ("scrub",): [
            [
                "scrub",
                str(DATA / "numbers_plain.txt"),
                "--caller-id",
                NPV,
                *at,
                "--db",
                db,
                "-o",
                str(tmp / "out.csv"),
            ],
            [
                "scrub",
                str(DATA / "contacts_utf8_bom_comma.csv"),
                "--caller-id",
                NPV,
                "--column",
                "fax",
                "--db",
                db,
            ],
            ["scrub", str(DATA), "--caller-id", NPV, "--db", db],
            ["scrub", str(DATA / "journal_v1.db"), "--caller-id", NPV, "--db", db],
        ],
        ("show",): [["show", "06 98 76 54 32", "--db", db]],
        ("audit",): [
            ["audit", str(DATA / "calls_2025q4.csv"), "--db", db],
            ["audit", str(DATA / "calls_2025q4.csv"), "--map", "nope=x", "--db", db],
            ["audit", str(DATA / "calls_2025q4.csv"), "--tz", "Nowhere", "--db", db],
            ["audit", str(DATA / "contacts_utf8_bom_comma.csv"), "--db", db],
        ],
        ("init",): [["init", "--db", str(tmp / "new.db")], ["init", "--db", db]],
        ("verify",): [["verify", "--db", db]],
        ("record",): [["record", "06 12 34 56 78", "--caller-id", NPV, *at, "--db", db]],
        ("refuse",): [["refuse", "06 12 34 56 78", *at, "--db", db]],
        ("optout", "add"): [["optout", "add", "06 12 34 56 78", *at, "--db", db]],
        ("optout", "list"): [["optout", "list", "--db", db]],
        ("optout", "remove"): [["optout", "remove", "06 12 34 56 78", "--db", db]],
        ("consent", "add"): [
            ["consent", "add", "06 12 34 56 78", "--proof", "form-1", *at, "--db", db]
        ],
        ("consent", "list"): [["consent", "list", "--db", db]],
        ("consent", "withdraw"): [
            ["consent", "withdraw", "06 12 34 56 78", *at, "--db", db],
            ["consent", "withdraw", "--db", db],
        ],
        ("consent", "import"): [
            ["consent", "import", str(DATA / "consents_vendor_cp1252.csv"), "--db", db]
        ],
        ("contract", "add"): [
            ["contract", "add", "06 12 34 56 78", "--start", "2025-11-01", "--db", db],
            [
                "contract",
                "add",
                "06 12 34 56 78",
                "--start",
                "2025-11-02",
                "--end",
                "2025-11-01",
                "--db",
                db,
            ],
        ],
        ("contract", "list"): [["contract", "list", "--db", db]],
        ("lift", "refusal"): [
            ["lift", "refusal", "06 98 76 54 32", "--reason", "erreur de saisie", "--db", db]
        ],
        ("lift", "objection"): [
            ["lift", "objection", "06 98 76 54 32", "--reason", "erreur", "--db", db]
        ],
        ("bloctel", "import"): [
            [
                "bloctel",
                "import",
                str(DATA / "bloctel_return.csv"),
                "--submitted",
                str(DATA / "numbers_plain.txt"),
                "--db",
                db,
            ]
        ],
        ("bloctel", "export"): [
            [
                "bloctel",
                "export",
                str(DATA / "numbers_plain.txt"),
                "-o",
                str(tmp / "bloctel.csv"),
                "--db",
                db,
            ]
        ],
        ("import-calls",): [["import-calls", str(DATA / "calls_2025q4.csv"), "--db", db]],
        ("outcome",): [["outcome", "999", "answered", "--db", db]],
        ("purge",): [
            ["purge", "--before", "2020-01-01", "--db", db],
            ["purge", "--before", "2099-01-01", "--db", db],
        ],
        ("keys", "create"): [["keys", "create", "--professional", "acme", "--db", db]],
        ("keys", "list"): [["keys", "list", "--db", db]],
        ("keys", "revoke"): [["keys", "revoke", "nope", "--db", db]],
        ("control-pack",): [
            [
                "control-pack",
                "--out",
                str(tmp / "pack"),
                "--from",
                "2025-10-01",
                "--to",
                "2025-12-31",
                "--db",
                db,
            ]
        ],
        ("migrate-ledger",): [["migrate-ledger", db, str(tmp / "copy.db")]],
        ("serve",): [["serve", "--db", str(tmp / "absent.db")]],
        ("void",): [["void", "999", "--reason", "jamais composé", "--db", db]],
        ("signing-key", "create"): [
            ["signing-key", "create", "--out", str(tmp / "k.pem")],
            ["signing-key", "create", "--out", str(tmp / "k.pem")],
        ],
        ("checkpoint",): [
            [
                "checkpoint",
                "--signing-key",
                str(tmp / "k.pem"),
                "--out",
                str(tmp / "cps"),
                "--db",
                db,
            ],
            [
                "checkpoint",
                "--signing-key",
                str(tmp / "absent.pem"),
                "--out",
                str(tmp / "cps"),
                "--db",
                db,
            ],
        ],
    }


def test_every_command_has_a_walk(ledger: str, tmp_path: Path) -> None:
    """A new command gets its line in the walk below (click's own list is the reference)."""
    assert sorted(_happy_paths(ledger, tmp_path)) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_speaks_french(command: tuple[str, ...], ledger: str, tmp_path: Path) -> None:
    for args in _happy_paths(ledger, tmp_path).get(command, []):
        code, out = _invoke(*args)
        assert code in (0, 1, 2), out
        assert_french(out, " ".join(args))


# --- the pre-dial service -----------------------------------------------------------------------


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _assert_french_json(response: object, where: str) -> None:
    import json as _json

    body = _json.loads(response.content)  # type: ignore[attr-defined]
    for value in _strings(body):
        assert_french(value, where)


def test_every_route_answers_french_errors_included(tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from callguard.server.app import ROUTES
    from callguard.server.service import Unavailable
    from test_server_http import AT_ISO, auth, make_key, prepare, serve

    db = str(tmp_path / "ledger.db")
    prepare(db)
    key = make_key(db)
    fr = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    good = {
        "check": {"number": "06 12 34 56 78", "caller_id": NPV, "at": AT_ISO},
        "attempt": {"number": "06 12 34 56 78", "caller_id": NPV, "at": AT_ISO},
        "outcome": {"outcome": "NO_ANSWER"},
        "consent": {"number": "06 12 34 56 78", "proof": "form-2", "at": AT_ISO},
        "withdrawal": {"number": "06 55 55 55 55", "at": AT_ISO},
        "optout": {"number": "06 55 55 55 56", "at": AT_ISO},
        "refusal": {"number": "06 55 55 55 57", "at": AT_ISO},
        "lift": {"number": "06 55 55 55 57", "reason": "erreur de saisie", "at": AT_ISO},
        "void": {"reason": "jamais composé"},
    }
    seen: set[int] = set()
    with serve(db) as running, httpx.Client(base_url=running.url, timeout=10) as client:
        attempt = client.post("/v1/attempts", json=good["attempt"], headers=auth(key)).json()
        for method, path, _summary, kind, _ok in ROUTES:
            if path in ("/metrics", "/openapi.json"):
                continue  # machine formats (Prometheus text, the OpenAPI schema)
            url = path.replace("{attempt_id}", str(attempt["attempt_id"])).replace(
                "{number}", "0612345678"
            )
            asks = [
                client.request(method, url, headers=fr),  # no key: 401 on /v1
                client.request(method, url, headers={**fr, **auth("cg_nope")}),
                client.request(method, url, headers={**fr, **auth(key)},
                               json=good.get(kind or "")),
            ]  # fmt: skip
            if kind is not None:
                asks += [
                    client.request(method, url, headers={**fr, **auth(key)}, json={"zzz": 1}),
                    client.request(method, url, headers={**fr, **auth(key)}, json={}),
                    client.request(method, url, headers={**fr, **auth(key)},
                                   content=b"{not json"),
                    client.request(method, url, headers={**fr, **auth(key)},
                                   json={**good[kind], "at": "2026-11-23T10:30"}),
                ]  # fmt: skip
            asks.append(client.request("DELETE" if method != "DELETE" else "PUT", url, headers=fr))
            for response in asks:
                seen.add(response.status_code)
                _assert_french_json(response, f"{response.request.method} {url}")
        # An unknown route, an unknown attempt, a bad number, an invalid caller ID.
        for response in [
            client.get("/v2/nothing", headers=fr),
            client.post("/v1/attempts/999999/outcome", json=good["outcome"],
                        headers={**fr, **auth(key)}),
            client.get("/v1/numbers/061234", headers={**fr, **auth(key)}),
            client.post("/v1/check", json={**good["check"], "number": "061234",
                                           "caller_id": "masqué"},
                        headers={**fr, **auth(key)}),
        ]:  # fmt: skip
            seen.add(response.status_code)
            _assert_french_json(response, str(response.request.url))
        # The ledger fails: a 503, with and without the refusal it stands for.
        service = running.service

        def broken(*_a: object, **_k: object) -> object:
            raise Unavailable("disk I/O error")

        service.check = broken  # type: ignore[method-assign]
        response = client.post("/v1/check", json=good["check"], headers={**fr, **auth(key)})
        assert response.status_code == 503
        seen.add(response.status_code)
        # A decision route answers the refusal the failure stands for, never an allow.
        [reason] = response.json()["reasons"]
        assert reason["code"] == "LEDGER_UNAVAILABLE"
        _assert_french_json(response, "503")
        service.guard = broken  # type: ignore[method-assign]
        response = client.post("/v1/optouts", json=good["optout"], headers={**fr, **auth(key)})
        assert response.status_code == 503
        assert response.json()["message"] == "le registre ne peut être ni lu ni écrit"
        _assert_french_json(response, "503")
    assert {401, 404, 405, 422, 503} <= seen, seen


def test_an_error_answer_is_english_without_accept_language(tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from test_server_http import serve

    db = str(tmp_path / "ledger.db")
    Guard(db).close()
    with serve(db) as running, httpx.Client(base_url=running.url, timeout=10) as client:
        english = client.post("/v1/check", json={})
        french = client.post("/v1/check", json={}, headers={"Accept-Language": "fr"})
        missing = client.get("/nowhere", headers={"Accept-Language": "fr"})
        wrong = client.get("/v1/check", headers={"Accept-Language": "fr"})
    assert english.status_code == french.status_code == 401
    assert english.json()["message"] == "an API key is required: Authorization: Bearer KEY"
    assert french.json()["message"] == "une clé d'API est requise : Authorization: Bearer CLÉ"
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert missing.json()["message"].startswith("aucune route /nowhere")
    assert wrong.status_code == 405
    assert wrong.json()["message"].startswith("GET n'est pas accepté sur /v1/check")


def test_a_french_control_pack_has_french_csv_headers_and_reasons(
    ledger: str, tmp_path: Path
) -> None:
    with Guard(ledger) as guard:
        guard.record_call("06 12 34 56 78", paris(2025, 11, 23, 11), caller_id=NPV)  # a Sunday
    out = tmp_path / "pack"
    code, _out = _invoke("control-pack", "--out", str(out), "--from", "2025-10-01",
                         "--to", "2025-12-31", "--db", ledger)  # fmt: skip
    assert code in (0, 1)
    header, *rows = (out / "calls.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header.split(";")[:3] == ["tentative", "numéro", "date"]
    assert "motifs" in header.split(";")
    assert rows and all(not english_runs(row) for row in rows), rows


def test_show_heads_its_tables_in_french(ledger: str) -> None:
    code, out = _invoke("show", "06 98 76 54 32", "--db", ledger)
    assert code == 0
    assert "\tlevé_le\t" in out and "lifted_at" not in out


# A bad argument is a ConfigurationError naming its field and the value given (it was a plain
# ValueError for off_hours and proof_sha256, an English-only sentence for the Guard's own
# arguments); its sentence renders in French from the catalog.
_BAD_GUARD_ARGUMENTS = [
    ("path", {"path": 12}),
    ("professional", {"professional": "  "}),
    ("policy", {"policy": {"cap_calls": 3}}),
    ("busy_timeout", {"busy_timeout": 601}),
]


@pytest.mark.parametrize(("field", "kwargs"), _BAD_GUARD_ARGUMENTS)
def test_a_bad_guard_argument_names_its_field_and_value_in_french(
    field: str, kwargs: dict[str, object]
) -> None:
    from callguard import ConfigurationError

    arguments: dict[str, object] = {"path": ":memory:", **kwargs}
    with pytest.raises(ConfigurationError) as caught:
        Guard(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.value == kwargs[field]
    french = caught.value.render("fr")
    assert field in french and "doit" in french and english_runs(french) == [], french


@pytest.mark.parametrize(
    ("field", "value"), [("off_hours", "yes"), ("proof_sha256", "not-a-digest")]
)
def test_a_bad_consent_argument_names_its_field_and_value_in_french(
    field: str, value: object
) -> None:
    from callguard import ConfigurationError

    with Guard(":memory:") as guard, pytest.raises(ConfigurationError) as caught:
        guard.record_consent(
            "06 12 34 56 78", paris(2026, 11, 2, 10), proof="form-1", **{field: value}
        )  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.value) == (field, value)
    french = caught.value.render("fr")
    assert field in french and "doit" in french and english_runs(french) == [], french


# --- --help ------------------------------------------------------------------------------------
# Help texts are message ids (the commands' docstrings, the options' help=), shown through the
# catalog by cli._common.Command; --help used to be English whatever --lang said.


def _groups(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _groups(command, (*prefix, name))


HELP_PAGES = sorted(set(_groups(cli)) | set(COMMANDS))


@pytest.mark.parametrize("command", HELP_PAGES, ids=lambda c: " ".join(c) or "callguard")
def test_every_help_page_is_french(command: tuple[str, ...]) -> None:
    code, out = _invoke(*command, "--help")
    assert code == 0, out
    assert out.startswith("Utilisation :"), out
    assert "Options:" in out and "Afficher cette aide et quitter." in out, out
    assert_french(out, " ".join(("callguard", *command, "--help")))
    if _command(command).help:  # the command's own text is there, translated
        assert _french_help(_command(command)).split()[0] in out


def _french_help(command: click.Command) -> str:
    from callguard._i18n import text

    return text(inspect.cleandoc(command.help or "").partition("\f")[0], "fr")


def test_the_top_level_help_is_french_from_the_environment_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLGUARD_LANG", "fr")
    out = CliRunner().invoke(cli, ["--help"]).output
    assert "Commandes:" in out and "Juger chaque numéro d'un fichier de contacts" in out
    assert_french(out, "CALLGUARD_LANG=fr callguard --help")
    monkeypatch.delenv("CALLGUARD_LANG")
    english = CliRunner().invoke(cli, ["scrub", "--help"]).output
    assert english.startswith("Usage:") and "Judge every number of a contact file" in english
    assert "Where to write the scrubbed file" in english
    # click words --help once and keeps it: the run after a French one is English again.
    assert "Show this message and exit." in english and "Afficher" not in english


def _tree(group: click.Group) -> Iterator[click.Command]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield command
        if isinstance(command, click.Group):
            yield from _tree(command)


def test_every_command_shows_its_help_through_the_catalog() -> None:
    """Each command is a cli Command and each help text it has is a message id with a French
    translation (a help built at run time, e.g. in an f-string, would escape the catalog)."""
    from callguard._i18n import text
    from callguard.cli import Command

    untranslated = []
    for command in [cli, *_tree(cli)]:
        assert isinstance(command, Command), command.name
        texts = [inspect.cleandoc(command.help or "").partition("\f")[0]]
        texts += [p.help for p in command.params if isinstance(p, click.Option) and p.help]
        untranslated += [(command.name, t) for t in texts if t and text(t, "fr") == t]
    assert not untranslated, untranslated


def test_the_french_summaries_of_the_lazy_table_are_the_commands_own() -> None:
    """``callguard --help`` shows cli.COMMANDS' summaries without loading a command: in French
    they must read as the first paragraph of each command's French help."""
    import callguard.cli as cli_package
    from callguard._i18n import text

    for name, (_modules, _where, summary) in cli_package.COMMANDS.items():
        command = _command((name,))
        first = _french_help(command).split("\n\n")[0]
        assert " ".join(first.split()) == text(summary, "fr"), name


def test_the_french_top_level_help_loads_no_library() -> None:
    from test_startup import loaded_after, run_cli

    assert loaded_after(run_cli("--lang", "fr", "--help")) == set()


# --- verify and show: sentences from the catalog (they were English/French pairs inline) --------


def test_verify_of_a_tampered_ledger_says_so_in_french(ledger: str) -> None:
    import sqlite3

    with Guard(ledger) as guard:
        guard.record_refusal("06 11 22 33 44", paris(2025, 11, 21, 12))
    with sqlite3.connect(ledger) as conn:  # two refusals moved a day back, behind the journal
        conn.execute("UPDATE refusals SET at = at - 86400000000")
    code, out = _invoke("verify", "--db", ledger)
    assert code == 1
    assert out.startswith("ALTÉRÉ  refusals ligne ") and "\n  aussi : refusals ligne " in out, out
    assert ", le journal dit " in out, out  # the details too, not only the words around them
    assert_french(out, "verify of a tampered ledger")
    english = CliRunner().invoke(cli, ["verify", "--db", ledger]).output
    assert english.startswith("TAMPERED  refusals row ") and "\n  also: " in english
    assert ", journal says " in english, english


def test_every_problem_verify_can_name_is_french(ledger: str) -> None:
    """Each sentence of the journal's verification, rendered in French, holds no English."""
    import sqlite3

    with Guard(ledger) as guard:
        guard.record_refusal("06 11 22 33 44", paris(2025, 11, 21, 12))
        guard.record_call("06 11 22 33 45", paris(2025, 11, 21, 12), caller_id=NPV)
    with sqlite3.connect(ledger) as conn:
        conn.execute("DELETE FROM refusals")  # removed behind the journal
        conn.execute(  # and a row written outside callguard
            "INSERT INTO refusals (professional, number, at) SELECT professional, number + 1, "
            "at FROM attempts"
        )
    from callguard import verify

    report = verify(ledger)
    assert not report.ok and report.problems
    for problem in report.problems:
        french = problem.as_message().render("fr")
        assert_french(french, f"problem {problem}")
        assert str(problem) != french


def test_options_that_go_together_are_named_in_french(ledger: str, tmp_path: Path) -> None:
    code, out = _invoke("verify", "--checkpoints", str(tmp_path), "--db", ledger)
    assert code == 2
    assert "--checkpoints et --public-key vont ensemble" in out, out
    assert_french(out, "verify --checkpoints")


def test_show_heads_and_closes_in_french(ledger: str) -> None:
    code, out = _invoke("show", "06 98 76 54 32", "--db", ledger)
    assert code == 0
    assert "(heures en Europe/Paris)" in out and "\nRefus (1)" in out
    assert "\nDécision maintenant\n" in out
