"""`[transfer]`: start a model from another model's weights (seed 004).

Weights are matched by layer name. Equal shapes are copied; an output layer
whose last axis grew (9 -> 10 classes) keeps the learned rows and leaves the
new ones as freshly initialised; layers listed in `skip` keep their
initializers; anything else does not fit, which `load_and_apply` reports as
one error naming every such layer and both shapes. The source is a run, a
.keras file or a weight file (pretrained.py reads .weights.h5 and legacy .h5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelspec import runs
from modelspec.errors import RunError


@dataclass
class TransferReport:
    source: str
    copied: list[str] = field(default_factory=list)
    widened: list[tuple[str, str]] = field(default_factory=list)  # (layer, shapes)
    frozen: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (layer, reason)
    kept: list[str] = field(default_factory=list)  # [transfer] skip: initializers

    def rows(self) -> list[tuple[str, str, str]]:
        """(layer, action, detail) rows, for the CLI's table."""
        out = [(n, "copied", "") for n in self.copied]
        out += [(n, "widened", d) for n, d in self.widened]
        out += [(n, "new", "freshly initialised") for n in self.new]
        out += [
            (n, "kept", "left at its initializer ([transfer] skip)") for n in self.kept
        ]
        out += [(n, "skipped", r) for n, r in self.skipped]
        frozen = set(self.frozen)
        return [(n, a + (", frozen" if n in frozen else ""), d) for n, a, d in out]

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "copied": self.copied,
            "widened": [list(w) for w in self.widened],
            "frozen": self.frozen,
            "new": self.new,
            "skipped": [list(s) for s in self.skipped],
            "kept": self.kept,
        }


def resolve_source(from_: str, base: Path | None = None) -> Path:
    """A run directory (its best.keras, else last.keras), a .keras file or a
    weight file; a bare file name is also looked for in Keras's model cache."""
    from .pretrained import find_in_keras_cache, is_weight_file

    p = Path(from_).expanduser()
    if not p.is_absolute() and base is not None and not p.exists():
        p = base / p
    if not p.exists():
        p = find_in_keras_cache(from_) or p
    if p.is_file():
        if p.suffix != ".keras" and not is_weight_file(p):
            raise RunError(
                f"[transfer] from must be a run directory, a .keras file or a "
                f".weights.h5 / .h5 weight file. Received: {from_}"
            )
        return p
    if p.exists() or (p.parent / runs.LATEST).exists():
        run = runs.resolve_run(p)
        for name in (runs.BEST, runs.LAST):
            if (run / name).exists():
                return run / name
        raise RunError(f"run {run} has no {runs.BEST} to transfer from")
    raise RunError(
        f"[transfer] from: no such run directory or file: {from_}",
        hint="train the source spec first, or point at a .keras or weight file "
        "(bare file names are also looked for in Keras's cache, ~/.keras/models)",
    )


def _widenable(src: tuple, dst: tuple) -> bool:
    return (
        len(src) == len(dst)
        and len(dst) >= 1
        and src[:-1] == dst[:-1]
        and src[-1] < dst[-1]
    )


def _copy_layer(src_layer, dst_layer, widen: bool):
    """('copied'|'widened'|'skipped', detail). All or nothing per layer."""
    src_w = src_layer.get_weights()
    dst_w = dst_layer.get_weights()
    if len(src_w) != len(dst_w):
        return "skipped", f"{len(src_w)} weights in source, {len(dst_w)} here"
    shapes = [(a.shape, b.shape) for a, b in zip(src_w, dst_w, strict=True)]
    if all(s == d for s, d in shapes):
        dst_layer.set_weights(src_w)
        return "copied", ""
    if widen and all(s == d or _widenable(s, d) for s, d in shapes):
        out = []
        for a, b in zip(src_w, dst_w, strict=True):
            merged = np.array(b, copy=True)
            merged[..., : a.shape[-1]] = a
            out.append(merged)
        dst_layer.set_weights(out)
        detail = ", ".join(f"{tuple(s)} -> {tuple(d)}" for s, d in shapes if s != d)
        return "widened", detail
    detail = ", ".join(f"{tuple(s)} vs {tuple(d)}" for s, d in shapes if s != d)
    if not widen:
        return "skipped", f"shape mismatch {detail} (widen = false)"
    return "skipped", f"shape mismatch {detail}"


def _weighted(model) -> list:
    return [layer for layer in model.layers if layer.weights]


def freeze_names(model, freeze) -> list[str]:
    weighted = [layer.name for layer in _weighted(model)]
    if freeze == "none":
        return []
    if freeze == "all_but_last":
        return weighted[:-1]
    known = {layer.name for layer in model.layers}
    unknown = [n for n in freeze if n not in known]
    if unknown:
        raise RunError(
            f"[transfer] freeze names layers the model does not have: "
            f"{', '.join(unknown)}",
            hint=f"layers with weights: {', '.join(weighted)}",
        )
    return list(freeze)


def apply_transfer(model, source_model, table, source: str = "") -> TransferReport:
    """Copy weights from `source_model` into `model` (in place) and freeze."""
    report = TransferReport(source=source)
    if hasattr(source_model, "aligned_to"):  # a weight file (pretrained.py)
        source_model = source_model.aligned_to(model)
    src_layers = {layer.name: layer for layer in source_model.layers}
    keep = set(getattr(table, "skip", None) or ())
    for layer in _weighted(model):
        src = src_layers.get(layer.name)
        if layer.name in keep:
            report.kept.append(layer.name)
            continue
        if src is None or not src.weights:
            report.new.append(layer.name)
            continue
        action, detail = _copy_layer(src, layer, table.widen)
        if action == "copied":
            report.copied.append(layer.name)
        elif action == "widened":
            report.widened.append((layer.name, detail))
        else:
            report.skipped.append((layer.name, detail))
    for name in freeze_names(model, table.freeze):
        model.get_layer(name).trainable = False
        report.frozen.append(name)
    return report


def load_and_apply(model, table, base: Path | None = None) -> TransferReport:
    from . import load_model
    from .pretrained import check_fit, is_weight_file, read_weights

    path = resolve_source(table.from_, base)
    if is_weight_file(path):
        source_model = read_weights(path)
    else:
        source_model = load_model(path, compile=False, purpose="for transfer")
    report = apply_transfer(model, source_model, table, source=str(path))
    check_fit(report)
    return report
