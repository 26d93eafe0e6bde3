"""The ``callguard`` command: a thin layer over the library (parsing, formatting, exit codes).

Exit codes: 0 success, 2 usage or ledger error. ``check`` exits 1 when the call is
refused (a ``LEDGER_UNAVAILABLE`` refusal exits 2); ``audit`` exits 1 when a call broke the rules
or a row could not be judged; the imports (``bloctel import``, ``import-calls``) exit 1 when
some lines were rejected (the others are imported). User errors print one line naming the bad
value, never a traceback.
"""

from __future__ import annotations

from ._common import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, Group, cli
from .decisions import check, scrub
from .evidence import consent_list, contract_list, control_pack_command, show, verify_command
from .facts import consent, contract, optout, purge, record, refuse
from .lists import audit, bloctel, import_calls_command
from .migrate import migrate_ledger_command
from .service import service_commands

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_REFUSED", "Group", "cli", "main"]

# The commands register themselves on the group when their modules are imported above.
_COMMANDS: tuple[object, ...] = (check, scrub, record, refuse, purge, optout, consent, contract)
_COMMANDS += (audit, bloctel, import_calls_command, verify_command, show, consent_list)
_COMMANDS += (contract_list, control_pack_command)
cli.add_command(migrate_ledger_command)  # defined beside the library code it wraps
for _command in service_commands:
    cli.add_command(_command)


def main() -> None:
    cli()
