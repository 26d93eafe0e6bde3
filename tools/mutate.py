#!/usr/bin/env python3
"""Mutation testing for callguard's rules, tables and number parsing (stdlib only).

Each mutant is one small change to one target file: a comparison turned around, an ``and``
made an ``or``, a ``not`` dropped, a boolean flipped, an integer moved by one, a date moved by a
day or a month, a prefix or code string in a table changed, ``+`` made ``-``, a ``return x`` of a
function that may return None made ``return None``. The tool writes one mutant at a time into the
file, runs a pytest subset against it (``-x``, one process, a timeout per mutant), and restores the
file in a ``finally`` (and on SIGTERM/SIGINT). A mutant that no test notices *survives*: either a
behaviour no test pins down, or an equivalent mutant (mark its line ``# pragma: no mutate``).

    python tools/mutate.py --list
    python tools/mutate.py --sample 150 --seed 1
    python tools/mutate.py src/callguard/rules/calendar.py --tests "tests/test_rules_calendar.py"

See tools/README.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import datetime as dt
import glob
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TARGETS = (
    "src/callguard/rules/**/*.py",
    "src/callguard/_numbers.py",
)
DEFAULT_TESTS = (
    "tests/test_rule_*.py tests/test_rules*.py tests/test_numbers.py tests/test_pins_*.py "
    "tests/test_legal_corrections.py tests/test_fast_paths.py"
)
# The rules do not depend on the ledger backend: the SQLite runs of the tests are enough.
DEFAULT_PYTEST_ARGS = "-k 'not postgres'"
PRAGMA = "pragma: no mutate"

_SWAP_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_CMP_TEXT = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip
_MAX_INT = 1_000_000  # larger constants are units (microseconds in a day): ±1 is noise
_MAX_STR = 40  # longer strings, or ones with spaces, are messages, not table entries
_CONTAINERS = (ast.Tuple, ast.List, ast.Set, ast.Dict)


@dataclass(frozen=True)
class Mutant:
    """One change: replace bytes [start, end) of ``path`` by ``text``."""

    path: str
    line: int
    col: int
    description: str
    start: int
    end: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col + 1}"


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed | survived | timeout | invalid
    seconds: float
    detail: str = ""


# --- Finding mutants --------------------------------------------------------------------------


def _offsets(source: bytes) -> list[int]:
    """Byte offset of the start of each line (1-based lines: index 0 is line 1)."""
    starts = [0]
    for i, b in enumerate(source):
        if b == 0x0A:
            starts.append(i + 1)
    return starts


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, f-string parts, ``__all__``."""
    skip: set[int] = set()

    def drop(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                drop(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            drop(node.returns)
            for a in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                drop(a.annotation)
            for star in (node.args.vararg, node.args.kwarg):
                if star is not None:
                    drop(star.annotation)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            drop(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            drop(node)  # attribute docstrings
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                drop(node)
    return skip


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    return parents


def _bump_str(value: str) -> str | None:
    """A near miss of a table string: the last digit moved by one, else the first letter's case."""
    for i in range(len(value) - 1, -1, -1):
        if value[i].isdigit():
            return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
    for i, ch in enumerate(value):
        if ch.isalpha():
            return value[:i] + ch.swapcase() + value[i + 1 :]
    return None


def _date_variants(node: ast.Call) -> list[tuple[str, str]]:
    """``date(y, m, d)`` moved by one day either way and by one month either way."""
    args = node.args
    if not (len(args) == 3 and all(isinstance(a, ast.Constant) for a in args)):
        return []
    y, m, d = (a.value for a in args)  # type: ignore[attr-defined]
    if not all(isinstance(v, int) for v in (y, m, d)):
        return []
    try:
        day = dt.date(y, m, d)
    except ValueError:
        return []
    out = []
    for label, new in (
        ("day -1", day - dt.timedelta(days=1)),
        ("day +1", day + dt.timedelta(days=1)),
    ):
        out.append((label, new))
    for label, month in (("month -1", m - 1), ("month +1", m + 1)):
        if 1 <= month <= 12:
            with contextlib.suppress(ValueError):  # 31 January has no 31 February
                out.append((label, dt.date(y, month, d)))
    func = ast.unparse(node.func)
    return [(f"{label}: {new.isoformat()}", f"{func}({new.year}, {new.month}, {new.day})")
            for label, new in out]  # fmt: skip


def _returns_optional(func: ast.AST | None) -> bool:
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or func.returns is None:
        return False
    text = ast.unparse(func.returns)
    return "None" in text and text != "None"


def find_mutants(path: str) -> list[Mutant]:
    raw = Path(path).read_bytes()
    tree = ast.parse(raw, filename=path)
    lines = raw.decode("utf-8").splitlines()
    offsets = _offsets(raw)
    skip = _skipped_nodes(tree)
    parents = _parents(tree)
    date_args: set[int] = set()
    mutants: list[Mutant] = []

    def span(node: ast.AST) -> tuple[int, int]:
        start = offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def pragma(node: ast.AST) -> bool:
        first, last = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        return any(PRAGMA in lines[i - 1] for i in range(first, last + 1))

    def add(node: ast.AST, description: str, text: str) -> None:
        start, end = span(node)
        mutants.append(
            Mutant(path, node.lineno, node.col_offset, description, start, end, f"({text})")  # type: ignore[attr-defined]
        )

    def replaced(node: ast.AST, change: Callable[[ast.AST], None]) -> str:
        clone = copy.deepcopy(node)
        change(clone)
        return ast.unparse(clone)

    func_of: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                func_of[id(inner)] = node  # walk order is outer before inner: inner wins

    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno") or pragma(node):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new_op = _SWAP_CMP.get(type(op))
                if new_op is None:
                    continue

                def swap_cmp(n: ast.AST, i: int = i, new_op: type[ast.cmpop] = new_op) -> None:
                    n.ops[i] = new_op()  # type: ignore[attr-defined]

                add(node, f"{_CMP_TEXT[type(op)]} -> {_CMP_TEXT[new_op]}", replaced(node, swap_cmp))
        elif isinstance(node, ast.BoolOp):
            new_bool: type[ast.boolop] = ast.Or if isinstance(node.op, ast.And) else ast.And
            label = "and -> or" if new_bool is ast.Or else "or -> and"

            def swap_bool(n: ast.AST, new: type[ast.boolop] = new_bool) -> None:
                n.op = new()  # type: ignore[attr-defined]

            add(node, label, replaced(node, swap_bool))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, "not x -> x", ast.unparse(node.operand))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                continue  # string concatenation
            new_arith: type[ast.operator] = ast.Sub if isinstance(node.op, ast.Add) else ast.Add
            label = "+ -> -" if new_arith is ast.Sub else "- -> +"

            def swap_arith(n: ast.AST, new: type[ast.operator] = new_arith) -> None:
                n.op = new()  # type: ignore[attr-defined]

            add(node, label, replaced(node, swap_arith))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("date", "dt.date"):
            variants = _date_variants(node)
            if variants:
                date_args.update(id(a) for a in node.args)
            for label, text in variants:
                add(node, f"date {label}", text)
        elif isinstance(node, ast.Return) and node.value is not None:
            returned = node.value
            if isinstance(returned, ast.Constant) and returned.value is None:
                continue
            if _returns_optional(func_of.get(id(node))):
                add(returned, "return x -> return None", "None")
        elif isinstance(node, ast.Constant) and id(node) not in date_args:
            value = node.value
            parent = parents.get(id(node))
            if isinstance(value, bool):
                add(node, f"{value} -> {not value}", repr(not value))
            elif isinstance(value, int):
                if abs(value) >= _MAX_INT:
                    continue
                if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
                    continue  # negative literals stay as they are
                add(node, f"{value} -> {value + 1}", repr(value + 1))
                add(node, f"{value} -> {value - 1}", repr(value - 1))
            elif isinstance(value, str) and isinstance(parent, (*_CONTAINERS, ast.Compare)):
                if not value or len(value) > _MAX_STR or " " in value:
                    continue
                new_value = _bump_str(value)
                if new_value is not None and new_value != value:
                    add(node, f"{value!r} -> {new_value!r}", repr(new_value))
    # Walk order already groups by nesting; report in file order.
    mutants.sort(key=lambda m: (m.start, m.end, m.description))
    return mutants


# --- Running ----------------------------------------------------------------------------------


def expand(patterns: list[str], *, base: Path = ROOT) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(base / pattern), recursive=True)) or (
            [pattern] if (base / pattern).is_file() else []
        )
        for match in matches:
            rel = os.path.relpath(match, base)
            if rel.endswith(".py") and rel not in found:
                found.append(rel)
    return found


class Restorer:
    """Writes a mutant into its file and always puts the original back (also on a signal)."""

    def __init__(self) -> None:
        self.original: dict[str, tuple[bytes, int]] = {}
        self.counter = 0

    def write(self, mutant: Mutant) -> None:
        path = ROOT / mutant.path
        if mutant.path not in self.original:
            self.original[mutant.path] = (path.read_bytes(), path.stat().st_mtime_ns)
        source, mtime = self.original[mutant.path]
        new = source[: mutant.start] + mutant.text.encode() + source[mutant.end :]
        path.write_bytes(new)
        # A distinct mtime each time: Python never takes a stale .pyc for this mutant.
        self.counter += 1
        stamp = mtime + (1000 + self.counter) * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))

    def restore(self, rel: str | None = None) -> None:
        for name in [rel] if rel else list(self.original):
            if name in self.original:
                source, mtime = self.original[name]
                path = ROOT / name
                path.write_bytes(source)
                os.utime(path, ns=(mtime, mtime))


def _mutated_source(mutant: Mutant) -> bytes:
    source = (ROOT / mutant.path).read_bytes()
    return source[: mutant.start] + mutant.text.encode() + source[mutant.end :]


def run_tests(tests: list[str], pytest_args: list[str], timeout: float) -> tuple[str, float, str]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *pytest_args,
           *tests]  # fmt: skip
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.monotonic() - began, ""
    except BaseException:  # interrupted: no test run may outlive the mutant it was given
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    seconds = time.monotonic() - began
    text = out.decode(errors="replace")
    if proc.returncode == 0:
        return "survived", seconds, ""
    if proc.returncode == 5:
        return "error", seconds, "no tests collected"
    failed = [ln for ln in text.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return "killed", seconds, failed[0] if failed else text.strip().splitlines()[-1:][0]


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def score(self) -> float:
        judged = self.count("killed") + self.count("timeout") + self.count("survived")
        return 100.0 * (self.count("killed") + self.count("timeout")) / judged if judged else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="files or globs (default: the rule modules)")
    parser.add_argument("--tests", default=DEFAULT_TESTS, help="pytest paths/globs, one string")
    parser.add_argument(
        "--tests-for",
        action="append",
        default=[],
        metavar="PATTERN=TESTS",
        help="run TESTS instead of --tests for mutants of files whose path contains PATTERN "
        "(repeatable; the first match wins)",
    )
    parser.add_argument("--pytest-args", default=DEFAULT_PYTEST_ARGS, help="extra pytest args")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--sample", type=int, help="run N mutants drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--match", help="only mutants whose file:line contains this")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default 3x baseline)")
    parser.add_argument("--json", type=Path, help="write the results there")
    args = parser.parse_args(argv)

    targets = expand(args.targets or list(DEFAULT_TARGETS))
    if not targets:
        parser.error("no target file found")
    mutants = [m for t in targets for m in find_mutants(t)]
    if args.match:
        mutants = [m for m in mutants if args.match in f"{m.where} {m.description}"]
    if args.sample is not None and args.sample < len(mutants):
        chosen = set(random.Random(args.seed).sample(range(len(mutants)), args.sample))
        mutants = [m for i, m in enumerate(mutants) if i in chosen]
    if args.list:
        for m in mutants:
            print(f"{m.where}\t{m.description}")
        print(f"{len(mutants)} mutants in {', '.join(targets)}", file=sys.stderr)
        return 0

    tests = expand(shlex.split(args.tests))
    if not tests:
        parser.error("no test file found")
    special: list[tuple[str, list[str]]] = []
    for item in args.tests_for:
        pattern, sep, files = item.partition("=")
        if not sep or not expand(shlex.split(files)):
            parser.error(f"--tests-for {item!r}: expected PATTERN=TESTS naming test files")
        special.append((pattern, expand(shlex.split(files))))

    def tests_of(mutant: Mutant) -> list[str]:
        return next((t for p, t in special if p in mutant.path), tests)

    pytest_args = shlex.split(args.pytest_args)
    print(f"targets: {' '.join(targets)}\ntests: {' '.join(tests)} {args.pytest_args}")
    for pattern, files in special:
        print(f"tests for *{pattern}*: {' '.join(files)}")
    baseline = 0.0
    for subset in [tests, *(t for _, t in special)]:
        status, seconds, detail = run_tests(subset, pytest_args, timeout=600)
        if status != "survived":
            print(f"the tests fail without any mutant ({status}): {detail}", file=sys.stderr)
            return 2
        baseline = max(baseline, seconds)
    timeout = args.timeout or max(10.0, 3 * baseline)
    print(f"baseline {baseline:.1f}s, timeout {timeout:.0f}s, {len(mutants)} mutants")

    restorer = Restorer()

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    report = Report()
    began = time.monotonic()
    try:
        for n, mutant in enumerate(mutants, 1):
            try:
                compile(_mutated_source(mutant), mutant.path, "exec")
            except (SyntaxError, ValueError) as exc:
                result = Result(mutant, "invalid", 0.0, str(exc))
            else:
                restorer.write(mutant)
                try:
                    status, seconds, detail = run_tests(tests_of(mutant), pytest_args, timeout)
                finally:
                    restorer.restore(mutant.path)
                result = Result(mutant, status, seconds, detail)
            report.results.append(result)
            print(f"[{n}/{len(mutants)}] {result.status.upper():8} {mutant.where}  "
                  f"{mutant.description}  ({result.seconds:.1f}s)", flush=True)  # fmt: skip
    finally:
        restorer.restore()
    elapsed = time.monotonic() - began

    survivors = [r for r in report.results if r.status == "survived"]
    if survivors:
        print("\nsurvivors:")
        for r in survivors:
            print(f"  {r.mutant.where}  {r.mutant.description}")
    print(
        f"\nkilled {report.count('killed')}, survived {report.count('survived')}, timeout "
        f"{report.count('timeout')}, invalid {report.count('invalid')}, error "
        f"{report.count('error')}; score {report.score:.1f}% in {elapsed / 60:.1f} min"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "score": report.score,
                    "seconds": elapsed,
                    "results": [
                        {
                            "where": r.mutant.where,
                            "mutation": r.mutant.description,
                            "status": r.status,
                            "seconds": round(r.seconds, 2),
                            "detail": r.detail,
                        }
                        for r in report.results
                    ],
                },
                indent=1,
            )
        )
    return 0 if not survivors else 1


def iter_mutants(paths: list[str]) -> Iterator[Mutant]:
    """Every mutant of ``paths`` (for scripts that drive the tool)."""
    for path in expand(paths):
        yield from find_mutants(path)


if __name__ == "__main__":
    sys.exit(main())
