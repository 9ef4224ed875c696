"""The generated parts of docs/spec-format.md, from the Pydantic models.

Every table and every layer type gets a key table (key, value, default,
meaning) built from the models' fields, defaults and descriptions, so the
reference cannot drift from the checker. Between `<!-- generated: X -->` and
`<!-- end generated: X -->` the document is this module's output;
`python tests/spec_format_doc.py` rewrites those parts, and
tests/test_spec_format_doc.py fails when they are out of date.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "spec-format.md"
SECTION = re.compile(
    r"(<!-- generated: (\S+) -->\n)(.*?)(<!-- end generated: \2 -->)", re.S
)

# One line per layer type: the output shape from the input shape. A test keeps
# the keys equal to the layer types; tests/test_keras_agreement*.py check the
# rules themselves against Keras.
SHAPE_RULES = {
    "conv2d": "(h, w, c) -> (h', w', filters); `valid`: h' = floor((h - "
    "((k-1)d+1)) / s) + 1, `same`: h' = ceil(h / s)",
    "max_pool2d": "(h, w, c) -> (h', w', c); `valid`: h' = floor((h - pool) / s) "
    "+ 1, `same`: h' = ceil(h / s)",
    "avg_pool2d": "as `max_pool2d`",
    "global_avg_pool2d": "(h, w, c) -> (c,), or (1, 1, c) with `keepdims`",
    "global_max_pool2d": "as `global_avg_pool2d`",
    "dense": "(..., n) -> (..., units): only the last axis changes; on a feature "
    "map it acts at every position, as a 1x1 convolution (MS306 warns unless a "
    "convolution or pooling reads its output as a map)",
    "flatten": "(d1, d2, ...) -> (d1 * d2 * ...,)",
    "reshape": "(...) -> `shape`, the -1 entry computed; the sizes must agree (MS204)",
    "dropout": "unchanged",
    "batch_norm": "unchanged",
    "lrn": "unchanged (needs a feature map (h, w, c))",
    "activation": "unchanged",
    "add": "inputs of one rank; each axis equal or 1 (broadcast) -> the largest",
    "concat": "inputs of one rank, equal except along `axis` -> that axis summed",
    "depthwise_conv2d": "(h, w, c) -> (h', w', c * depth_multiplier); h', w' as "
    "`conv2d`",
    "separable_conv2d": "(h, w, c) -> (h', w', filters); h', w' as `conv2d`",
    "conv2d_transpose": "(h, w, c) -> (h', w', filters); `valid`: h' = (h-1)s + "
    "max(k', s), `same`: h' = h s, with k' = (k-1)d+1; with output_padding p: "
    "`valid` (h-1)s + k' + p, `same` (h-1)s + k' % 2 + p",
    "zero_pad2d": "(h, w, c) -> (h + top + bottom, w + left + right, c)",
    "cropping2d": "(h, w, c) -> (h - top - bottom, w - left - right, c), at least "
    "1x1 (MS222)",
    "upsampling2d": "(h, w, c) -> (h fh, w fw, c)",
    "multiply": "as `add`",
    "maximum": "as `add`",
    "average": "as `add`",
    "subtract": "as `add`, for exactly two inputs (the first minus the second)",
    "rescaling": "unchanged; a `scale` or `offset` list has 1 or c entries (MS230)",
    "normalization": "unchanged; the axes in range and distinct (MS214), a `mean` "
    "list 1 or the last kept axis's size long (MS230)",
    "layer_norm": "unchanged; the axes in range and distinct (MS214)",
    "layer_scale": "unchanged",
}


def _value(p: dict, defs: dict) -> str:
    """A JSON Schema fragment as a short human description."""
    if "$ref" in p:
        name = p["$ref"].rsplit("/", 1)[-1]
        return {"LeakyReLUActivation": '`{ type = "leaky_relu", ... }`'}.get(
            name, f"table ({name})"
        )
    for key in ("anyOf", "oneOf"):
        if key in p:
            alts = [a for a in p[key] if a.get("type") != "null"]
            if "discriminator" in p:
                return "initializer table"
            return " or ".join(dict.fromkeys(_value(a, defs) for a in alts))
    if "enum" in p and len(p["enum"]) > 8:  # the activation names
        return "an [activation name](#activations)"
    if "enum" in p:
        return " / ".join(json.dumps(v) for v in p["enum"])
    if "const" in p:
        return json.dumps(p["const"])
    kind = p.get("type")
    if kind == "array":
        n = p.get("minItems"), p.get("maxItems")
        size = f"{n[0]} " if n[0] == n[1] and n[0] else ""
        return f"list of {size}{_value(p.get('items', {}), defs)}"
    if kind == "object":
        return "table"
    text = {
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "string": "string",
    }.get(kind, str(kind))
    bounds = [
        f"{op} {p[k]}"
        for k, op in (
            ("exclusiveMinimum", ">"),
            ("minimum", ">="),
            ("exclusiveMaximum", "<"),
            ("maximum", "<="),
        )
        if k in p
    ]
    return f"{text} {', '.join(bounds)}".strip()


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    value = field.default_factory() if field.default_factory else field.default
    if value is None:
        return "none"
    if hasattr(value, "model_dump"):
        return "see below" if value.model_dump() else "{}"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def key_table(model, skip=()) -> str:
    schema = model.model_json_schema(by_alias=True)
    defs, props = schema.get("$defs", {}), schema["properties"]
    rows = ["| key | value | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        if name in skip or (name == "type" and "const" in props[key]):
            continue
        value = _value(props[key], defs).replace("|", "\\|")
        rows.append(
            f"| `{key}` | {value} | {_default(field)} | "
            f"{_cell(field.description or '')} |"
        )
    return "\n".join(rows)


def layer_sections() -> str:
    from modelspec.schema import LAYER_MODELS
    from modelspec.schema.layer_base import LayerBase, WeightedLayer

    weights = set(WeightedLayer.model_fields) - set(LayerBase.model_fields)
    out = []
    for kind, model in LAYER_MODELS.items():
        extra = issubclass(model, WeightedLayer)
        # a shared key is listed once, unless this layer type redefines it
        common = {
            n
            for n, f in LayerBase.model_fields.items()
            if model.model_fields[n].description == f.description
        }
        out.append(f"#### `{kind}`\n\nShape: {SHAPE_RULES[kind]}.\n")
        own = set(model.model_fields) - common - (weights if extra else set())
        if own - {"type"}:
            out.append(key_table(model, skip=common | (weights if extra else set())))
        else:
            out.append("No keys of its own.")
        if extra:
            out.append("\nAlso the [weight keys](#weight-keys).")
        out.append("")
    return "\n".join(out)


def sections() -> dict[str, str]:
    from modelspec.blocks.models import BlockDef, UseEntry
    from modelspec.schema import LAYER_MODELS, TABLES
    from modelspec.schema.common import ActivationName, LeakyReLUActivation
    from modelspec.schema.layer_base import LayerBase, WeightedLayer
    from modelspec.schema.tables import Augment, EarlyStopping, Optimizer, Schedule

    common = set(LayerBase.model_fields)
    out = {name: key_table(model) for name, model in TABLES.items()}
    out["optimizer"] = key_table(Optimizer)
    out["schedule"] = key_table(Schedule)
    out["early_stopping"] = key_table(EarlyStopping)
    out["augment"] = key_table(Augment)
    out["layer-keys"] = key_table(LayerBase)
    out["weight-keys"] = key_table(WeightedLayer, skip=common)
    out["block"] = key_table(BlockDef)
    out["use"] = key_table(UseEntry)
    out["leaky_relu"] = key_table(LeakyReLUActivation)
    out["activations"] = ", ".join(f"`{a}`" for a in ActivationName.__args__)
    out["layers"] = layer_sections()
    out["weighted-types"] = (
        ", ".join(
            f"`{kind}`"
            for kind, model in LAYER_MODELS.items()
            if issubclass(model, WeightedLayer)
        )
        + "."
    )
    return {k: v.rstrip("\n") + "\n" for k, v in out.items()}


def render(text: str) -> str:
    parts = sections()
    return SECTION.sub(lambda m: m.group(1) + parts[m.group(2)] + m.group(4), text)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    DOC.write_text(render(DOC.read_text()))
    print(f"rewrote the generated parts of {DOC.relative_to(ROOT)}")
