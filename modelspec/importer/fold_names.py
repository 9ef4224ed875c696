"""Name templates for repeated instances: `block2`, `block3` -> `block${i + 1}`."""

from __future__ import annotations

import re

from ..blocks.models import NAME


def index(offset: int) -> str:
    """`i`, `i + 2` or `i - 1`: the repeat number moved by `offset`."""
    if offset == 0:
        return "i"
    return f"i + {offset}" if offset > 0 else f"i - {-offset}"


def _numbers(head: str, mids: list[str], tail: str) -> str | None:
    """The template when the varying parts are consecutive numbers."""
    more = re.search(r"\d*$", head).group()  # type: ignore[union-attr]
    head, mids = head[: len(head) - len(more)], [more + m for m in mids]
    more = re.match(r"\d*", tail).group()  # type: ignore[union-attr]
    tail, mids = tail[len(more) :], [m + more for m in mids]
    if not all(re.fullmatch(r"0|[1-9]\d*", m) for m in mids):
        return None
    first = int(mids[0])
    if any(int(m) != first + k for k, m in enumerate(mids)):
        return None
    return head + "${" + index(first - 1) + "}" + tail


def _letters(head: str, mids: list[str], tail: str) -> str | None:
    """The template when the varying parts are consecutive letters a, b, ..."""
    if not all(len(m) == 1 and "a" <= m <= "z" for m in mids):
        return None
    first = ord(mids[0]) - ord("a") + 1
    if any(ord(m) - ord("a") + 1 != first + k for k, m in enumerate(mids)):
        return None
    return head + "${letter(" + index(first - 1) + ")}" + tail


def _one(name: str) -> str:
    """A lone instance's template: its last number (or the letter after it)
    counts, so that it matches the same position repeated elsewhere."""
    m = re.search(r"(\d+)([a-z]?)(\D*)$", name)
    if m is None:
        return name
    if m.group(2):
        return _letters(name[: m.start(2)], [m.group(2)], m.group(3)) or name
    return _numbers(name[: m.start(1)], [m.group(1)], name[m.end(1) :]) or name


def _common(texts: list[str]) -> str:
    """The longest prefix of all the texts (character by character)."""
    n = 0
    while all(len(t) > n and t[n] == texts[0][n] for t in texts):
        n += 1
    return texts[0][:n]


def template(names: list[str]) -> str | None:
    """A string with ${i} giving names[k] for i = k + 1, or None."""
    if len(names) == 1:
        return _one(names[0])
    head = _common(names)
    rests = [n[len(head) :] for n in names]
    tail = _common([r[::-1] for r in rests])[::-1]
    mids = [r[: len(r) - len(tail)] for r in rests]
    return _numbers(head, mids, tail) or _letters(head, mids, tail)


def is_name(text: str) -> bool:
    return re.match(NAME, text) is not None
