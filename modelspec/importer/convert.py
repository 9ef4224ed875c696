"""A flat Keras graph (graph.py) as a spec document: plain dicts and lists.

Each layer is written with its name, `inputs` only where it does not read the
previous layer, and only the fields whose value differs from the spec's
default (the Pydantic layer models of modelspec/schema). Every layer that
cannot be expressed is collected; `spec_document` raises one error naming them
all, and the caller writes nothing.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..errors import ModelspecError
from ..schema import LAYER_MODELS
from ..schema.merge_norm import MERGE_KINDS
from .args import Args
from .graph import INPUT, Call, Graph
from .mapping import mapping_for
from .ops import fuse_hard_sigmoid

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_MODEL_NAME = re.compile(r"[^A-Za-z0-9_\-]")
_MERGES = MERGE_KINDS | {"add", "concat"}
_WHY = {
    "Lambda": "runs Python code, which a spec never does",
    "TFOpLambda": "a TensorFlow function call, which a spec cannot name",
}


def _without_defaults(kind: str, fields: dict) -> dict:
    model = LAYER_MODELS[kind].model_fields
    out = {}
    for key, value in fields.items():
        info = model.get(key)
        if info is not None and not info.is_required() and info.default == value:
            continue
        out[key] = value
    return out


def _validation_problems(kind: str, layer: dict) -> list[str]:
    try:
        LAYER_MODELS[kind].model_validate(layer)
    except ValidationError as e:
        return [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in e.errors()
        ]
    return []


def _layer(call: Call, previous: str) -> tuple[dict | None, list[str]]:
    mapping = mapping_for(call.class_name, call.module, call.registered_name)
    if mapping is None:
        why = _WHY.get(call.class_name, "not a layer class import supports")
        if call.registered_name and ">" in call.registered_name:
            why = f"custom class '{call.registered_name}'; {why}"
        return None, [why] + call.problems
    args = Args(call.config, call.build_shape)
    fields = mapping.convert(args)
    layer: dict = {"type": mapping.spec_type, "name": call.name}
    if mapping.spec_type in _MERGES or call.inputs != [previous]:
        layer["inputs"] = list(call.inputs)
    layer.update(_without_defaults(mapping.spec_type, fields))
    if call.config.get("trainable") is False:
        layer["trainable"] = False
    problems = call.problems + args.problems + args.leftovers()
    problems += [f"a constant operand {c!r} (only tensors)" for c in call.constants]
    if not _NAME.match(call.name or ""):
        problems.append(f"name {call.name!r} is not a spec layer name")
    if not problems:
        problems = _validation_problems(mapping.spec_type, layer)
    return layer, problems


def _model_table(graph: Graph, problems: list[str]) -> dict:
    name = _MODEL_NAME.sub("_", graph.name) or "model"
    if not name[0].isalnum():
        name = "m" + name
    shape = graph.input_shape
    if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
        problems.append(
            f"model input shape {shape} is not fixed: a spec needs every axis "
            "but the batch axis"
        )
    elif len(shape) > 3:
        problems.append(f"model input has {len(shape)} axes; a spec has at most 3")
    return {"name": name, "input": list(shape or [])}


def spec_document(graph: Graph, source: str) -> dict:
    """{"model": {...}, "layers": [...]}; ModelspecError listing every layer
    (and model-level reason) that cannot be expressed."""
    problems = [f"model: {p}" for p in graph.problems]
    model = _model_table(graph, problems)
    layers, previous, seen = [], INPUT, {INPUT}
    calls = fuse_hard_sigmoid(graph.calls)
    for index, call in enumerate(calls):
        layer, found = _layer(call, previous)
        if call.name in seen:
            found.append(f"a second layer named {call.name!r}")
        seen.add(call.name)
        if found:
            problems.append(
                f"layers[{index}] {call.name} ({call.class_name}): " + "; ".join(found)
            )
        if layer is not None:
            layers.append(layer)
        previous = call.name
    if calls and graph.output != calls[-1].name:
        problems.append(
            f"model: the output '{graph.output}' is not the last layer "
            f"('{calls[-1].name}')"
        )
    if not calls:
        problems.append("model: no layers")
    if problems:
        n = len(problems)
        raise ModelspecError(
            f"{source}: {n} thing{'s' * (n != 1)} cannot be expressed in a spec:\n  "
            + "\n  ".join(problems),
            hint="remove or replace them in the Keras model (e.g. a Lambda by "
            "built-in layers), save it, and import again",
        )
    return {"model": model, "layers": layers}
