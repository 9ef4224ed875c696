"""The language server's features in process, on text as it is while being
typed: every request on every text one deleted line away from a seed spec
answers (possibly with nothing) and never raises. A raise in the server is an
error response in the editor, or no diagnostics at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from modelspec.lsp import actions, complete, navigate, views
from modelspec.lsp.analysis import Settings, analyze
from modelspec.lsp.diagnostics import publishable
from modelspec.lsp.incremental import IncrementalParser

ROOT = Path(__file__).resolve().parents[1]
WHOLE = types.Range(types.Position(0, 0), types.Position(10**6, 0))


def _probe(text: str, parser: IncrementalParser) -> None:
    a = analyze("file:///spec.toml", 1, text, Settings(), parser)
    assert all(isinstance(d, types.Diagnostic) for d in publishable(a, False))
    assert isinstance(views.inlay_hints(a, WHOLE), list)
    assert isinstance(views.code_lenses(a), list)
    ctx = types.CodeActionContext(diagnostics=[])
    for act in actions.code_actions(a, WHOLE, ctx):
        assert act.edit is not None and act.edit.changes
    lines = text.split("\n")
    for n in range(0, len(lines), 3):
        for col in {0, len(lines[n]) // 2, len(lines[n])}:
            pos = types.Position(n, col)
            views.hover(a, pos)
            complete.completions(a, pos)
            navigate.definition(a, pos)


@pytest.mark.parametrize(
    "name", ["mnist_lenet", "cifar10_blocks", "digits_se_norm", "cifar10_resnet"]
)
def test_every_request_answers_on_half_typed_text(name):
    lines = (ROOT / "specs" / f"{name}.toml").read_text().split("\n")
    parser = IncrementalParser()
    for n in range(0, len(lines), 3):
        _probe("\n".join(lines[:n] + lines[n + 1 :]), parser)
        cut = lines[:n] + [lines[n][: len(lines[n]) // 2]] + lines[n + 1 :]
        _probe("\n".join(cut), parser)  # a line typed halfway


def test_empty_and_odd_texts():
    for text in [
        "",
        "\n",
        "[",
        "[[layers]]\ntype = ",
        'layers = [ { type = "',
        "\ufeff",
    ]:
        _probe(text, IncrementalParser())


def _balanced(text: str) -> bool:
    depth, quote = 0, ""
    for c in text:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


@pytest.mark.parametrize(
    "path", sorted((ROOT / "specs" / "broken").glob("*.toml")), ids=lambda p: p.stem
)
def test_underlines_are_whole_tokens(path):
    """Each diagnostic underlines a whole key, value or header: non-empty,
    brackets and quotes balanced, no trailing separator."""
    text = path.read_text()
    lines = text.split("\n")
    for d in publishable(analyze(path.as_uri(), 1, text, Settings()), False):
        r = d.range
        assert r.start.line == r.end.line
        under = lines[r.start.line][r.start.character : r.end.character]
        assert under.strip() == under != "", (d.code, under)
        assert d.code == "MS100" or _balanced(under), (d.code, under)
        assert not under.endswith(","), (d.code, under)
