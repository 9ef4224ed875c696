"""Go to definition: from a name in `inputs` to the layer table that has it,
from `use = "b"` to `[blocks.b]`."""

from __future__ import annotations

import re

from lsprotocol import types

from .analysis import Analysis
from .positions import from_utf16, line_at, string_at, to_utf16
from .textscan import LayerText, Scan, context


def _location(analysis: Analysis, line0: int, col: int = 0) -> types.Location:
    text = line_at(analysis.lines, line0)
    pos = types.Position(line0, to_utf16(text, col))
    return types.Location(uri=analysis.uri, range=types.Range(pos, pos))


def _name_position(lines: list[str], entry: LayerText) -> tuple[int, int]:
    """Where an entry's `name = "..."` is written, else where it starts."""
    (l0, c0), (l1, _) = entry.start, entry.end or (len(lines), 0)
    for n in range(l0, min(l1, len(lines) - 1) + 1):
        text = lines[n]
        m = re.compile(r"(?:^|[\s{,])(name)\s*=").search(text, c0 if n == l0 else 0)
        if m:
            return n, m.start(1)
    return entry.start


def _layer_named(
    analysis: Analysis, scan: Scan, name: str, block: str | None
) -> tuple[int, int] | None:
    lines = analysis.lines
    for e in scan.layers:
        if e.block == block and e.value(lines, "name") == name:
            return _name_position(lines, e)
    if block is None:  # a default name (`conv2d_1`): the checker knows its line
        for node in analysis.report.nodes:
            if node.name == name and node.block is None and node.line:
                return node.line - 1, 0
    return None


def definition(analysis: Analysis, position: types.Position) -> types.Location | None:
    lines = analysis.lines
    text = line_at(lines, position.line)
    col = from_utf16(text, position.character)
    inside = string_at(text, col)
    if inside is None:
        return None
    start, _, word = inside
    scan = context(lines, position.line, start)
    before = text[: start - 1]
    if re.search(r"(?:^|[\s{,])use\s*=\s*$", before):
        line = scan.blocks.get(word)
        return _location(analysis, line) if line is not None else None
    in_inputs = scan.stack and scan.stack[-1].char == "[" and scan.key == "inputs"
    if not in_inputs or scan.current is None:
        return None
    found = _layer_named(analysis, scan, word, scan.current.block)
    if found is None and scan.current.block is None and word == "input":
        found = _model_input(lines)
    return _location(analysis, *found) if found is not None else None


def _model_input(lines: list[str]) -> tuple[int, int] | None:
    """`input = [...]` under [model]: where the model input is declared."""
    table = None
    for n, text in enumerate(lines):
        m = re.match(r"\s*\[\s*([^\]]+?)\s*\]", text)
        if m:
            table = m.group(1)
        elif table == "model" and re.match(r"\s*input\s*=", text):
            return n, len(text) - len(text.lstrip())
    return None
