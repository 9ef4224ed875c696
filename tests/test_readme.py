"""README.md is executable truth (issue 10, item 4).

- every ```toml block: a whole spec (it has [model]) must check clean, unless an
  HTML comment `<!-- readme-test: expect MSxxx ... -->` right before it names the
  codes it shows; a fragment with `layers` is checked as a spec on 32x32x3 input;
  any other fragment (one or more tables) must validate table by table;
- every `$ modelspec ...` line in a fenced block is run, and what it prints must
  be the lines that follow it in the README, up to the next `$` line or the end
  of the block (trailing spaces aside);
- every other `modelspec ...` command line (in ```sh blocks, indented examples
  and ``` blocks) must parse with the real command-line parser, name spec files
  that exist, and carry `--set` overrides that apply to those specs;
- every ```python block must compile and import only names that exist.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from modelspec.check import check_text
from modelspec.cli import app
from modelspec.overrides import apply_overrides
from modelspec.schema import TABLES
from modelspec.source import tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\s*$")
EXPECT = re.compile(r"<!--\s*readme-test:\s*expect((?:\s+MS\d{3})+)\s*-->")


def fenced_blocks() -> list[tuple[str, int, str, str]]:
    """(language, first line number, text, the line before the fence)."""
    out, lines, i = [], README.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        before = lines[start - 1] if start else ""
        out.append((m.group(1), start + 2, "\n".join(body) + "\n", before))
        i += 1
    return out


BLOCKS = fenced_blocks()
# A block marked `<!-- readme-test: file PATH -->` is a copy of an editor
# configuration file (tests/test_editors.py compares and runs it), not a spec.
EDITOR_FILE = re.compile(r"<!--\s*readme-test:\s*file\s")
TOML_BLOCKS = [b for b in BLOCKS if b[0] == "toml" and not EDITOR_FILE.search(b[3])]
PY_BLOCKS = [b for b in BLOCKS if b[0] == "python"]


def _ids(blocks):
    return [f"line{b[1]}" for b in blocks]


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=_ids(TOML_BLOCKS))
def test_toml_snippet(block):
    _, line, text, before = block
    data = tomllib.loads(text)  # a README snippet must at least be TOML
    if "layers" in data and "model" not in data:
        # A layers-and-blocks fragment: checked as a whole spec on CIFAR-sized
        # input (the [model] goes last: an inline `layers` must precede tables).
        text += '\n[model]\nname = "readme"\ninput = [32, 32, 3]\n'
        data = tomllib.loads(text)
    if "model" in data:
        report = check_text(text, file=f"README.md:{line}")
        got = sorted({d.code for d in report.diagnostics})
        m = EXPECT.search(before)
        want = sorted(set(m.group(1).split())) if m else []
        assert got == want, "\n".join(d.render() for d in report.diagnostics)
        return
    for name, value in data.items():
        assert name in TABLES, f"README.md:{line}: [{name}] is not a spec table"
        TABLES[name].model_validate(value)


def command_examples() -> list[tuple[int, str, list[str] | None]]:
    """(line, command, expected output lines or None) for every example."""
    out = []
    lines = README.splitlines()
    in_fence = False
    for i, raw in enumerate(lines):
        if raw.startswith("```"):
            in_fence = not in_fence
            continue
        text = raw.strip()
        prompt = text.startswith("$ modelspec ")
        indented = raw.startswith("    ") and not in_fence
        if not (prompt or ((in_fence or indented) and text.startswith("modelspec "))):
            continue
        command = text[2:] if prompt else text
        expected = None
        if prompt and in_fence:
            expected = []
            for follow in lines[i + 1 :]:
                if follow.startswith("```") or follow.startswith("$ "):
                    break
                expected.append(follow.rstrip())
        out.append((i + 1, command, expected))
    return out


EXAMPLES = command_examples()
RUN = [e for e in EXAMPLES if e[2] is not None]


def _argv(command: str) -> list[str]:
    command = command.split(" #", 1)[0].rstrip(" \\&")
    return shlex.split(command)[1:]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e[0]}" for e in EXAMPLES])
def test_command_parses_and_names_real_specs(example):
    line, command, _ = example
    argv = _argv(command)
    group = typer.main.get_command(app)
    try:
        if argv[0].startswith("-"):  # modelspec --version / --help
            group.make_context("modelspec", list(argv))
        else:
            ctx = group.make_context("modelspec", [argv[0]])
            sub = group.get_command(ctx, argv[0])
            assert sub is not None, f"README.md:{line}: no command {argv[0]!r}"
            sub.make_context(argv[0], list(argv[1:]), parent=ctx)
    except Exception as e:  # typer vendors click: match its exceptions by name
        if type(e).__name__ != "Exit":  # Exit: --help / --version
            pytest.fail(f"README.md:{line}: {command!r} does not parse: {e}")
    specs = [a for a in argv if a.endswith(".toml") and not a.startswith("-")]
    sets = [argv[k + 1] for k, a in enumerate(argv[:-1]) if a == "--set"]
    for spec in specs:
        path = ROOT / spec
        if spec == "spec.toml" or "<" in spec:
            continue  # a placeholder for the reader's own spec
        assert path.is_file(), f"README.md:{line}: {spec} does not exist"
        if "sweep" not in argv[:1]:  # sweep values are comma-separated grids
            raw = tomllib.loads(path.read_text())
            apply_overrides(raw, sets)


@pytest.mark.parametrize("example", RUN, ids=[f"line{e[0]}" for e in RUN])
def test_command_prints_what_the_readme_shows(example):
    line, command, expected = example
    p = subprocess.run(
        [sys.executable, "-m", "modelspec", *_argv(command)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "110"},
    )
    got = [ln.rstrip() for ln in (p.stderr + p.stdout).splitlines()]
    want = [ln for ln in expected]
    while want and not want[-1]:
        want.pop()
    assert sorted(got) == sorted(want), (
        f"README.md:{line}: `{command}` printed:\n" + "\n".join(got)
    )


@pytest.mark.parametrize("block", PY_BLOCKS, ids=_ids(PY_BLOCKS))
def test_python_snippet_compiles_and_imports_real_names(block):
    _, line, text, _ = block
    tree = ast.parse(text, filename=f"README.md:{line}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module.split(".")[0] in ("modelspec", "backends"))
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), (
                    f"README.md:{line}: {node.module} has no {alias.name}"
                )
