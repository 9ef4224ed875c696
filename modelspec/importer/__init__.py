"""`modelspec import`: a saved Keras model's configuration as a checked spec.

Framework-free: the caller (backends/keras_backend/import_model.py) reads the
model's serialized config, plain JSON data; this package flattens it
(graph.py), maps each Keras layer class to a spec layer (mapping.py, args.py),
assembles the document (convert.py), optionally folds repeats into blocks
(fold.py) and renders TOML (toml_out.py). Nothing here runs a model's code.
"""

from __future__ import annotations

from ..check import check_text
from ..errors import SpecInvalid
from .convert import spec_document
from .graph import flatten
from .mapping import CLASSES
from .toml_out import render


def fold_document(doc: dict) -> dict:
    """`doc` with repeated sub-graphs as `[blocks.*]` and `use` entries."""
    from .fold import fold_layers  # the checker's expansion: loaded when asked

    blocks, layers = fold_layers(doc["layers"])
    out = {k: v for k, v in doc.items() if k != "layers"}
    out["layers"] = layers
    if blocks:
        out["blocks"] = blocks
    return out


def _output_classes(report) -> int | None:
    shape = tuple(report.layers[-1].output_shape) if report.layers else ()
    return shape[0] if len(shape) == 1 and shape[0] > 1 else None


def import_spec(
    entry: dict,
    *,
    source: str,
    file: str = "<import>",
    fold: bool = False,
    weights_file: str | None = None,
):
    """(TOML text, Report) of the spec for a serialized Keras model `entry`.
    Raises ModelspecError listing every inexpressible layer, or SpecInvalid
    when the written spec does not check clean."""
    doc = spec_document(flatten(entry), source)
    if fold:
        doc = fold_document(doc)
    if weights_file is not None:
        doc["transfer"] = {"from": weights_file}
    comments = [f"Imported from {source} by `modelspec import`."]
    text = render(doc, comments)
    report = check_text(text, file=file)
    classes = _output_classes(report) if report.ok else None
    if classes is not None:
        doc["model"] = {**doc["model"], "classes": classes}
        text = render(doc, comments)
        report = check_text(text, file=file)
    if not report.ok:
        raise SpecInvalid(report)
    return text, report


__all__ = ["CLASSES", "flatten", "fold_document", "import_spec", "render"]
