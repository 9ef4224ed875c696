"""The summary's rows: one per plain layer and one per top-level block
instance (its output shape and summed parameters), or one per layer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    index: str  # "7", or "7-36" for an instance
    label: str  # "conv1 (conv2d)" or "conv2 (block stage)"
    shape: tuple
    params: int
    inputs: list[str]  # what the row reads (names outside it)
    output: str  # the name later rows read


def summary_rows(
    layers: list, instances: dict[str, str], expand: bool = False
) -> list[Row]:
    """`layers` are LayerInfo objects (with `.block`, the instance path or
    None); `instances` maps an instance name to its block's name."""
    if expand:
        return [_layer_row(li) for li in layers]
    rows: list[Row] = []
    group: list = []
    for li in layers:
        top = li.block[0] if getattr(li, "block", None) else None
        if group and group[0].block[0] != top:
            rows.append(_instance_row(group, instances))
            group = []
        if top is None:
            rows.append(_layer_row(li))
        else:
            group.append(li)
    if group:
        rows.append(_instance_row(group, instances))
    return rows


def _layer_row(li) -> Row:
    return Row(
        str(li.index),
        f"{li.name} ({li.type})",
        tuple(li.output_shape),
        li.params,
        list(li.inputs),
        li.name,
    )


def _instance_row(group: list, instances: dict[str, str]) -> Row:
    name = group[0].block[0]
    inside = {li.name for li in group}
    reads: list[str] = []
    for li in group:
        for ref in li.inputs:
            if ref not in inside and ref not in reads:
                reads.append(ref)
    first, last = group[0].index, group[-1].index
    return Row(
        f"{first}-{last}" if last != first else str(first),
        f"{name} (block {instances.get(name, '?')})",
        tuple(group[-1].output_shape),
        sum(li.params for li in group),
        reads,
        group[-1].name,
    )
