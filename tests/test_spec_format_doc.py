"""docs/spec-format.md is the spec format's reference and cannot drift: every
table, layer type and key of the Pydantic models is in it (issue 10, item 4)."""

from __future__ import annotations

import re

from modelspec.schema import LAYER_MODELS, LAYER_TYPES, TABLES
from modelspec.schema.layer_base import LayerBase, WeightedLayer
from spec_format_doc import DOC, ROOT, SHAPE_RULES, render

TEXT = DOC.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The text under `heading` up to the next heading of its level or above."""
    level = heading.split(" ", 1)[0]
    start = TEXT.index(f"\n{heading}\n")
    stops = [
        m.start()
        for m in re.finditer(rf"\n#{{1,{len(level)}}} ", TEXT)
        if m.start() > start
    ]
    return TEXT[start : stops[0] if stops else len(TEXT)]


def keys_in(text: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", text, re.M))


def test_example_specs_check_clean():
    from modelspec.check import check_text

    blocks = re.findall(r"^```toml\n(.*?)^```", TEXT, re.M | re.S)
    assert blocks
    for text in blocks:
        report = check_text(text, file="docs/spec-format.md")
        assert report.ok and not report.diagnostics, [
            d.render() for d in report.diagnostics
        ]


def test_generated_parts_are_current():
    assert render(TEXT) == TEXT, "run: python tests/spec_format_doc.py"


def test_every_layer_type_and_key_is_documented():
    common = keys_in(section("### Keys every layer takes"))
    weights = keys_in(section("### Weight keys"))
    assert common == set(LayerBase.model_fields)
    assert weights == set(WeightedLayer.model_fields) - common
    headings = re.findall(r"^#### `(\w+)`$", TEXT, re.M)
    assert sorted(headings) == sorted(LAYER_TYPES)
    for kind, model in LAYER_MODELS.items():
        own = keys_in(section(f"#### `{kind}`"))
        shared = common | (weights if issubclass(model, WeightedLayer) else set())
        for name in set(model.model_fields) - {"type"}:
            assert name in own or name in shared, f"{kind}.{name} is not documented"


def test_every_table_and_key_is_documented():
    for name, model in TABLES.items():
        documented = keys_in(section(f"## `[{name}]`"))
        keys = {f.alias or n for n, f in model.model_fields.items()}
        assert keys <= documented, f"[{name}] misses {sorted(keys - documented)}"


def test_every_layer_type_has_a_shape_rule():
    assert set(SHAPE_RULES) == set(LAYER_TYPES)


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def test_links_between_the_reference_and_the_readme_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "SPEC_FORMAT" not in readme
    assert "docs/spec-format.md" in readme
    anchors = {
        "doc": {_slug(h) for h in re.findall(r"^#+ (.*)$", TEXT, re.M)},
        "readme": {_slug(h) for h in re.findall(r"^#+ (.*)$", readme, re.M)},
    }
    links = [("doc", a) for a in re.findall(r"\]\(#([\w-]+)\)", TEXT)]
    links += [("readme", a) for a in re.findall(r"\(\.\./README\.md#([\w-]+)\)", TEXT)]
    links += [("doc", a) for a in re.findall(r"docs/spec-format\.md#([\w-]+)", readme)]
    assert links
    for where, anchor in links:
        assert anchor in anchors[where], f"#{anchor} is not a heading of the {where}"
