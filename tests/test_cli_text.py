"""What a person reads: `--version`, help texts without Python types or cut-off
sentences, and tables that keep words whole in an 80-column terminal (issue 10,
item 16)."""

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from modelspec import DISTRIBUTION, __version__
from modelspec.check import check_file
from modelspec.cli import app
from modelspec.cli.output import summary_table
from modelspec.cli.view import changes_list, diff_table
from modelspec.diffing import diff_reports

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.toml"))
runner = CliRunner()
COMMANDS = [
    "check",
    "schema",
    "version",
    "train",
    "evaluate",
    "predict",
    "runs",
    "export",
    "graph",
    "diff",
    "sweep",
]


def render(renderable, width=80) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, highlight=False).print(renderable)
    return buf.getvalue()


def whole_words(text: str, words) -> list[str]:
    """The words that do not appear whole (not cut by a line break) in text."""
    tokens = {t.strip(";,") for t in re.split(r"[\s│┃|]+", text)}
    return [w for w in words if w not in tokens]


def test_version_option_and_command():
    out = subprocess.run(
        [sys.executable, "-m", "modelspec", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"modelspec {__version__} ({DISTRIBUTION})"
    assert runner.invoke(app, ["version"]).stdout == out.stdout


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_no_python_types_and_no_cut_sentences(command):
    args = ["--help"] if command is None else [command, "--help"]
    result = runner.invoke(app, args, terminal_width=80)
    assert result.exit_code == 0
    text = result.stdout
    assert not re.search(r"<\w+\[|\blist\[|\bPath\b|\bOptional\b", text), text
    # Click's usage line marks repeatable arguments with "..."; anything else
    # ending in "..." or "…" is a description cut off to fit.
    cut = [
        line
        for line in text.splitlines()
        if not line.startswith("Usage:") and re.search(r"(\.\.\.|…)\s*$", line)
    ]
    assert cut == [], text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_check_table_keeps_words_whole_at_80_columns(path):
    report = check_file(path)
    for expand in (False, True):
        text = render(summary_table(report, expand=expand))
        assert max(len(line) for line in text.splitlines()) <= 80
        # Collapsed, a block instance is one row under its top-level name.
        names = {
            li.name if expand or not li.block else li.block[0] for li in report.layers
        }
        assert whole_words(text, names) == []


@pytest.mark.parametrize(
    "a,b", [("mnist_lenet", "mnist_mod"), ("cifar10_tutorial", "cifar10_mod")]
)
def test_diff_at_80_columns_lists_changes_below_with_words_whole(a, b):
    d = diff_reports(
        check_file(ROOT / "specs" / f"{a}.toml"),
        check_file(ROOT / "specs" / f"{b}.toml"),
    )
    table = render(diff_table(d, settings_column=False))
    changes = render(changes_list(d))
    for text in (table, changes):
        assert max(len(line) for line in text.splitlines()) <= 80
    words = {
        w
        for row in d.layers
        for c in row.changes
        for w in (str(c.key), str(c.a), str(c.b))
        if c.key != "name" and " " not in w
    }
    assert whole_words(changes, words - {"None"}) == []
    wide = render(diff_table(d), width=160)
    assert "changed settings" in wide and "changed settings" not in table
