"""Key settings of the conv family and resizing layers, for node labels
(`key_settings` in model.py adds these to what it shows for the older kinds)."""

from __future__ import annotations

from typing import Any


def _pair(v: Any) -> str:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return f"{v[0]}×{v[1]}"
    return f"{v}×{v}"


def _not_one(v: Any) -> bool:
    return v is not None and v not in (1, [1, 1], (1, 1))


def _window(get) -> list[str]:
    parts = [_pair(get("kernel"))] if get("kernel") is not None else []
    if _not_one(get("strides")):
        parts.append(f"stride {_pair(get('strides'))}")
    if _not_one(get("dilation")):
        parts.append(f"dilation {_pair(get('dilation'))}")
    parts.append(get("padding") or "valid")
    return parts


def conv_family_settings(type_: str, get) -> list[str]:
    """Extra label parts for the new kinds and the new keys of older ones."""
    if type_ == "conv2d" and _not_one(get("groups")):
        return [f"groups {get('groups')}"]
    if type_ == "depthwise_conv2d":
        m = get("depth_multiplier")
        return _window(get) + ([f"×{m} per channel"] if _not_one(m) else [])
    if type_ in ("separable_conv2d", "conv2d_transpose"):
        parts = [f"{get('filters')} filters"] if get("filters") is not None else []
        parts += _window(get)
        if type_ == "conv2d_transpose" and get("output_padding") is not None:
            parts.append(f"output_padding {get('output_padding')}")
        return parts
    if type_ == "zero_pad2d":
        return [f"pad {get('padding')}"]
    if type_ == "cropping2d":
        return [f"crop {get('cropping')}"]
    if type_ == "upsampling2d":
        return [f"×{_pair(get('size') or 2)}", get("interpolation") or "nearest"]
    if type_ in ("global_avg_pool2d", "global_max_pool2d") and get("keepdims"):
        return ["keepdims"]
    if type_ == "dropout" and get("noise_shape") is not None:
        return [f"noise {list(get('noise_shape'))}"]
    return []
