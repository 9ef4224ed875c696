"""Parse an edited buffer reusing the parse of the tables the edit did not touch.

Parsing (tomllib, then the position scanner) is two thirds of a check of a
1,000-layer spec, and an edit changes one table. The text is cut at its table
headers (`[model]`, `[[layers]]`, `[blocks.b]` ...) into chunks; each chunk is
parsed alone, by `modelspec.source.parse` (its guards included), and cached by
its text; the chunks are merged as TOML would merge them, positions shifted to
their lines and array-of-tables indices renumbered.

Anything this cannot merge exactly (multi-line strings, quoted or indented
headers, a table defined twice, a `[[x]]` after `x = [...]`, a sub-table of an
array of tables, a chunk that does not parse alone) returns None, and the
caller parses the whole text: the checker then reports what is wrong with it.
tests/test_lsp_incremental.py compares every spec's merge with the whole parse.
"""

from __future__ import annotations

import re

from ..source import Positions, TomlSyntaxError, parse

_HEADER = re.compile(
    r"(\[\[|\[)[ \t]*([A-Za-z0-9_\-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_\-]+)*)[ \t]*"
    r"(\]\]|\])[ \t]*(?:#.*)?\r?"
)

Parsed = tuple[dict, Positions]


class _Unmergeable(Exception):
    """The chunks cannot be merged exactly: parse the whole text instead."""


def _chunks(text: str) -> list[tuple[int, str, tuple, bool]] | None:
    """(first line (0-based), text, header path, array of tables?) per chunk;
    None when the text has constructs a cut at headers could split."""
    if '"""' in text or "'''" in text or text.startswith("\ufeff"):
        return None
    lines = text.split("\n")
    starts: list[tuple[int, tuple, bool]] = [(0, (), False)]
    for n, line in enumerate(lines):
        if not line.lstrip().startswith("["):
            continue
        m = _HEADER.fullmatch(line)
        if m is None or m.group(1) != ("[[" if m.group(3) == "]]" else "["):
            if line.startswith("[") or _HEADER.fullmatch(line.lstrip()):
                return None  # a header this cannot read, or an indented one
            continue  # an element of a multi-line array
        path = tuple(p.strip() for p in m.group(2).split("."))
        starts.append((n, path, m.group(1) == "[["))
    out = []
    for k, (first, path, aot) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = "\n".join(lines[first:end])
        out.append((first, body + ("\n" if end < len(lines) else ""), path, aot))
    return out


class IncrementalParser:
    """One per document: the parse of each chunk of its latest text."""

    def __init__(self) -> None:
        self._cache: dict[str, Parsed] = {}

    def parse(self, text: str) -> Parsed | None:
        chunks = _chunks(text)
        if chunks is None:
            return None
        cache: dict[str, Parsed] = {}
        try:
            for _, body, _, _ in chunks:
                if body not in cache:
                    cache[body] = self._cache.get(body) or parse(body)
        except TomlSyntaxError:
            return None
        self._cache = cache  # only the chunks of the latest text stay
        try:
            return _merge(chunks, cache)
        except _Unmergeable:
            return None


def _merge(chunks, cache: dict[str, Parsed]) -> Parsed:
    raw: dict = {}
    own = {id(raw)}  # containers built here, which merging may change
    arrays: set[int] = set()  # lists made by [[x]] headers
    at: dict[tuple, tuple[int | None, int | None]] = {}
    for first, body, path, aot in chunks:
        data, pos = cache[body]
        if not path:
            _put_root(raw, data)
            _shift(at, pos, first, (), None)
        elif aot:
            parent = _descend(raw, path[:-1], own)
            items = parent.get(path[-1])
            if items is None:
                items = parent[path[-1]] = []
                arrays.add(id(items))
            elif id(items) not in arrays:
                raise _Unmergeable  # `x = ...` then [[x]]
            items.append(_at(data, path)[0])
            _shift(at, pos, first, path, len(items) - 1)
        else:
            parent = _descend(raw, path[:-1], own)
            if path[-1] in parent:
                raise _Unmergeable  # defined twice, or implicitly before
            parent[path[-1]] = _at(data, path)
            _shift(at, pos, first, (), None)
    return raw, Positions(at)


def _put_root(raw: dict, data: dict) -> None:
    if raw:
        raise _Unmergeable
    raw.update(data)  # a shallow copy: the cached dict itself is never changed


def _at(data: dict, path: tuple):
    for key in path:
        data = data[key]
    return data


def _descend(raw: dict, path: tuple, own: set[int]) -> dict:
    """The table at `path`, made on the way; a cached table on the way is
    copied first (copy on write), a value or an array there is unmergeable."""
    node = raw
    for key in path:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
            own.add(id(child))
        elif not isinstance(child, dict):
            raise _Unmergeable
        elif id(child) not in own:
            child = node[key] = dict(child)
            own.add(id(child))
        node = child
    return node


def _shift(at: dict, pos: Positions, first: int, path: tuple, index: int | None):
    """Copy a chunk's positions: lines moved down by `first`; for an array of
    tables at `path`, its element 0 renumbered to `index`."""
    n = len(path)
    for key, (line, col) in pos.at.items():
        if index is not None and len(key) > n and key[:n] == path:
            key = path + (index,) + key[n + 1 :]
        elif index is not None and key == path and key in at:
            continue  # the array's position is its first table's
        at[key] = (line + first if line is not None else None, col)
