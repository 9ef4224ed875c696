"""Checks of a use entry at its use site: the entry itself, the block it names,
`when`, `repeat` and the arguments it passes (called by instance.py)."""

from __future__ import annotations

import difflib

from pydantic import ValidationError

from ..validate import did_you_mean
from .expr import ExprError
from .models import USE_KEYS, BlockDef, UseEntry
from .template import substitute, whole_name

MAX_REPEAT = 1_000
MAX_DEPTH = 32  # blocks inside blocks; also keeps Python's recursion shallow


def _use_entry(x, entry, src, scope, where) -> UseEntry | None:
    fixed = {k: v for k, v in entry.items() if k in USE_KEYS}
    try:
        return UseEntry.model_validate(fixed)
    except ValidationError as e:
        keys = dict.fromkeys(
            str(err["loc"][0]) if err["loc"] else "use" for err in e.errors()
        )
        for key in keys:  # one message per key, not one per union member
            x.add(
                "MS502",
                f"'{key}' of a use entry must be {_USE_RULES[key]}. "
                f"Received: {key} = {fixed.get(key)!r}",
                src + (key,),
                scope,
                **where,
            )
        return None


_USE_RULES = {
    "use": "the name of a block (a string)",
    "name": "a string",
    "prefix": "a string",
    "inputs": "a list of layer names or a ${...} string",
    "repeat": "an int or a ${...} string",
    "first": "a table of arguments",
    "last": "a table of arguments",
    "when": "true, false or a ${...} string",
}


def _block(x, u: UseEntry, src, scope, where) -> BlockDef | None:
    block = x.blocks.get(u.use)
    if block is None:
        defined = x.raw.get("blocks") if isinstance(x.raw.get("blocks"), dict) else {}
        if u.use not in defined:  # an invalid definition is reported already
            x.add(
                "MS501",
                f"unknown block '{u.use}'",
                src + ("use",),
                scope,
                hint=did_you_mean(u.use, defined)
                or (
                    f"define it in a [blocks.{u.use}] table"
                    if not defined
                    else "defined blocks: " + ", ".join(sorted(defined))
                ),
                **where,
            )
        return None
    if len(x.stack) >= MAX_DEPTH:
        x.add(
            "MS505",
            f"blocks nest more than {MAX_DEPTH} deep here "
            f"({' -> '.join(x.stack[:3])} -> ... -> {u.use})",
            src + ("use",),
            scope,
            hint="no architecture needs that depth: check the uses",
            **where,
        )
        return None
    if u.use in x.stack:
        chain = " -> ".join(x.stack + [u.use])
        x.add(
            "MS504",
            f"block '{u.use}' uses itself ({chain}): the expansion would never end",
            src + ("use",),
            scope,
            hint="a block may use other blocks, never itself",
            **where,
        )
        return None
    return block


def _when(x, u: UseEntry, src, scope, where) -> bool:
    try:
        when = substitute(u.when, scope.env)
    except ExprError as e:
        x.add(
            "MS503",
            f"'when': {e.message}",
            src + ("when",),
            scope,
            hint=e.hint,
            **where,
        )
        return False
    if not isinstance(when, bool):
        x.add(
            "MS503",
            f"'when' must be true or false. Received: when = {when!r}",
            src + ("when",),
            scope,
            at=scope.argpos.get(whole_name(u.when)),
            **where,
        )
        return False
    return when


def _repeat(x, u: UseEntry, src, scope, where) -> int | None:
    try:
        n = substitute(u.repeat, scope.env)
    except ExprError as e:
        x.add(
            "MS503",
            f"'repeat': {e.message}",
            src + ("repeat",),
            scope,
            hint=e.hint,
            **where,
        )
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_REPEAT:
        arg = whole_name(u.repeat)  # a value passed whole: point at the argument
        x.add(
            "MS502",
            f"'repeat' must be an int from 0 to {MAX_REPEAT}. Received: repeat = {n!r}",
            src + ("repeat",),
            scope,
            at=scope.argpos.get(arg),
            **where,
        )
        return None
    if n > 1 and (u.name is None or "${" not in u.name):
        x.add(
            "MS502",
            f"with repeat = {n}, each instance needs its own name: "
            f"'name' must contain ${{i}}. Received: name = {u.name!r}",
            src + ("name",),
            scope,
            hint='for example name = "block${i}"',
            **where,
        )
        return None
    return n


def _arguments_ok(x, block: BlockDef, u: UseEntry, given, n, src, scope, where) -> bool:
    ok = True
    # A misspelt argument is one mistake: reported as unknown with its
    # did-you-mean, not again as the argument it meant being missing.
    meant = set()
    for part, keys in (((), given), (("first",), u.first), (("last",), u.last)):
        for key in keys:
            if key not in block.args:
                close = difflib.get_close_matches(str(key), block.args, n=1)
                meant.update(close)
                ok = False
                x.add(
                    "MS502",
                    f"block '{u.use}' has no argument '{key}'",
                    src + part + (key,),
                    scope,
                    hint=did_you_mean(key, block.args)
                    or (
                        "its args: " + ", ".join(block.args)
                        if block.args
                        else f"block '{u.use}' takes no arguments"
                    ),
                    **where,
                )
    # the first, the last and one middle instance cover every case
    ks = ({1, n} | ({2} if n > 2 else set())) if n else set()
    for arg in block.args:
        if (
            arg in given
            or arg in meant
            or arg in block.defaults
            or all(
                (k == 1 and arg in u.first) or (k == n and arg in u.last) for k in ks
            )
        ):
            continue
        ok = False
        x.add(
            "MS502",
            f"missing argument '{arg}' of block '{u.use}'",
            src + ("use",),
            scope,
            hint=f"add `{arg} = ...`; its args: " + ", ".join(block.args),
            **where,
        )
    return ok
