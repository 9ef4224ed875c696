"""The checker: a straight list of named passes over typed data.

    parse -> overrides -> validate -> wiring -> shapes -> lint

`check_text` never raises for anything a spec says; every problem becomes a
diagnostic in the returned Report. Only an unreadable file raises (UsageError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .diagnostics import Diagnostic
from .errors import UsageError
from .infer import infer_shapes
from .lint import LintContext, lint
from .overrides import apply_overrides
from .report import Report
from .source import TomlSyntaxError, parse
from .validate import validate
from .wiring import build_graph


def check_text(text: str, file: str = "<spec>", overrides: Iterable[str] = ()) -> Report:
    report = Report(file=file, text=text)
    try:
        raw, positions = parse(text)
    except TomlSyntaxError as e:
        report.diagnostics.append(
            Diagnostic("MS100", f"TOML syntax: {e.message}", line=e.line,
                       column=e.column, hint=_syntax_hint(text, e.line))
        )
        return _finish(report)
    raw = apply_overrides(raw, overrides)
    report.raw = raw

    validated = validate(raw, positions)
    report.diagnostics += validated.diagnostics
    if validated.layers:
        report.nodes, graph_diags = build_graph(validated, positions)
        report.diagnostics += graph_diags
    infos, shape_diags = infer_shapes(report.nodes, validated.model, positions)
    report.layers = infos
    report.diagnostics += shape_diags
    ctx = LintContext(report.nodes, {li.name: li for li in infos}, validated.model,
                      validated.tables, positions, raw)
    report.diagnostics += lint(ctx)
    if report.ok:
        report.spec = validated.spec
    return _finish(report)


def _syntax_hint(text: str, line: int | None) -> str:
    import re

    src = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    m = re.match(r"\s*([A-Za-z0-9_\-]+)\s*=\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(#.*)?$",
                 src)
    if m and m.group(2) not in ("true", "false", "inf", "nan"):
        return f'strings need quotes: {m.group(1)} = "{m.group(2)}"'
    return "TOML syntax: key = value, strings in quotes, [table], [[layers]]"


def _finish(report: Report) -> Report:
    for d in report.diagnostics:
        d.file = report.file
    report.diagnostics.sort(
        key=lambda d: (d.line is None, d.line or 0, d.column or 0, d.code)
    )
    return report


def read_spec_text(path: str | Path) -> str:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such file: {p}", hint="check the path")
    if p.is_dir():
        raise UsageError(f"{p} is a folder, not a spec file")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{p} is not UTF-8 text") from None
    except OSError as e:
        raise UsageError(f"cannot read {p}: {e.strerror}") from None


def check_file(path: str | Path, overrides: Iterable[str] = ()) -> Report:
    return check_text(read_spec_text(path), str(path), overrides)
