"""Tagged unions in the JSON Schema, shaped so that editors name the typo.

Pydantic writes a discriminated union as `oneOf` + `discriminator`. Validators
that ignore `discriminator` (Taplo's among them) then report a typo such as
`filter = 16` as "not valid under any of the schemas listed in the 'oneOf'
keyword", because every branch fails. Written as one `if type == tag then
$ref` per tag instead, only the matching branch is tried, and its own error
("Additional properties are not allowed ('filter' was unexpected)") is the one
reported. Valid documents validate exactly as before.

The same holds for an `anyOf` whose alternatives are of different JSON types
(`kernel`: an int or a list): chosen by the value's type, a wrong value gets
the chosen alternative's message, or one that names the types allowed.
"""

from __future__ import annotations


def tagged_union(prop: str, mapping: dict[str, str]) -> dict:
    """The schema of an object whose `prop` picks the schema it must match."""
    return {
        "type": "object",
        "required": [prop],
        "properties": {prop: {"enum": sorted(mapping)}},
        "allOf": [
            {
                "if": {"properties": {prop: {"const": tag}}, "required": [prop]},
                "then": {"$ref": ref},
            }
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
    out = {k: untangle(v) for k, v in node.items()}
    if _by_type(out.get("anyOf")):
        alts = out.pop("anyOf")
        out.update(_type_chain(alts))
    return out


# JSON types no value has two of ("integer" is also a "number": not both here)
_DISJOINT = ("integer", "string", "boolean", "array", "object", "null")


def _by_type(alts) -> bool:
    if not isinstance(alts, list) or len(alts) < 2:
        return False
    kinds = [a.get("type") if isinstance(a, dict) else None for a in alts]
    return all(k in _DISJOINT for k in kinds) and len(set(kinds)) == len(kinds)


def _type_chain(alts: list[dict]) -> dict:
    """if type is T1 then A1 else if ... else one of the types (an error)."""
    node: dict = {"type": [a["type"] for a in alts]}
    for alt in reversed(alts):
        node = {"if": {"type": alt["type"]}, "then": alt, "else": node}
    return node
