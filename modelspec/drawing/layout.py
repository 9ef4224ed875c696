"""A layered (Sugiyama-style) DAG layout in pure Python.

Steps, each a pure function: longest-path layering over the edges that go
forward in spec order; dummy nodes on edges that span several layers (so a
skip connection runs beside the layers it skips instead of through them);
barycentre sweeps to reduce crossings; priority placement of x so that the
main chain stays straight; y from the tallest box of each layer.

Coordinates: a box's (x, y) is its centre-top; routes are polylines from the
source's bottom to the target's top, through their dummy nodes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

GAP_X = 28.0  # between neighbouring boxes of one layer
GAP_Y = 34.0  # between layers
DUMMY_W = 14.0
MARGIN = 20.0


@dataclass
class Box:
    id: str
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    layer: int = 0
    dummy: bool = False


@dataclass
class Route:
    src: str
    dst: str
    points: list[tuple[float, float]]
    span: int  # layers crossed; 1 for neighbouring layers
    back: bool = False


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float
    layers: list[list[str]] = field(default_factory=list)


def assign_layers(order: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources, using only edges forward in `order`.

    Sources other than the first node are pulled down to just above their
    first reader, so an unknown reference sits beside the layer that reads it.
    """
    pos = {n: i for i, n in enumerate(order)}
    preds: dict[str, list[str]] = {n: [] for n in order}
    succs: dict[str, list[str]] = {n: [] for n in order}
    for s, d in edges:
        if pos[s] < pos[d]:
            preds[d].append(s)
            succs[s].append(d)
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
    for n in order[1:]:
        if not preds[n]:
            layer[n] = max(0, min((layer[s] for s in succs[n]), default=1) - 1)
            if not succs[n]:
                layer[n] = max(layer[n], 1)
    # A source pulled down may now sit at its reader's layer; push readers on.
    for n in order:
        for p in preds[n]:
            layer[n] = max(layer[n], layer[p] + 1)
    return layer


def count_crossings(layers: list[list[str]], succs: dict[str, list[str]]) -> int:
    total = 0
    for upper, lower in itertools.pairwise(layers):
        lpos = {n: i for i, n in enumerate(lower)}
        segs = [
            (i, lpos[d])
            for i, n in enumerate(upper)
            for d in succs.get(n, ())
            if d in lpos
        ]
        for a in range(len(segs)):
            for b in range(a + 1, len(segs)):
                (u1, l1), (u2, l2) = segs[a], segs[b]
                if (u1 - u2) * (l1 - l2) < 0:
                    total += 1
    return total


def order_layers(
    layers: list[list[str]],
    preds: dict[str, list[str]],
    succs: dict[str, list[str]],
    sweeps: int = 6,
) -> list[list[str]]:
    """Barycentre heuristic, alternating down and up sweeps; keeps the best."""
    best = [list(lay) for lay in layers]
    best_c = count_crossings(best, succs)
    cur = [list(lay) for lay in layers]
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        rng = range(1, len(cur)) if down else range(len(cur) - 2, -1, -1)
        for i in rng:
            ref = cur[i - 1] if down else cur[i + 1]
            rpos = {n: k for k, n in enumerate(ref)}
            nbrs = preds if down else succs

            def bary(item: tuple[int, str], rpos=rpos, nbrs=nbrs) -> float:
                k, n = item
                ps = [rpos[m] for m in nbrs.get(n, ()) if m in rpos]
                return sum(ps) / len(ps) if ps else float(k)

            cur[i] = [n for _, n in sorted(enumerate(cur[i]), key=bary)]
        c = count_crossings(cur, succs)
        if c < best_c:
            best, best_c = [list(lay) for lay in cur], c
    return best


def _place_layer(
    row: list[Box], desired: Mapping[str, float], priority: Mapping[str, float]
) -> None:
    """Place boxes of one layer in their order, highest priority first, each as
    near its desired x as the already placed ones allow (no overlaps)."""
    n = len(row)
    placed: dict[int, float] = {}
    widths = [b.w for b in row]

    def room(i: int, j: int) -> float:
        """Centre distance needed from box i to box j (i < j)."""
        inner = sum(widths[i + 1 : j]) + GAP_X * (j - i)
        return widths[i] / 2 + inner + widths[j] / 2

    for i in sorted(range(n), key=lambda k: -priority[row[k].id]):
        x = desired[row[i].id]
        left = [j for j in placed if j < i]
        right = [j for j in placed if j > i]
        if left:
            j = max(left)
            x = max(x, placed[j] + room(j, i))
        if right:
            j = min(right)
            x = min(x, placed[j] - room(i, j))
        placed[i] = x
    for i, b in enumerate(row):
        b.x = placed[i]


def assign_x(
    layers: list[list[str]],
    boxes: dict[str, Box],
    preds: dict[str, list[str]],
    succs: dict[str, list[str]],
    sweeps: int = 4,
) -> None:
    # Start packed left to right, each layer centred on 0.
    for lay in layers:
        total = sum(boxes[n].w for n in lay) + GAP_X * (len(lay) - 1)
        x = -total / 2
        for n in lay:
            boxes[n].x = x + boxes[n].w / 2
            x += boxes[n].w + GAP_X
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        rng = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        nbrs = preds if down else succs
        for i in rng:
            row = [boxes[n] for n in layers[i]]
            desired, priority = {}, {}
            for b in row:
                ns = [boxes[m] for m in nbrs.get(b.id, ())]
                real = [m for m in ns if not m.dummy] or ns
                # Real neighbours pull harder than dummies: the main chain of
                # layers stays straight and skip edges go round it.
                desired[b.id] = sum(m.x for m in real) / len(real) if real else b.x
                priority[b.id] = (0 if b.dummy else 1000) + len(ns)
            _place_layer(row, desired, priority)


def layout(
    order: list[str],
    sizes: dict[str, tuple[float, float]],
    edges: list[tuple[str, str]],
) -> Layout:
    """Lay out nodes (in spec order, with their (w, h)) and directed edges:
    layers, dummy nodes on long edges, order within layers, x, y, routes."""
    layer_of = assign_layers(order, edges)
    boxes = {n: Box(n, sizes[n][0], sizes[n][1], layer=layer_of[n]) for n in order}
    preds, succs, chains = _split_long_edges(order, edges, layer_of, boxes)

    n_layers = max(b.layer for b in boxes.values()) + 1
    rank = {n: i for i, n in enumerate(order)}
    layers: list[list[str]] = [[] for _ in range(n_layers)]
    for b in sorted(boxes.values(), key=lambda b: (rank.get(b.id, 1e9), b.id)):
        layers[b.layer].append(b.id)
    layers = order_layers(layers, preds, succs)
    assign_x(layers, boxes, preds, succs)
    width, height = _place_y(layers, boxes)
    routes = _routes(chains, boxes, width)
    if any(r.back for r in routes):
        width += 40
    _spread_ports(routes, boxes)
    real = {n: b for n, b in boxes.items() if not b.dummy}
    return Layout(real, routes, width, height, layers)


def _split_long_edges(order, edges, layer_of, boxes):
    """(preds, succs, chains): an edge spanning several layers becomes a chain
    through one dummy box per layer crossed (added to `boxes`), so ordering
    and routing see it. Back edges (to an earlier node) get no dummies."""
    pos = {n: i for i, n in enumerate(order)}
    preds: dict[str, list[str]] = {n: [] for n in order}
    succs: dict[str, list[str]] = {n: [] for n in order}
    chains: list[tuple[str, str, list[str], bool]] = []
    for k, (s, d) in enumerate(edges):
        back = pos[s] >= pos[d]
        if back:
            chains.append((s, d, [], True))
            continue
        chain = [s]
        for lay in range(layer_of[s] + 1, layer_of[d]):
            dummy = f"~{k}.{lay}"
            boxes[dummy] = Box(dummy, DUMMY_W, 0.0, layer=lay, dummy=True)
            preds[dummy], succs[dummy] = [], []
            chain.append(dummy)
        chain.append(d)
        for a, b in itertools.pairwise(chain):
            succs[a].append(b)
            preds[b].append(a)
        chains.append((s, d, chain[1:-1], False))
    return preds, succs, chains


def _place_y(layers: list[list[str]], boxes: dict[str, Box]) -> tuple[float, float]:
    """Set y (each layer as tall as its tallest box; dummies span the whole
    layer), shift x to the margin; return the picture's (width, height)."""
    y = MARGIN
    for lay in layers:
        height = max((boxes[n].h for n in lay), default=0.0)
        for n in lay:
            boxes[n].y = y
            if boxes[n].dummy:
                boxes[n].h = height
        y += height + GAP_Y
    left = min(b.x - b.w / 2 for b in boxes.values())
    for b in boxes.values():
        b.x += MARGIN - left
    width = max(b.x + b.w / 2 for b in boxes.values()) + MARGIN
    return width, y - GAP_Y + MARGIN


def _routes(chains, boxes: dict[str, Box], width: float) -> list[Route]:
    """One polyline per edge: down through its dummies, or for a back edge up
    the right-hand side, outside everything."""
    routes = []
    for s, d, dummies, back in chains:
        src, dst = boxes[s], boxes[d]
        if back:
            out = width + 10
            pts = [
                (src.x + src.w / 2, src.y + src.h / 2),
                (out, src.y + src.h / 2),
                (out, dst.y + dst.h / 2),
                (dst.x + dst.w / 2, dst.y + dst.h / 2),
            ]
            routes.append(Route(s, d, pts, 0, back=True))
            continue
        pts = [(src.x, src.y + src.h)]
        for m in dummies:
            pts += [(boxes[m].x, boxes[m].y), (boxes[m].x, boxes[m].y + boxes[m].h)]
        pts.append((dst.x, dst.y))
        routes.append(Route(s, d, pts, dst.layer - src.layer))
    return routes


def _spread_ports(routes: list[Route], boxes: dict[str, Box]) -> None:
    """Several edges into (or out of) one box meet it at distinct points,
    ordered by where they come from, so merges read clearly."""
    forward = [r for r in routes if not r.back]
    for end in ("dst", "src"):
        groups: dict[str, list[Route]] = {}
        for r in forward:
            groups.setdefault(getattr(r, end), []).append(r)
        for node, rs in groups.items():
            if len(rs) < 2:
                continue
            b = boxes[node]
            idx = -1 if end == "dst" else 0
            other = -2 if end == "dst" else 1
            rs.sort(key=lambda r: r.points[other][0])
            step = b.w * 0.5 / (len(rs) - 1)
            xs = [b.x - b.w * 0.25 + step * k for k in range(len(rs))]
            # The edge to a box straight above/below stays straight; the
            # others move aside with it.
            straight = [
                k for k, r in enumerate(rs) if abs(r.points[other][0] - b.x) < 1.0
            ]
            if straight:
                shift = b.x - xs[straight[0]]
                lim = b.w * 0.42
                xs = [min(b.x + lim, max(b.x - lim, x + shift)) for x in xs]
            for r, x in zip(rs, xs, strict=True):
                r.points[idx] = (x, r.points[idx][1])


def overlaps(lay: Layout) -> list[tuple[str, str]]:
    """Pairs of boxes that overlap (for tests; a correct layout has none)."""
    bs = list(lay.boxes.values())
    bad = []
    for i, a in enumerate(bs):
        for b in bs[i + 1 :]:
            if abs(a.x - b.x) < (a.w + b.w) / 2 and a.y < b.y + b.h and b.y < a.y + a.h:
                bad.append((a.id, b.id))
    return bad
