"""Validation pass: Pydantic, one table and one layer at a time.

Validating pieces separately means one bad layer does not hide the others, and
the later passes can still infer shapes for every layer that did validate.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .diagnostics import Diagnostic
from .schema import LAYER_MODELS, LAYER_TYPES, TABLES, Spec
from .schema.layers import Layer
from .schema.tables import DataTable, ExportTable, TrainTable, TransferTable
from .source import Positions


@dataclass
class Validated:
    model: Any = None  # ModelTable or None
    layers: list[BaseModel | None] = field(default_factory=list)
    raw_layers: list[dict] = field(default_factory=list)
    tables: dict[str, BaseModel] = field(default_factory=dict)
    spec: Spec | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def did_you_mean(word: object, options) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def default_names(raw_layers: list) -> list[str]:
    """Each layer's name: its `name`, or '<type>_<n>' with n counting that type."""
    counts: dict[str, int] = {}
    names = []
    for entry in raw_layers:
        entry = entry if isinstance(entry, dict) else {}
        kind = entry.get("type")
        kind = kind if isinstance(kind, str) else "layer"
        counts[kind] = counts.get(kind, 0) + 1
        name = entry.get("name")
        names.append(name if isinstance(name, str) else f"{kind}_{counts[kind]}")
    return names


class _Context:
    def __init__(self, positions: Positions, out: list[Diagnostic]) -> None:
        self.positions = positions
        self.out = out

    def add(self, code: str, message: str, path: tuple, *, hint=None, **layer):
        line, col = self.positions.find(path)
        if not layer and path and path[0] in TABLES:
            # Outside [[layers]] there is no layer to name: name the table.
            table = ".".join(
                str(p)
                for p in path[:1] + tuple(p for p in path[1:-1] if isinstance(p, str))
            )
            message = f"[{table}] {message}"
        self.out.append(
            Diagnostic(code, message, line=line, column=col, hint=hint, **layer)
        )


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if not isinstance(value, (list, dict)) else str(value)


M = TypeVar("M", bound=BaseModel)


def _check_model(
    model: type[M], raw: Any, path: tuple, ctx: _Context, **layer
) -> M | None:
    """Validate `raw` against `model`, turning each error into a diagnostic."""
    where = ".".join(str(p) for p in path) if path else "spec"
    if not isinstance(raw, dict):
        ctx.add(
            "MS103",
            f"[{where}] must be a table. Received: {_pretty(raw)}",
            path,
            **layer,
        )
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        _report_errors(model, raw, e, path, ctx, layer)
        return None


def _report_errors(model, raw, exc: ValidationError, path, ctx, layer) -> None:
    by_key: dict[tuple, list[ErrorDetails]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] in ("extra_forbidden", "missing"):
            by_key.setdefault(loc + ("#" + err["type"],), []).append(err)
        else:
            by_key.setdefault(loc[:1], []).append(err)
    # A typo of a required key is one slip: report the unknown key (with its
    # suggestion) and not also the missing one.
    typos = {
        did_you_mean(e["loc"][-1], _field_names(_owner_model(model, e["loc"][:-1])))
        for e in exc.errors()
        if e["type"] == "extra_forbidden"
        and _owner_model(model, tuple(e["loc"][:-1])) is not None
    }
    for key, errs in by_key.items():
        err = errs[0]
        if err["type"] == "missing" and f"did you mean '{err['loc'][-1]}'?" in typos:
            continue
        kind = err["type"]
        loc = tuple(err["loc"])
        if kind == "extra_forbidden":
            owner = _owner_model(model, loc[:-1])
            name = loc[-1]
            hint = did_you_mean(name, _field_names(owner)) if owner else None
            if hint is None and owner is not None:
                hint = "allowed keys: " + ", ".join(_field_names(owner))
            ctx.add("MS101", f"unknown key '{name}'", path + loc, hint=hint, **layer)
        elif kind == "missing":
            described = _missing_hint(model, loc)
            hint = f"add `{loc[-1]} = ...`" + (
                f": {described[0].lower()}{described[1:].rstrip('.')}"
                if described
                else ""
            )
            ctx.add(
                "MS102",
                f"missing required key '{loc[-1]}'",
                path + loc[:-1],
                hint=hint,
                **layer,
            )
        elif kind in ("union_tag_invalid", "literal_error"):
            ctx.add(
                "MS103",
                _choice_message(err, loc, raw),
                path + loc[:1],
                hint=_choice_hint(err),
                **layer,
            )
        else:
            ctx.add(
                "MS103",
                _value_message(errs, loc, raw),
                path + key[:1] if key else path,
                **layer,
            )


def _choice_message(err: Mapping[str, Any], loc: tuple, raw: dict) -> str:
    c = err.get("ctx", {})
    if err["type"] == "union_tag_invalid":
        return (
            f"unknown {loc[0]} {c.get('discriminator', 'type')} "
            f"{_pretty(c.get('tag'))}; expected one of {c.get('expected_tags')}"
        )
    return (
        f"invalid '{'.'.join(str(p) for p in loc)}': expected "
        f"{c.get('expected')}. Received: {_pretty(err.get('input'))}"
    )


def _choice_hint(err: Mapping[str, Any]) -> str | None:
    c = err.get("ctx", {})
    got = c.get("tag") if err["type"] == "union_tag_invalid" else err.get("input")
    options = str(c.get("expected_tags") or c.get("expected") or "")
    return did_you_mean(
        got,
        [o.strip(" '\"") for o in options.replace(" or ", ",").split(",") if o.strip()],
    )


def _owner_model(model, loc: tuple):
    """The Pydantic model that owns the key at `loc` (for did-you-mean)."""
    current = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field_info = current.model_fields.get(part)
        if field_info is None:
            # a discriminated-union tag such as 'truncated_normal' in the loc
            continue
        current = _model_of(field_info.annotation)
    return current


def _model_of(annotation):
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _missing_hint(model, loc) -> str | None:
    owner = _owner_model(model, loc[:-1])
    if owner is None:
        return None
    f = owner.model_fields.get(loc[-1])
    return f.description if f is not None else None


def _value_message(errs: list[ErrorDetails], loc: tuple, raw: dict) -> str:
    key = ".".join(str(p) for p in loc) if loc else ""
    msgs = []
    for e in errs:
        m = e["msg"].removeprefix("Value error, ")
        if m not in msgs:
            msgs.append(m)
    received = errs[0].get("input")
    if loc and isinstance(raw, dict) and loc[0] in raw:
        received = raw[loc[0]]
        key = str(loc[0])
    text = "; or ".join(m[0].lower() + m[1:] for m in msgs[:3])
    if not key:
        return text
    described = _union_rule(errs)
    if described:
        return f"'{key}' must be {described}. Received: {key} = {_pretty(received)}"
    return f"invalid '{key}': {text}. Received: {key} = {_pretty(received)}"


def _union_rule(errs: list[ErrorDetails]) -> str | None:
    """Plain words for the int-or-pair and count-or-fraction unions."""
    kinds = {str(e["loc"][1]) if len(e["loc"]) > 1 else "" for e in errs}
    if len(errs) < 2:
        return None
    # Pair's members are constrained (positive) ints; a plain int-or-list union
    # such as an `axis` gets Pydantic's own words.
    if any(k.startswith("list[constrained-int") for k in kinds) and any(
        "int" in k for k in kinds
    ):
        return "a positive int or a list of two positive ints such as [3, 3]"
    if any("float" in k for k in kinds) and any("int" in k for k in kinds):
        return "a count (an int >= 0) or a fraction between 0 and 1"
    return None


def validate(raw: dict, positions: Positions) -> Validated:
    out = Validated()
    ctx = _Context(positions, out.diagnostics)
    allowed = set(TABLES) | {"layers", "vars", "blocks"}
    for key in raw:
        if key not in allowed:
            ctx.add(
                "MS101",
                f"unknown table or key '{key}'",
                (key,),
                hint=did_you_mean(key, allowed)
                or "allowed: " + ", ".join(sorted(allowed)),
            )

    misplaced = _misplaced_layers(raw, ctx)
    if "model" not in raw:
        ctx.add(
            "MS102",
            "missing required table [model]",
            (),
            hint="add [model] with name and input, e.g. input = [28, 28, 1]",
        )
    else:
        model = raw["model"]
        if misplaced:
            model = {k: v for k, v in model.items() if k != "layers"}
        out.model = _check_model(TABLES["model"], model, ("model",), ctx)
    for name in ("data", "train", "transfer", "export"):
        if name in raw:
            table = _check_model(TABLES[name], raw[name], (name,), ctx)
            if table is not None:
                out.tables[name] = table

    layers = raw.get("layers")
    if layers is None and misplaced:
        pass  # reported once, as the misplaced key it is
    elif layers is None:
        ctx.add(
            "MS102",
            "missing required [[layers]]",
            (),
            hint="add at least one [[layers]] table with a `type`",
        )
    elif not isinstance(layers, list) or not layers:
        ctx.add(
            "MS103",
            "`layers` must be a non-empty array of [[layers]] tables",
            ("layers",),
        )
    else:
        names = default_names(layers)
        for i, entry in enumerate(layers):
            out.raw_layers.append(entry if isinstance(entry, dict) else {})
            out.layers.append(_check_layer(entry, i, names[i], ctx))

    if not out.diagnostics:
        # Assemble from the validated pieces: validating the whole union again
        # would build every layer model's schema, which costs more than a check.
        # No diagnostics: every layer validated (no None) and each table is
        # an instance of its TABLES model, which the casts state for mypy.
        out.spec = Spec.model_construct(
            model=out.model,
            layers=cast("list[Layer]", out.layers),
            data=cast("DataTable | None", out.tables.get("data")),
            train=cast(TrainTable, out.tables.get("train") or TABLES["train"]()),
            transfer=cast("TransferTable | None", out.tables.get("transfer")),
            export=cast(ExportTable, out.tables.get("export") or TABLES["export"]()),
        )
    return out


def _misplaced_layers(raw: dict, ctx: _Context) -> bool:
    """`layers = [...]` written after [model]: TOML puts it inside [model]."""
    model = raw.get("model")
    if "layers" in raw or not isinstance(model, dict) or "layers" not in model:
        return False
    ctx.add(
        "MS101",
        "`layers` written after [model] is read as a key of [model] "
        "(in TOML every key after a [table] header belongs to that table)",
        ("model", "layers"),
        hint="move `layers = [...]` above [model], before the first [table] "
        "header, or write each layer as a [[layers]] table",
    )
    return True


def _check_layer(entry: Any, i: int, name: str, ctx: _Context):
    path = ("layers", i)
    if not isinstance(entry, dict):
        ctx.add("MS103", f"layers[{i}] must be a table", path, index=i)
        return None
    kind = entry.get("type") if isinstance(entry.get("type"), str) else None
    layer = dict(layer=name, index=i, layer_type=kind)
    if "type" not in entry:
        ctx.add(
            "MS102",
            "missing required key 'type'",
            path,
            hint="one of: " + ", ".join(sorted(LAYER_TYPES)),
            **layer,
        )
        return None
    if kind not in LAYER_TYPES:
        ctx.add(
            "MS104",
            f"unknown layer type {_pretty(entry['type'])}",
            path + ("type",),
            hint=did_you_mean(entry["type"], LAYER_TYPES)
            or "one of: " + ", ".join(sorted(LAYER_TYPES)),
            **layer,
        )
        return None
    return _check_model(LAYER_MODELS[kind], entry, path, ctx, **layer)
