"""Tagged unions in the JSON Schema, shaped so that editors name the typo.

Pydantic writes a discriminated union as `oneOf` + `discriminator`. Validators
that ignore `discriminator` (Taplo's among them) then report a typo such as
`filter = 16` as "not valid under any of the schemas listed in the 'oneOf'
keyword", because every branch fails. Written as one `if type == tag then
$ref` per tag instead, only the matching branch is tried, and its own error
("Additional properties are not allowed ('filter' was unexpected)") is the one
reported. Valid documents validate exactly as before.
"""

from __future__ import annotations


def tagged_union(prop: str, mapping: dict[str, str]) -> dict:
    """The schema of an object whose `prop` picks the schema it must match."""
    return {
        "type": "object",
        "required": [prop],
        "properties": {prop: {"enum": sorted(mapping)}},
        "allOf": [
            {"if": {"properties": {prop: {"const": tag}}, "required": [prop]},
             "then": {"$ref": ref}}
            for tag, ref in sorted(mapping.items())
        ],
    }


def untangle(node):
    """`node` with every discriminated `oneOf` replaced by `tagged_union`."""
    if isinstance(node, list):
        return [untangle(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "discriminator" in node and "oneOf" in node:
        d = node["discriminator"]
        rest = {k: v for k, v in node.items() if k not in ("discriminator", "oneOf")}
        return {**rest, **tagged_union(d["propertyName"], d["mapping"])}
    return {k: untangle(v) for k, v in node.items()}
