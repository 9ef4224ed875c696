"""The pieces that keep a run folder whole (issue 10, items 6-8), without a
framework: the folder lock, leftovers of killed writers, history.csv repair,
and `modelspec runs` over damaged files. The kill -9 tests of real training
processes are in tests/test_fault_injection.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backends.keras_backend.recover import repair_best, repair_history
from modelspec import runs
from modelspec.cli import app
from modelspec.errors import RunError
from modelspec.fsutil import atomic_path, remove_stale_temps

ROOT = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(p.stdout)


# --- the lock ---------------------------------------------------------------


def test_a_held_lock_refuses_a_second_holder_naming_the_pid(tmp_path):
    with runs.locked(tmp_path) as stale:
        assert stale == ""
        assert (tmp_path / runs.LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(runs.RunBusy) as info, runs.locked(tmp_path):
            pass
        assert info.value.exit_code == 2
        assert f"in use by process {os.getpid()}" in info.value.message
        assert str(tmp_path) in info.value.message
    assert not (tmp_path / runs.LOCK).exists()  # released: nothing left
    with runs.locked(tmp_path):  # and free again
        pass


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = (
        "import os, signal, sys; from modelspec import runs\n"
        f"with runs.locked({str(tmp_path)!r}):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT)
    assert p.returncode == -9
    left = (tmp_path / runs.LOCK).read_text().strip()
    assert left.isdigit() and int(left) != os.getpid()
    with runs.locked(tmp_path) as stale:
        assert stale == left
        assert (tmp_path / runs.LOCK).read_text().strip() == str(os.getpid())


# --- leftovers of atomic writes ----------------------------------------------


def test_atomic_temp_names_carry_the_writer_pid(tmp_path):
    with atomic_path(tmp_path / "best.onnx", suffix=".onnx") as tmp:
        assert tmp.name.startswith(f".best.onnx.{os.getpid()}.")
        assert tmp.name.endswith(".onnx")
        tmp.write_bytes(b"x")
    assert (tmp_path / "best.onnx").read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["best.onnx"]


def test_stale_temps_of_dead_writers_go_live_ones_stay(tmp_path):
    dead, me = dead_pid(), os.getpid()
    names = {
        f".last.keras.{dead}.abcd_123.keras": False,
        f".best.onnx.{dead}.zz9yx8w7.onnx": False,
        f".state.json.{dead}.k2j3h4g5.json": False,
        f".last.keras.{me}.abcd_123.keras": True,  # a live writer: kept
        ".hidden": True,
        "last.keras": True,
        f".last.keras.{dead}.tooshort.keras.bak": True,  # not our pattern
    }
    for name in names:
        (tmp_path / name).write_text("x")
    only_onnx = remove_stale_temps(tmp_path, {"best.onnx"})
    assert [p.name for p in only_onnx] == [f".best.onnx.{dead}.zz9yx8w7.onnx"]
    remove_stale_temps(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n, keep in names.items() if keep
    )


# --- history.csv -------------------------------------------------------------

HEADER = "epoch,accuracy,loss\r\n"


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_history_keeps_one_row_per_finished_epoch(tmp_path):
    h = tmp_path / "history.csv"
    h.write_text(
        HEADER + "0,0.5,1.5\r\n1,0.6,1.2\r\n1,0.6,1.2\r\n2,0.7,1.0\r\n", newline=""
    )
    repair_history(h, 2)
    assert rows(h) == ["epoch,accuracy,loss", "0,0.5,1.5", "1,0.6,1.2"]


def test_history_row_cut_off_by_a_kill_is_dropped(tmp_path):
    h = tmp_path / "history.csv"
    # Epoch 1's row was being written: it parses (3 fields), but has no line end.
    h.write_text(HEADER + "0,0.5,1.5\r\n1,0.6,1.", newline="")
    repair_history(h, 1)
    assert rows(h) == ["epoch,accuracy,loss", "0,0.5,1.5"]
    # Ten epochs done, the row of epoch 10 cut to "1": not kept as epoch 1.
    body = "".join(f"{e},0.5,1.0\r\n" for e in range(10))
    h.write_text(HEADER + body + "1", newline="")
    repair_history(h, 10)
    assert [r.split(",")[0] for r in rows(h)[1:]] == [str(e) for e in range(10)]


def test_history_with_a_cut_header_starts_afresh(tmp_path):
    h = tmp_path / "history.csv"
    h.write_text("epoch,accu", newline="")
    repair_history(h, 0)
    assert not h.exists()


def test_history_damaged_inside_is_refused_by_name(tmp_path):
    h = tmp_path / "history.csv"
    h.write_text(HEADER + "0,0.5,1.5\r\nxx,garbage\r\n1,0.6,1.2\r\n", newline="")
    with pytest.raises(RunError, match=r"history.csv line 3 is damaged"):
        repair_history(h, 2)
    h.write_text("nonsense,header\r\n0,1\r\n", newline="")
    with pytest.raises(RunError, match="no 'epoch' column"):
        repair_history(h, 1)


def test_best_is_restored_from_last_when_the_best_epoch_is_the_last(tmp_path):
    (tmp_path / runs.LAST).write_bytes(b"epoch 2 weights")
    (tmp_path / runs.BEST).write_bytes(b"epoch 1 weights")
    repair_best(tmp_path, {"epochs_done": 2, "best_epoch": 1})
    assert (tmp_path / runs.BEST).read_bytes() == b"epoch 1 weights"
    repair_best(tmp_path, {"epochs_done": 2, "best_epoch": 2})
    assert (tmp_path / runs.BEST).read_bytes() == b"epoch 2 weights"


# --- `modelspec runs` over damaged folders -----------------------------------


def fake_run(root: Path, stamp: str, **files) -> Path:
    run = root / "lenet" / stamp
    run.mkdir(parents=True)
    (run / runs.SPEC).write_text("[model]\n")
    for name, data in files.items():
        text = data if isinstance(data, str) else json.dumps(data)
        (run / name.replace("_", ".")).write_text(text)
    return run


def test_runs_lists_every_readable_run_and_marks_the_rest(tmp_path):
    good = {"epochs_done": 2, "best_epoch": 2}
    fake_run(
        tmp_path,
        "20260101-000001",
        state_json=good,
        metrics_json={"test": {"accuracy": 0.9375}},
    )
    fake_run(
        tmp_path, "20260101-000002", state_json=good, metrics_json='{"test": {"accur'
    )  # cut off
    fake_run(tmp_path, "20260101-000003", state_json=[1, 2])  # wrong shape
    fake_run(tmp_path, "20260101-000004", state_json={"epochs_done": "two"})
    fake_run(
        tmp_path,
        "20260101-000005",
        state_json=good,
        metrics_json={"test": [0.5], "val": "x"},  # odd but JSON objects
        resolved_json={"spec": ["not", "a", "table"], "overrides": 3},
    )
    r = CliRunner().invoke(app, ["runs", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "internal error" not in r.output and "Traceback" not in r.output
    lines = {
        ln.split()[1]: ln
        for ln in r.stdout.splitlines()
        if ln.strip().startswith("lenet")
    }
    assert sorted(lines) == [f"20260101-00000{i}" for i in range(1, 6)]
    assert "done" in lines["20260101-000001"] and "0.9375" in lines["20260101-000001"]
    for bad in ("20260101-000002", "20260101-000003", "20260101-000004"):
        assert "unreadable" in lines[bad]
    assert "done" in lines["20260101-000005"]
    err = r.stderr
    assert "metrics.json" in err and "20260101-000002" in err
    assert "20260101-000003" in err and "expected a JSON object, found list" in err
    assert "'epochs_done' should be int. Received: 'two'" in err


def test_wrong_shape_files_are_errors_naming_the_file(tmp_path):
    run = fake_run(
        tmp_path,
        "20260101-000001",
        state_json=["not", "an", "object"],
        resolved_json='["a", "list"]',
    )
    with pytest.raises(RunError, match=r"state\.json: expected a JSON object"):
        runs.read_state(run)
    for argv in (["export", str(run), "--onnx"], ["evaluate", str(run)]):
        r = CliRunner().invoke(app, argv)
        assert r.exit_code == 1, (argv, r.output)
        assert "internal error" not in r.output
        assert f"cannot read {run / runs.RESOLVED}: expected a JSON object" in r.stderr


def test_a_sweep_row_of_a_wrong_shape_metrics_file_shows_dashes():
    from modelspec.runs import sweep as sw

    v = sw.Variant(1, "lr=0.1", ["train.optimizer.learning_rate=0.1"], {})
    row = sw.comparison_row(
        v,
        {
            "val": [0.5],
            "test": {"accuracy": 0.75},
            "epochs_done": "two",
            "wall_time_s": True,
        },
    )
    assert row["val_accuracy"] is None and row["test_accuracy"] == 0.75
    assert row["epochs_done"] is None and row["wall_time_s"] is None
    md = sw.comparison_markdown([row], "t")
    assert "| lr=0.1 | pending | - | 0.7500 |" in md
