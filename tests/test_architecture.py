"""The layout keeps its promises (docs/ARCHITECTURE.md): no import cycles, no
framework imported when `modelspec` is, imports only along the allowed-imports
table, no long functions without a reason.

The import graph comes from `ast` (tests/import_graph.py), so nothing here
imports the code under test. Every import statement is an edge, wherever it
is: a function-level or `TYPE_CHECKING` import is still a dependency, and a
lazy import hides a cycle from Python, not from a reader. Edges are between
modules (a package's `__init__` is the package's module); a submodule is not
counted as importing its parent package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from import_graph import ROOT, Edge, cycles, edges, internal, modules

FRAMEWORKS = frozenset(
    {
        "tensorflow",
        "keras",
        "tf2onnx",
        "onnx",
        "onnxruntime",
        "matplotlib",
        "sklearn",
        "PIL",
        "tensorboard",
        "backends",
    }
)
LONG = 60  # lines; a longer function needs a comment saying why, by its def


@pytest.fixture(scope="module")
def graph() -> list[Edge]:
    return edges()


def adjacency(found: list[Edge]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in found:
        if internal(e):
            out.setdefault(e.source, set()).add(e.target)
    return out


# -- the allowed-imports table of docs/ARCHITECTURE.md ---------------------------


def allowed_table(text: str) -> dict[str, tuple[list[str], set[str] | None]]:
    """{area: (module names, areas it may import or None for everything)}."""
    lines = text.splitlines()
    start = lines.index("| area | modules | may import |")
    table = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        area, names, may = (c.strip() for c in line.strip("|").split("|"))
        may_set = (
            None
            if may == "everything"
            else (set() if may == "nothing" else {a.strip() for a in may.split(",")})
        )
        table[area] = (re.findall(r"`([\w.]+)`", names), may_set)
    return table


@pytest.fixture(scope="module")
def table():
    return allowed_table((ROOT / "docs" / "ARCHITECTURE.md").read_text())


def area_of(module: str, table) -> str | None:
    """The area whose listed name is the longest match: the module itself or
    a package holding it (top-level names match only themselves)."""
    best, length = None, -1
    for area, (names, _) in table.items():
        for n in names:
            hit = module == n or ("." in n and module.startswith(n + "."))
            if hit and len(n) > length:
                best, length = area, len(n)
    return best


def violations(found: list[Edge], table) -> list[str]:
    bad = []
    for e in found:
        if not internal(e):
            continue
        a, b = area_of(e.source, table), area_of(e.target, table)
        may = table[a][1] if a else set()
        if a != b and may is not None and b not in may:
            bad.append(f"{e.source}:{e.line} ({a}) imports {e.target} ({b})")
    return bad


# -- the tests ---------------------------------------------------------------------


def test_the_graph_is_read(graph):
    """Guards the guard: the parser sees the package and resolves relative
    imports (a broken parser would find no edges, so no cycles)."""
    known = modules()
    assert "modelspec.cli.app" in known and "modelspec" in known
    found = {(e.source, e.target) for e in graph}
    assert ("modelspec.cli.app", "modelspec.cli.check") in found  # from . import
    assert ("modelspec.check", "modelspec.lint") in found  # from .lint import
    assert ("modelspec.lint.model_rules", "modelspec.lint.context") in found
    assert ("modelspec.cli.check", "modelspec") in found  # from .. import __version__
    lazy = [e for e in graph if not e.top]
    assert any(e.target.startswith("backends.") for e in lazy)


def test_no_import_cycles(graph):
    assert cycles(adjacency(graph)) == []


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_modelspec_imports_no_framework_at_module_level(graph):
    bad = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in graph
        if e.top
        and e.source.split(".")[0] == "modelspec"
        and e.target.split(".")[0] in FRAMEWORKS
    ]
    assert bad == []


def test_every_module_has_an_area(table):
    assert len(table) >= 8
    homeless = [m for m in modules() if area_of(m, table) is None]
    assert homeless == []
    listed = [n for names, _ in table.values() for n in names]
    assert [n for n in listed if n not in modules()] == []  # the doc is current
    areas = set(table)
    for _, may in table.values():
        assert may is None or may <= areas, may


def test_imports_follow_the_allowed_table(graph, table):
    assert violations(graph, table) == []


def test_the_table_catches_a_forbidden_import(table):
    """The check can fail: the spec language importing the CLI, and anything
    but the CLI importing `modelspec.cli`, are reported."""
    fake = [
        Edge("modelspec.check", "modelspec.cli.output", 1, False),
        Edge("modelspec.runs.sweep", "modelspec.cli", 2, True),
        Edge("backends.keras_backend.train", "modelspec.cli.train", 3, False),
        Edge("modelspec.cli.train", "backends.keras_backend", 4, False),
    ]
    assert len(violations(fake, table)) == 3


def test_cli_command_modules_do_not_import_each_other(graph):
    shared = {"modelspec.cli.output", "modelspec.cli.params", "modelspec.cli.progress"}
    commands = (
        {m for m in modules() if m.startswith("modelspec.cli.")}
        - shared
        - {"modelspec.cli.app"}
    )
    bad = [
        f"{e.source} -> {e.target}"
        for e in graph
        if e.source in commands and e.target in commands
    ]
    assert bad == []


def test_no_module_imports_the_cli_but_the_entry_points(graph):
    outside = [
        e
        for e in graph
        if e.target.startswith("modelspec.cli")
        and not e.source.startswith("modelspec.cli")
        and e.source != "modelspec.__main__"
    ]
    assert outside == []


def _reason(line: str) -> bool:
    """A comment saying why a function is long: `# long: ...` or one that
    gives its length (`# ~60 lines: one class body`)."""
    comment = line.partition("#")[2].lower() if "#" in line else ""
    return "long" in comment or "lines" in comment


_CLOSERS = re.compile(r"[)\]}:,]+")


def code_lines(node, lines: list[str]) -> int:
    """A function's size in lines of code, measured so that `ruff format` cannot
    inflate it: blank lines, comments, the docstring and lines that only close
    brackets (one argument per line, then `)`) do not count."""
    body = node.body
    skip = set()
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):
        text = lines[number - 1].strip()
        if number in skip or not text or text.startswith("#"):
            continue
        if _CLOSERS.fullmatch(text):
            continue
        count += 1
    return count


def long_functions(root: Path) -> list[str]:
    """Functions over LONG lines of code with no reason in a comment on their
    `def` line or the two lines above it (or above its decorators)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            size = code_lines(node, lines)
            if size <= LONG:
                continue
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            above = [
                x
                for x in lines[max(0, first - 3) : first - 1]
                if x.strip().startswith("#")
            ]
            if not any(map(_reason, above + [lines[node.lineno - 1]])):
                found.append(
                    f"{path.relative_to(root)}:{node.lineno} {node.name} "
                    f"({size} lines of code)"
                )
    return found


@pytest.mark.parametrize("package", ["modelspec", "backends"])
def test_no_long_function_without_a_reason(package):
    assert long_functions(ROOT / package) == []


def test_the_long_function_check_can_fail(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(LONG))
    (tmp_path / "m.py").write_text(
        f"def f():  # noqa\n{body}\n\n# long: a table\ndef g():\n{body}\n\n"
        f"def h():  # {LONG} lines: one class body\n{body}"
    )
    assert long_functions(tmp_path) == [f"m.py:1 f ({LONG + 1} lines of code)"]
    # The arguments of an exploded call count, its lone closing bracket does not.
    call = "    x = f(\n" + "".join(f"        {i},\n" for i in range(LONG)) + "    )\n"
    (tmp_path / "m.py").write_text(f"def k():\n{call}")
    assert long_functions(tmp_path) == [f"m.py:1 k ({LONG + 2} lines of code)"]


def test_run_folder_file_names_are_constants():
    """`runs.METRICS`, never "metrics.json": one place says what a run folder
    holds (modelspec/runs/rundir.py)."""
    rundir = ast.parse((ROOT / "modelspec" / "runs" / "rundir.py").read_text())
    names = {
        n.value.value
        for n in rundir.body
        if isinstance(n, ast.Assign)
        and isinstance(n.targets[0], ast.Name)
        and n.targets[0].id.isupper()
        and isinstance(n.value, ast.Constant)
    }
    assert {"metrics.json", "best.keras", "spec.toml"} <= names
    found = []
    for path in modules().values():
        if path.name == "rundir.py":
            continue
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(n, ast.Constant) and n.value in names:
                found.append(f"{path.relative_to(ROOT)}:{n.lineno} {n.value!r}")
    assert found == []


def test_picture_formats_are_the_drawing_formats():
    from modelspec.cli.params import PictureFormat
    from modelspec.drawing import FORMATS

    assert [f.value for f in PictureFormat] == list(FORMATS)
