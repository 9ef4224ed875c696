"""`modelspec sweep` and `modelspec runs --compare`: grid expansion, labels,
the state file and its resume decisions (fast, no TensorFlow), then a real
2x2 sweep on digits and an interrupted sweep that resumes (framework)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from modelspec.cli import sweep as cli_sweep
from modelspec.cli import train as cli_train
from modelspec.errors import UsageError
from modelspec.runs import sweep as sw

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "specs" / "digits_lenet.toml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    cli_train.register(app)
    cli_sweep.register(app)
    return app


def invoke(*args):
    runner = CliRunner(env={"COLUMNS": "200"})
    return runner.invoke(make_app(), [str(a) for a in args])


def assert_png(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.width > 100 and img.height > 100
        return img.size


# --- splitting, grids, labels ---------------------------------------------


@pytest.mark.parametrize(
    "text, values",
    [
        ("adam,sgd", ["adam", "sgd"]),
        ("64, 128 ,256", ["64", "128", "256"]),
        ("[3,3],[5,5]", ["[3,3]", "[5,5]"]),
        ("[[1,2],[3]],7", ["[[1,2],[3]]", "7"]),
        ('{type="sgd", momentum=0.9},adam', ['{type="sgd", momentum=0.9}', "adam"]),
        ('"a,b",c', ['"a,b"', "c"]),
        ("0.001", ["0.001"]),
    ],
)
def test_split_values_only_on_top_level_commas(text, values):
    assert sw.split_values(text) == values


@pytest.mark.parametrize("text", ["[3,3", '"abc', "{a=1"])
def test_split_values_rejects_unclosed(text):
    with pytest.raises(UsageError, match="unclosed"):
        sw.split_values(text)


def test_parse_grid_keeps_order_and_rejects_mistakes():
    grid = sw.parse_grid(["train.batch_size=64,128", "layers.conv1.kernel=[3,3],[5,5]"])
    assert grid == [
        ("train.batch_size", ["64", "128"]),
        ("layers.conv1.kernel", ["[3,3]", "[5,5]"]),
    ]
    with pytest.raises(UsageError, match="given twice"):
        sw.parse_grid(["train.epochs=1", "train.epochs=2"])
    with pytest.raises(UsageError, match="empty value"):
        sw.parse_grid(["train.batch_size=64,,128"])
    with pytest.raises(UsageError, match=r"KEY\.PATH=VALUE"):
        sw.parse_grid(["train.batch_size"])


def test_expand_2x2_labels_and_overrides():
    grid = sw.parse_grid(
        ["train.optimizer.type=adam,sgd", "train.batch_size=64,128", "data.limit=300"]
    )
    variants = sw.expand(grid, fixed=["train.epochs=1"])
    assert [v.label for v in variants] == [
        "optimizer.type=adam batch_size=64",
        "optimizer.type=adam batch_size=128",
        "optimizer.type=sgd batch_size=64",
        "optimizer.type=sgd batch_size=128",
    ]
    assert [v.index for v in variants] == [1, 2, 3, 4]
    # Single-valued keys are fixed: applied to every variant, not in labels.
    assert variants[3].overrides == [
        "data.limit=300",
        "train.epochs=1",
        "train.optimizer.type=sgd",
        "train.batch_size=128",
    ]
    assert variants[1].values == {
        "train.optimizer.type": "adam",
        "train.batch_size": "128",
    }


def test_labels_keep_table_names_when_keys_differ_in_them():
    grid = sw.parse_grid(["train.batch_size=64,128", "layers.conv1.kernel=[3,3],[5,5]"])
    labels = [v.label for v in sw.expand(grid)]
    assert labels[0] == "train.batch_size=64 layers.conv1.kernel=[3,3]"
    assert labels[3] == "train.batch_size=128 layers.conv1.kernel=[5,5]"
    one = sw.expand(sw.parse_grid(["layers.conv1.kernel=[3,3],[5,5]"]))
    assert [v.overrides for v in one] == [
        ["layers.conv1.kernel=[3,3]"],
        ["layers.conv1.kernel=[5,5]"],
    ]
    assert [v.label for v in one] == ["conv1.kernel=[3,3]", "conv1.kernel=[5,5]"]


def test_repeat_sets_seeds_from_the_base_seed():
    grid = sw.parse_grid(["train.optimizer.type=adam,sgd"])
    variants = sw.expand(grid, repeat=3, base_seed=10)
    assert len(variants) == 6
    assert [v.label for v in variants[:3]] == [
        "optimizer.type=adam seed=10",
        "optimizer.type=adam seed=11",
        "optimizer.type=adam seed=12",
    ]
    assert variants[4].overrides == ["train.optimizer.type=sgd", "train.seed=11"]
    assert [v.repeat for v in variants] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(UsageError, match=r"--repeat sets train\.seed"):
        sw.expand(sw.parse_grid(["train.seed=1,2"]), repeat=2)
    assert sw.expand([], repeat=1)[0].label == "spec as written"


def test_new_state_reads_name_and_seed_from_the_spec():
    text = DIGITS.read_text().replace("[train]\n", "[train]\nseed = 40\n")
    state = sw.new_state(
        "x.toml", text, ["train.batch_size=64,128"], repeat=2, epochs=3
    )
    assert state.spec_name == "digits_lenet"
    assert state.fixed == ["train.epochs=3"]
    assert [v.values.get("train.seed") for v in state.variants] == [
        "40",
        "41",
        "40",
        "41",
    ]


def test_sweep_key_changes_with_spec_grid_repeat_and_epochs():
    grid = sw.parse_grid(["train.batch_size=64,128"])
    key = sw.sweep_key("a", grid, 1, [])
    assert key == sw.sweep_key("a", sw.parse_grid(["train.batch_size=64,128"]), 1, [])
    others = {
        sw.sweep_key("b", grid, 1, []),
        sw.sweep_key("a", sw.parse_grid(["train.batch_size=64,256"]), 1, []),
        sw.sweep_key("a", grid, 2, []),
        sw.sweep_key("a", grid, 1, ["train.epochs=2"]),
    }
    assert key not in others and len(others) == 4


# --- state file, resume decisions, comparison ------------------------------


def test_next_action_decides_skip_resume_start():
    v = sw.Variant(1, "x", [], {})
    assert sw.next_action(v, {}, False) == "start"
    v.run_dir = "somewhere"
    v.status = sw.DONE
    assert sw.next_action(v, {"epochs_done": 2}, True) == "skip"
    v.status = sw.INTERRUPTED
    assert sw.next_action(v, {"epochs_done": 1}, False) == "resume"
    assert sw.next_action(v, {"epochs_done": 0}, False) == "start"
    assert sw.next_action(v, {}, False) == "start"
    v.status = sw.RUNNING  # killed: state.json still says how far it got
    assert sw.next_action(v, {"epochs_done": 3}, False) == "resume"
    # killed after the run's metrics.json, before sweep.json was updated
    assert sw.next_action(v, {"epochs_done": 3}, True) == "skip"
    v.status = sw.FAILED
    assert sw.next_action(v, {"epochs_done": 3}, False) == "start"


def test_state_round_trip_and_find_unfinished(tmp_path):
    state = sw.new_state(
        str(DIGITS), DIGITS.read_text(), ["train.batch_size=64,128"], out=tmp_path
    )
    d1 = sw.create_sweep_dir(tmp_path, state.spec_name, now=0)
    d2 = sw.create_sweep_dir(tmp_path, state.spec_name, now=0)
    assert d1 != d2 and d1.parent == d2.parent == tmp_path / "sweeps"
    sw.save_state(d1, state)
    loaded = sw.load_state(d1)
    assert loaded == state
    assert sw.find_unfinished(tmp_path, state.key) == d1
    assert sw.find_unfinished(tmp_path, "another-key") is None
    for v in loaded.variants:
        v.status = sw.DONE
    sw.save_state(d1, loaded)
    assert sw.find_unfinished(tmp_path, state.key) is None
    with pytest.raises(UsageError, match="not a sweep folder"):
        sw.load_state(d2)


def test_comparison_row_markdown_and_csv():
    v = sw.Variant(
        1,
        "optimizer.type=adam",
        [],
        {"train.optimizer.type": "adam"},
        status=sw.DONE,
        run_dir="runs/x/1",
    )
    metrics = {
        "val": {"accuracy": 0.91234},
        "test": {"accuracy": 0.9},
        "monitor": "val_loss",
        "epochs_to_best": 3,
        "epochs_done": 4,
        "wall_time_s": 12.34,
        "train_examples_per_s": 1234.5,
    }
    row = sw.comparison_row(v, metrics)
    pending = sw.comparison_row(sw.Variant(2, "optimizer.type=sgd", [], {}), {})
    md = sw.comparison_markdown([row, pending], "sweep of x")
    assert "(by val_loss)" in md
    adam = "| optimizer.type=adam | done | 0.9123 | 0.9000 | 3 | 4 | 12.3 | 1,234 |"
    assert adam in md
    assert "| optimizer.type=sgd | pending | - | - | - | - | - | - |" in md
    rows = list(csv.DictReader(sw.comparison_csv([row, pending]).splitlines()))
    assert rows[0]["set:train.optimizer.type"] == "adam"
    assert float(rows[0]["val_accuracy"]) == pytest.approx(0.91234)
    assert rows[1]["test_accuracy"] == ""


# --- fake run directories: no training needed ------------------------------


def fake_run(root: Path, stamp: str, accs: list[float], overrides=()) -> Path:
    run = root / "fake" / stamp
    run.mkdir(parents=True)
    (run / "spec.toml").write_text("# fake\n")
    (run / "resolved.json").write_text(
        json.dumps(
            {
                "spec": {"model": {"name": "fake"}},
                "overrides": list(overrides),
                "derived": {"epochs": len(accs)},
            }
        )
    )
    lines = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    lines += [f"{i},{a - 0.05},{1 - a},{a},{1.1 - a}" for i, a in enumerate(accs)]
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    (run / "state.json").write_text(json.dumps({"epochs_done": len(accs)}))
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "val": {"accuracy": accs[-1]},
                "test": {"accuracy": accs[-1] - 0.01},
                "epochs_to_best": len(accs),
                "epochs_done": len(accs),
                "wall_time_s": 1.5,
                "train_examples_per_s": 100.0,
                "monitor": "val_loss",
            }
        )
    )
    return run


def test_runs_compare_writes_png(tmp_path, monkeypatch):
    a = fake_run(tmp_path, "a", [0.5, 0.7, 0.8], ["train.batch_size=64"])
    b = fake_run(tmp_path, "b", [0.4, 0.6])
    out = tmp_path / "cmp.png"
    result = invoke("runs", "--compare", a, b, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (2 runs)" in result.output
    assert_png(out)
    # Listing runs (one folder, or runs/ by default) works as before.
    listed = invoke("runs", tmp_path)
    assert listed.exit_code == 0 and listed.output.count("fake") == 2
    # Without --compare several folders are a usage error, not a silent pick.
    assert invoke("runs", a, b).exit_code == 2
    bad = invoke("runs", "--compare", a, tmp_path / "missing", "-o", out)
    assert bad.exit_code == 2 and "not found" in bad.output
    assert invoke("runs", "--compare", a, "-o", tmp_path / "x.svg").exit_code == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "fake").rename(tmp_path / "runs" / "fake")
    default = invoke("runs")
    assert default.exit_code == 0 and "runs in runs" in default.output
    assert default.output.count("fake") == 2


def test_resume_of_a_finished_sweep_skips_everything(tmp_path):
    text = DIGITS.read_text()
    state = sw.new_state(str(DIGITS), text, ["train.batch_size=64,128"], out=tmp_path)
    sweep_dir = sw.create_sweep_dir(tmp_path, state.spec_name)
    (sweep_dir / sw.SPEC_COPY).write_text(text)
    for v, stamp, acc in zip(state.variants, "ab", (0.8, 0.9), strict=True):
        v.status = sw.DONE
        sw.set_run_path(sweep_dir, v, fake_run(tmp_path, stamp, [0.5, acc]))
    assert state.variants[0].run_dir == "../../fake/a"  # relative: movable
    sw.save_state(sweep_dir, state)
    result = invoke("sweep", "--resume", sweep_dir)
    assert result.exit_code == 0, result.output
    assert result.output.count("(finished, skipped)") == 2
    assert "batch_size=128" in result.output and "0.9000" in result.output
    rows = list(csv.DictReader((sweep_dir / sw.CSV_FILE).open()))
    assert [r["variant"] for r in rows] == ["batch_size=64", "batch_size=128"]
    assert_png(sweep_dir / sw.PLOT_FILE)
    assert invoke("sweep", DIGITS, "--resume", sweep_dir).exit_code == 2


def test_sweep_refuses_invalid_variants_before_training(tmp_path):
    out = tmp_path / "runs"
    result = invoke(
        "sweep",
        DIGITS,
        "--set",
        "train.batch_size=64,0",
        "--set",
        "train.optimizer.type=adam,sdg",
        "--out",
        out,
    )
    assert result.exit_code == 1
    assert "3 of 4 variants of the sweep are invalid" in result.output
    assert "variant 2 (batch_size=64 optimizer.type=sdg):" in result.output
    assert "variant 3 (batch_size=0 optimizer.type=adam):" in result.output
    assert "MS103" in result.output and "did you mean 'sgd'" in result.output
    assert not out.exists()  # nothing created, not even the sweep folder
    bad_key = invoke("sweep", DIGITS, "--set", "layers.nope.filters=1,2", "--out", out)
    assert bad_key.exit_code == 2 and "no layer is named 'nope'" in bad_key.output


# --- real sweeps on digits (TensorFlow) --------------------------------------

GRID = ["--set", "train.optimizer.type=adam,sgd", "--set", "train.batch_size=64,128"]
LABELS = [
    "optimizer.type=adam batch_size=64",
    "optimizer.type=adam batch_size=128",
    "optimizer.type=sgd batch_size=64",
    "optimizer.type=sgd batch_size=128",
]


def run_dirs(out: Path) -> set[Path]:
    return {
        p.parent
        for p in (out / "digits_lenet").glob("*/spec.toml")
        if not p.parent.is_symlink()
    }


def snapshot(run: Path) -> dict:
    return {
        p.name: (p.stat().st_mtime_ns, p.stat().st_size)
        for p in run.iterdir()
        if p.is_file()
    }


@pytest.mark.framework
def test_sweep_2x2_on_digits(tmp_path):
    out = tmp_path / "runs"
    result = invoke(
        "sweep", DIGITS, *GRID, "--set", "data.limit=300", "--epochs", "1", "--out", out
    )
    assert result.exit_code == 0, result.output
    print(result.output)  # the README's example table comes from here
    runs_made = run_dirs(out)
    assert len(runs_made) == 4
    (sweep_dir,) = (out / "sweeps").iterdir()
    state = sw.load_state(sweep_dir)
    assert [v.label for v in state.variants] == LABELS
    assert all(v.status == sw.DONE for v in state.variants)
    paths = [sw.run_path(sweep_dir, v) for v in state.variants]
    assert {p.resolve() for p in paths} == {p.resolve() for p in runs_made}
    # each run trained its variant
    for v, path in zip(state.variants, paths, strict=True):
        resolved = json.loads((path / "resolved.json").read_text())
        train = resolved["spec"]["train"]
        assert train["optimizer"]["type"] == v.values["train.optimizer.type"]
        assert train["batch_size"] == int(v.values["train.batch_size"])
        assert train["epochs"] == 1
    rows = list(csv.DictReader((sweep_dir / sw.CSV_FILE).open()))
    assert [r["variant"] for r in rows] == LABELS
    for row, path in zip(rows, paths, strict=True):
        metrics = json.loads((path / "metrics.json").read_text())
        assert float(row["test_accuracy"]) == metrics["test"]["accuracy"]
        assert 0.0 <= float(row["val_accuracy"]) <= 1.0
        assert row["epochs_to_best"] == "1" and float(row["examples_per_s"]) > 0
    md = (sweep_dir / sw.MD_FILE).read_text()
    assert all(f"| {label} | done |" in md for label in LABELS)
    for label in LABELS:
        assert label in result.output
    assert_png(sweep_dir / sw.PLOT_FILE)
    # --compare on two of the sweep's real runs.
    cmp_png = tmp_path / "compare.png"
    cmp = invoke("runs", "--compare", paths[0], paths[3], "-o", cmp_png)
    assert cmp.exit_code == 0, cmp.output
    assert_png(cmp_png)


@pytest.mark.framework
def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    from backends.keras_backend.sweep_run import SweepInterrupted, run_sweep

    out = tmp_path / "runs"
    sets = ["train.optimizer.type=adam,sgd,rmsprop", "data.limit=300"]
    text = DIGITS.read_text()
    state = sw.new_state(str(DIGITS), text, sets, epochs=2, out=out)
    reports = {
        v.index: r for v, r in sw.check_variants(text, str(DIGITS), state.variants)
    }
    sweep_dir = sw.create_sweep_dir(out, state.spec_name)
    (sweep_dir / sw.SPEC_COPY).write_text(text)
    sw.save_state(sweep_dir, state)

    current = {}

    class CtrlCInThirdVariant:  # Ctrl-C after epoch 1 of variant 3
        def epoch_begin(self, epoch, epochs, steps):
            pass

        def batch_end(self, step, logs, rate):
            pass

        def epoch_end(self, epoch, logs):
            if current["index"] == 3 and epoch == 1:
                raise KeyboardInterrupt

    def on_variant(v, action):
        current["index"] = v.index

    with pytest.raises(SweepInterrupted) as info:
        run_sweep(
            sweep_dir,
            state,
            reports,
            reporter=CtrlCInThirdVariant(),
            on_variant=on_variant,
        )
    assert "--resume" in info.value.hint
    saved = sw.load_state(sweep_dir)
    assert [v.status for v in saved.variants] == [sw.DONE, sw.DONE, sw.INTERRUPTED]
    finished = [sw.run_path(sweep_dir, v) for v in saved.variants[:2]]
    cut = sw.run_path(sweep_dir, saved.variants[2])
    assert json.loads((cut / "state.json").read_text())["epochs_done"] == 1
    assert not (cut / "metrics.json").exists()
    before = {run: snapshot(run) for run in finished}
    dirs_before = run_dirs(out)
    assert dirs_before == {*finished, cut}

    # Re-running the same command finds the unfinished sweep and continues it.
    cli_args = [a for s in sets for a in ("--set", s)]
    result = invoke("sweep", DIGITS, *cli_args, "--epochs", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"continuing the unfinished sweep {sweep_dir}" in result.output
    assert result.output.count("(finished, skipped)") == 2
    assert "[3/3] optimizer.type=rmsprop  (resuming)" in result.output
    assert run_dirs(out) == dirs_before  # no run was started again
    assert {run: snapshot(run) for run in finished} == before
    metrics = json.loads((cut / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 1 and metrics["epochs_done"] == 2
    done = sw.load_state(sweep_dir)
    assert all(v.status == sw.DONE for v in done.variants)
    assert [sw.run_path(sweep_dir, v) for v in done.variants] == [*finished, cut]
    assert len(list((out / "sweeps").iterdir())) == 1
    rows = list(csv.DictReader((sweep_dir / sw.CSV_FILE).open()))
    assert [r["status"] for r in rows] == ["done"] * 3
    assert_png(sweep_dir / sw.PLOT_FILE)
