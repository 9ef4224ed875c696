"""Compare two checked specs layer by layer: `diff_reports(a, b) -> SpecDiff`.

Every other table ([model], [data], [train], [transfer], [export], ...) is compared
key by key on its effective values (defaults filled in where the table is valid),
so a batch size or optimizer change is a difference, and `identical` means equal.

Alignment: layers with the same name are matched first; those matches that keep
their order become anchors, and between two anchors the remaining layers are
matched by a longest common subsequence on their type (a renamed or unnamed
layer of the same kind at the same place is 'changed', not removed + added).
Whatever is left is removed (only in A) or added (only in B). Works on broken
specs too: a layer whose shape could not be inferred has shape None.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .blocks.diffing import diff_instances
from .report import Report

PAIR_KEYS = ("kernel", "strides", "dilation", "pool")
NOT_SETTINGS = ("name", "type", "inputs")


@dataclass
class _Layer:
    index: int
    name: str
    type: str
    settings: dict
    written: dict  # the settings as the TOML wrote them, for display
    inputs: list[str]
    explicit_inputs: bool
    shape: tuple | None
    params: int | None


@dataclass
class Change:
    """One setting that differs; a and b as written in each file (None: not
    written, so the default)."""

    key: str
    a: Any
    b: Any

    def to_json(self) -> dict:
        return {"key": self.key, "a": self.a, "b": self.b}


@dataclass
class LayerDiff:
    status: str  # unchanged | changed | added | removed
    name_a: str | None = None
    name_b: str | None = None
    type_a: str | None = None
    type_b: str | None = None
    shape_a: tuple | None = None
    shape_b: tuple | None = None
    params_a: int | None = None
    params_b: int | None = None
    changes: list[Change] = field(default_factory=list)

    @property
    def name(self) -> str:
        if self.name_a and self.name_b and self.name_a != self.name_b:
            return f"{self.name_a} → {self.name_b}"
        return self.name_b or self.name_a or ""

    @property
    def params_delta(self) -> int | None:
        if self.params_a is None and self.params_b is None:
            return None
        return (self.params_b or 0) - (self.params_a or 0)

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "name_a": self.name_a,
            "name_b": self.name_b,
            "type_a": self.type_a,
            "type_b": self.type_b,
            "shape_a": list(self.shape_a) if self.shape_a is not None else None,
            "shape_b": list(self.shape_b) if self.shape_b is not None else None,
            "params_a": self.params_a,
            "params_b": self.params_b,
            "params_delta": self.params_delta,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass
class SpecDiff:
    file_a: str
    file_b: str
    layers: list[LayerDiff]
    params_a: int
    params_b: int
    output_a: tuple | None = None
    output_b: tuple | None = None
    errors_a: int = 0
    errors_b: int = 0
    settings: list[Change] = field(default_factory=list)  # outside [[layers]]
    # top-level block instances (modelspec/blocks/diffing.py); [] without blocks
    blocks: list = field(default_factory=list)

    @property
    def params_delta(self) -> int:
        return self.params_b - self.params_a

    def count(self, status: str) -> int:
        return sum(1 for d in self.layers if d.status == status)

    @property
    def identical(self) -> bool:
        return not self.settings and all(d.status == "unchanged" for d in self.layers)

    def to_json(self) -> dict:
        return {
            "a": self.file_a,
            "b": self.file_b,
            "identical": self.identical,
            "counts": {
                s: self.count(s) for s in ("unchanged", "changed", "added", "removed")
            },
            "layers": [d.to_json() for d in self.layers],
            "settings": [c.to_json() for c in self.settings],
            "totals": {
                "params_a": self.params_a,
                "params_b": self.params_b,
                "delta": self.params_delta,
            },
            "output_shape_a": list(self.output_a) if self.output_a else None,
            "output_shape_b": list(self.output_b) if self.output_b else None,
            "errors_a": self.errors_a,
            "errors_b": self.errors_b,
        } | ({"blocks": [d.to_json() for d in self.blocks]} if self.blocks else {})


def _normalise(settings: dict) -> dict:
    """Equal meanings compare equal: kernel 5 == [5, 5], pool strides None == pool."""
    out = dict(settings)
    for key in PAIR_KEYS:
        v = out.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            out[key] = [v, v]
        elif isinstance(v, (list, tuple)):
            out[key] = list(v)
    if "pool" in out and out.get("strides") is None:
        out["strides"] = out["pool"]
    return out


def _layers(report: Report) -> list[_Layer]:
    infos = {li.index: li for li in report.layers}
    out = []
    for node in report.nodes:
        if node.layer is not None:
            settings = node.layer.model_dump(mode="json", exclude=set(NOT_SETTINGS))
        else:
            settings = {
                k: v for k, v in (node.raw or {}).items() if k not in NOT_SETTINGS
            }
        info = infos.get(node.index)
        out.append(
            _Layer(
                index=node.index,
                name=node.name,
                type=node.type,
                settings=_normalise(settings),
                written={
                    k: v for k, v in (node.raw or {}).items() if k not in NOT_SETTINGS
                },
                inputs=list(node.inputs),
                explicit_inputs="inputs" in (node.raw or {}),
                shape=tuple(info.output_shape) if info else None,
                params=info.params if info else None,
            )
        )
    return out


def _lcs(a: list, b: list) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of a and b."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            dp[i][j] = (
                dp[i + 1][j + 1] + 1
                if a[i] == b[j]
                else max(dp[i + 1][j], dp[i][j + 1])
            )
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif dp[i + 1][j] >= dp[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def align(a: list[_Layer], b: list[_Layer]) -> dict[int, int]:
    """Positions in a -> positions in b of the matched layers."""
    b_pos: dict[str, int] = {}
    for j, lb in enumerate(b):
        b_pos.setdefault(lb.name, j)
    used_b: set[int] = set()
    by_name: list[tuple[int, int]] = []
    seen_a: set[str] = set()
    for i, la in enumerate(a):
        jb = b_pos.get(la.name)
        if jb is not None and la.name not in seen_a:
            by_name.append((i, jb))
            used_b.add(jb)
        seen_a.add(la.name)
    match = dict(by_name)
    # Anchors: the order-keeping name matches (an LCS of the b positions).
    js = [j for _, j in by_name]
    keep = _lcs(js, sorted(js))
    anchors = [by_name[k] for k, _ in keep]
    bounds = [(-1, -1)] + anchors + [(len(a), len(b))]
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        ra = [i for i in range(i0 + 1, i1) if i not in match]
        rb = [j for j in range(j0 + 1, j1) if j not in used_b]
        for p, q in _lcs([a[i].type for i in ra], [b[j].type for j in rb]):
            match[ra[p]] = rb[q]
            used_b.add(rb[q])
    return match


def _changes(la: _Layer, lb: _Layer, rename: dict[str, str]) -> list[Change]:
    out = []
    if la.name != lb.name:
        out.append(Change("name", la.name, lb.name))
    if la.type != lb.type:
        out.append(Change("type", la.type, lb.type))
    for key in sorted(set(la.settings) | set(lb.settings)):
        va, vb = la.settings.get(key), lb.settings.get(key)
        # Written in neither file: both are defaults, equal for the same type; a
        # layer that failed validation just has no defaults to compare.
        if key not in la.written and key not in lb.written:
            continue
        if va != vb:
            out.append(Change(key, la.written.get(key), lb.written.get(key)))
    mapped = [rename.get(x, x) for x in la.inputs]
    if (la.explicit_inputs or lb.explicit_inputs) and mapped != lb.inputs:
        out.append(Change("inputs", la.inputs, lb.inputs))
    return out


def diff_reports(a: Report, b: Report) -> SpecDiff:
    la, lb = _layers(a), _layers(b)
    match = align(la, lb)
    inverse = {j: i for i, j in match.items()}
    rename = {la[i].name: lb[j].name for i, j in match.items()}
    rename["input"] = "input"
    out: list[LayerDiff] = []
    emitted: set[int] = set()

    def removed_before(limit: int) -> None:
        for i in range(limit):
            if i not in match and i not in emitted:
                emitted.add(i)
                out.append(_removed(la[i]))

    for j, y in enumerate(lb):
        if j in inverse:
            removed_before(inverse[j])
            out.append(_matched(la[inverse[j]], y, rename))
            continue
        # Removed layers of this gap come before the added ones.
        nxt = next((inverse[k] for k in range(j + 1, len(lb)) if k in inverse), len(la))
        removed_before(nxt)
        out.append(_added(y))
    removed_before(len(la))
    return SpecDiff(
        file_a=a.file,
        file_b=b.file,
        layers=out,
        params_a=a.total_params,
        params_b=b.total_params,
        output_a=a.output_shape,
        output_b=b.output_shape,
        errors_a=len(a.errors),
        errors_b=len(b.errors),
        settings=diff_tables(a.raw, b.raw),
        blocks=diff_instances(a, b),
    )


def _matched(x: _Layer, y: _Layer, rename: dict[str, str]) -> LayerDiff:
    changes = _changes(x, y, rename)
    same = not changes and x.shape == y.shape and x.params == y.params
    return LayerDiff(
        "unchanged" if same else "changed",
        x.name,
        y.name,
        x.type,
        y.type,
        x.shape,
        y.shape,
        x.params,
        y.params,
        changes,
    )


def _removed(x: _Layer) -> LayerDiff:
    return LayerDiff(
        "removed", name_a=x.name, type_a=x.type, shape_a=x.shape, params_a=x.params
    )


def _added(y: _Layer) -> LayerDiff:
    return LayerDiff(
        "added", name_b=y.name, type_b=y.type, shape_b=y.shape, params_b=y.params
    )


def diff_tables(raw_a: dict, raw_b: dict) -> list[Change]:
    """Key-by-key differences of every table but [[layers]], as dotted keys."""
    flat_a, flat_b = _flat_tables(raw_a), _flat_tables(raw_b)
    out = []
    for key in sorted(set(flat_a) | set(flat_b)):
        va, vb = flat_a.get(key, _ABSENT), flat_b.get(key, _ABSENT)
        if va != vb:
            out.append(
                Change(
                    key, None if va is _ABSENT else va, None if vb is _ABSENT else vb
                )
            )
    return out


_ABSENT = object()


def _flat_tables(raw: dict) -> dict[str, Any]:
    from .schema import TABLES

    out: dict[str, Any] = {}
    for name in sorted(set(raw) | {"train", "export"}):
        if name == "layers":
            continue
        value = raw.get(name)
        model = TABLES.get(name)
        if model is not None and (isinstance(value, dict) or value is None):
            try:  # effective values: `batch_size = 32` equals leaving the default
                value = model.model_validate(value or {}).model_dump(
                    mode="json", by_alias=True, exclude_none=True
                )
            except Exception:  # an invalid table is compared as written
                if value is None:
                    continue
        if value is None:
            continue
        _flatten(name, value, out)
    return out


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value
