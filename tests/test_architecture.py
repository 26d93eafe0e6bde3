"""The source layout: data flows one way, and nothing lower imports upward.

The import graph is read from the source (ast, every import statement, including those inside
functions and under ``TYPE_CHECKING``), so a late import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "callguard"

LAYERS: list[tuple[str, ...]] = [
    # 0. vocabulary: the message catalog, errors, enums, instants, the facts and the answer
    ("_i18n", "_exceptions", "_types", "_time", "_facts", "_decision"),
    # 1. the question's parts: numbers, policy, regimes, calendar, contact files
    ("_numbers", "_number_heads_data", "_policy", "_readings", "_files", "_safefiles", "_question"),
    # 2. the rules, with the dated regimes and the calendar they read
    ("rules",),
    # 3. storage answers the engine's questions; inside it: base (schema, protocol, locations),
    # errors, operations, journal_format < journal_verify < journal, checkpoints, bloctel,
    # sqlite, postgres, open, copy
    ("storage",),
    # 4. the engine, what operations report and read, the control pack's HTML page, and the
    # signed checkpoints of a ledger
    ("_engine", "_reports", "_calllog", "_html_report", "_checkpoint"),
    # 5. the Guard = engine + writes
    ("_guard",),
    # 6. bulk work, audit and schedules over the engine
    ("_bulk", "_audit", "_windows", "_evidence", "_checkpoint_scheduler"),
    # 7. the control pack gathers the audit and the evidence
    ("_control",),
    # 8. entry points
    ("testing", "pytest_plugin", "server", "cli", "__init__"),
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in SRC.rglob("*.py")}


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> set[str]:
    """The callguard modules an import statement of ``module`` loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in MODULES}
    is_package = MODULES[module].name == "__init__.py"
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("callguard"):
        return set()
    found = set()
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.add(sub if sub in MODULES else target)
    return {m for m in found if m in MODULES}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _resolve(module, node)
        edges.discard(module)
        graph[module] = edges
    return graph


def _layer(module: str) -> int:
    short = module.removeprefix("callguard").lstrip(".") or "__init__"
    head = short.split(".")[0]
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_no_module_imports_a_higher_layer() -> None:
    upward = [
        f"{m} (layer {_layer(m)}) imports {d} (layer {_layer(d)})"
        for m, deps in sorted(_graph().items())
        for d in sorted(deps)
        if _layer(d) > _layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycle = [*stack[stack.index(d) :], d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_module_reads_another_modules_private_attributes() -> None:
    """``other._name`` where ``other`` is an imported callguard module or a Guard is a reach
    into private state; modules share what they export instead."""
    offenders = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in {"guard", "db", "g", "engine"}
            ):
                offenders.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not offenders, "\n".join(offenders)
