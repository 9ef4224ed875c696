"""The language server's incremental parse (modelspec/lsp/incremental.py) must
give exactly what parsing the whole text gives, or None (then the server
parses the whole text). Checked on every spec of the repository and on every
text one deleted or duplicated line away from a seed spec, valid or not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelspec.lsp.incremental import IncrementalParser
from modelspec.source import TomlSyntaxError, parse

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("specs/**/*.toml"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _whole(text: str):
    try:
        return parse(text)
    except TomlSyntaxError:
        return None


def _same(parser: IncrementalParser, text: str) -> bool:
    """True when the incremental parse merged (False: it declined)."""
    merged = parser.parse(text)
    whole = _whole(text)
    if merged is None:
        return False
    assert whole is not None, "merged a text that is not TOML"
    assert merged[0] == whole[0]
    assert merged[1].at == whole[1].at
    return True


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_merges_as_parsed_whole(path):
    _same(IncrementalParser(), path.read_text())


def test_most_specs_are_merged_not_declined():
    merged = [p for p in SPECS if IncrementalParser().parse(p.read_text())]
    valid = [p for p in SPECS if _whole(p.read_text()) is not None]
    assert len(merged) >= 0.9 * len(valid)


@pytest.mark.parametrize(
    "name", ["mnist_lenet", "cifar10_blocks", "cifar10_resnet", "digits_se_norm"]
)
def test_one_line_away(name):
    """Delete or duplicate each line in turn, with one parser per document as
    the server keeps it (its cache holds the previous text's chunks)."""
    lines = (ROOT / "specs" / f"{name}.toml").read_text().split("\n")
    parser = IncrementalParser()
    merged = 0
    for n in range(len(lines)):
        for edited in (lines[:n] + lines[n + 1 :], lines[: n + 1] + lines[n:]):
            merged += _same(parser, "\n".join(edited))
    assert merged > len(lines)  # most edits keep the text mergeable


def test_the_generated_thousand_layers_merge_and_reuse():
    from bench_check import chain_spec

    text = chain_spec(1000)
    parser = IncrementalParser()
    assert _same(parser, text)
    edited = text.replace("units = 16", "units = 17")
    assert _same(parser, edited)


@pytest.mark.parametrize(
    "text",
    [
        'layers = []\n[[layers]]\ntype = "dense"\n',  # [[x]] after x = [...]
        "[model]\nname = 'a'\n[model]\nname = 'b'\n",  # a table twice
        '[model]\nd = """\n[data]\n"""\n',  # a header inside a string
        '  [model]\nname = "a"\n',  # an indented header
        '["model"]\nname = "a"\n',  # a quoted header
        '[[layers]]\ntype = "dense"\n[layers.kernel_init]\ntype = "zeros"\n',
    ],
)
def test_declines_what_it_cannot_merge_exactly(text):
    assert IncrementalParser().parse(text) is None
