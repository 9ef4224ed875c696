"""Editors name the typo (issue 10, item 15).

The JSON Schema is checked with Taplo, the TOML toolchain the README recommends
(`taplo` from the test extra; it validates offline: the schema is a local file
and Taplo's online catalogs stay off), and with the `jsonschema` library.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import jsonschema

from modelspec.schema import json_schema
from modelspec.source import tomllib

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "modelspec.schema.json"
LENET = ROOT / "specs" / "mnist_lenet.toml"
BLOCKS = ROOT / "specs" / "cifar10_blocks.toml"
DIRECTIVE = "#:schema ../modelspec.schema.json"


def taplo(*files: str, cwd: Path) -> tuple[int, list[str]]:
    exe = shutil.which("taplo")
    assert exe, "taplo is not installed: pip install -e '.[test]'"
    p = subprocess.run(
        [exe, "lint", "--no-auto-config", "--colors", "never", *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return p.returncode, sorted(set(re.findall(r"^error: (.*)$", p.stderr, re.M)))


def variant(tmp_path: Path, source: Path, old: str, new: str) -> str:
    """A copy of `source` with `old` replaced once, its schema directive made
    absolute (the copy lives outside the repository)."""
    text = source.read_text()
    assert text.startswith(DIRECTIVE + "\n") and text.count(old) >= 1, old
    text = text.replace(DIRECTIVE, f"#:schema {SCHEMA.as_uri()}", 1)
    path = tmp_path / f"{source.stem}_{len(list(tmp_path.iterdir()))}.toml"
    path.write_text(text.replace(old, new, 1))
    return str(path)


def test_taplo_accepts_every_example_spec():
    files = sorted(ROOT.glob("specs/*.toml")) + sorted(ROOT.glob("specs/zoo/*.toml"))
    assert BLOCKS in files and len(files) > 10
    code, errors = taplo(*(str(f.relative_to(ROOT)) for f in files), cwd=ROOT)
    assert (code, errors) == (0, [])


def test_taplo_names_the_mistyped_layer_key(tmp_path):
    good = variant(tmp_path, LENET, "filters = 32", "filters = 32")
    assert taplo(good, cwd=tmp_path) == (0, [])
    bad = variant(tmp_path, LENET, "filters = 32", "filter = 32")
    assert taplo(bad, cwd=tmp_path) == (
        1,
        [
            '"filters" is a required property',
            "Additional properties are not allowed ('filter' was unexpected)",
        ],
    )


def test_taplo_names_typos_in_initializers_values_and_block_layers(tmp_path):
    init = variant(tmp_path, LENET, "stddev = 0.1", "stdev = 0.1")
    assert taplo(init, cwd=tmp_path) == (
        1,
        ["Additional properties are not allowed ('stdev' was unexpected)"],
    )
    value = variant(tmp_path, LENET, "filters = 32", 'filters = "sixteen"')
    assert taplo(value, cwd=tmp_path) == (1, ['"sixteen" is not of type "integer"'])
    # an int-or-list key names both types; a name names its pattern
    kernel = variant(tmp_path, LENET, "kernel = 5", 'kernel = "5"')
    assert taplo(kernel, cwd=tmp_path) == (
        1,
        ['"5" is not of types "array", "integer"'],
    )
    name = variant(tmp_path, LENET, 'name = "conv1"', 'name = "conv 1"')
    assert taplo(name, cwd=tmp_path) == (
        1,
        ['"conv 1" does not match "^[A-Za-z0-9_\\-]+$"'],
    )
    kind = variant(tmp_path, LENET, 'type = "flatten"', 'type = "flaten"')
    code, errors = taplo(kind, cwd=tmp_path)
    assert code == 1 and len(errors) == 1
    assert errors[0].startswith('"flaten" is not one of ["activation","add",')
    # a layer inside [blocks.*] is checked as strictly as a top-level one
    inside = 'name = "2_conv", filters = "${filters}", kernel = 3'
    block = variant(tmp_path, BLOCKS, inside, inside.replace("kernel", "kernal"))
    assert taplo(block, cwd=tmp_path) == (
        1,
        [
            '"kernel" is a required property',
            "Additional properties are not allowed ('kernal' was unexpected)",
        ],
    )


def test_jsonschema_library_reports_the_same_key():
    validator = jsonschema.Draft202012Validator(json_schema())
    data = tomllib.loads(LENET.read_text().replace("filters = 32", "filter = 32", 1))
    errors = sorted(
        (list(e.absolute_path), e.message) for e in validator.iter_errors(data)
    )
    assert errors == [
        (["layers", 0], "'filters' is a required property"),
        (
            ["layers", 0],
            "Additional properties are not allowed ('filter' was unexpected)",
        ),
    ]
