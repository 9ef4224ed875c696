"""The expansion pass: `[vars]`, `[blocks.*]` and use entries -> plain layers.

Runs after overrides and before validation. Every later pass sees ordinary layer
tables (with `${...}` substituted and `when = false` layers removed), plus a
Positions map in which each expanded layer points at its definition line (or,
for a value that came whole from an argument, at that argument's use site) and
an origin per expanded layer (the block instances around it, innermost first).
A spec with no vars, blocks, use entries, `when` or `${` is returned untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic, Origin
from ..source import Positions
from ..validate import default_names, did_you_mean
from .expr import ExprError
from .instance import instantiate
from .models import BlockDef
from .scope import Scope, check_blocks, check_vars, position_index
from .template import has_template, substitute, whole_name

MAX_LAYERS = 10_000  # expanded layers; NASNetLarge has ~1,000
MAX_INSTANCES = 10_000
Pos = tuple  # (line, column)


class _TooLarge(Exception):
    pass


@dataclass
class Expanded:
    raw: dict
    positions: Positions
    # expanded layer index -> the instances around it, innermost first
    origins: dict[int, list[Origin]] = field(default_factory=dict)
    # instance name -> block name, in expansion order (nested ones included)
    instances: dict[str, str] = field(default_factory=dict)
    # expanded layer indices whose values failed: later passes stay quiet there
    failed: set[int] = field(default_factory=set)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    used: bool = False
    aborted: bool = False  # too large: the later passes do not run

    def block_path(self, index: int) -> list[str] | None:
        frames = self.origins.get(index)
        return [f.instance for f in reversed(frames)] if frames else None


def uses_blocks(raw: dict) -> bool:
    if "vars" in raw or "blocks" in raw:
        return True
    layers = raw.get("layers")
    return isinstance(layers, list) and any(
        isinstance(e, dict) and ("use" in e or "when" in e or has_template(e))
        for e in layers
    )


def expand(raw: dict, positions: Positions) -> Expanded:
    if not uses_blocks(raw) or not isinstance(raw.get("layers"), list):
        return Expanded(raw, positions)
    x = _Expander(raw, positions)
    try:
        x.run()
    except _TooLarge:
        # a half-expanded model would only add errors that are not the point
        return Expanded(raw, positions, diagnostics=x.diags, used=True, aborted=True)
    out = dict(raw)
    out["layers"] = x.out_layers
    return Expanded(out, x.out_pos, x.origins, x.instances, x.failed, x.diags, True)


class _Expander:
    def __init__(self, raw: dict, positions: Positions) -> None:
        self.raw = raw
        self.pos = positions
        self.children = position_index(positions)
        self.out_layers: list[dict] = []
        self.out_pos = Positions(
            {
                k: v
                for k, v in positions.at.items()
                if k[:1] != ("layers",) or len(k) < 2
            }
        )
        self.origins: dict[int, list[Origin]] = {}
        self.instances: dict[str, str] = {}
        self.failed: set[int] = set()
        self.diags: list[Diagnostic] = []
        self.blocks: dict[str, BlockDef] = {}
        self.stack: list[str] = []
        self.vars: dict[str, Any] = {}
        self.count = 0

    # -- diagnostics -------------------------------------------------------
    def add(
        self,
        code: str,
        msg: str,
        path: tuple,
        scope: Scope | None = None,
        *,
        at: Pos | None = None,
        hint=None,
        layer=None,
        kind=None,
    ) -> None:
        line, col = at if at else self.pos.find(path)
        frames = list(scope.frames) if scope and scope.frames else None
        self.diags.append(
            Diagnostic(
                code,
                msg,
                line=line,
                column=col,
                layer=layer,
                layer_type=kind,
                hint=hint,
                origin=frames,
            )
        )

    # -- the walk ----------------------------------------------------------
    def run(self) -> None:
        env = self.vars = check_vars(self.raw.get("vars"), self)
        self.blocks = check_blocks(self.raw.get("blocks"), self)
        layers = self.raw["layers"]
        top = Scope(
            prefix="",
            frames=[],
            env=env,
            path=("layers",),
            top=True,
            names=default_names(layers),
        )
        for j, entry in enumerate(layers):
            self.entry(entry, j, top)

    def entry(self, entry: Any, n: int, scope: Scope) -> None:
        src = scope.path + (n,)
        if not isinstance(entry, dict):
            if scope.top:  # validate reports it, at its own index
                self.emit(entry, src, {}, scope, None)
            else:
                self.add(
                    "MS103",
                    f"a block's layers are tables. Received: {entry!r}",
                    src,
                    scope,
                )
        elif "use" in entry:
            instantiate(self, entry, src, scope)
        else:
            self.plain(entry, src, scope, n)

    def plain(self, entry: dict, src: tuple, scope: Scope, n: int) -> None:
        kind = entry.get("type")
        kind = kind if isinstance(kind, str) else "layer"
        try:
            local = scope.layer_name(entry, kind, n)
        except ExprError as e:
            self.add(
                "MS503",
                f"'name': {e.message}",
                src + ("name",),
                scope,
                hint=e.hint,
                layer=scope.prefix + f"{kind}_{n + 1}",
                kind=kind,
            )
            local = f"{kind}_{n + 1}"
        name = scope.prefix + local if isinstance(local, str) else local
        if not self.present(entry, src, scope, name, kind):
            scope.absent.add(local)
            return
        layer, keypos, ok = {}, {}, True
        for key, value in entry.items():
            if key == "when":
                continue
            try:
                layer[key] = substitute(value, scope.env)
            except ExprError as e:
                self.add(
                    "MS503",
                    f"'{key}': {e.message}",
                    src + (key,),
                    scope,
                    hint=e.hint,
                    layer=name,
                    kind=kind,
                )
                layer[key], ok = value, False
            arg = whole_name(value)
            if arg in scope.argpos:
                keypos[key] = scope.argpos[arg]
        layer["name"] = name
        ok = self.wire(layer, src, scope, name, kind) and ok
        self.emit(layer, src, keypos, scope, local, ok)

    def present(self, entry, src, scope, name, kind) -> bool:
        """Whether the layer exists (its `when`)."""
        if "when" not in entry:
            return True
        try:
            when = substitute(entry["when"], scope.env)
        except ExprError as e:
            self.add(
                "MS503",
                f"'when': {e.message}",
                src + ("when",),
                scope,
                hint=e.hint,
                layer=name,
                kind=kind,
            )
            return False
        if not isinstance(when, bool):
            self.add(
                "MS503",
                f"'when' must be true or false. Received: when = {when!r}",
                src + ("when",),
                scope,
                layer=name,
                kind=kind,
                at=scope.argpos.get(whole_name(entry["when"])),
            )
            return False
        return when

    def wire(self, layer: dict, src, scope: Scope, name, kind) -> bool:
        """Resolve `inputs` to global names; a block layer without `inputs`
        reads the previous present layer of its block. False: a bad name."""
        refs = layer.get("inputs")
        if isinstance(refs, list) and all(isinstance(r, str) for r in refs):
            found = [self.resolve(r, src, scope, name, kind) for r in refs]
            layer["inputs"] = [f or r for f, r in zip(found, refs, strict=True)]
            return all(found)
        if "inputs" not in layer and (
            not scope.top or scope.previous != self.last_name()
        ):
            layer["inputs"] = [scope.previous]
        return True

    def resolve(self, ref: str, src, scope: Scope, name, kind) -> str | None:
        """The global name `ref` reads, or None (reported) when it names nothing."""
        found = scope.lookup(ref)
        if found is not None:
            return found
        if scope.top:
            return ref  # global names: the graph pass checks them
        if ref in scope.absent:
            msg = (
                f"inputs names '{ref}', which is absent in this instance "
                "(its `when` is false)"
            )
            hint: str | None = (
                "read a layer that exists in every instance, "
                "or compute the name: \"${'a' if cond else 'b'}\""
            )
        else:
            msg = (
                f"inputs names '{ref}', which is neither an input of the block "
                f"({', '.join(scope.inputs)}) nor one of its layers before this "
                "one (inside a block, names are local)"
            )
            hint = did_you_mean(ref, list(scope.inputs) + list(scope.local))
        self.add(
            "MS202", msg, src + ("inputs",), scope, hint=hint, layer=name, kind=kind
        )
        return None

    def last_name(self) -> str | None:
        if not self.out_layers:
            return "input"
        last = self.out_layers[-1]
        return last.get("name") if isinstance(last, dict) else None

    def emit(
        self,
        layer: Any,
        src: tuple,
        keypos: dict,
        scope: Scope,
        local: Any,
        ok: bool = True,
    ) -> None:
        i = len(self.out_layers)
        if i >= MAX_LAYERS:
            self.add(
                "MS505",
                f"the blocks expand to more than {MAX_LAYERS:,} layers",
                src,
                scope,
                hint="check repeat counts; a repeat inside a repeated block multiplies",
                layer=scope.instance or None,
            )
            raise _TooLarge()
        self.out_layers.append(layer)
        self.out_pos.at[("layers", i)] = self.pos.find(src)
        for suffix, p in self.children.get(src, ()):
            self.out_pos.at[("layers", i) + suffix] = p
        for key, p in keypos.items():
            self.out_pos.at[("layers", i, key)] = p
        if scope.frames:
            self.origins[i] = list(scope.frames)
        if not ok:
            self.failed.add(i)
        if isinstance(layer, dict) and isinstance(layer.get("name"), str):
            scope.record(local, layer["name"])

    def tick(self, src: tuple, scope: Scope, **where) -> None:
        self.count += 1
        if self.count > MAX_INSTANCES:
            self.add(
                "MS505",
                f"the blocks make more than {MAX_INSTANCES:,} instances",
                src,
                scope,
                hint="check repeat counts; a repeat inside a repeated block multiplies",
                **where,
            )
            raise _TooLarge()
