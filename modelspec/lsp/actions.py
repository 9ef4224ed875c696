"""Quick fixes for the diagnostics whose edit is obvious: a did-you-mean key,
name, type or block; an `expect_shape` or `expect_params` assertion set to the
value the checker computed; a flatten-like reshape set to its input's size.

Each fix is an edit of the buffer; the checker's numbers are the Report's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lsprotocol import types

from ..diagnostics import Diagnostic
from ..shapes.base import prod
from .analysis import Analysis
from .diagnostics import diagnostic_range, to_lsp
from .positions import line_at, to_utf16, value_span

_SUGGESTION = re.compile(r"did you mean '([^']+)'\?")
_QUOTED = re.compile(r"""'([^']+)'|"([^"]+)\"""")
# A did-you-mean word may be on a later line of a multi-line array.
LOOKAHEAD_LINES = 8

Fix = tuple[str, int, int, int, str]  # title, line0, start, end, new text


def _word_fix(analysis: Analysis, d: Diagnostic) -> Fix | None:
    m = _SUGGESTION.search(d.hint or "")
    wrong = next((a or b for a, b in _QUOTED.findall(d.message)), None)
    if m is None or wrong is None or d.line is None:
        return None
    right = m.group(1)
    pattern = re.compile(
        r"(?<![A-Za-z0-9_\-])" + re.escape(wrong) + r"(?![A-Za-z0-9_\-])"
    )
    for line0 in range(d.line - 1, d.line - 1 + LOOKAHEAD_LINES):
        text = line_at(analysis.lines, line0)
        start = (d.column or 1) - 1 if line0 == d.line - 1 else 0
        found = pattern.search(text, start)
        if found:
            title = f"Replace '{wrong}' with '{right}'"
            return title, line0, found.start(), found.end(), right
    return None


def _value_fix(analysis: Analysis, d: Diagnostic, key: str, value: str) -> Fix | None:
    """Set `key = value` on the diagnostic's line (where `key` is written)."""
    if d.line is None:
        return None
    line0 = d.line - 1
    text = line_at(analysis.lines, line0)
    m = re.search(r"(?:^|[\s{,])(" + re.escape(key) + r")\s*=", text)
    span = value_span(text, m.start(1)) if m else None
    if span is None:
        return None
    return f"Set {key} = {value}", line0, span[0], span[1], value


def _expect_shape(analysis: Analysis, d: Diagnostic) -> Fix | None:
    info = analysis.info(d.index) if d.index is not None else None
    if info is None:
        return None
    return _value_fix(analysis, d, "expect_shape", _list(info.output_shape))


def _expect_params(analysis: Analysis, d: Diagnostic) -> Fix | None:
    if not analysis.report.layers:
        return None
    return _value_fix(analysis, d, "expect_params", str(analysis.report.total_params))


def _reshape_size(analysis: Analysis, d: Diagnostic) -> Fix | None:
    """A reshape to one axis (a flatten written as a reshape) whose size went
    stale: set it to the number of elements of its input."""
    nodes = analysis.report.nodes
    node = nodes[d.index] if d.index is not None and d.index < len(nodes) else None
    if node is None or node.type != "reshape" or node.layer is None:
        return None
    target = [x for x in node.layer.shape if x != -1]
    shapes = analysis.input_shapes(node)
    if len(target) != 1 or len(shapes) != 1 or shapes[0] is None:
        return None
    fix = _value_fix(analysis, d, "shape", _list((prod(shapes[0]),)))
    if fix is None:
        return None
    title = f"Set shape = {fix[4]} (the {len(shapes[0])}-d input's size)"
    return (title, *fix[1:])


def _list(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(x) for x in shape) + "]"


_FIXES: dict[str, Callable[[Analysis, Diagnostic], Fix | None]] = {
    "MS209": _expect_shape,
    "MS210": _expect_params,
    "MS204": _reshape_size,
}


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


def code_actions(
    analysis: Analysis, rng: types.Range, context: types.CodeActionContext
) -> list[types.CodeAction]:
    """Fixes for the diagnostics of the current text that touch `rng`."""
    out = []
    for d in analysis.report.diagnostics:
        if d.line is None or not _overlaps(diagnostic_range(analysis.lines, d), rng):
            continue
        rule = _FIXES.get(d.code, _word_fix)
        fix = rule(analysis, d)
        if fix is None:
            continue
        title, line0, start, end, new = fix
        text = line_at(analysis.lines, line0)
        edit = types.TextEdit(
            range=types.Range(
                types.Position(line0, to_utf16(text, start)),
                types.Position(line0, to_utf16(text, end)),
            ),
            new_text=new,
        )
        out.append(
            types.CodeAction(
                title=title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[to_lsp(analysis.lines, d, strict=False)],
                is_preferred=True,
                edit=types.WorkspaceEdit(changes={analysis.uri: [edit]}),
            )
        )
    return out
