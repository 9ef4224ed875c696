"""`modelspec diff` at the block level: top-level block instances of two
checked specs, matched by name (the layer-level diff is modelspec/diffing.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BlockDiff:
    status: str  # unchanged | changed | added | removed
    name: str
    block_a: str | None = None
    block_b: str | None = None
    shape_a: tuple | None = None
    shape_b: tuple | None = None
    params_a: int | None = None
    params_b: int | None = None
    layers_a: int | None = None
    layers_b: int | None = None

    def to_json(self) -> dict:
        out = dict(self.__dict__)
        for key in ("shape_a", "shape_b"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out


@dataclass
class _Instance:
    block: str
    shape: tuple
    params: int
    layers: list  # (name, type, shape, params) of each expanded layer


def instances(report) -> dict[str, _Instance]:
    """Top-level instance name -> what it expanded to, in report order."""
    out: dict[str, _Instance] = {}
    for li in report.layers:
        if not li.block:
            continue
        top = li.block[0]
        inst = out.setdefault(top, _Instance(report.blocks.get(top, "?"), (), 0, []))
        inst.shape = tuple(li.output_shape)
        inst.params += li.params
        inst.layers.append((li.name, li.type, tuple(li.output_shape), li.params))
    return out


def diff_instances(a, b) -> list[BlockDiff]:
    """One BlockDiff per top-level instance of either report (b's order, with
    a's removed instances where they were); [] when neither uses blocks."""
    ia, ib = instances(a), instances(b)
    at = {name: k for k, name in enumerate(ia)}
    out: list[BlockDiff] = []
    pending = [n for n in ia if n not in ib]
    names_b = list(ib)
    for k, (name, y) in enumerate(ib.items()):
        # a's instances removed in this gap come first, as in the layer diff
        nxt = next((at[n] for n in names_b[k:] if n in at), len(at))
        while pending and at[pending[0]] < nxt:
            out.append(_removed(pending.pop(0), ia))
        x = ia.get(name)
        if x is None:
            out.append(
                BlockDiff(
                    "added",
                    name,
                    block_b=y.block,
                    shape_b=y.shape,
                    params_b=y.params,
                    layers_b=len(y.layers),
                )
            )
            continue
        same = (x.block, x.layers) == (y.block, y.layers)
        out.append(
            BlockDiff(
                "unchanged" if same else "changed",
                name,
                x.block,
                y.block,
                x.shape,
                y.shape,
                x.params,
                y.params,
                len(x.layers),
                len(y.layers),
            )
        )
    out += [_removed(n, ia) for n in pending]
    return out


def _removed(name: str, ia: dict[str, _Instance]) -> BlockDiff:
    x = ia[name]
    return BlockDiff(
        "removed",
        name,
        block_a=x.block,
        shape_a=x.shape,
        params_a=x.params,
        layers_a=len(x.layers),
    )
