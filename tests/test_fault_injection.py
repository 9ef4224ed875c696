"""Kill a real `modelspec` process at each phase, then run the next command
(issue 10, items 5-7 and 17): it resumes or repeats the work, and leaves no
corrupt file, no orphan folder and no epoch twice in history.csv.

The phase is hit deterministically, with no timing: a sitecustomize on the
child's PYTHONPATH wraps the function of that phase and SIGKILLs its own
process there (or raises SIGINT, as Ctrl-C does, or blocks on a FIFO until
the test lets it go). Only the first command of a test gets the hook.
README.md's "what survives what" table is backed by these tests.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from helpers import cli_in_process

pytestmark = pytest.mark.framework

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "specs" / "digits_lenet.toml")
TINY = ["--set", "data.limit=120", "--set", "data.test_limit=30"]
TEMP = re.compile(r"^\..+\.\d+\.[a-z0-9_]{8}(\.\w+)?$")  # fsutil.atomic_path's
TIMEOUT_S = 600

DIE = """
import os, signal
def die():
    os.kill(os.getpid(), signal.SIGKILL)
"""

# The phases, each a sitecustomize body that kills the process there.
MID_EPOCH = """
import backends.keras_backend.callbacks as cb
_make = cb.make_callbacks
def make_callbacks(*a, **k):
    import keras
    class KillInEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 1:
                die()
    callbacks, throughput = _make(*a, **k)
    return callbacks + [KillInEpoch2()], throughput
cb.make_callbacks = make_callbacks
"""

# Half of epoch 2's last.keras is in its temporary file when the process dies.
SAVING_LAST = """
import backends.keras_backend.callbacks as cb
from modelspec.fsutil import atomic_path
_save, seen = cb.save_atomic, []
def save_atomic(model, target):
    if target.name == "last.keras":
        seen.append(target)
        if len(seen) == 2:
            with atomic_path(target, suffix=".keras") as tmp:
                model.save(tmp)
                os.truncate(tmp, tmp.stat().st_size // 2)
                die()
    return _save(model, target)
cb.save_atomic = save_atomic
"""

# state.json of epoch 1 is written, best.keras not yet.
SAVING_BEST = """
import backends.keras_backend.callbacks as cb
_save = cb.save_atomic
def save_atomic(model, target):
    if target.name == "best.keras":
        die()
    return _save(model, target)
cb.save_atomic = save_atomic
"""

EVALUATING = """
import backends.keras_backend.finish as finish
def evaluate_splits(*a, **k):
    die()
finish.evaluate_splits = evaluate_splits
"""

PLOTTING = """
import backends.keras_backend.plots as plots
def samples(*a, **k):
    die()
plots.samples = samples
"""

CTRL_C_EVALUATING = """
import signal
import backends.keras_backend.finish as finish
def evaluate_splits(*a, **k):
    signal.raise_signal(signal.SIGINT)  # what Ctrl-C does
finish.evaluate_splits = evaluate_splits
"""

EXPORTING = """
import backends.onnx_export.export as export
def verify(model, tmp, **k):
    assert tmp.stat().st_size > 0
    die()
export.verify = verify
"""


def modelspec(
    *args, hook: str | None = None, tmp: Path | None = None, popen: bool = False
):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MODELSPEC_OFFLINE": "1"}
    env.pop("MODELSPEC_DEBUG", None)
    path = [env.get("PYTHONPATH", ""), str(ROOT)]
    if hook is not None:
        site = tmp / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(DIE + textwrap.dedent(hook))
        path.insert(0, str(site))
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    cmd = [sys.executable, "-m", "modelspec", *map(str, args)]
    if popen:
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


def train(out: Path, epochs: int = 2, **kw):
    return modelspec("train", SPEC, *TINY, "--epochs", epochs, "--out", out, **kw)


def the_run(out: Path) -> Path:
    """The one run folder under out (an orphan would make it two)."""
    spec_dir = out / "digits_lenet"
    found = [p for p in spec_dir.iterdir() if p.name != "latest"]
    assert len(found) == 1, sorted(p.name for p in spec_dir.iterdir())
    assert (spec_dir / "latest").resolve() == found[0].resolve()
    return found[0]


def history_epochs(run: Path) -> list[int]:
    with open(run / "history.csv", newline="") as f:
        text = f.read()
    assert text.endswith("\n")
    return [int(r["epoch"]) for r in csv.DictReader(text.splitlines())]


def assert_whole(run: Path, epochs: int = 2) -> dict:
    """A finished run: every file complete, each epoch once, no leftovers."""
    leftovers = [
        p.name for p in run.iterdir() if TEMP.match(p.name) or p.name == ".lock"
    ]
    assert leftovers == []
    for name in ("best.keras", "last.keras"):
        with zipfile.ZipFile(run / name) as z:  # a cut-off file fails here
            assert z.testzip() is None
    for name in ("curves.png", "samples.png", "confusion.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert history_epochs(run) == list(range(epochs))
    state = json.loads((run / "state.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert state["epochs_done"] == metrics["epochs_done"] == epochs
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert metrics["best_epoch"] == state["best_epoch"]
    return metrics


def killed(p) -> None:
    assert p.returncode == -9, f"not killed at the hook:\n{p.stderr}"


def resume(run: Path):
    p = modelspec("train", "--resume", run)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def test_kill_mid_epoch_resumes_at_the_epoch_and_takes_over_the_lock(tmp_path):
    out = tmp_path / "runs"
    p = train(out, hook=MID_EPOCH, tmp=tmp_path, popen=True)
    p.communicate(timeout=TIMEOUT_S)
    killed(p)
    run = the_run(out)
    assert (run / ".lock").read_text().strip() == str(p.pid)  # left by the dead
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1
    assert "metrics.json" not in os.listdir(run)
    resume(run)
    metrics = assert_whole(run)
    assert metrics["resumed_from_epoch"] == 1


def test_kill_while_saving_a_checkpoint(tmp_path):
    out = tmp_path / "runs"
    killed(train(out, hook=SAVING_LAST, tmp=tmp_path))
    run = the_run(out)
    temps = [p for p in run.iterdir() if TEMP.match(p.name)]
    assert [p.name.split(".")[1:3] for p in temps] == [["last", "keras"]]
    assert json.loads((run / "state.json").read_text())["epochs_done"] == 1
    resume(run)
    assert assert_whole(run)["resumed_from_epoch"] == 1


def test_kill_between_state_and_best_checkpoint(tmp_path):
    out = tmp_path / "runs"
    killed(train(out, hook=SAVING_BEST, tmp=tmp_path))
    run = the_run(out)
    state = json.loads((run / "state.json").read_text())
    assert state["epochs_done"] == state["best_epoch"] == 1
    assert not (run / "best.keras").exists()
    resume(run)
    assert_whole(run)


@pytest.mark.parametrize("hook", [EVALUATING, PLOTTING], ids=["evaluate", "plots"])
def test_kill_after_the_last_epoch_is_finished_by_resume(
    tmp_path, hook, monkeypatch, capsys
):
    out = tmp_path / "runs"
    killed(train(out, hook=hook, tmp=tmp_path))
    run = the_run(out)
    assert not (run / "metrics.json").exists()  # not done: `runs` says so
    listed = modelspec("runs", out)
    assert re.search(r"digits_lenet\s+\S+\s+incomplete", listed.stdout), listed.stdout
    last = (run / "last.keras").read_bytes()
    resume(run)
    metrics = assert_whole(run)
    assert (run / "last.keras").read_bytes() == last  # nothing trained again
    assert metrics["resumed_from_epoch"] == 2
    again = cli_in_process(monkeypatch, capsys, "train", "--resume", run)
    assert again.returncode == 1 and "already trained 2 of 2 epochs" in again.stderr


def test_ctrl_c_while_evaluating_says_how_to_finish(tmp_path):
    out = tmp_path / "runs"
    p = train(out, hook=CTRL_C_EVALUATING, tmp=tmp_path)
    assert p.returncode == 1, p.stderr[-3000:]
    run = the_run(out)
    assert "interrupted while evaluating the trained model" in p.stderr
    assert f"modelspec train --resume {run}" in p.stderr
    resume(run)
    assert assert_whole(run)["resumed_from_epoch"] == 2


def test_kill_during_export_then_export_again(tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs"
    args = ["train", SPEC, *TINY, "--epochs", 1, "--out", out]
    trained = cli_in_process(monkeypatch, capsys, *args)  # the set-up
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = the_run(out)
    args = ["export", run, "--onnx", "--random-inputs"]
    killed(modelspec(*args, hook=EXPORTING, tmp=tmp_path))
    temps = [p.name for p in run.iterdir() if TEMP.match(p.name)]
    assert len(temps) == 1 and temps[0].startswith(".best.onnx.")
    assert not (run / "best.onnx").exists()
    p = modelspec(*args)
    assert p.returncode == 0, p.stderr[-3000:]
    assert [p.name for p in run.iterdir() if TEMP.match(p.name)] == []
    import onnx

    onnx.checker.check_model(onnx.load(str(run / "best.onnx")))


HOLD_IN_EPOCH_2 = """
import backends.keras_backend.callbacks as cb
_make = cb.make_callbacks
def make_callbacks(*a, **k):
    import keras
    class Hold(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                open(os.environ["HOLD_READY"], "w").close()
                with open(os.environ["HOLD_FIFO"]) as f:  # until the test writes
                    f.read()
    callbacks, throughput = _make(*a, **k)
    return callbacks + [Hold()], throughput
cb.make_callbacks = make_callbacks
"""


def wait_for(path: Path, proc) -> None:
    """Until the held process reached the hook (or died: then fail)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} first:\n{proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the held process never reached the hook")
        time.sleep(0.1)


def test_a_second_resume_of_a_run_in_use_is_refused(tmp_path, monkeypatch):
    out, fifo, ready = tmp_path / "runs", tmp_path / "go", tmp_path / "ready"
    os.mkfifo(fifo)
    monkeypatch.setenv("HOLD_FIFO", str(fifo))
    monkeypatch.setenv("HOLD_READY", str(ready))
    first = train(out, hook=HOLD_IN_EPOCH_2, tmp=tmp_path, popen=True)
    try:
        wait_for(ready, first)
        run = the_run(out)
        second = modelspec("train", "--resume", run)
        assert second.returncode == 2, second.stderr[-3000:]
        assert f"{run} is in use by process {first.pid}" in second.stderr
        with open(fifo, "w") as f:
            f.write("go")
        _, err = first.communicate(timeout=TIMEOUT_S)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err[-3000:]
    assert assert_whole(run)["resumed_from_epoch"] is None


SWEEP = ["sweep", SPEC, *TINY, "--set", "train.batch_size=32,64", "--epochs", "1"]


def test_sweep_killed_while_evaluating_resumes_the_variant_in_its_folder(tmp_path):
    out = tmp_path / "runs"
    killed(modelspec(*SWEEP, "--out", out, hook=EVALUATING, tmp=tmp_path))
    first = the_run(out)  # recorded in sweep.json before it was killed
    (sweep_dir,) = (out / "sweeps").iterdir()
    state = json.loads((sweep_dir / "sweep.json").read_text())
    assert (sweep_dir / state["variants"][0]["run_dir"]).resolve() == first
    p = modelspec(*SWEEP, "--out", out)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "[1/2] batch_size=32  (resuming)" in p.stdout
    runs_made = sorted(
        p for p in (out / "digits_lenet").iterdir() if p.name != "latest"
    )
    assert len(runs_made) == 2 and first in runs_made  # no orphan, no retrain
    state = json.loads((sweep_dir / "sweep.json").read_text())
    assert [v["status"] for v in state["variants"]] == ["done", "done"]
    assert {(sweep_dir / v["run_dir"]).resolve() for v in state["variants"]} == set(
        runs_made
    )
    for run in runs_made:
        assert_whole(run, epochs=1)
