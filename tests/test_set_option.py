"""`--set` mistakes point at the command line, with did-you-mean; a misplaced
inline `layers` array says where it belongs (issue 10, item 14)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelspec.check import check_file, check_text
from modelspec.errors import UsageError
from tests.helpers import codes

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "specs" / "digits_lenet.toml"


def test_unknown_key_from_set_points_at_the_option():
    r = check_file(DIGITS, ["train.batchsize=8"])
    (d,) = r.diagnostics
    assert (d.code, d.line, d.source) == ("MS101", None, "--set train.batchsize=8")
    assert d.hint == "did you mean 'batch_size'?"
    assert d.render().startswith("--set train.batchsize=8: error MS101")


def test_bad_value_from_set_replaces_the_files_position():
    r = check_file(DIGITS, ["layers.conv1.filters=abc"])
    (d,) = r.diagnostics
    assert d.code == "MS103" and d.layer == "conv1"
    assert d.source == "--set layers.conv1.filters=abc" and d.line is None
    as_json = d.to_json()
    assert as_json["source"] == "--set layers.conv1.filters=abc"


def test_diagnostics_from_the_file_keep_their_lines_and_no_source_key():
    r = check_text(
        DIGITS.read_text().replace("batch_size = 32", "batch_sise = 32"),
        overrides=["train.epochs=3"],
    )
    (d,) = r.diagnostics
    assert d.line is not None and d.source is None and "source" not in d.to_json()


def test_the_nth_option_is_named_even_after_others():
    r = check_file(DIGITS, ["train.epochs=3", "data.limitt=5"])
    assert [d.source for d in r.diagnostics] == ["--set data.limitt=5"]


def test_unknown_layer_name_in_set_has_did_you_mean():
    with pytest.raises(UsageError) as e:
        check_file(DIGITS, ["layers.logit.units=5"])
    assert "no layer is named 'logit'" in e.value.message
    assert e.value.hint == "did you mean 'logits'?"


def test_cli_prints_the_option_as_the_location():
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelspec",
            "check",
            str(DIGITS),
            "--set",
            "train.batchsize=8",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 1
    (d,) = json.loads(p.stdout)["diagnostics"]
    assert d["source"] == "--set train.batchsize=8"


def test_inline_layers_after_model_table_has_one_error_with_the_fix():
    text = (
        '[model]\nname = "x"\ninput = [8, 8, 1]\n'
        'layers = [ { type = "flatten" }, { type = "dense", units = 10 } ]\n'
    )
    r = check_text(text)
    assert codes(r) == ["MS101"]
    (d,) = r.diagnostics
    assert d.line == 4
    assert "move `layers = [...]` above [model]" in d.hint
