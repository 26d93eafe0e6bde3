"""The ``callguard`` command: a thin layer over the library (parsing, formatting, exit codes).

Exit codes: 0 success, 2 usage or ledger error. ``check`` exits 1 when the call is
refused (a ``LEDGER_UNAVAILABLE`` refusal exits 2); ``audit`` exits 1 when a call broke the rules
or a row could not be judged; the imports (``bloctel import``, ``import-calls``) exit 1 when
some lines were rejected (the others are imported). User errors print one line naming the bad
value, never a traceback.

A command's module is imported when the command runs, not before: ``callguard check`` loads
neither the audit, the evidence pack nor the HTTP service, and ``callguard --help`` no library
code at all (its one-line summaries are below; ``tests/test_startup.py`` holds them equal to
the commands' own).
"""

from __future__ import annotations

from .._i18n import N_
from ._common import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, Command, Group, LazyCommands, cli

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_REFUSED", "Command", "Group", "cli", "main"]

# name → (the modules that define it and its subcommands, where it is, its help's first line: a
# message id, shown in the invocation's language)
COMMANDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "attempt": (
        ("service",), "service_commands",
        N_("Decide and, when allowed, record the attempt atomically (the cap holds "
        "across dialers)."),
    ),
    "audit": (
        ("lists",), "audit",
        N_("Replay a call log and list every call that broke the rules in force at "
        "its time."),
    ),
    "bloctel": (
        ("lists",), "bloctel",
        N_("Bloctel files: the submission file to send, the return file to load."),
    ),
    "checkpoint": (
        ("evidence",), "checkpoint_command",
        N_("Sign the heads of the ledger's journal into a new checkpoint file in DIR; "
        "print its path alone on one line. Send it off the host: it proves the "
        "ledger's past to a control."),
    ),
    "check": (
        ("decisions",), "check",
        N_("May NUMBER be called now (or --at TIME) from --caller-id? Exit 0 yes, 1 "
        "no, 2 error."),
    ),
    "consent": (
        ("facts", "evidence"), "consent",
        N_("Prior consents to be canvassed (the opt-in regime, from 2026-08-11)."),
    ),
    "contract": (
        ("facts", "evidence"), "contract",
        N_("Ongoing contracts (calls about them are exempt from Bloctel and "
        "consent)."),
    ),
    "control-pack": (
        ("evidence",), "control_pack_command",
        N_("Write into DIR what a DGCCRF or CNIL control asks for: the period's "
        "facts and decisions (CSV and JSON), the consent evidence, the audit, the "
        "journal's verification (anchored by the signed checkpoints given, copied "
        "in), report.html."),
    ),
    "import-calls": (
        ("lists",), "import_calls_command",
        N_("Load a call history (the log audit reads) into the ledger."),
    ),
    "init": (
        ("service",), "service_commands",
        N_("Create a ledger (a SQLite file readable by its owner only, or a "
        "PostgreSQL schema)."),
    ),
    "keys": (
        ("service",), "service_commands",
        N_("API keys of the pre-dial service: one professional each, stored hashed, "
        "shown once."),
    ),
    "lift": (
        ("facts",), "lift",
        N_("Lift a refusal or an objection entered by mistake: an explicit, logged "
        "act."),
    ),
    "migrate-ledger": (
        ("migrate",), "migrate_ledger_command",
        N_("Copy the ledger FROM into the ledger TO, and print the rows copied per "
        "table."),
    ),
    "optout": (
        ("facts",), "optout",
        N_("The professional's internal do-not-call list."),
    ),
    "outcome": (
        ("service",), "service_commands",
        N_("Record the OUTCOME of attempt ATTEMPT_ID (REFUSED starts the 60-day "
        "cooldown, OBJECTED adds a permanent opt-out). --at defaults to the "
        "attempt's own time."),
    ),
    "purge": (
        ("facts",), "purge",
        N_("Remove the professional's call records that ended before --before, and "
        "say what went."),
    ),
    "record": (
        ("facts",), "record",
        N_("Record a call already placed to NUMBER (it counts toward the cap "
        "whatever its outcome)."),
    ),
    "refuse": (
        ("facts",), "refuse",
        N_("The consumer refused during the call: no call to NUMBER for 60 full days "
        "(D223-9)."),
    ),
    "scrub": (
        ("decisions",), "scrub",
        N_("Judge every number of a contact file; write it back with four callguard_ "
        "columns."),
    ),
    "serve": (
        ("service",), "service_commands",
        N_("Serve the ledger to every dialer: HTTP (JSON, Bearer keys) and "
        "optionally FastAGI."),
    ),
    "signing-key": (
        ("evidence",), "signing_key_group",
        N_("The Ed25519 key that signs checkpoints (keep the private key off the "
        "ledger's host if you can; hand the .pub to whoever checks)."),
    ),
    "show": (
        ("evidence",), "show",
        N_("Everything the ledger holds on NUMBER for the professional, and the "
        "decision now."),
    ),
    "verify": (
        ("evidence",), "verify_command",
        N_("Check the tamper-evident journal and every fact against it, and the "
        "signed checkpoints."),
    ),
    "void": (
        ("service",), "service_commands",
        N_("Void attempt ATTEMPT_ID, never placed: it stays in the ledger with --reason "
        "and no longer counts toward the cap. Within 5 minutes of the attempt and "
        "before any outcome (exit 2 after). --at defaults to now."),
    ),
}  # fmt: skip

cli.commands = LazyCommands(cli, __name__, COMMANDS)


def main() -> None:
    cli()
