"""Load TOML text and remember where every key was written.

`tomllib` gives values but no positions, so a small scanner walks the text once
and records the line and column of every table header and key. Diagnostics then
point at the key that is wrong, not just at the file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_BARE = re.compile(r"[A-Za-z0-9_\-]+")
_ERR_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass
class Positions:
    """Key path -> (line, column), both 1-based."""

    at: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def find(self, path: tuple) -> tuple[int | None, int | None]:
        """Position of `path`, or of its nearest recorded ancestor."""
        path = tuple(path)
        while path:
            if path in self.at:
                return self.at[path]
            path = path[:-1]
        return (None, None)


class TomlSyntaxError(Exception):
    def __init__(self, message: str, line: int | None, column: int | None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse(text: str) -> tuple[dict, Positions]:
    """Parse TOML text; raise TomlSyntaxError with a position on bad syntax."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _ERR_POS.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        raise TomlSyntaxError(_ERR_POS.sub("", msg).strip(), line, col) from None
    return data, scan_positions(text)


def scan_positions(text: str) -> Positions:
    return _Scanner(text).run()


class _Scanner:
    """Walks valid TOML text (tomllib already accepted it) recording positions."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.line_start = 0
        self.pos = Positions()
        self.arrays: dict[tuple, int] = {}  # array-of-tables path -> last index

    # -- low-level helpers -------------------------------------------------
    def col(self) -> int:
        return self.i - self.line_start + 1

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
                self.line_start = self.i + 1
            self.i += 1

    def skip_ws(self, newlines: bool = False) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.advance()
            else:
                break

    def read_key(self) -> list[str]:
        parts = []
        while True:
            self.skip_ws()
            c = self.peek()
            if c in "\"'":
                parts.append(self.read_string())
            else:
                m = _BARE.match(self.s, self.i)
                if not m:
                    break
                parts.append(m.group(0))
                self.advance(len(m.group(0)))
            self.skip_ws()
            if self.peek() == ".":
                self.advance()
                continue
            break
        return parts

    def read_string(self) -> str:
        q = self.peek()
        triple = self.s.startswith(q * 3, self.i)
        end = q * 3 if triple else q
        self.advance(3 if triple else 1)
        start = self.i
        while self.i < len(self.s):
            if q == '"' and self.peek() == "\\":
                self.advance(2)
                continue
            if self.s.startswith(end, self.i):
                value = self.s[start : self.i]
                self.advance(len(end))
                return value
            self.advance()
        return self.s[start:]

    def resolve(self, parts: list[str]) -> tuple:
        """Insert the current index after every array-of-tables in a path."""
        out: list = []
        for p in parts:
            out.append(p)
            if tuple(out) in self.arrays:
                out.append(self.arrays[tuple(out)])
        return tuple(out)

    # -- grammar -------------------------------------------------------------
    def run(self) -> Positions:
        prefix: tuple = ()
        while True:
            self.skip_ws(newlines=True)
            if self.i >= len(self.s):
                return self.pos
            line, col = self.line, self.col()
            if self.s.startswith("[[", self.i):
                self.advance(2)
                parts = self.read_key()
                self.advance(2)
                base = self.resolve(parts[:-1]) + (parts[-1],)
                idx = self.arrays.get(base, -1) + 1
                self.arrays[base] = idx
                prefix = base + (idx,)
                self.pos.at.setdefault(base, (line, col))
                self.pos.at[prefix] = (line, col)
            elif self.peek() == "[":
                self.advance()
                parts = self.read_key()
                self.advance()
                prefix = self.resolve(parts)
                self.pos.at[prefix] = (line, col)
            else:
                parts = self.read_key()
                if not parts:  # not a key: skip the line defensively
                    while self.i < len(self.s) and self.peek() != "\n":
                        self.advance()
                    continue
                self.pos.at[prefix + tuple(parts)] = (line, col)
                self.skip_ws()
                self.advance()  # '='
                self.skip_ws()
                self.value(prefix + tuple(parts))

    def value(self, path: tuple) -> None:
        c = self.peek()
        if c in "\"'":
            self.read_string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.i < len(self.s) and self.peek() not in ",]}\n#":
                self.advance()

    def array(self, path: tuple) -> None:
        self.advance()  # '['
        n = 0
        while self.i < len(self.s):
            self.skip_ws(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            self.pos.at[path + (n,)] = (self.line, self.col())
            self.value(path + (n,))
            n += 1

    def inline_table(self, path: tuple) -> None:
        self.advance()  # '{'
        while self.i < len(self.s):
            self.skip_ws(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            line, col = self.line, self.col()
            parts = self.read_key()
            if not parts:
                self.advance()
                continue
            self.pos.at[path + tuple(parts)] = (line, col)
            self.skip_ws()
            self.advance()  # '='
            self.skip_ws()
            self.value(path + tuple(parts))
