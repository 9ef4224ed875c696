"""The JSON Schema of `[vars]`, `[blocks.*]` and use entries, added to the
spec's schema so that editors complete and validate specs with blocks.

Every layer key may also hold a `${...}` string (substituted before checking),
and every layer may have `when`; a `layers` item is a layer or a use entry,
whose block arguments are further keys (any name, so they stay open).
"""

from __future__ import annotations

import copy

from .models import BlockDef, UseEntry

TEMPLATE = {
    "type": "string",
    "pattern": r"\$\{",
    "description": "A ${...} expression, substituted before checking.",
}
LOCAL_NAME = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_\-]+$",
    "description": "Inside a block: the local name, after the instance's prefix.",
}
WHEN = {
    "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Template"}],
    "description": "The layer exists only when this is true.",
}


def add_blocks(schema: dict) -> dict:
    """`schema` (the Spec's JSON Schema) with blocks added, in place."""
    defs = schema["$defs"]
    layers = schema["properties"]["layers"]
    union = layers["items"]
    for ref in union["discriminator"]["mapping"].values():
        _templated(defs[ref.rsplit("/", 1)[-1]])
    defs["Template"] = TEMPLATE
    defs["UseEntry"] = _use_entry_schema()
    defs["LayerOrUse"] = {"anyOf": [union, {"$ref": "#/$defs/UseEntry"}]}
    layers["items"] = {"$ref": "#/$defs/LayerOrUse"}
    block = BlockDef.model_json_schema(by_alias=True)
    block["properties"]["layers"]["items"] = {"$ref": "#/$defs/LayerOrUse"}
    defs["BlockDef"] = block
    schema["properties"]["vars"] = {
        "type": "object",
        "description": "Named values usable in any ${...} of the layers and blocks "
        "(override with --set vars.NAME=VALUE).",
        "additionalProperties": {
            "anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"},
                      {"type": "array"}],
        },
    }
    schema["properties"]["blocks"] = {
        "type": "object",
        "description": "Blocks: parameterised sub-graphs, one [blocks.NAME] table "
        "each, used from layers with `use = \"NAME\"`.",
        "additionalProperties": {"$ref": "#/$defs/BlockDef"},
    }
    return schema


def _templated(model: dict) -> None:
    for key, prop in model.get("properties", {}).items():
        if key == "type":
            continue
        inner = _items_templated({k: v for k, v in prop.items()
                                  if k not in ("description", "title", "default")})
        new = {"anyOf": [inner, {"$ref": "#/$defs/Template"}]}
        if key == "name":  # in a block, a local suffix such as "0_conv"
            new["anyOf"].append(LOCAL_NAME)
        for k in ("description", "title", "default"):
            if k in prop:
                new[k] = prop[k]
        model["properties"][key] = new
    model["properties"]["when"] = copy.deepcopy(WHEN)


def _items_templated(node):
    """`node` with every array item also accepting ${...}: substitution reaches
    into lists (padding = [["${lo}", "${hi}"], ...])."""
    if isinstance(node, list):
        return [_items_templated(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _items_templated(v) for k, v in node.items()}
    if isinstance(out.get("items"), dict):
        out["items"] = {"anyOf": [out["items"], {"$ref": "#/$defs/Template"}]}
    return out


def _use_entry_schema() -> dict:
    use = UseEntry.model_json_schema(by_alias=True)
    use["additionalProperties"] = {
        "description": "An argument of the block (its `args`); may be ${...}."
    }
    return use
