"""Key settings of the rescaling and normalisation layers, for node labels
(`key_settings` in model.py adds these to what it shows for the other kinds)."""

from __future__ import annotations


def _values(v) -> str:
    return "per channel" if isinstance(v, (list, tuple)) else f"{v:g}"


def _axis(get) -> list[str]:
    axis = get("axis")
    return [] if axis in (None, -1) else [f"axis {axis}"]


def merge_norm_settings(type_: str, get) -> list[str]:
    """Extra label parts for rescaling, normalization, layer_norm, layer_scale."""
    if type_ == "rescaling":
        parts = [f"×{_values(get('scale'))}"] if get("scale") is not None else []
        offset = get("offset")
        if isinstance(offset, (list, tuple)):
            parts.append("+ per channel")
        elif offset not in (None, 0, 0.0):
            parts.append(f"{offset:+g}")
        return parts
    if type_ == "normalization":
        if get("mean") is not None:
            return _axis(get) + ["fixed mean/variance"]
        return _axis(get) + ["adapted" if get("adapt") is not False else "not adapted"]
    if type_ == "layer_norm":
        return _axis(get)
    if type_ == "layer_scale" and get("init_value") is not None:
        return [f"init {get('init_value'):g}"]
    return []
