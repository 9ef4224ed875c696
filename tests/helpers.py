"""Small builders shared by the checker tests (no framework imports)."""

from __future__ import annotations


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def spec_text(layers: list[dict], input=(28, 28, 1), name="t", **model) -> str:
    """TOML for a spec with the given layer tables (dicts, in order)."""
    lines = ["[model]", f'name = "{name}"', f"input = {toml_value(list(input))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in model.items()]
    for layer in layers:
        lines += ["", "[[layers]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in layer.items()]
    return "\n".join(lines) + "\n"


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]
