"""`diff` compares every table, not only [[layers]] (issue 10, item 1)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from modelspec.check import check_text
from modelspec.cli import app
from modelspec.diffing import diff_reports

ROOT = Path(__file__).resolve().parents[1]
DIGITS = (ROOT / "specs" / "digits_lenet.toml").read_text()


def _variant(**replace) -> str:
    text = DIGITS
    for old, new in replace.values():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_batch_size_optimizer_and_validation_are_differences():
    b = _variant(
        bs=("batch_size = 32", "batch_size = 128"),
        opt=('type = "adam"', 'type = "sgd"'),
        val=("validation = 0.1", "validation = 0.2"),
    )
    d = diff_reports(check_text(DIGITS, "a.toml"), check_text(b, "b.toml"))
    assert not d.identical
    assert d.count("changed") == d.count("added") == d.count("removed") == 0
    got = {c.key: (c.a, c.b) for c in d.settings}
    assert got == {
        "train.batch_size": (32, 128),
        "train.optimizer.type": ("adam", "sgd"),
        "data.validation": (0.1, 0.2),
    }


def test_a_default_written_out_is_not_a_difference():
    # digits_lenet sets batch_size = 32, which is also the default.
    b = _variant(bs=("batch_size = 32\n", "\n"))
    d = diff_reports(check_text(DIGITS, "a.toml"), check_text(b, "b.toml"))
    assert d.identical and d.settings == []


def test_identical_only_when_everything_is_equal(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(DIGITS)
    b.write_text(
        _variant(ep=("epochs = ", "epochs = 1 + ")).replace(
            "epochs = 1 + ", "epochs = 3  # "
        )
    )
    runner = CliRunner()
    same = json.loads(
        runner.invoke(app, ["diff", str(a), str(a), "--format", "json"]).stdout
    )
    assert same["identical"] is True and same["settings"] == []
    result = runner.invoke(app, ["diff", str(a), str(b), "--format", "json"])
    out = json.loads(result.stdout)
    assert out["identical"] is False
    assert [s["key"] for s in out["settings"]] == ["train.epochs"]
    text = runner.invoke(app, ["diff", str(a), str(b)]).stdout
    assert "train.epochs" in text and "settings: 1 changed" in text
