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
    "description": "A layer name; inside a block the local name, after the "
    "instance's prefix (it may start with a digit: 0_conv).",
}
TEMPLATE_TEST = {"type": "string", "pattern": r"\$\{"}
WHEN = {
    "anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/Template"}],
    "description": "The layer exists only when this is true.",
}


def add_blocks(schema: dict) -> dict:
    """`schema` (the Spec's JSON Schema) with blocks added, in place."""
    defs = schema["$defs"]
    layers = schema["properties"]["layers"]
    union = layers["items"]
    refs = union["discriminator"]["mapping"].values()
    kinds = [ref.rsplit("/", 1)[-1] for ref in refs]
    # tables inside a layer (kernel_init = { ... }) are substituted too
    for name in _reachable(defs, kinds) - set(kinds):
        _templated(defs[name], when=False)
    for name in kinds:
        _templated(defs[name])
    defs["Template"] = TEMPLATE
    defs["UseEntry"] = _use_entry_schema()
    # `use` decides, so that a typo in a layer is reported against that layer
    # (an anyOf would only say that neither alternative matched)
    defs["LayerOrUse"] = {
        "if": {"type": "object", "required": ["use"]},
        "then": {"$ref": "#/$defs/UseEntry"},
        "else": union,
    }
    layers["items"] = {"$ref": "#/$defs/LayerOrUse"}
    block = BlockDef.model_json_schema(by_alias=True)
    block["properties"]["layers"]["items"] = {"$ref": "#/$defs/LayerOrUse"}
    defs["BlockDef"] = block
    schema["properties"]["vars"] = {
        "type": "object",
        "description": "Named values usable in any ${...} of the layers and blocks "
        "(override with --set vars.NAME=VALUE).",
        "additionalProperties": {
            "anyOf": [
                {"type": "number"},
                {"type": "boolean"},
                {"type": "string"},
                {"type": "array"},
            ],
        },
    }
    schema["properties"]["blocks"] = {
        "type": "object",
        "description": "Blocks: parameterised sub-graphs, one [blocks.NAME] table "
        'each, used from layers with `use = "NAME"`.',
        "additionalProperties": {"$ref": "#/$defs/BlockDef"},
    }
    return schema


def _reachable(defs: dict, roots: list[str]) -> set[str]:
    """The $defs names that `roots` refer to, directly or not (roots too)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        todo.extend(_refs(defs[name]))
    return seen


def _refs(node) -> list[str]:
    if isinstance(node, list):
        return [r for n in node for r in _refs(n)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"].rsplit("/", 1)[-1]] if isinstance(node.get("$ref"), str) else []
    return own + [r for k, v in node.items() if k != "$ref" for r in _refs(v)]


def _templated(model: dict, when: bool = True) -> None:
    for key, prop in model.get("properties", {}).items():
        if key == "type":
            continue
        inner = _items_templated(
            {
                k: v
                for k, v in prop.items()
                if k not in ("description", "title", "default")
            }
        )
        if key == "name":
            # LOCAL_NAME allows every top-level name too (the checker requires
            # the leading letter there), so one pattern can report the mistake
            inner = LOCAL_NAME
        # if/else rather than anyOf: an editor then names what is wrong
        new = {
            "if": TEMPLATE_TEST,
            "then": {"$ref": "#/$defs/Template"},
            "else": _not_null(inner),
        }
        for k in ("description", "title", "default"):
            if k in prop:
                new[k] = prop[k]
        model["properties"][key] = new
    if when:
        model["properties"]["when"] = copy.deepcopy(WHEN)


def _not_null(node: dict) -> dict:
    """`Optional[X]` without its null: TOML has no null, and a lone X lets an
    editor report X's own error."""
    alts = node.get("anyOf")
    if alts and len(alts) == 2 and {"type": "null"} in alts and len(node) == 1:
        return next(a for a in alts if a != {"type": "null"})
    return node


def _items_templated(node):
    """`node` with every array item also accepting ${...}: substitution reaches
    into lists (padding = [["${lo}", "${hi}"], ...])."""
    if isinstance(node, list):
        return [_items_templated(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _items_templated(v) for k, v in node.items()}
    if isinstance(out.get("items"), dict):
        out["items"] = {
            "if": TEMPLATE_TEST,
            "then": {"$ref": "#/$defs/Template"},
            "else": out["items"],
        }
    return out


def _use_entry_schema() -> dict:
    use = UseEntry.model_json_schema(by_alias=True)
    use["additionalProperties"] = {
        "description": "An argument of the block (its `args`); may be ${...}."
    }
    return use
