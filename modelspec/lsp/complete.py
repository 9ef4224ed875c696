"""Completion: layer types, the keys valid for a layer's type (from the Pydantic
schema), the values a key allows (activations, padding ...), the names an
`inputs` entry may read (earlier layers only) and block names after `use`.

Works on text that is not valid TOML yet (textscan.py): completion is asked
for while a line is half typed.
"""

from __future__ import annotations

import re
import typing

from lsprotocol import types
from pydantic import BaseModel

from ..blocks.models import BlockDef, UseEntry
from ..schema import LAYER_MODELS, LAYER_TYPES, Spec
from .analysis import Analysis
from .positions import from_utf16, line_at, string_at
from .textscan import Scan, context

Kind = types.CompletionItemKind
_KEY_EQUALS = re.compile(r"([A-Za-z0-9_\-]+)\s*=\s*$")


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """Key (as written in TOML) -> its description."""
    return {
        (f.alias or name): (f.description or "")
        for name, f in model.model_fields.items()
    }


def _literals(annotation: object) -> list[str]:
    """Every string a type annotation allows as a Literal, in order."""
    if typing.get_origin(annotation) is typing.Literal:
        return [a for a in typing.get_args(annotation) if isinstance(a, str)]
    out: list[str] = []
    for arg in typing.get_args(annotation):
        out += [v for v in _literals(arg) if v not in out]
    return out


def _model_of(scan: Scan, lines: list[str]) -> type[BaseModel] | None:
    """The Pydantic model of the table the cursor is in."""
    entry = scan.current
    if entry is not None:
        if entry.value(lines, "use") is not None:
            return UseEntry
        return LAYER_MODELS.get(entry.value(lines, "type") or "")
    table = scan.table or ""
    if re.fullmatch(r"blocks\.[A-Za-z0-9_\-]+", table):
        return BlockDef
    found = Spec.model_fields.get(table)
    if found is None:
        return None
    for arg in (found.annotation, *typing.get_args(found.annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _item(label: str, kind, detail: str = "", doc: str = "") -> types.CompletionItem:
    return types.CompletionItem(
        label=label,
        kind=kind,
        detail=detail or None,
        documentation=doc or None,
    )


def _keys(scan: Scan, lines: list[str], line0: int) -> list[types.CompletionItem]:
    entry = scan.current
    model = _model_of(scan, lines)
    if entry is not None and model is None:
        # No type yet: how a layer table starts.
        return [
            _item("type", Kind.Property, "the layer type"),
            _item("use", Kind.Property, "a block to use"),
            _item("name", Kind.Property, "the layer name"),
            _item("inputs", Kind.Property, "the layers it reads"),
        ]
    if model is None:
        return []
    docs = field_docs(model)
    if model is UseEntry and entry is not None:
        for arg in _block_args(lines, scan, entry.value(lines, "use") or ""):
            docs.setdefault(arg, "an argument of the block")
    written = entry.keys(lines) if entry is not None else _table_keys(lines, line0)
    return [
        _item(k, Kind.Property, doc=docs[k]) for k in sorted(docs) if k not in written
    ]


def _table_keys(lines: list[str], line0: int) -> set[str]:
    """Keys already written in the [table] around line `line0` (not on it)."""
    start = min(line0, len(lines) - 1)
    while start > 0 and not lines[start].lstrip().startswith("["):
        start -= 1
    found = set()
    for n in range(start + 1, len(lines)):
        if lines[n].lstrip().startswith("["):
            break
        m = re.match(r"\s*([A-Za-z0-9_\-]+)\s*=", lines[n])
        if m and n != line0:
            found.add(m.group(1))
    return found


def _block_args(lines: list[str], scan: Scan, block: str) -> list[str]:
    start = scan.blocks.get(block)
    if start is None:
        return []
    for text in lines[start : start + 20]:
        m = re.match(r"\s*args\s*=\s*\[(.*)\]", text)
        if m:
            return re.findall(r"""["']([^"']+)["']""", m.group(1))
    return []


def _earlier_names(
    analysis: Analysis, scan: Scan, lines: list[str]
) -> list[types.CompletionItem]:
    """Names an `inputs` entry may read: the model input (or the block's
    inputs) and every layer table written before this one, in the same list."""
    entry = scan.current
    if entry is None:
        return []
    block = entry.block
    out = [_item("input", Kind.Variable, "the model input")] if block is None else []
    if block is not None:
        out += [
            _item(n, Kind.Variable, "an input of the block")
            for n in _block_inputs(lines, scan, block)
        ]
    defaults = {n.line: n.name for n in analysis.report.nodes if n.block is None}
    for e in scan.layers:
        if e.block != block or e.start >= entry.start:
            continue
        name = e.value(lines, "name") or (
            defaults.get(e.start[0] + 1) if block is None else None
        )
        if name:
            kind = e.value(lines, "type") or f"use {e.value(lines, 'use')}"
            out.append(_item(name, Kind.Variable, kind))
    return out


def _block_inputs(lines: list[str], scan: Scan, block: str) -> list[str]:
    """The block's `inputs` (its local input names), by default ["in"]."""
    start = scan.blocks.get(block)
    for text in lines[start + 1 :] if start is not None else []:
        if text.lstrip().startswith("["):
            break
        m = re.match(r"\s*inputs\s*=\s*\[(.*)\]", text)
        if m:
            return re.findall(r"""["']([^"']+)["']""", m.group(1))
    return ["in"]


def _values(
    analysis: Analysis, scan: Scan, lines: list[str], key: str
) -> list[types.CompletionItem]:
    if key == "inputs":
        return _earlier_names(analysis, scan, lines)
    if key == "use":
        return [_item(b, Kind.Module, "block") for b in scan.blocks]
    if key == "type" and scan.current is not None and len(scan.stack) <= 1:
        return [_item(t, Kind.Class, _doc(t)) for t in sorted(LAYER_TYPES)]
    model = _model_of(scan, lines)
    field = _field(model, key) if model is not None else None
    if field is None:
        return []
    return [_item(v, Kind.EnumMember) for v in _literals(field.annotation)]


def _doc(layer_type: str) -> str:
    model = LAYER_MODELS.get(layer_type)
    doc = (model.__doc__ or "").strip().splitlines() if model else []
    return doc[0] if doc else ""


def _field(model: type[BaseModel], key: str):
    for name, f in model.model_fields.items():
        if (f.alias or name) == key:
            return f
    return None


def _quoted(items: list[types.CompletionItem]) -> list[types.CompletionItem]:
    """Values offered after `key = `, before any quote: insert the quotes too."""
    for item in items:
        item.insert_text = f'"{item.label}"'
    return items


def completions(analysis: Analysis, position: types.Position) -> types.CompletionList:
    lines = analysis.lines or [""]
    text = line_at(lines, position.line)
    col = from_utf16(text, position.character)
    scan = context(lines, position.line, col)
    before = text[:col]
    items: list[types.CompletionItem] = []
    inside = string_at(text, col)
    after_equals = _KEY_EQUALS.search(before)
    if inside is not None and inside[0] <= col:
        key = _string_key(before[: inside[0] - 1], scan)
        if key:
            items = _values(analysis, scan, lines, key)
    elif after_equals:
        items = _quoted(_values(analysis, scan, lines, after_equals.group(1)))
    elif (re.fullmatch(r"\s*[A-Za-z0-9_\-]*", before) and not scan.stack) or (
        re.search(r"[{,]\s*[A-Za-z0-9_\-]*$", before) and _in_entry_table(scan)
    ):
        items = _keys(scan, lines, position.line)
    return types.CompletionList(is_incomplete=False, items=items)


def _string_key(before: str, scan: Scan) -> str | None:
    """The key a string being typed is the value of: `key = "` on this line,
    or the key of the array the string is an element of."""
    m = _KEY_EQUALS.search(before)
    if m:
        return m.group(1)
    return scan.key if scan.stack and scan.stack[-1].char == "[" else None


def _in_entry_table(scan: Scan) -> bool:
    """The cursor is directly in an inline layer table (not a nested value)."""
    return bool(scan.stack) and scan.stack[-1].entry is not None
