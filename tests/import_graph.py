"""The import graph of `modelspec/` and `backends/`, read with `ast` (nothing is
imported). Used by tests/test_architecture.py; `python tests/import_graph.py`
prints every internal edge.

An edge is one import statement: `import a.b`, `from a import b` (to `a.b` when
that is a module, else to `a`), relative imports resolved against the
importing module's package. Each edge records whether it runs when the module
is imported (`top`: not inside a function, not under `if TYPE_CHECKING:`).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("modelspec", "backends")


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, e.g. "modelspec.cli.app"
    target: str  # imported module (internal: resolved to a known module)
    line: int
    top: bool  # runs at import time of `source`


def modules(root: Path = ROOT) -> dict[str, Path]:
    """{dotted module name: file} for every .py file of the packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module):
    """(node, top) for every import statement, `top` as in Edge."""

    def walk(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, top
            inner = top
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inner = False
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from walk(ast.Module(body=child.body, type_ignores=[]), False)
                yield from walk(ast.Module(body=child.orelse, type_ignores=[]), top)
                continue
            yield from walk(child, inner)

    yield from walk(tree, True)


def _base(module: str, path: Path, level: int) -> str:
    """The package a relative import of `level` dots starts from."""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]
    return ".".join(parts[: len(parts) - (level - 1)])


def _known(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of `name` that is a module of the packages, else
    `name` itself (an external module)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return name


def edges(root: Path = ROOT) -> list[Edge]:
    known = modules(root)
    out = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, top in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = _base(module, path, node.level)
                    base = f"{base}.{node.module}" if node.module else base
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                    for a in node.names
                ]
            for t in dict.fromkeys(targets):
                out.append(Edge(module, _known(t, known), node.lineno, top))
    return out


def internal(e: Edge) -> bool:
    return e.target.split(".")[0] in PACKAGES


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (or a
    module importing itself), each as a sorted list (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    for e in edges():
        if internal(e):
            print(f"{e.source} -> {e.target}{'' if e.top else '  (lazy)'}")
