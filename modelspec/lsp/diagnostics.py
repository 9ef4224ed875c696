"""The checker's diagnostics as LSP diagnostics: same line, same column.

Each carries the code (MSxxx), the checker's message with the layer it is
about, the hint, and in `data` what a quick fix needs (the hint's suggestion).
"""

from __future__ import annotations

import re

from lsprotocol import types

from ..diagnostics import Diagnostic
from .analysis import Analysis
from .positions import line_at, span, to_utf16, whole_line

SOURCE = "modelspec"


def lsp_range(lines: list[str], line0: int, start: int, end: int) -> types.Range:
    """A range on one line from character offsets (converted to UTF-16)."""
    text = line_at(lines, line0)
    return types.Range(
        types.Position(line0, to_utf16(text, start)),
        types.Position(line0, to_utf16(text, end)),
    )


def diagnostic_range(lines: list[str], d: Diagnostic) -> types.Range:
    if d.line is None:  # about the whole spec, or a --set: the first line
        return lsp_range(lines, 0, *whole_line(line_at(lines, 0)))
    line0 = d.line - 1
    text = line_at(lines, line0)
    if d.column is None:
        return lsp_range(lines, line0, *whole_line(text))
    return lsp_range(lines, line0, *span(text, d.column - 1, d.code))


def message(d: Diagnostic) -> str:
    subject = d.subject()
    text = f"{subject}: {d.message}" if subject else d.message
    if d.source:
        text = f"{d.source}: {text}"
    for o in d.origin or ():
        text += f"\nin block '{o.block}' instance '{o.instance}'"
        if o.line is not None:
            text += f", used at line {o.line}"
    if d.also:
        text += f" (and {d.also} more like it)"
    if d.hint:
        text += f"\nhint: {d.hint}"
    return text


def _related(
    uri: str, lines: list[str], d: Diagnostic
) -> list[types.DiagnosticRelatedInformation] | None:
    """The use entries of the block instances a diagnostic is inside: the
    diagnostic is at the block's definition, these say which use made it."""
    out = []
    for o in d.origin or ():
        if o.line is None:
            continue
        span = whole_line(line_at(lines, o.line - 1))
        out.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(uri, lsp_range(lines, o.line - 1, *span)),
                message=f"block '{o.block}' instance '{o.instance}' is used here",
            )
        )
    return out or None


def to_lsp(
    lines: list[str], d: Diagnostic, strict: bool, uri: str = ""
) -> types.Diagnostic:
    severity = types.DiagnosticSeverity
    return types.Diagnostic(
        related_information=_related(uri, lines, d) if uri else None,
        range=diagnostic_range(lines, d),
        message=message(d),
        severity=severity.Error if d.is_error or strict else severity.Warning,
        code=d.code,
        source=SOURCE,
        data={"hint": d.hint, "index": d.index, "layer": d.layer},
    )


# Editors without a per-file rule (VS Code's generic client) start the server for
# every TOML file: say nothing about files that are not specs (pyproject.toml).
_SPEC_LINE = re.compile(r"^\s*(\[model\]|\[\[layers\]\]|model\s*=|layers\s*=)")


def looks_like_spec(lines: list[str]) -> bool:
    """True when the text defines `model` or `layers`, as a table or inline."""
    return any(_SPEC_LINE.match(line) for line in lines)


def publishable(analysis: Analysis, strict: bool) -> list[types.Diagnostic]:
    if not looks_like_spec(analysis.lines):
        return []
    out = [
        to_lsp(analysis.lines, d, strict, analysis.uri)
        for d in analysis.report.diagnostics
    ]
    if analysis.setting_error:
        out.insert(
            0,
            types.Diagnostic(
                range=lsp_range(analysis.lines, 0, 0, 0),
                message=f"setting 'set' ignored: {analysis.setting_error}",
                severity=types.DiagnosticSeverity.Error,
                source=SOURCE,
            ),
        )
    return out
