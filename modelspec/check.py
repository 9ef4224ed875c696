"""The checker: a straight list of named passes over typed data.

    parse -> overrides -> expand -> validate -> wiring -> shapes -> lint

`check_text` never raises for anything a spec says; every problem becomes a
diagnostic in the returned Report. Only an unreadable file raises (UsageError).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from .blocks import expand
from .diagnostics import Diagnostic
from .errors import UsageError
from .infer import infer_shapes
from .lint import LintContext, lint
from .overrides import apply_overrides
from .report import Report
from .source import Positions, TomlSyntaxError, parse
from .validate import validate
from .wiring import build_graph


def check_text(
    text: str, file: str = "<spec>", overrides: Iterable[str] = ()
) -> Report:
    try:
        raw, positions = parse(text)
    except TomlSyntaxError as e:
        report = Report(file=file, text=text)
        report.diagnostics.append(
            Diagnostic(
                "MS100",
                f"TOML syntax: {e.message}",
                line=e.line,
                column=e.column,
                hint=e.hint or _syntax_hint(text, e.line),
            )
        )
        return _finish(report)
    return check_parsed(text, raw, positions, file, overrides)


def check_parsed(
    text: str,
    raw: dict,
    positions: Positions,
    file: str = "<spec>",
    overrides: Iterable[str] = (),
) -> Report:
    """The passes after parsing, for a caller that parsed `text` itself (the
    language server reuses the parse of the tables an edit did not touch).
    `raw` is not modified; `positions` is (a --set moves positions)."""
    report = Report(file=file, text=text)
    set_by: list[tuple[tuple, str]] = []
    raw = apply_overrides(raw, overrides, set_by)
    _point_at_command_line(positions, set_by)
    report.raw = raw
    expanded = expand(raw, positions)
    if expanded.aborted or (expanded.diagnostics and not expanded.raw["layers"]):
        # nothing (sensible) to check: the expansion's errors say why
        report.diagnostics += expanded.diagnostics
        return _finish(report)
    raw, positions = expanded.raw, expanded.positions
    report.blocks = expanded.instances
    report.origins = expanded.origins
    passes: list[Diagnostic] = []

    validated = validate(raw, positions)
    passes += validated.diagnostics
    if validated.layers:
        report.nodes, graph_diags = build_graph(validated, positions)
        passes += graph_diags
    infos, shape_diags = infer_shapes(report.nodes, validated.model, positions)
    report.layers = infos
    passes += shape_diags
    ctx = LintContext(
        report.nodes,
        {li.name: li for li in infos},
        validated.model,
        validated.tables,
        positions,
        raw,
    )
    passes += lint(ctx)
    if any(d.is_error for d in expanded.diagnostics):
        # An instance that failed to expand is missing from the model: its total
        # and output shape describe a model nobody wrote.
        passes = [d for d in passes if d.code not in _WHOLE_MODEL]
    if expanded.used:
        for info in infos:
            info.block = expanded.block_path(info.index)
        for node in report.nodes:
            node.block = expanded.block_path(node.index)
        passes = _in_blocks(expanded.diagnostics + passes, expanded)
    report.diagnostics += passes
    if report.ok:
        report.spec = validated.spec
    return _finish(report, [item for _, item in set_by])


def _point_at_command_line(positions, set_by: list[tuple[tuple, str]]) -> None:
    """A key set with --set was not written in the file: its diagnostics point
    at the option. Its position is stored as line -k for the k-th override
    (positions are 1-based, so no file line is <= 0); `_finish` turns that into
    the diagnostic's `source`."""
    for k, (path, _) in enumerate(set_by, start=1):
        for known in [p for p in positions.at if p[: len(path)] == path]:
            del positions.at[known]  # the file's value there is gone
        positions.at[path] = (-k, 0)


def _in_blocks(diags: list[Diagnostic], expanded) -> list[Diagnostic]:
    """Name the block instance of each diagnostic about an expanded layer, and
    say once (with a count) what every instance of a block repeats."""
    out: list[Diagnostic] = []
    first: dict[tuple, Diagnostic] = {}
    # A layer that failed to expand leaves the layers it would read unread:
    # the failure is the diagnostic to read, not those dead layers.
    broken = {
        expanded.origins[i][0].instance
        for i in expanded.failed
        if i in expanded.origins
    }
    for d in diags:
        if d.index is not None and d.index in expanded.failed:
            continue  # its ${...} failed: that error is the one to read
        frames = expanded.origins.get(d.index) if d.index is not None else None
        if d.code == "MS205" and frames and frames[0].instance in broken:
            continue
        frames = d.origin or (
            expanded.origins.get(d.index) if d.index is not None else None
        )
        if frames:
            d = replace(d, origin=list(frames))
            key = (d.code, d.line, d.column, frames[0].block)
            if key in first:
                first[key].also += 1
                continue
            first[key] = d
        out.append(d)
    return out


def _syntax_hint(text: str, line: int | None) -> str:
    import re

    src = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    m = re.match(
        r"\s*([A-Za-z0-9_\-]+)\s*=\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(#.*)?$", src
    )
    if m and m.group(2) not in ("true", "false", "inf", "nan"):
        return f'strings need quotes: {m.group(1)} = "{m.group(2)}"'
    return "TOML syntax: key = value, strings in quotes, [table], [[layers]]"


_ROOT_CAUSES = frozenset(
    {"MS100", "MS101", "MS102", "MS103", "MS104", "MS201", "MS202", "MS203"}
    | {"MS501", "MS502", "MS503", "MS504", "MS505"}  # blocks: before what follows
)
_WHOLE_MODEL = frozenset({"MS210", "MS212"})


def _finish(report: Report, overrides: list[str] | None = None) -> Report:
    for d in report.diagnostics:
        d.file = report.file
        if d.line is not None and d.line <= 0 and overrides:
            d.source = f"--set {overrides[-d.line - 1]}"
            d.line = d.column = None
    # Causes lead: a bad name or reference explains what follows it, so those
    # come first; then everything by position.
    report.diagnostics.sort(
        key=lambda d: (
            d.code not in _ROOT_CAUSES,
            d.source is None,
            d.line is None,
            d.line or 0,
            d.column or 0,
            d.code,
        )
    )
    return report


# Specs are a few KiB; a generated thousand-layer one is ~200 KiB. The limit keeps
# `check /dev/zero`-like mistakes from exhausting memory before anything is said.
MAX_SPEC_BYTES = 4 << 20
MAX_SPEC_ENV = "MODELSPEC_MAX_SPEC_BYTES"


def max_spec_bytes() -> int:
    value = os.environ.get(MAX_SPEC_ENV, "").strip()
    if not value:
        return MAX_SPEC_BYTES
    try:
        limit = int(value)
    except ValueError:
        raise UsageError(
            f"{MAX_SPEC_ENV} must be a number of bytes. "
            f"Received: {MAX_SPEC_ENV}={value!r}"
        ) from None
    if limit <= 0:
        raise UsageError(f"{MAX_SPEC_ENV} must be positive. Received: {limit}")
    return limit


def read_spec_text(path: str | Path) -> str:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"no such file: {p}", hint="check the path")
    if p.is_dir():
        raise UsageError(f"{p} is a folder, not a spec file")
    try:
        # Refuse devices and FIFOs before opening: /dev/zero never ends and a FIFO
        # blocks until someone writes to it.
        if not stat.S_ISREG(p.stat().st_mode):
            raise UsageError(
                f"{p} is not a regular file (a device, FIFO or socket)",
                hint="give the path of a .toml spec file",
            )
        limit = max_spec_bytes()
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UsageError(f"cannot read {p}: {e.strerror}") from e
    if len(data) > limit:
        raise UsageError(
            f"{p} is larger than {limit:,} bytes; a spec file is usually a few KiB",
            hint=f"if it really is a spec, raise the limit: {MAX_SPEC_ENV}=<bytes>",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{p} is not UTF-8 text (byte {e.start})") from e


def check_file(path: str | Path, overrides: Iterable[str] = ()) -> Report:
    return check_text(read_spec_text(path), str(path), overrides)
