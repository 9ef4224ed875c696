"""One use entry -> its block instances (called by the expansion pass)."""

from __future__ import annotations

from typing import Any

from ..diagnostics import Origin
from .expr import ExprError
from .models import USE_KEYS, BlockDef, UseEntry
from .scope import Scope
from .template import has_template, substitute, whole_name
from .use_site import _arguments_ok, _block, _repeat, _use_entry, _when


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
