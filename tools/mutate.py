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
    python tools/mutate.py src/callguard/rules/calendar.py --tests "tests/rules/test_rules_calendar.py"

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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_TARGETS = (
    "src/callguard/rules/**/*.py",
    "src/callguard/_numbers.py",
    "src/callguard/_engine.py",
    "src/callguard/_question.py",
    "src/callguard/engine/**/*.py",  # should the engine become a package
    "src/callguard/storage/journal*.py",
    "src/callguard/storage/journal/**/*.py",  # should the journal become a package
)
# Never a default target: generated data, held whole equal to its source by a test of its own
# (the holiday table's days: tests/test_startup.py compares every byte with the holidays package).
DEFAULT_EXCLUDED = (
    "src/callguard/rules/_holiday_table_data.py",
    "src/callguard/_number_heads_data.py",
)
DEFAULT_TESTS = (
    "tests/rules/test_rule_*.py tests/rules/test_rules*.py tests/test_numbers.py tests/test_pins_*.py tests/rules/test_pins_*.py "
    "tests/test_legal_corrections.py tests/test_fast_paths.py tests/test_windows.py "
    "tests/rules/test_mutants_rules.py tests/test_mutants_numbers.py"
)
# Narrower subsets, by a part of the mutated file's path (after the user's --tests-for).
DEFAULT_TESTS_FOR = (
    "_engine=tests/test_guard.py tests/test_lean_path.py tests/test_fast_paths.py "
    "tests/rules/test_rules.py tests/rules/test_rule_*.py tests/test_mutants_engine.py",
    "_question=tests/test_guard.py tests/test_lean_path.py tests/test_fast_paths.py "
    "tests/rules/test_rules.py tests/rules/test_rule_*.py tests/test_mutants_engine.py",
    "callguard/engine/=tests/test_guard.py tests/test_lean_path.py tests/test_fast_paths.py "
    "tests/rules/test_rules.py tests/rules/test_rule_*.py tests/test_mutants_engine.py",
    "journal=tests/storage/test_journal*.py tests/storage/test_mutants_journal.py",
    "_numbers=tests/test_numbers.py tests/test_pins_numbers.py tests/test_fast_paths.py "
    "tests/rules/test_pins_caller_id.py tests/rules/test_pins_department_and_hidden.py "
    "tests/rules/test_rule_caller_id.py tests/rules/test_rule_destination.py tests/test_mutants_numbers.py",
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


def _annotations(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr | None]:
    """A function's return and parameter annotations (None where there is none)."""
    args = func.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    params += [star for star in (args.vararg, args.kwarg) if star is not None]
    return [func.returns, *(a.annotation for a in params)]


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
            for annotation in _annotations(node):
                drop(annotation)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            inside = id(node) in skip  # a format spec, or an f-string in a skipped place
            drop(node)
            if not inside:
                skip.discard(id(node))  # its parts are never mutated; the whole may be (fstring)
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


class _Finder:
    """The mutants of one file: one handler per kind of node (see ``_HANDLERS``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        raw = Path(path).read_bytes()
        self.tree = ast.parse(raw, filename=path)
        self.lines = raw.decode("utf-8").splitlines()
        self.offsets = _offsets(raw)
        self.skip = _skipped_nodes(self.tree)
        self.parents = _parents(self.tree)
        self.date_args: set[int] = set()
        self.mutants: list[Mutant] = []
        self.func_of: dict[int, ast.AST] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    self.func_of[id(inner)] = node  # walk order is outer first: inner wins

    def find(self) -> list[Mutant]:
        for node in ast.walk(self.tree):
            if id(node) in self.skip or not hasattr(node, "lineno") or self._pragma(node):
                continue
            handler = _HANDLERS.get(type(node))
            if handler is not None:
                handler(self, node)
        # Walk order groups by nesting; report in file order.
        self.mutants.sort(key=lambda m: (m.start, m.end, m.description))
        return self.mutants

    def _pragma(self, node: ast.AST) -> bool:
        first, last = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        return any(PRAGMA in self.lines[i - 1] for i in range(first, last + 1))

    def add(self, node: ast.AST, description: str, text: str) -> None:
        start = self.offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        self.mutants.append(
            Mutant(self.path, node.lineno, node.col_offset, description, start, end, f"({text})")  # type: ignore[attr-defined]
        )

    @staticmethod
    def replaced(node: ast.AST, change: Callable[[ast.AST], None]) -> str:
        clone = copy.deepcopy(node)
        change(clone)
        return ast.unparse(clone)

    # -- one handler per node type --

    def compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            new_op = _SWAP_CMP.get(type(op))
            if new_op is None:
                continue

            def swap(n: ast.AST, i: int = i, new_op: type[ast.cmpop] = new_op) -> None:
                n.ops[i] = new_op()  # type: ignore[attr-defined]

            self.add(
                node, f"{_CMP_TEXT[type(op)]} -> {_CMP_TEXT[new_op]}", self.replaced(node, swap)
            )

    def boolop(self, node: ast.BoolOp) -> None:
        new: type[ast.boolop] = ast.Or if isinstance(node.op, ast.And) else ast.And
        label = "and -> or" if new is ast.Or else "or -> and"

        def swap(n: ast.AST) -> None:
            n.op = new()  # type: ignore[attr-defined]

        self.add(node, label, self.replaced(node, swap))

    def unary(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self.add(node, "not x -> x", ast.unparse(node.operand))

    def binop(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, (ast.Add, ast.Sub)):
            return
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            return  # string concatenation
        new: type[ast.operator] = ast.Sub if isinstance(node.op, ast.Add) else ast.Add
        label = "+ -> -" if new is ast.Sub else "- -> +"

        def swap(n: ast.AST) -> None:
            n.op = new()  # type: ignore[attr-defined]

        self.add(node, label, self.replaced(node, swap))

    def call(self, node: ast.Call) -> None:
        if ast.unparse(node.func) in ("date", "dt.date"):
            variants = _date_variants(node)
            if variants:
                self.date_args.update(id(a) for a in node.args)
            for label, text in variants:
                self.add(node, f"date {label}", text)
        for arg in node.args:  # the fields handed to a hash, an encoder, a key: two swapped
            if isinstance(arg, (ast.List, ast.Tuple)) and id(arg) not in self.skip:
                self._swap_elements(arg)

    def _swap_elements(self, node: ast.List | ast.Tuple) -> None:
        elts = node.elts
        for i in range(len(elts) - 1):
            a, b = ast.unparse(elts[i]), ast.unparse(elts[i + 1])
            if a == b or any(isinstance(e, ast.Starred) for e in elts[i : i + 2]):
                continue

            def swap(n: ast.AST, i: int = i) -> None:
                items = n.elts  # type: ignore[attr-defined]
                items[i], items[i + 1] = items[i + 1], items[i]

            self.add(node, f"swap {a} <-> {b}", self.replaced(node, swap))

    def fstring(self, node: ast.JoinedStr) -> None:
        """A text built for a machine (no space in its literal parts: a hashed entry, a chain
        name, a key), not a message: each interpolated field dropped in turn."""
        literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        fields = [i for i, v in enumerate(node.values) if isinstance(v, ast.FormattedValue)]
        if " " in literal or len(fields) == 0:
            return
        for i in fields:

            def drop(n: ast.AST, i: int = i) -> None:
                del n.values[i]  # type: ignore[attr-defined]

            field_text = ast.unparse(node.values[i].value)  # type: ignore[attr-defined]
            self.add(node, f"f-string without {{{field_text}}}", self.replaced(node, drop))

    def ret(self, node: ast.Return) -> None:
        returned = node.value
        if returned is None or (isinstance(returned, ast.Constant) and returned.value is None):
            return
        if _returns_optional(self.func_of.get(id(node))):
            self.add(returned, "return x -> return None", "None")

    def constant(self, node: ast.Constant) -> None:
        if id(node) in self.date_args:
            return
        value = node.value
        parent = self.parents.get(id(node))
        if isinstance(value, bool):
            self.add(node, f"{value} -> {not value}", repr(not value))
        elif isinstance(value, int):
            if abs(value) >= _MAX_INT:
                return
            if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
                return  # negative literals stay as they are
            self.add(node, f"{value} -> {value + 1}", repr(value + 1))
            self.add(node, f"{value} -> {value - 1}", repr(value - 1))
        elif isinstance(value, str) and isinstance(parent, (*_CONTAINERS, ast.Compare)):
            if not value or len(value) > _MAX_STR or " " in value:
                return
            new_value = _bump_str(value)
            if new_value is not None and new_value != value:
                self.add(node, f"{value!r} -> {new_value!r}", repr(new_value))


_HANDLERS: dict[type[ast.AST], Callable[[_Finder, Any], None]] = {
    ast.Compare: _Finder.compare,
    ast.BoolOp: _Finder.boolop,
    ast.UnaryOp: _Finder.unary,
    ast.BinOp: _Finder.binop,
    ast.Call: _Finder.call,
    ast.JoinedStr: _Finder.fstring,
    ast.Return: _Finder.ret,
    ast.Constant: _Finder.constant,
}


def find_mutants(path: str) -> list[Mutant]:
    """Every mutant of the Python file at ``path``, in file order."""
    return _Finder(path).find()


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


def select_targets(patterns: list[str]) -> list[str]:
    """The files of ``patterns`` (default ``DEFAULT_TARGETS``) without ``DEFAULT_EXCLUDED``,
    unless such a file is named on its own (not through a glob)."""
    named = {os.path.normpath(p) for p in patterns}
    found = expand(patterns or list(DEFAULT_TARGETS))
    return [t for t in found if t not in DEFAULT_EXCLUDED or t in named]


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "targets", nargs="*", help="files or globs (default: DEFAULT_TARGETS but DEFAULT_EXCLUDED)"
    )
    parser.add_argument("--tests", default=DEFAULT_TESTS, help="pytest paths/globs, one string")
    parser.add_argument(
        "--tests-for",
        action="append",
        default=[],
        metavar="PATTERN=TESTS",
        help="run TESTS instead of --tests for mutants of files whose path contains PATTERN "
        "(repeatable; the first match wins; DEFAULT_TESTS_FOR come after them)",
    )
    parser.add_argument("--pytest-args", default=DEFAULT_PYTEST_ARGS, help="extra pytest args")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--sample", type=int, help="run N mutants drawn at random")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--match", help="only mutants whose file:line contains this")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default 3x baseline)")
    parser.add_argument("--json", type=Path, help="write the results there")
    parser.add_argument(
        "--survivors-of",
        type=Path,
        metavar="JSON",
        help="run again only the mutants that survived in this --json report (after new tests)",
    )
    return parser


def select(targets: list[str], match: str | None, sample: int | None, seed: int) -> list[Mutant]:
    """The mutants of ``targets``: those matching ``match``, then ``sample`` drawn by ``seed``."""
    mutants = [m for t in targets for m in find_mutants(t)]
    if match:
        mutants = [m for m in mutants if match in f"{m.where} {m.description}"]
    if sample is not None and sample < len(mutants):
        chosen = set(random.Random(seed).sample(range(len(mutants)), sample))
        mutants = [m for i, m in enumerate(mutants) if i in chosen]
    return mutants


def survivors_of(mutants: list[Mutant], report: Path) -> list[Mutant]:
    """The mutants of ``mutants`` that the ``--json`` ``report`` lists as survivors."""
    results = json.loads(report.read_text())["results"]
    left = {(r["where"], r["mutation"]) for r in results if r["status"] == "survived"}
    return [m for m in mutants if (m.where, m.description) in left]


def _test_plan(
    parser: argparse.ArgumentParser, tests_arg: str, tests_for: list[str]
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The default test files and the (pattern, files) subsets, the user's before the defaults."""
    tests = expand(shlex.split(tests_arg))
    if not tests:
        parser.error("no test file found")
    special: list[tuple[str, list[str]]] = []
    for item in [*tests_for, *DEFAULT_TESTS_FOR]:
        pattern, sep, files = item.partition("=")
        found = expand(shlex.split(files))
        if not sep or not found:
            parser.error(f"--tests-for {item!r}: expected PATTERN=TESTS naming test files")
        special.append((pattern, found))
    return tests, special


def _baseline(subsets: list[list[str]], pytest_args: list[str]) -> float | None:
    """The slowest unmutated run of the subsets, or None when one of them fails."""
    baseline = 0.0
    for subset in subsets:
        status, seconds, detail = run_tests(subset, pytest_args, timeout=600)
        if status != "survived":
            print(f"the tests fail without any mutant ({status}): {detail}", file=sys.stderr)
            return None
        baseline = max(baseline, seconds)
    return baseline


def _run_one(mutant: Mutant, tests: list[str], pytest_args: list[str], timeout: float,
             restorer: Restorer) -> Result:  # fmt: skip
    try:
        compile(_mutated_source(mutant), mutant.path, "exec")
    except (SyntaxError, ValueError) as exc:
        return Result(mutant, "invalid", 0.0, str(exc))
    restorer.write(mutant)
    try:
        status, seconds, detail = run_tests(tests, pytest_args, timeout)
    finally:
        restorer.restore(mutant.path)
    return Result(mutant, status, seconds, detail)


def _summary(report: Report, elapsed: float) -> None:
    survivors = [r for r in report.results if r.status == "survived"]
    if survivors:
        print("\nsurvivors:")
        for r in survivors:
            print(f"  {r.mutant.where}  {r.mutant.description}")
    for path in sorted({r.mutant.path for r in report.results}):
        part = Report([r for r in report.results if r.mutant.path == path])
        print(f"  {path}: killed {part.count('killed') + part.count('timeout')}, "
              f"survived {part.count('survived')}, score {part.score:.1f}%")  # fmt: skip
    print(
        f"\nkilled {report.count('killed')}, survived {report.count('survived')}, timeout "
        f"{report.count('timeout')}, invalid {report.count('invalid')}, error "
        f"{report.count('error')}; score {report.score:.1f}% in {elapsed / 60:.1f} min"
    )


def _write_json(path: Path, report: Report, elapsed: float) -> None:
    results = [
        {
            "where": r.mutant.where,
            "mutation": r.mutant.description,
            "status": r.status,
            "seconds": round(r.seconds, 2),
            "detail": r.detail,
        }
        for r in report.results
    ]
    path.write_text(
        json.dumps({"score": report.score, "seconds": elapsed, "results": results}, indent=1)
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    targets = select_targets(args.targets)
    if not targets:
        parser.error("no target file found")
    mutants = select(targets, args.match, args.sample, args.seed)
    if args.survivors_of:
        mutants = survivors_of(mutants, args.survivors_of)
    if args.list:
        for m in mutants:
            print(f"{m.where}\t{m.description}")
        print(f"{len(mutants)} mutants in {', '.join(targets)}", file=sys.stderr)
        return 0

    tests, special = _test_plan(parser, args.tests, args.tests_for)

    def tests_of(mutant: Mutant) -> list[str]:
        return next((t for p, t in special if p in mutant.path), tests)

    pytest_args = shlex.split(args.pytest_args)
    print(f"targets: {' '.join(targets)}\ntests: {' '.join(tests)} {args.pytest_args}")
    for pattern, files in special:
        print(f"tests for *{pattern}*: {' '.join(files)}")
    used = [tests_of(m) for m in mutants]
    subsets = [t for i, t in enumerate(used) if t not in used[:i]]
    baseline = _baseline(subsets, pytest_args)
    if baseline is None:
        return 2
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
            result = _run_one(mutant, tests_of(mutant), pytest_args, timeout, restorer)
            report.results.append(result)
            print(f"[{n}/{len(mutants)}] {result.status.upper():8} {mutant.where}  "
                  f"{mutant.description}  ({result.seconds:.1f}s)", flush=True)  # fmt: skip
    finally:
        restorer.restore()
    elapsed = time.monotonic() - began
    _summary(report, elapsed)
    if args.json:
        _write_json(args.json, report, elapsed)
    return 0 if report.count("survived") == 0 else 1


def iter_mutants(paths: list[str]) -> Iterator[Mutant]:
    """Every mutant of ``paths`` (for scripts that drive the tool)."""
    for path in expand(paths):
        yield from find_mutants(path)


if __name__ == "__main__":
    sys.exit(main())
