"""A forgiving scan of spec text for completion and navigation.

While a line is being typed the file is often not valid TOML, so these answers
cannot wait for the checker: a rough lexer tracks tables, brackets and strings
line by line and finds the layer tables (`[[layers]]`, `[[blocks.b.layers]]`
and the inline `{ ... }` of a `layers = [...]` array), their names and types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY_BEFORE = re.compile(r"([A-Za-z0-9_\-]+)\s*=\s*$")
_STR_VALUE = r"""\s*=\s*["']([^"']*)["']"""


@dataclass
class Open:
    """An open bracket: its character, the key whose value it starts and the
    layer entry it starts (an inline table of a `layers` array)."""

    char: str
    key: str | None
    entry: LayerText | None = None


@dataclass
class LayerText:
    """One layer table as typed: where it starts and ends (0-based line and
    character offsets) and the block it belongs to (None: the model's)."""

    block: str | None
    start: tuple[int, int]
    end: tuple[int, int] | None = None
    inline: bool = False

    def text(self, lines: list[str]) -> str:
        (l0, c0), (l1, c1) = self.start, self.end or (len(lines), 0)
        if l0 == l1:
            return lines[l0][c0:c1]
        body = [lines[l0][c0:], *lines[l0 + 1 : l1]]
        if l1 < len(lines):
            body.append(lines[l1][:c1])
        return "\n".join(body)

    def value(self, lines: list[str], key: str) -> str | None:
        """The string value of `key` written in this table (not nested)."""
        text = _outer(self.text(lines), 1 if self.inline else 0)
        m = re.search(r"(?:^|[\s{,])" + re.escape(key) + _STR_VALUE, text, re.M)
        return m.group(1) if m else None

    def keys(self, lines: list[str]) -> set[str]:
        text = _outer(self.text(lines), 1 if self.inline else 0)
        found = re.findall(r"(?:^|[{,])\s*([A-Za-z0-9_\-]+)\s*=", text, re.M)
        return set(found)


def _outer(text: str, base: int) -> str:
    """The text with nested tables and arrays blanked out (depth > `base`);
    brackets inside strings (`"${widths[0]}"`) do not count."""
    out, depth, quote = [], 0, ""
    for c in text:
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            out.append(c if depth < base else " ")
            continue
        out.append(c if depth <= base else " ")
    return "".join(out)


@dataclass
class Scan:
    """What the text says up to the cursor, and every layer table in it."""

    table: str | None = None  # the [table] or [[table]] the cursor is under
    stack: list[Open] = field(default_factory=list)
    layers: list[LayerText] = field(default_factory=list)
    blocks: dict[str, int] = field(default_factory=dict)  # name -> header line
    current: LayerText | None = None  # the layer table around the cursor
    at_stop: tuple[str | None, list[Open]] | None = None

    @property
    def key(self) -> str | None:
        """The key whose value the cursor is in (the innermost open bracket's)."""
        return self.stack[-1].key if self.stack else None


def _block_of(table: str | None) -> tuple[bool, str | None]:
    """Is `table` a layers array table, and of which block."""
    if table == "layers":
        return True, None
    m = re.fullmatch(r"blocks\.([A-Za-z0-9_\-]+)\.layers", table or "")
    return (True, m.group(1)) if m else (False, None)


def scan(lines: list[str], stop: tuple[int, int] | None = None) -> Scan:
    """Scan the whole text: its layer tables and blocks; with `stop` (line,
    character), also the table and open brackets there (`at_stop`)."""
    s = Scan()
    entry: LayerText | None = None
    for n, text in enumerate(lines):
        if not s.stack:
            m = _HEADER.match(text)
            if m and not re.match(r"\s*\[[^\]]*=", text):
                entry = _header(s, n, m, entry)
        cut = stop[1] if stop is not None and stop[0] == n else None
        _scan_line(s, n, text, cut)
    if entry is not None:
        entry.end = (len(lines), 0)
    return s


def context(lines: list[str], line0: int, col: int) -> Scan:
    """The state just before character `col` of line `line0`: the table, the
    open brackets and the layer table the cursor is in."""
    s = scan(lines, (line0, col))
    if s.at_stop is None:  # past the end of the text
        s.at_stop = (s.table, list(s.stack))
    s.table, s.stack = s.at_stop
    inner = next((o.entry for o in reversed(s.stack) if o.entry), None)
    if inner is None:
        inner = next(
            (e for e in reversed(s.layers) if not e.inline and e.start[0] <= line0),
            None,
        )
        if inner is not None and inner.end is not None and inner.end[0] <= line0:
            inner = None
    s.current = inner
    return s


def _header(s: Scan, n: int, m: re.Match, entry: LayerText | None) -> LayerText | None:
    if entry is not None:
        entry.end = (n, 0)
    s.table = re.sub(r"\s*\.\s*", ".", m.group(2)).strip("\"'")
    b = re.fullmatch(r"blocks\.([A-Za-z0-9_\-]+)", s.table)
    if b:
        s.blocks.setdefault(b.group(1), n)
    is_layers, block = _block_of(s.table)
    if is_layers and m.group(1) == "[[":
        if block is not None:
            s.blocks.setdefault(block, n)
        entry = LayerText(block, (n, 0))
        s.layers.append(entry)
        return entry
    return None


# What a line holds that matters here: strings (perhaps unterminated: being
# typed), a comment, brackets.
_TOKEN = re.compile(r""""(?:[^"\\]|\\.)*"?|'[^']*'?|#.*|[\[\]{}]""")


def _scan_line(s: Scan, n: int, text: str, cut: int | None) -> None:
    for m in _TOKEN.finditer(text):
        if cut is not None and m.start() >= cut:
            s.at_stop, cut = (s.table, list(s.stack)), None
        c = m.group(0)
        if c in ("[", "{"):
            _open(s, n, m.start(), text, c)
        elif c in ("]", "}") and s.stack:
            closed = s.stack.pop()
            if closed.entry is not None:
                closed.entry.end = (n, m.end())
    if cut is not None:
        s.at_stop = (s.table, list(s.stack))


def _open(s: Scan, n: int, i: int, text: str, c: str) -> None:
    m = _KEY_BEFORE.search(text[:i])
    key = m.group(1) if m else None
    if s.stack and key is None and s.stack[-1].char == "[":
        key = s.stack[-1].key  # an element of an array: the array's key
    entry = None
    if c == "{" and len(s.stack) == 1 and s.stack[0].key == "layers" and not m:
        is_layers, block = _block_of(
            "layers" if s.table is None else f"{s.table}.layers"
        )
        if is_layers:
            entry = LayerText(block, (n, i), inline=True)
            s.layers.append(entry)
    s.stack.append(Open(c, key, entry))
