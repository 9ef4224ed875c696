"""Lines and columns of TOML text, as the checker counts them and as LSP does.

The checker gives 1-based lines and 1-based columns counted in characters
(code points); LSP positions are 0-based and count UTF-16 code units by
default. The spans here find the token a diagnostic is about on its line: the
key it names, or the key through the end of its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..source import Positions

_KEY = re.compile(r"""[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*'""")


def to_utf16(line: str, col: int) -> int:
    """The UTF-16 offset of character offset `col` of `line`."""
    prefix = line[:col]
    if prefix.isascii():
        return len(prefix)
    return len(prefix.encode("utf-16-le")) // 2


def from_utf16(line: str, units: int) -> int:
    """The character offset of UTF-16 offset `units` of `line`."""
    if line.isascii():
        return min(units, len(line))
    n = 0
    for i, ch in enumerate(line):
        if n >= units:
            return i
        n += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def line_at(lines: list[str], line0: int) -> str:
    return lines[line0] if 0 <= line0 < len(lines) else ""


def key_end(text: str, col0: int) -> int:
    """The end of the (dotted) key starting at `col0`, or `col0` if none."""
    end, i = col0, col0
    while True:
        m = _KEY.match(text, i)
        if not m:
            return end
        end = i = m.end()
        j = i
        while j < len(text) and text[j] in " \t":
            j += 1
        if j < len(text) and text[j] == ".":
            i = j + 1
            while i < len(text) and text[i] in " \t":
                i += 1
            continue
        return end


def value_end(text: str, start: int) -> int:
    """The end of the value starting at `start` on this line: up to a comment,
    or the `,` `}` `]` that ends it inside an inline table or array (outside
    strings and its own brackets); trailing blanks dropped. A value continued
    on the next line ends at this line's end."""
    quote, depth, i = "", 0, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            depth += 1
        elif c in "]}" and depth:
            depth -= 1
            if not depth:
                i += 1
                break
        elif c in "]}" or (c == "," and not depth):
            break
        i += 1
    return len(text[start:i].rstrip()) + start


def value_span(text: str, col0: int) -> tuple[int, int] | None:
    """The value of the `key = value` whose key starts at `col0`."""
    k = key_end(text, col0)
    eq = text.find("=", k)
    if k == col0 or eq < 0 or text[k:eq].strip():
        return None
    start = eq + 1
    while start < len(text) and text[start] in " \t":
        start += 1
    return start, value_end(text, start)


# Codes about a key's value: the underline runs from the key through the value.
# Others (an unknown key, a reference) underline the key alone.
_KEY_ONLY = frozenset({"MS101"})


def span(text: str, col0: int, code: str) -> tuple[int, int]:
    """Start and end (character offsets) of what a diagnostic at `col0` names."""
    if text.startswith("[", col0):  # a table header: the whole header
        close = text.find("]", col0)
        return col0, (len(text.rstrip()) if close < 0 else text.rfind("]") + 1)
    k = key_end(text, col0)
    if k == col0:
        # Not a key (an array element, an inline table): to the end of the token.
        return col0, max(value_end(text, col0), col0 + 1)
    if code in _KEY_ONLY:
        return col0, k
    value = value_span(text, col0)
    return col0, (value[1] if value else k)


def whole_line(text: str) -> tuple[int, int]:
    stripped = text.strip()
    if not stripped:
        return 0, 0
    start = len(text) - len(text.lstrip())
    return start, start + len(stripped)


def string_at(text: str, col: int) -> tuple[int, int, str] | None:
    """The quoted string containing character offset `col` (offsets of its
    contents, without the quotes), or None outside strings."""
    quote, start, i = "", 0, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                if start <= col <= i:
                    return start, i, text[start:i]
                quote = ""
        elif c in "\"'":
            quote, start = c, i + 1
        elif c == "#":
            break
        i += 1
    if quote and start <= col:
        return start, len(text), text[start:]
    return None


@dataclass
class Entry:
    """One layer table as written: `layers[i]` or `blocks.<b>.layers[j]`."""

    path: tuple
    line: int  # 1-based, the header or the `{` of an inline table
    end_line: int  # 1-based, the last line holding one of its keys

    @property
    def block(self) -> str | None:
        return self.path[1] if self.path[0] == "blocks" else None


def entries(positions: Positions) -> list[Entry]:
    """Every layer table of the text, in order of lines."""
    found: dict[tuple, Entry] = {}
    for key, (line, _) in positions.at.items():
        if line is None:
            continue
        path = _entry_path(key)
        if path is None:
            continue
        e = found.get(path)
        if e is None:
            start = positions.at.get(path, (line, None))[0] or line
            found[path] = Entry(path, start, max(start, line))
        else:
            e.end_line = max(e.end_line, line)
    return sorted(found.values(), key=lambda e: e.line)


def _entry_path(key: tuple) -> tuple | None:
    if len(key) >= 2 and key[0] == "layers" and isinstance(key[1], int):
        return key[:2]
    if (
        len(key) >= 4
        and key[0] == "blocks"
        and key[2] == "layers"
        and isinstance(key[3], int)
    ):
        return key[:4]
    return None


def entry_at(all_entries: list[Entry], line: int) -> Entry | None:
    """The layer table whose lines hold 1-based `line` (the header's line up to
    the line before the next table)."""
    found = None
    for e in all_entries:
        if e.line > line:
            break
        if line <= e.end_line:
            found = e
    return found
