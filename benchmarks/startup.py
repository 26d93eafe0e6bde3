"""What a ``callguard`` command costs before it does anything: CPU time of whole processes.

    python benchmarks/startup.py               # 15 runs of each, about 30 s on 2 cores
    python benchmarks/startup.py --runs 1      # the smoke run

A script that checks numbers one by one starts a process per number: its cost is the
interpreter's, the imports', then the decision's. Each command below runs ``--runs`` times
(after one run not counted, which warms the file cache and writes the bytecode: the children run
without ``PYTHONDONTWRITEBYTECODE``, as an installed package has its ``.pyc`` files); its CPU time
(user + system, as the kernel counts the finished child) is quoted as the median, and as a
multiple of the bare interpreter's (``python -c pass``), which the same machine runs in the
same conditions:

* ``python -c pass``: the floor;
* ``import callguard``: the public API, its names imported on first use;
* ``callguard --help``: the command line, no command's module imported;
* ``callguard check``: one decision on a new, empty ledger (the decision path: numbering plan,
  rules, calendar, policy, SQLite).

``--max-ratio`` exits 1 when any command above (``check`` included) costs more than that
multiple of the floor.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence

CLI = "from callguard.cli import main; main()"
# Compiling the sources again in every process would measure the compiler, not the start-up.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cpu_seconds(command: Sequence[str], runs: int) -> list[float]:
    """The CPU time of each of ``runs`` runs of ``command`` (after one not counted)."""
    times: list[float] = []
    for run in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_ENV)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)}: exit {done.returncode}: {done.stderr!r}")
        if run:
            times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="counted runs of each command")
    parser.add_argument("--max-ratio", type=float, default=None,
                        help="exit 1 when a command costs more than this multiple of the floor")  # fmt: skip
    args = parser.parse_args(argv)
    python = sys.executable
    with tempfile.TemporaryDirectory() as work:
        ledger = os.path.join(work, "ledger.db")
        subprocess.run([python, "-c", CLI, "init", "--db", ledger], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "import callguard": [python, "-c", "import callguard"],
            "callguard --help": [python, "-c", CLI, "--help"],
            "callguard check": [python, "-c", CLI, "check", "06 12 34 56 78", "--caller-id",
                                "09 48 12 34 56", "--at", "2026-11-24T11:00:00+01:00",
                                "--db", ledger],
        }  # fmt: skip
        medians = {
            name: statistics.median(cpu_seconds(c, args.runs)) for name, c in commands.items()
        }
    floor = medians["python -c pass"] or 1e-9
    print(f"CPU time, median of {args.runs} runs ({sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    for name, seconds in medians.items():
        print(f"  {name:<18} {seconds * 1000:7.0f} ms  {seconds / floor:5.1f} x the interpreter")
    over = {
        name: seconds / floor
        for name, seconds in medians.items()
        if args.max_ratio is not None and seconds / floor > args.max_ratio
    }
    for name, ratio in over.items():
        print(f"{name} costs {ratio:.1f} x the interpreter, over {args.max_ratio}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
