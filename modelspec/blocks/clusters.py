"""Block instances as clusters of a drawing: which layers each instance holds,
and the nesting of instances over a list of layers (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass
class Cluster:
    path: tuple[str, ...]  # instance names, outermost first
    block: str
    members: list[str] = field(default_factory=list)  # layer names, nested too

    @property
    def name(self) -> str:
        return self.path[-1]


def block_clusters(nodes: list, instances: dict[str, str]) -> list[Cluster]:
    """One cluster per instance (outer before inner, in layer order); `nodes`
    have `.name` and `.block` (the instance path or None)."""
    by_path: dict[tuple, Cluster] = {}
    for node in nodes:
        path = tuple(getattr(node, "block", None) or ())
        for k in range(1, len(path) + 1):
            key = path[:k]
            if key not in by_path:
                by_path[key] = Cluster(key, instances.get(key[-1], "?"))
            by_path[key].members.append(node.name)
    return list(by_path.values())


Tree = list[Union[str, tuple[tuple, "Tree"]]]


def nest(names: list[str], paths: dict[str, tuple], depth: int = 0) -> Tree:
    """`names` in order, with each run of names inside one instance replaced
    by (instance path, its nested tree)."""
    out: Tree = []
    i = 0
    while i < len(names):
        path = paths.get(names[i], ())
        if len(path) <= depth:
            out.append(names[i])
            i += 1
            continue
        key, j = path[: depth + 1], i
        while j < len(names) and paths.get(names[j], ())[: depth + 1] == key:
            j += 1
        out.append((key, nest(names[i:j], paths, depth + 1)))
        i = j
    return out
