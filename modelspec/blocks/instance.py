"""One use entry -> its block instances (called by the expansion pass)."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from ..diagnostics import Origin
from ..validate import did_you_mean
from .expr import ExprError
from .models import USE_KEYS, BlockDef, UseEntry
from .scope import Scope
from .template import has_template, substitute, whole_name

MAX_REPEAT = 1_000
MAX_DEPTH = 32  # blocks inside blocks; also keeps Python's recursion shallow


def instantiate(x, entry: dict, src: tuple, scope: Scope) -> None:
    label = entry.get("name")
    if not isinstance(label, str) or "${" in label:
        label = None  # not known before the instance is made
    where = dict(
        layer=scope.prefix + label if label else (scope.instance or None),
        kind=f"use {entry.get('use')}",
    )
    u = _use_entry(x, entry, src, scope, where)
    if u is None:
        return
    block = _block(x, u, src, scope, where)
    if block is None or not _when(x, u, src, scope, where):
        return
    n = _repeat(x, u, src, scope, where)
    given = {k: v for k, v in entry.items() if k not in USE_KEYS}
    if n is None or not _arguments_ok(x, block, u, given, n, src, scope, where):
        return
    first_inputs: list[str] | None = None
    names: set[str] = set()
    for k in range(1, n + 1):
        x.tick(src, scope, layer=where["layer"], kind=where["kind"])
        got = _one(x, block, u, given, (k, n), src, scope, first_inputs, where)
        if got is None:
            return
        name, first_inputs = got
        if name in names:
            x.add(
                "MS502",
                f"instance {k} of {n} is named '{name}' again: with "
                "repeat, the name must differ per instance",
                src + ("name",),
                scope,
                hint='put ${i} in it: name = "block${i}"',
                **where,
            )
            return
        names.add(name)


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


def _one(
    x,
    block: BlockDef,
    u: UseEntry,
    given: dict,
    kn: tuple[int, int],
    src,
    scope: Scope,
    first_inputs,
    where,
) -> tuple[str, list[str]] | None:
    """Expand instance k of n; return its name and the inputs it read."""
    k, _n = kn
    env = dict(scope.env, i=k)
    local = _instance_name(x, u, env, src, scope, where)
    if local is None:
        return None
    inst = scope.prefix + local
    where = dict(where, layer=inst)
    args = _arguments(x, block, u, given, kn, env, src, scope, where)
    inputs = _inputs(x, block, u, env, k, src, scope, first_inputs, where)
    if args is None or inputs is None:
        return None
    prefix = _prefix(x, u, env, src, scope, where)
    if prefix is None:
        return None
    values, argpos = args
    body_env = dict(x.vars, **values, i=k)
    line = x.pos.find(src)[0]
    frames = [Origin(inst, u.use, line)] + scope.frames
    body = Scope(
        prefix=scope.prefix + prefix if u.prefix is not None else inst + "_",
        frames=frames,
        env=body_env,
        path=("blocks", u.use, "layers"),
        argpos=argpos,
        inputs=dict(zip(block.inputs, inputs, strict=True)),
        previous=inputs[0],
        parent=scope,
        instance=inst,
    )
    if not _let(x, block, u.use, body):
        return None
    x.instances[inst] = u.use
    x.stack.append(u.use)
    try:
        for m, entry in enumerate(block.layers):
            x.entry(entry, m, body)
    finally:
        x.stack.pop()
    scope.record(local, body.previous)
    return local, inputs


def _instance_name(x, u: UseEntry, env, src, scope, where) -> str | None:
    if u.name is None:
        scope.uses[u.use] = scope.uses.get(u.use, 0) + 1
        return f"{u.use}_{scope.uses[u.use]}"
    try:
        name = substitute(u.name, env)
    except ExprError as e:
        x.add(
            "MS503",
            f"'name': {e.message}",
            src + ("name",),
            scope,
            hint=e.hint,
            **where,
        )
        return None
    if not isinstance(name, str) or not name or not name[0].isalpha():
        x.add(
            "MS502",
            "an instance name is text starting with a letter. "
            f"Received: name = {name!r}",
            src + ("name",),
            scope,
            **where,
        )
        return None
    return name


def _prefix(x, u: UseEntry, env, src, scope, where) -> str | None:
    """The use entry's `prefix` substituted ("" when not given: unused)."""
    if u.prefix is None:
        return ""
    try:
        prefix = substitute(u.prefix, env)
    except ExprError as e:
        x.add(
            "MS503",
            f"'prefix': {e.message}",
            src + ("prefix",),
            scope,
            hint=e.hint,
            **where,
        )
        return None
    if not isinstance(prefix, str):
        x.add(
            "MS502",
            f"a prefix is text. Received: prefix = {prefix!r}",
            src + ("prefix",),
            scope,
            **where,
        )
        return None
    return prefix


def _arguments(x, block, u, given, kn, env, src, scope, where):
    """Argument values (later sources override earlier: the use's keys, then
    `first`/`last`) and where each came from; then defaults."""
    k, n = kn
    items = [(key, v, src + (key,)) for key, v in given.items()]
    if k == 1:
        items += [(key, v, src + ("first", key)) for key, v in u.first.items()]
    if k == n:
        items += [(key, v, src + ("last", key)) for key, v in u.last.items()]
    values: dict[str, Any] = {}
    argpos: dict[str, tuple] = {}
    ok = True
    for key, value, path in items:
        try:
            values[key] = substitute(value, env)
        except ExprError as e:
            x.add(
                "MS503",
                f"argument '{key}': {e.message}",
                path,
                scope,
                hint=e.hint,
                **where,
            )
            ok = False
        name = whole_name(value)
        argpos[key] = scope.argpos[name] if name in scope.argpos else x.pos.find(path)
    for arg in block.args:
        if arg not in values and arg in block.defaults:
            path = ("blocks", u.use, "defaults", arg)
            try:
                values[arg] = substitute(block.defaults[arg], dict(x.vars, **values))
            except ExprError as e:
                x.add(
                    "MS503",
                    f"default of '{arg}': {e.message}",
                    path,
                    scope,
                    hint=e.hint,
                    **where,
                )
                ok = False
            argpos[arg] = x.pos.find(path)
    return (values, argpos) if ok else None


def _inputs(x, block, u, env, k, src, scope, first_inputs, where):
    """The instance's inputs, as global names: `inputs` for the first instance,
    the previous instance's output (plus the other inputs) for later ones;
    `inputs` holding ${...} are evaluated for every instance (with its i)."""
    if u.inputs is None or (k > 1 and not has_template(u.inputs)):
        refs = [scope.previous] + (first_inputs[1:] if first_inputs else [])
    else:
        try:
            given = substitute(u.inputs, env)
        except ExprError as e:
            x.add(
                "MS503",
                f"'inputs': {e.message}",
                src + ("inputs",),
                scope,
                hint=e.hint,
                **where,
            )
            return None
        if not isinstance(given, list) or not all(isinstance(r, str) for r in given):
            x.add(
                "MS502",
                f"'inputs' is a list of layer names. Received: inputs = {given!r}",
                src + ("inputs",),
                scope,
                **where,
            )
            return None
        refs = [x.resolve(r, src, scope, where["layer"], where["kind"]) for r in given]
        if not all(refs):
            return None
    if len(refs) != len(block.inputs):
        x.add(
            "MS502",
            f"block '{u.use}' takes {len(block.inputs)} input"
            f"{'s' * (len(block.inputs) != 1)} ({', '.join(block.inputs)}); "
            f"this use gives {len(refs)}: {refs}",
            src + ("inputs",),
            scope,
            hint=f"inputs = [{', '.join(repr(r) for r in block.inputs)}] in "
            "the order the block names them",
            **where,
        )
        return None
    return refs


def _let(x, block: BlockDef, name: str, body: Scope) -> bool:
    for key, value in block.let.items():
        path = ("blocks", name, "let", key)
        try:
            body.env[key] = substitute(value, body.env)
        except ExprError as e:
            x.add(
                "MS503",
                f"let '{key}': {e.message}",
                path,
                body,
                hint=e.hint,
                layer=body.instance,
                kind=f"block {name}",
            )
            return False
        arg = whole_name(value)
        if arg in body.argpos:
            body.argpos[key] = body.argpos[arg]
        else:
            body.argpos.pop(key, None)
    return True
