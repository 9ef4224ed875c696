"""Frames around block instances, computed once for the SVG and the PNG: a
rounded rectangle around each instance's layer boxes (outer instances wider)
with its label in the top band."""

from __future__ import annotations

from dataclasses import dataclass

from .model import cluster_tree
from .scene import Scene

CLUSTER_PAD = 8.0  # around the boxes of an instance, per level of nesting
CLUSTER_LABEL = 15.0  # room above the boxes for the instance's label
CLUSTER_FILL = ("#f6f8fb", "#eef2f7")


@dataclass
class Frame:
    name: str  # the instance
    label: str  # "conv2 · stage"
    x0: float
    y0: float
    x1: float
    y1: float
    depth: int  # 0 for a top-level instance

    @property
    def fill(self) -> str:
        return CLUSTER_FILL[self.depth % 2]

    @property
    def label_right(self) -> bool:
        # Nested frames share their top band: outer labels go right, inner
        # ones left, so that none hides another.
        return self.depth % 2 == 0

    @property
    def label_x(self) -> float:
        return self.x1 - 8 if self.label_right else self.x0 + 8

    @property
    def label_y(self) -> float:
        return self.y0 + CLUSTER_LABEL * 0.6


def frames(scene: Scene) -> list[Frame]:
    """Outer frames first (paint in order: inner ones on top), in layout
    coordinates (add the header offset when painting)."""
    tree, labels = cluster_tree(scene.graph)
    out: list[Frame] = []

    def walk(items, depth: int) -> list[str]:
        ids: list[str] = []
        for item in items:
            if isinstance(item, str):
                ids.append(item)
                continue
            path, inner = item
            at = len(out)
            inside = walk(inner, depth + 1)
            ids += inside
            boxes = [scene.layout.boxes[i] for i in inside if i in scene.layout.boxes]
            if boxes:
                pad = CLUSTER_PAD * (1 + _height(inner))
                out.insert(
                    at,
                    Frame(
                        path[-1],
                        labels[path],
                        min(b.x - b.w / 2 for b in boxes) - pad,
                        min(b.y for b in boxes) - pad - CLUSTER_LABEL,
                        max(b.x + b.w / 2 for b in boxes) + pad,
                        max(b.y + b.h for b in boxes) + pad,
                        depth,
                    ),
                )
        return ids

    walk(tree, 0)
    return out


def _height(items) -> int:
    """Levels of instances nested inside (0 for an instance of plain layers)."""
    return max((1 + _height(i[1]) for i in items if not isinstance(i, str)), default=0)
