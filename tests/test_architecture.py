"""The layout the design card asks for, checked on the source: no import circles (imports inside
functions counted, parent packages not), nothing under quantum/ imports a layer above it, no two
public classes or functions of one name (a command module's register/run and the __main__ entry
points excepted: they are the command protocol)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

QHIL = Path(__file__).resolve().parents[1] / "qhil"
ABOVE_QUANTUM = ("qhil.execution", "qhil.rl", "qhil.cost", "qhil.commands", "qhil.layers",
                 "qhil.adapters", "qhil.report", "qhil.api")
UPWARD = {"qhil.quantum": ABOVE_QUANTUM, "qhil.cost": ("qhil.commands",),
          "qhil.api": ("qhil.commands",), "qhil.execution": ("qhil.commands", "qhil.rl")}
PROTOCOL_NAMES = {"register", "run", "main"}


def modules() -> dict[str, Path]:
    found = {}
    for path in QHIL.rglob("*.py"):
        parts = path.relative_to(QHIL.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The qhil modules `name` imports, anywhere in the file (function-level imports too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        for target in _targets(node, package, known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        head = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(head + ([base] if base else []))
    # `from pkg import submodule` imports the submodule (its package is only its parent)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert circles(graph()) == []


def test_no_upward_imports():
    bad = [(m, t) for m, targets in graph().items() for t in targets
           for low, highs in UPWARD.items()
           if (m == low or m.startswith(low + ".")) and t.startswith(highs)]
    assert bad == []


def test_one_public_name_one_place():
    places = defaultdict(list)
    for path in QHIL.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            defines = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            if defines and not node.name.startswith("_") and node.name not in PROTOCOL_NAMES:
                places[node.name].append(str(path.relative_to(QHIL)))
    assert {name: where for name, where in places.items() if len(where) > 1} == {}
